//! The work calendar (工作日历): working hours, working weekdays, public holidays and make-up
//! working days (调休), so that business time is counted as a Chinese office counts it. A
//! holiday is never a working day, whatever its weekday; a make-up day is always one.
//!
//! [`CalendarDocument`] is the calendar as sent and stored; [`Calendar`] is its checked form,
//! on which due times are computed.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most working-hour periods a day may have.
pub const MAX_PERIODS: usize = 8;
/// Most holidays, and most make-up days, a calendar may list.
pub const MAX_DAYS: usize = 1000;
/// How far ahead business time is searched for before giving up (a calendar with almost no
/// working time): about a hundred years.
const SEARCH_DAYS: i64 = 36_600;

/// A span of working time within a day, local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// Start, `HH:MM` (24-hour).
    #[schema(
        example = "09:00",
        pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        max_length = 5
    )]
    pub start: String,
    /// End, `HH:MM`, after the start; `24:00` for midnight.
    #[schema(
        example = "12:00",
        pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
        max_length = 5
    )]
    pub end: String,
}

/// A dated day of the calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarDay {
    /// The day, `YYYY-MM-DD`.
    #[schema(example = "2026-10-01", format = Date)]
    pub date: String,
    /// What it is, 1–50 characters.
    #[schema(example = "国庆节", min_length = 1, max_length = 50)]
    pub name: String,
}

/// The schema of `working_weekdays`: 1–7 ISO weekday numbers.
fn weekdays() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(
            utoipa::openapi::schema::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::Integer)
                .minimum(Some(1))
                .maximum(Some(7)),
        )
        .min_items(Some(1))
        .max_items(Some(7))
        .unique_items(true)
        .description(Some("Working weekdays, ISO numbers: 1 Monday … 7 Sunday."))
        .build()
}

/// The work calendar as sent and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarDocument {
    /// The office's offset from UTC, `+HH:MM` or `-HH:MM` (China: `+08:00`).
    #[schema(
        example = "+08:00",
        pattern = r"^[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)$",
        max_length = 6
    )]
    pub utc_offset: String,
    /// Working hours of a working day, in order, not overlapping (1–8 periods).
    #[schema(max_items = 8, min_items = 1)]
    pub working_hours: Vec<Period>,
    /// Working weekdays, ISO numbers: 1 Monday … 7 Sunday.
    #[schema(schema_with = weekdays)]
    pub working_weekdays: Vec<u8>,
    /// Public holidays (法定节假日): days off even on a working weekday.
    #[schema(max_items = 1000)]
    pub holidays: Vec<CalendarDay>,
    /// Make-up working days (调休上班): weekend days that are worked.
    #[schema(max_items = 1000)]
    pub makeup_workdays: Vec<CalendarDay>,
}

impl Default for CalendarDocument {
    /// Monday to Friday, 09:00–12:00 and 13:00–18:00 China time, no holidays listed.
    fn default() -> Self {
        let period = |start: &str, end: &str| Period {
            start: start.to_owned(),
            end: end.to_owned(),
        };
        Self {
            utc_offset: "+08:00".to_owned(),
            working_hours: vec![period("09:00", "12:00"), period("13:00", "18:00")],
            working_weekdays: vec![1, 2, 3, 4, 5],
            holidays: Vec::new(),
            makeup_workdays: Vec::new(),
        }
    }
}

/// One problem with a calendar: the field's path, a machine code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON path, e.g. `holidays[3].date`.
    pub field: String,
    /// Machine-readable reason.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

fn problem(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Problem {
    Problem {
        field: field.into(),
        code,
        message: message.into(),
    }
}

/// A checked calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    offset: FixedOffset,
    /// Working periods as seconds since local midnight, in order, not overlapping.
    periods: Vec<(i64, i64)>,
    weekdays: [bool; 7],
    holidays: BTreeSet<NaiveDate>,
    makeup: BTreeSet<NaiveDate>,
}

impl Default for Calendar {
    /// The checked default document.
    fn default() -> Self {
        // The default document is valid; the fallback (the same hours, UTC) is never taken.
        CalendarDocument::default()
            .check()
            .unwrap_or_else(|_| Calendar {
                offset: chrono::Offset::fix(&Utc),
                periods: vec![(9 * 3600, 12 * 3600), (13 * 3600, 18 * 3600)],
                weekdays: [true, true, true, true, true, false, false],
                holidays: BTreeSet::new(),
                makeup: BTreeSet::new(),
            })
    }
}

/// Why [`parse_day`] refused a well-formed date: its year.
pub const OUTSIDE_YEARS: &str = "must be between 2000 and 2100";

/// The field error code for a message of [`parse_day`]: `out_of_range` for a real date in
/// another year, `invalid_format` for the rest.
pub fn day_error_code(message: &str) -> &'static str {
    if message == OUTSIDE_YEARS {
        "out_of_range"
    } else {
        "invalid_format"
    }
}

/// Parses a strict `YYYY-MM-DD` between 2000 and 2100.
pub fn parse_day(raw: &str) -> Result<NaiveDate, &'static str> {
    let b = raw.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return Err("must be a date YYYY-MM-DD");
    }
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| "is not a real date")?;
    if !(2000..=2100).contains(&day.year()) {
        return Err(OUTSIDE_YEARS);
    }
    Ok(day)
}

/// Seconds since midnight of a strict `HH:MM`; `24:00` only when `end` is set.
fn parse_time(raw: &str, end: bool) -> Result<i64, &'static str> {
    let b = raw.as_bytes();
    let shaped = b.len() == 5
        && b[2] == b':'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit());
    if !shaped {
        return Err("must be a time HH:MM");
    }
    let (h, m) = (
        i64::from(b[0] - b'0') * 10 + i64::from(b[1] - b'0'),
        i64::from(b[3] - b'0') * 10 + i64::from(b[4] - b'0'),
    );
    if end && h == 24 && m == 0 {
        return Ok(24 * 3600);
    }
    if h > 23 || m > 59 {
        return Err("must be a time between 00:00 and 23:59");
    }
    Ok(h * 3600 + m * 60)
}

/// Parses `+HH:MM` / `-HH:MM` within ±14:00.
fn parse_offset(raw: &str) -> Result<FixedOffset, &'static str> {
    const MESSAGE: &str = "must be an offset +HH:MM or -HH:MM within ±14:00";
    let sign = match raw.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(MESSAGE),
    };
    let seconds = parse_time(raw.get(1..).unwrap_or(""), false).map_err(|_| MESSAGE)?;
    if seconds > 14 * 3600 {
        return Err(MESSAGE);
    }
    FixedOffset::east_opt(i32::try_from(sign * seconds).map_err(|_| MESSAGE)?).ok_or(MESSAGE)
}

impl CalendarDocument {
    /// The checked calendar, or every problem found: malformed times and dates, periods that
    /// overlap or end before they start, a day listed twice or as both holiday and make-up
    /// day, a make-up day that is a working weekday anyway, no working time at all.
    pub fn check(&self) -> Result<Calendar, Vec<Problem>> {
        let mut problems = Vec::new();
        let offset = match parse_offset(self.utc_offset.trim()) {
            Ok(o) => Some(o),
            Err(m) => {
                problems.push(problem("utc_offset", "invalid_format", m));
                None
            }
        };
        if self.working_hours.is_empty() || self.working_hours.len() > MAX_PERIODS {
            problems.push(problem(
                "working_hours",
                "invalid_length",
                format!("must list 1 to {MAX_PERIODS} periods"),
            ));
        }
        let mut periods = Vec::new();
        for (i, p) in self.working_hours.iter().enumerate() {
            let start = parse_time(p.start.trim(), false);
            let end = parse_time(p.end.trim(), true);
            if let Err(m) = start {
                problems.push(problem(
                    format!("working_hours[{i}].start"),
                    "invalid_format",
                    m,
                ));
            }
            if let Err(m) = end {
                problems.push(problem(
                    format!("working_hours[{i}].end"),
                    "invalid_format",
                    m,
                ));
            }
            if let (Ok(s), Ok(e)) = (start, end) {
                if e <= s {
                    problems.push(problem(
                        format!("working_hours[{i}].end"),
                        "invalid_range",
                        "must be after the start",
                    ));
                } else {
                    periods.push((s, e, i));
                }
            }
        }
        periods.sort_unstable();
        for pair in periods.windows(2) {
            if pair[1].0 < pair[0].1 {
                problems.push(problem(
                    format!("working_hours[{}]", pair[1].2),
                    "overlapping",
                    format!("overlaps working_hours[{}]", pair[0].2),
                ));
            }
        }
        let mut weekdays = [false; 7];
        if self.working_weekdays.is_empty() || self.working_weekdays.len() > 7 {
            problems.push(problem(
                "working_weekdays",
                "invalid_length",
                "must list 1 to 7 weekdays",
            ));
        }
        for (i, d) in self.working_weekdays.iter().enumerate() {
            match usize::from(*d).checked_sub(1).filter(|d| *d < 7) {
                Some(idx) if weekdays[idx] => problems.push(problem(
                    format!("working_weekdays[{i}]"),
                    "duplicate",
                    "is listed twice",
                )),
                Some(idx) => weekdays[idx] = true,
                None => problems.push(problem(
                    format!("working_weekdays[{i}]"),
                    "invalid_value",
                    "must be 1 (Monday) to 7 (Sunday)",
                )),
            }
        }
        let holidays = days(&self.holidays, "holidays", &mut problems);
        let makeup = days(&self.makeup_workdays, "makeup_workdays", &mut problems);
        for (i, day) in self.makeup_workdays.iter().enumerate() {
            let Ok(date) = parse_day(day.date.trim()) else {
                continue;
            };
            if holidays.contains(&date) {
                problems.push(problem(
                    format!("makeup_workdays[{i}].date"),
                    "overlapping",
                    "is also listed as a holiday",
                ));
            } else if weekdays[date.weekday().num_days_from_monday() as usize] {
                problems.push(problem(
                    format!("makeup_workdays[{i}].date"),
                    "not_a_day_off",
                    "is a working weekday already; a make-up day is a weekend day that is worked",
                ));
            }
        }
        match offset {
            Some(offset) if problems.is_empty() => Ok(Calendar {
                offset,
                periods: periods.into_iter().map(|(s, e, _)| (s, e)).collect(),
                weekdays,
                holidays,
                makeup,
            }),
            _ => Err(problems),
        }
    }
}

fn days(list: &[CalendarDay], field: &str, problems: &mut Vec<Problem>) -> BTreeSet<NaiveDate> {
    if list.len() > MAX_DAYS {
        problems.push(problem(
            field,
            "too_many",
            format!("must list at most {MAX_DAYS} days"),
        ));
    }
    let mut out = BTreeSet::new();
    for (i, day) in list.iter().enumerate() {
        match parse_day(day.date.trim()) {
            Ok(d) if !out.insert(d) => problems.push(problem(
                format!("{field}[{i}].date"),
                "duplicate",
                "is listed twice",
            )),
            Ok(_) => {}
            Err(m) => problems.push(problem(format!("{field}[{i}].date"), day_error_code(m), m)),
        }
    }
    out
}

impl Calendar {
    /// The office's offset from UTC.
    pub fn offset(&self) -> FixedOffset {
        self.offset
    }

    /// The office's local date at `at`.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.offset).date_naive()
    }

    /// Whether `day` is worked: not a holiday, and a working weekday or a make-up day.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.holidays.contains(&day) {
            return false;
        }
        self.makeup.contains(&day) || self.weekdays[day.weekday().num_days_from_monday() as usize]
    }

    fn instant(&self, day: NaiveDate, second: i64) -> Option<DateTime<Utc>> {
        let local = day.and_time(NaiveTime::MIN) + Duration::seconds(second);
        self.offset
            .from_local_datetime(&local)
            .single()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The moment `minutes` of working time after `from`: time outside working hours, on
    /// weekends and on holidays does not count; make-up days do. `None` when the calendar
    /// has too little working time to get there within a century.
    pub fn add_working_minutes(&self, from: DateTime<Utc>, minutes: i64) -> Option<DateTime<Utc>> {
        let local = from.with_timezone(&self.offset).naive_local();
        let mut day = local.date();
        let mut cursor = i64::from(local.time().num_seconds_from_midnight_checked());
        let mut remaining = minutes.max(0) * 60;
        for _ in 0..SEARCH_DAYS {
            if self.is_working_day(day) {
                for &(start, end) in &self.periods {
                    if cursor >= end {
                        continue;
                    }
                    let begin = cursor.max(start);
                    let available = end - begin;
                    if remaining <= available {
                        return self.instant(day, begin + remaining);
                    }
                    remaining -= available;
                    cursor = end;
                }
            }
            day = day.succ_opt()?;
            cursor = 0;
        }
        None
    }

    /// Working minutes from `from` to `to`, negative when `to` is earlier (whole minutes,
    /// rounded towards zero).
    pub fn working_minutes_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to < from {
            return -self.working_minutes_between(to, from);
        }
        let a = from.with_timezone(&self.offset).naive_local();
        let b = to.with_timezone(&self.offset).naive_local();
        let mut seconds = 0;
        let mut day = a.date();
        let last = b.date();
        let mut guard = 0;
        while day <= last && guard < SEARCH_DAYS {
            guard += 1;
            if self.is_working_day(day) {
                let lo = if day == a.date() {
                    i64::from(a.time().num_seconds_from_midnight_checked())
                } else {
                    0
                };
                let hi = if day == last {
                    i64::from(b.time().num_seconds_from_midnight_checked())
                } else {
                    24 * 3600
                };
                for &(start, end) in &self.periods {
                    let (s, e) = (start.max(lo), end.min(hi));
                    if e > s {
                        seconds += e - s;
                    }
                }
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        seconds / 60
    }
}

/// Seconds since midnight, for a time of day.
trait SecondsOfDay {
    fn num_seconds_from_midnight_checked(&self) -> u32;
}

impl SecondsOfDay for NaiveTime {
    fn num_seconds_from_midnight_checked(&self) -> u32 {
        chrono::Timelike::num_seconds_from_midnight(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(date: &str, name: &str) -> CalendarDay {
        CalendarDay {
            date: date.to_owned(),
            name: name.to_owned(),
        }
    }

    /// The 2026 National Day holiday: 1–7 October off, Sunday 20 September and Saturday
    /// 10 October worked.
    fn national_day() -> Calendar {
        let mut doc = CalendarDocument::default();
        for d in 1..=7 {
            doc.holidays.push(day(&format!("2026-10-0{d}"), "国庆节"));
        }
        doc.makeup_workdays.push(day("2026-09-20", "国庆节调休"));
        doc.makeup_workdays.push(day("2026-10-10", "国庆节调休"));
        doc.check().expect("a valid calendar")
    }

    /// Beijing time.
    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("{s}+08:00"))
            .expect("a time")
            .with_timezone(&Utc)
    }

    #[test]
    fn working_hours_skip_lunch_and_nights() {
        let cal = Calendar::default();
        // Monday 2026-11-23 10:00 + 3 h of work: 10:00–12:00, then 13:00–14:00.
        assert_eq!(
            cal.add_working_minutes(at("2026-11-23T10:00:00"), 180),
            Some(at("2026-11-23T14:00:00"))
        );
        // Before opening: the clock starts at 09:00.
        assert_eq!(
            cal.add_working_minutes(at("2026-11-23T07:30:00"), 30),
            Some(at("2026-11-23T09:30:00"))
        );
        // Late in the day: the rest runs on into the next morning.
        assert_eq!(
            cal.add_working_minutes(at("2026-11-23T17:30:00"), 60),
            Some(at("2026-11-24T09:30:00"))
        );
        // Exactly at the end of a period stays in that period.
        assert_eq!(
            cal.add_working_minutes(at("2026-11-23T11:00:00"), 60),
            Some(at("2026-11-23T12:00:00"))
        );
    }

    #[test]
    fn weekends_do_not_count() {
        let cal = Calendar::default();
        // Friday 2026-11-27 17:00 + 2 h: one hour on Friday, one on Monday.
        assert_eq!(
            cal.add_working_minutes(at("2026-11-27T17:00:00"), 120),
            Some(at("2026-11-30T10:00:00"))
        );
        // Started on a Saturday: nothing counts until Monday.
        assert_eq!(
            cal.add_working_minutes(at("2026-11-28T11:00:00"), 60),
            Some(at("2026-11-30T10:00:00"))
        );
        assert_eq!(
            cal.working_minutes_between(at("2026-11-27T17:00:00"), at("2026-11-30T10:00:00")),
            120
        );
    }

    #[test]
    fn holidays_are_skipped_and_makeup_days_are_worked() {
        let cal = national_day();
        // Wednesday 30 September 17:00 + 2 h: the rest falls after the holiday, on Thursday
        // 8 October.
        assert_eq!(
            cal.add_working_minutes(at("2026-09-30T17:00:00"), 120),
            Some(at("2026-10-08T10:00:00"))
        );
        // Saturday 10 October is a make-up working day.
        assert!(cal.is_working_day(NaiveDate::from_ymd_opt(2026, 10, 10).unwrap_or_default()));
        assert_eq!(
            cal.add_working_minutes(at("2026-10-09T17:30:00"), 60),
            Some(at("2026-10-10T09:30:00"))
        );
        // Sunday 20 September too: Saturday 19th's request is due on the Sunday.
        assert_eq!(
            cal.add_working_minutes(at("2026-09-19T10:00:00"), 60),
            Some(at("2026-09-20T10:00:00"))
        );
        // Thursday 1 October is a holiday although it is a weekday.
        assert!(!cal.is_working_day(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap_or_default()));
        // A whole working day is 8 hours; the holiday week counts nothing.
        assert_eq!(
            cal.working_minutes_between(at("2026-09-30T09:00:00"), at("2026-10-08T09:00:00")),
            8 * 60
        );
        assert_eq!(
            cal.working_minutes_between(at("2026-10-08T09:00:00"), at("2026-09-30T09:00:00")),
            -8 * 60
        );
    }

    #[test]
    fn a_day_of_business_time_spans_a_long_weekend() {
        let cal = national_day();
        // 8 working hours from Friday 9 October 14:00: 4 h on Friday, 4 h on make-up
        // Saturday 10th — due Saturday 14:00 rather than after the Sunday.
        assert_eq!(
            cal.add_working_minutes(at("2026-10-09T14:00:00"), 480),
            Some(at("2026-10-10T14:00:00"))
        );
    }

    #[test]
    fn bad_calendars_are_refused_with_every_problem() {
        let doc = CalendarDocument {
            utc_offset: "8".to_owned(),
            working_hours: vec![
                Period {
                    start: "09:00".to_owned(),
                    end: "12:30".to_owned(),
                },
                Period {
                    start: "12:00".to_owned(),
                    end: "18:00".to_owned(),
                },
                Period {
                    start: "9:00".to_owned(),
                    end: "08:00".to_owned(),
                },
            ],
            working_weekdays: vec![1, 1, 8],
            holidays: vec![
                day("2026-10-01", "国庆节"),
                day("2026-10-01", "国庆节"),
                day("2026-2-30", "x"),
            ],
            makeup_workdays: vec![day("2026-10-01", "x"), day("2026-10-12", "x")],
        };
        let problems = doc.check().expect_err("refused");
        let fields: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.field.as_str(), p.code))
            .collect();
        for expected in [
            ("utc_offset", "invalid_format"),
            ("working_hours[1]", "overlapping"),
            ("working_hours[2].start", "invalid_format"),
            ("working_weekdays[1]", "duplicate"),
            ("working_weekdays[2]", "invalid_value"),
            ("holidays[1].date", "duplicate"),
            ("holidays[2].date", "invalid_format"),
            ("makeup_workdays[0].date", "overlapping"),
            ("makeup_workdays[1].date", "not_a_day_off"),
        ] {
            assert!(fields.contains(&expected), "{expected:?} in {fields:?}");
        }
        assert_eq!(parse_day("2026-02-30"), Err("is not a real date"));
        assert_eq!(parse_day("2026-1-1"), Err("must be a date YYYY-MM-DD"));
    }

    #[test]
    fn a_calendar_with_no_working_time_gives_up() {
        let doc = CalendarDocument {
            working_weekdays: vec![7],
            ..CalendarDocument::default()
        };
        let mut cal = doc.check().expect("valid");
        cal.weekdays = [false; 7];
        assert_eq!(cal.add_working_minutes(at("2026-11-23T10:00:00"), 1), None);
    }
}
