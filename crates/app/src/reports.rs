//! Reports (数据分析). The weighted forecast: open pipeline, weighted pipeline
//! (Σ amount × probability), won and lost — per owner or per month, computed in SQL over the
//! deals the caller can see (a rep their own, managers everyone's), in exact money.

use chrono::{Datelike, Months, NaiveDate};
use crm_domain::access::{Action, Caller};
use crm_domain::money::{sum_yuan, weighted_yuan};
use crm_store::opportunities::{self, GroupBy};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::check::today;
use crate::error::AppError;
use crate::input::Input;
use crate::page::invalid;
use crate::{Ctx, require};

/// How to group the forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForecastGroup {
    /// One group per rep (`key` is the owner's id).
    Owner,
    /// One group per month, `YYYY-MM`: of the expected close for open deals, of the close for
    /// won and lost ones.
    Month,
}

/// The forecast's range and grouping.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ForecastQuery {
    /// First day (`YYYY-MM-DD`); default: the first day of this month.
    pub from: Option<NaiveDate>,
    /// Last day, inclusive; default: a year after `from`, less a day. At most 5 years.
    pub to: Option<NaiveDate>,
    /// `owner` (default) or `month`.
    pub group_by: Option<ForecastGroup>,
}

/// The figures of one group (or of all).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForecastFigures {
    /// Open deals expected to close in the range.
    pub open_count: i64,
    /// Their amounts, yuan.
    #[schema(example = "3200000.00")]
    pub open_amount: String,
    /// Σ amount × probability of the open deals, yuan.
    #[schema(example = "1530000.00")]
    pub weighted_amount: String,
    /// Deals won in the range.
    pub won_count: i64,
    /// Their final amounts, yuan.
    pub won_amount: String,
    /// Deals lost in the range.
    pub lost_count: i64,
    /// Their amounts, yuan.
    pub lost_amount: String,
}

/// One group of the forecast.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForecastGroupRow {
    /// The owner's id or the month (`2026-11`).
    pub key: String,
    /// The figures.
    #[serde(flatten)]
    pub figures: ForecastFigures,
}

/// The weighted forecast.
#[derive(Debug, Serialize, ToSchema)]
pub struct Forecast {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// How the groups are made.
    pub group_by: ForecastGroup,
    /// The groups, by key.
    pub groups: Vec<ForecastGroupRow>,
    /// All groups together.
    pub totals: ForecastFigures,
}

fn figures(rows: &[&opportunities::ForecastRow]) -> ForecastFigures {
    let sum = |f: fn(&opportunities::ForecastRow) -> i64| {
        rows.iter().map(|r| i128::from(f(r))).sum::<i128>()
    };
    let yuan = sum_yuan;
    ForecastFigures {
        open_count: i64::try_from(sum(|r| r.open_count)).unwrap_or(i64::MAX),
        open_amount: yuan(sum(|r| r.open_fen)),
        weighted_amount: weighted_yuan(
            sum(|r| r.open_fen_30) * 30 + sum(|r| r.open_fen_60) * 60 + sum(|r| r.open_fen_90) * 90,
        ),
        won_count: i64::try_from(sum(|r| r.won_count)).unwrap_or(i64::MAX),
        won_amount: yuan(sum(|r| r.won_fen)),
        lost_count: i64::try_from(sum(|r| r.lost_count)).unwrap_or(i64::MAX),
        lost_amount: yuan(sum(|r| r.lost_fen)),
    }
}

/// The weighted forecast over a range, per owner or per month.
pub async fn forecast(
    ctx: &Ctx,
    caller: &Caller,
    query: Input<ForecastQuery>,
) -> Result<Forecast, AppError> {
    require(caller, Action::ReadDeals)?;
    let q = query.take()?;
    let from = q
        .from
        .unwrap_or_else(|| today().with_day(1).unwrap_or_else(today));
    let to = match q.to {
        Some(to) => to,
        None => from
            .checked_add_months(Months::new(12))
            .and_then(|d| d.pred_opt())
            .unwrap_or(from),
    };
    if to < from {
        return Err(invalid("to", "must not be before from"));
    }
    if (to - from).num_days() > 5 * 366 {
        return Err(invalid("to", "must be at most five years after from"));
    }
    let group_by = q.group_by.unwrap_or(ForecastGroup::Owner);
    let rows = opportunities::forecast(
        &ctx.db,
        caller.visibility(),
        from,
        to,
        match group_by {
            ForecastGroup::Owner => GroupBy::Owner,
            ForecastGroup::Month => GroupBy::Month,
        },
    )
    .await?;
    let all: Vec<&opportunities::ForecastRow> = rows.iter().collect();
    Ok(Forecast {
        from,
        to,
        group_by,
        totals: figures(&all),
        groups: rows
            .iter()
            .map(|r| ForecastGroupRow {
                key: r
                    .owner_id
                    .map(|o| o.to_string())
                    .or_else(|| r.month.clone())
                    .unwrap_or_default(),
                figures: figures(&[r]),
            })
            .collect(),
    })
}
