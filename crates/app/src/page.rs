//! Keyset pagination: `limit` (1–200, default 50) and an opaque `cursor` naming the last
//! item of the previous page. Pages are stable under inserts.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::error::AppError;

/// Default page size.
pub const DEFAULT_LIMIT: u64 = 50;
/// Largest page size.
pub const MAX_LIMIT: u64 = 200;

/// Page parameters shared by every list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1–200.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page; omit for the first page.
    pub cursor: Option<String>,
}

/// A checked page request: start after `after`, at most `limit` items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// The last id of the previous page.
    pub after: Option<Uuid>,
    /// Items per page.
    pub limit: u64,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            after: None,
            limit: DEFAULT_LIMIT,
        }
    }
}

impl Page {
    /// The cursor of the page after one whose last item is `last` and which held `len`
    /// items: `None` when it was the last page.
    pub fn next_cursor(&self, last: Option<Uuid>, len: usize) -> Option<String> {
        next_cursor(last, len, self.limit)
    }
}

impl PageQuery {
    /// The checked page (400 naming the bad parameter).
    pub fn page(&self) -> Result<Page, AppError> {
        Ok(Page {
            after: self.after_id()?,
            limit: self.limit()?,
        })
    }

    /// The page size, checked.
    pub fn limit(&self) -> Result<u64, AppError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(invalid("limit", "must be between 1 and 200")),
        }
    }

    /// The id after which the page starts, decoded from the cursor.
    pub fn after_id(&self) -> Result<Option<Uuid>, AppError> {
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|bytes| Uuid::from_slice(&bytes).ok())
            .map(Some)
            .ok_or_else(|| invalid("cursor", "is not a cursor returned by this list"))
    }
}

/// A query instant, checked to lie in years 1900–9999 as written: outside them PostgreSQL
/// refuses some and SQLite sorts others out of order, so the two databases would disagree.
/// An instant written in 1900 or 9999 whose offset takes it into 1899 or 10000 in UTC is
/// held at the edge of the range, which no record comes near.
pub fn instant(
    field: &str,
    value: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, AppError> {
    use chrono::{Datelike, TimeZone, Utc};
    let Some(v) = value else {
        return Ok(None);
    };
    match v.year() {
        1900..=9999 => Ok(Some(v)),
        // At most a day's offset from a time written in 1900 or 9999.
        1899 if v.month() == 12 && v.day() == 31 => {
            Ok(Utc.with_ymd_and_hms(1900, 1, 1, 0, 0, 0).single())
        }
        10000 if v.month() == 1 && v.day() == 1 => {
            Ok(Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).single())
        }
        _ => Err(invalid(field, "must be an instant in years 1900 to 9999")),
    }
}

/// The cursor of a list ordered by an instant then an id: both, to the nanosecond.
pub fn time_cursor(at: chrono::DateTime<chrono::Utc>, id: Uuid) -> String {
    format!("{}.{}", at.timestamp_nanos_opt().unwrap_or(0), id.simple())
}

/// Reads a [`time_cursor`]; 400 when it is not one.
pub fn parse_time_cursor(raw: &str) -> Result<(chrono::DateTime<chrono::Utc>, Uuid), AppError> {
    let bad = || invalid("cursor", "is not a cursor returned by this list");
    let (nanos, id) = raw.split_once('.').ok_or_else(bad)?;
    let at = nanos
        .parse::<i64>()
        .map(chrono::DateTime::from_timestamp_nanos)
        .map_err(|_| bad())?;
    Ok((at, Uuid::try_parse(id).map_err(|_| bad())?))
}

/// A 400 `invalid_parameter` naming the query parameter `field`.
pub fn invalid(field: &str, message: &str) -> AppError {
    AppError::invalid_parameter(field, message)
}

/// The cursor to send for the page after one whose last item is `last`, when the page was
/// full (a shorter page is the last one).
pub fn next_cursor(last: Option<Uuid>, page_len: usize, limit: u64) -> Option<String> {
    let full = u64::try_from(page_len).unwrap_or(u64::MAX) >= limit;
    last.filter(|_| full)
        .map(|id| URL_SAFE_NO_PAD.encode(id.as_bytes()))
}
