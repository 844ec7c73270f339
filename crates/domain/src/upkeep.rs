//! Relationship upkeep (客户维护): communication records, the follow-up cadence by tier,
//! contracts and their renewal, satisfaction-survey periods, and the kinds of reminder.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::tier::Tier;

named_enum! {
    /// How a customer was contacted (沟通方式).
    ActivityKind {
        /// A visit (拜访).
        Visit = "visit",
        /// A phone call.
        Call = "call",
        /// A meeting.
        Meeting = "meeting",
        /// An e-mail.
        Email = "email",
        /// WeChat.
        Wechat = "wechat",
        /// Anything else.
        Other = "other",
    }
}

named_enum! {
    /// What a reminder is about.
    ReminderKind {
        /// Renewal talks before a contract ends (合同到期前).
        Renewal = "renewal",
        /// A customer is due a follow-up by its tier's cadence.
        FollowUp = "follow_up",
        /// A work order missed a due time.
        Breach = "breach",
        /// A contact's birthday (客户关怀).
        Birthday = "birthday",
        /// A configured holiday (客户关怀).
        Holiday = "holiday",
        /// Set by hand.
        Manual = "manual",
    }
}

named_enum! {
    /// Where a reminder stands in its owner's inbox.
    ReminderStatus {
        /// Waiting (or snoozed until `snoozed_until`).
        Open = "open",
        /// Done.
        Done = "done",
        /// Dismissed without action.
        Dismissed = "dismissed",
    }
}

/// Days between follow-ups by tier (重要客户每月回访、一般客户每季度回访), part of the tier policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpCadence {
    /// Strategic customers, days (default 30: monthly).
    #[schema(minimum = 1, maximum = 366, example = 30)]
    pub strategic_days: u32,
    /// Key customers, days (default 30: monthly).
    #[schema(minimum = 1, maximum = 366, example = 30)]
    pub key_days: u32,
    /// Ordinary customers, days (default 90: quarterly).
    #[schema(minimum = 1, maximum = 366, example = 90)]
    pub ordinary_days: u32,
}

impl Default for FollowUpCadence {
    fn default() -> Self {
        Self {
            strategic_days: 30,
            key_days: 30,
            ordinary_days: 90,
        }
    }
}

impl FollowUpCadence {
    /// The days between follow-ups for a customer of `tier`.
    pub fn days(&self, tier: Tier) -> u32 {
        match tier {
            Tier::Strategic => self.strategic_days,
            Tier::Key => self.key_days,
            Tier::Ordinary => self.ordinary_days,
        }
    }

    /// The day a customer of `tier` last contacted at `since` is due its next follow-up.
    pub fn due_on(&self, tier: Tier, since: chrono::DateTime<chrono::Utc>) -> NaiveDate {
        (since + chrono::Duration::days(i64::from(self.days(tier)))).date_naive()
    }

    /// Problems as `(field, message)`.
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        [
            ("follow_up.strategic_days", self.strategic_days),
            ("follow_up.key_days", self.key_days),
            ("follow_up.ordinary_days", self.ordinary_days),
        ]
        .into_iter()
        .filter(|(_, d)| !(1..=366).contains(d))
        .map(|(f, _)| (f, "must be 1 to 366 days"))
        .collect()
    }
}

/// A survey period: a year and its half, `2026-H1` or `2026-H2` (满意度调查每半年一次).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SurveyPeriod {
    year: i32,
    half: u8,
}

impl SurveyPeriod {
    /// Parses `YYYY-H1` / `YYYY-H2` for years 2000–2100.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        const MESSAGE: &str = "must be a half year such as 2026-H1 or 2026-H2";
        let (year, half) = raw.split_once("-H").ok_or(MESSAGE)?;
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MESSAGE);
        }
        let year: i32 = year.parse().map_err(|_| MESSAGE)?;
        let half = match half {
            "1" => 1,
            "2" => 2,
            _ => return Err(MESSAGE),
        };
        if !(2000..=2100).contains(&year) {
            return Err("must be a year between 2000 and 2100");
        }
        Ok(Self { year, half })
    }

    /// The period `day` falls in.
    pub fn of(day: NaiveDate) -> Self {
        Self {
            year: day.year(),
            half: if day.month() <= 6 { 1 } else { 2 },
        }
    }

    /// Its first day.
    pub fn starts(self) -> NaiveDate {
        let month = if self.half == 1 { 1 } else { 7 };
        NaiveDate::from_ymd_opt(self.year, month, 1).unwrap_or(NaiveDate::MIN)
    }
}

impl std::fmt::Display for SurveyPeriod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-H{}", self.year, self.half)
    }
}

/// A satisfaction score: 1 (very dissatisfied) to 5 (very satisfied); 4 and 5 count as
/// satisfied in the reports (满意度).
pub fn score(value: i64) -> Result<i16, &'static str> {
    crate::work_order::satisfaction(value)
}

/// The next occurrence of `birthday` on or after `from` (29 February falls on 28 February in
/// common years).
pub fn next_birthday(birthday: NaiveDate, from: NaiveDate) -> NaiveDate {
    let on = |year: i32| {
        NaiveDate::from_ymd_opt(year, birthday.month(), birthday.day())
            .or_else(|| NaiveDate::from_ymd_opt(year, 2, 28))
            .unwrap_or(from)
    };
    let this_year = on(from.year());
    if this_year >= from {
        this_year
    } else {
        on(from.year() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn survey_periods_are_half_years() {
        assert_eq!(
            SurveyPeriod::parse("2026-H2").map(|p| p.to_string()),
            Ok("2026-H2".to_owned())
        );
        for bad in ["2026-H3", "2026H1", "26-H1", "2026-h1", "1999-H1", ""] {
            assert!(SurveyPeriod::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(SurveyPeriod::of(d(2026, 7, 1)).to_string(), "2026-H2");
        assert_eq!(SurveyPeriod::of(d(2026, 6, 30)).starts(), d(2026, 1, 1));
    }

    #[test]
    fn cadence_by_tier_and_birthdays() {
        let c = FollowUpCadence::default();
        assert_eq!(c.days(Tier::Key), 30);
        assert_eq!(c.days(Tier::Ordinary), 90);
        assert!(c.problems().is_empty());
        assert_eq!(
            next_birthday(d(1980, 3, 15), d(2026, 3, 16)),
            d(2027, 3, 15)
        );
        assert_eq!(
            next_birthday(d(1980, 3, 15), d(2026, 3, 15)),
            d(2026, 3, 15)
        );
        assert_eq!(next_birthday(d(1980, 2, 29), d(2026, 1, 1)), d(2026, 2, 28));
        assert_eq!(ActivityKind::parse("wechat"), Some(ActivityKind::Wechat));
    }
}
