//! The service-level policy (服务等级): response and resolution targets for each customer tier
//! and work-order severity, each counted in calendar time or in business hours of the work
//! calendar, and how new work orders are routed to agents.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::calendar::Calendar;
use crate::tier::Tier;
use crate::work_order::Severity;

/// Longest target: 30 days, in minutes.
pub const MAX_MINUTES: i64 = 30 * 24 * 60;

/// How a target's minutes are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// Around the clock (7×24), weekends and holidays included.
    Calendar,
    /// Working hours of the work calendar only: not at night, on weekends or on holidays,
    /// but on make-up working days (调休).
    Business,
}

impl Clock {
    /// The name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Calendar => "calendar",
            Self::Business => "business",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "calendar" => Some(Self::Calendar),
            "business" => Some(Self::Business),
            _ => None,
        }
    }
}

/// The targets for one tier and severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Minutes until an agent must have started work (首次响应), 1–43200.
    #[schema(minimum = 1, maximum = 43200, example = 30)]
    pub response_minutes: i64,
    /// Minutes until the problem must be resolved, at least the response target.
    #[schema(minimum = 1, maximum = 43200, example = 240)]
    pub resolution_minutes: i64,
    /// How the minutes are counted.
    pub clock: Clock,
}

impl Target {
    const fn new(response_minutes: i64, resolution_minutes: i64, clock: Clock) -> Self {
        Self {
            response_minutes,
            resolution_minutes,
            clock,
        }
    }
}

/// The targets of one tier, by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeverityTargets {
    /// Production down, no workaround.
    pub critical: Target,
    /// Badly impaired.
    pub high: Target,
    /// Impaired, with a workaround.
    pub normal: Target,
    /// Questions and cosmetic issues.
    pub low: Target,
}

impl SeverityTargets {
    fn get(&self, severity: Severity) -> Target {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Normal => self.normal,
            Severity::Low => self.low,
        }
    }

    fn all(&self) -> [(Severity, Target); 4] {
        [
            (Severity::Critical, self.critical),
            (Severity::High, self.high),
            (Severity::Normal, self.normal),
            (Severity::Low, self.low),
        ]
    }
}

/// Targets by tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierTargets {
    /// Strategic customers (战略客户).
    pub strategic: SeverityTargets,
    /// Key customers (重点客户).
    pub key: SeverityTargets,
    /// Ordinary customers (普通客户).
    pub ordinary: SeverityTargets,
}

/// Which agents a new work order prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentPreference {
    /// Any active service agent: the least loaded.
    #[default]
    LeastLoaded,
    /// Agents whose region is the customer's region first; anyone when none is active.
    Region,
    /// Agents of the customer owner's team first; anyone when none is active.
    Team,
}

/// The service-level policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    /// Response and resolution targets, by tier and severity.
    pub targets: TierTargets,
    /// How new work orders are routed among service agents.
    #[serde(default)]
    pub assignment: AssignmentPreference,
}

impl Default for SlaPolicy {
    /// Strategic critical tightest (30 min / 4 h around the clock), ordinary low loosest
    /// (16 / 80 business hours). Critical work orders run on calendar time; the others on
    /// business hours.
    fn default() -> Self {
        use Clock::{Business as B, Calendar as C};
        let h = |hours: i64| hours * 60;
        Self {
            targets: TierTargets {
                strategic: SeverityTargets {
                    critical: Target::new(30, h(4), C),
                    high: Target::new(h(1), h(8), B),
                    normal: Target::new(h(2), h(16), B),
                    low: Target::new(h(4), h(24), B),
                },
                key: SeverityTargets {
                    critical: Target::new(h(1), h(8), C),
                    high: Target::new(h(2), h(16), B),
                    normal: Target::new(h(4), h(24), B),
                    low: Target::new(h(8), h(40), B),
                },
                ordinary: SeverityTargets {
                    critical: Target::new(h(2), h(24), C),
                    high: Target::new(h(4), h(24), B),
                    normal: Target::new(h(8), h(40), B),
                    low: Target::new(h(16), h(80), B),
                },
            },
            assignment: AssignmentPreference::LeastLoaded,
        }
    }
}

/// When a work order is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// First response due.
    pub response: DateTime<Utc>,
    /// Resolution due.
    pub resolution: DateTime<Utc>,
    /// The clock they were counted on.
    pub clock: Clock,
}

impl SlaPolicy {
    /// The targets for a customer of `tier` and a work order of `severity`.
    pub fn target(&self, tier: Tier, severity: Severity) -> Target {
        let by_tier = match tier {
            Tier::Strategic => &self.targets.strategic,
            Tier::Key => &self.targets.key,
            Tier::Ordinary => &self.targets.ordinary,
        };
        by_tier.get(severity)
    }

    /// Every problem with the policy, as `(field, message)`: targets out of 1–43200 minutes,
    /// a resolution target shorter than the response target.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (tier, targets) in [
            ("strategic", &self.targets.strategic),
            ("key", &self.targets.key),
            ("ordinary", &self.targets.ordinary),
        ] {
            for (severity, t) in targets.all() {
                let at = format!("targets.{tier}.{}", severity.as_str());
                for (name, v) in [
                    ("response_minutes", t.response_minutes),
                    ("resolution_minutes", t.resolution_minutes),
                ] {
                    if !(1..=MAX_MINUTES).contains(&v) {
                        out.push((
                            format!("{at}.{name}"),
                            format!("must be 1 to {MAX_MINUTES} minutes (30 days)"),
                        ));
                    }
                }
                if t.resolution_minutes < t.response_minutes {
                    out.push((
                        format!("{at}.resolution_minutes"),
                        "must not be shorter than the response target".to_owned(),
                    ));
                }
            }
        }
        out
    }
}

/// The deadlines of a work order opened at `opened` under `target`: calendar minutes, or
/// working minutes of `calendar` (falling back to calendar minutes when the calendar has too
/// little working time to reach them).
pub fn deadlines(target: Target, calendar: &Calendar, opened: DateTime<Utc>) -> Deadlines {
    let due = |minutes: i64| match target.clock {
        Clock::Calendar => opened + Duration::minutes(minutes),
        Clock::Business => calendar
            .add_working_minutes(opened, minutes)
            .unwrap_or(opened + Duration::minutes(minutes)),
    };
    Deadlines {
        response: due(target.response_minutes),
        resolution: due(target.resolution_minutes),
        clock: target.clock,
    }
}

/// Minutes left until `due` at `now` on `clock` (negative once overdue).
pub fn minutes_left(
    clock: Clock,
    calendar: &Calendar,
    now: DateTime<Utc>,
    due: DateTime<Utc>,
) -> i64 {
    match clock {
        Clock::Calendar => (due - now).num_minutes(),
        Clock::Business => calendar.working_minutes_between(now, due),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("{s}+08:00"))
            .expect("a time")
            .with_timezone(&Utc)
    }

    #[test]
    fn the_default_is_valid_and_strategic_critical_is_tightest() {
        let p = SlaPolicy::default();
        assert!(p.problems().is_empty(), "{:?}", p.problems());
        let tightest = p.target(Tier::Strategic, Severity::Critical);
        let loosest = p.target(Tier::Ordinary, Severity::Low);
        for tier in [Tier::Strategic, Tier::Key, Tier::Ordinary] {
            for s in [
                Severity::Critical,
                Severity::High,
                Severity::Normal,
                Severity::Low,
            ] {
                let t = p.target(tier, s);
                assert!(t.response_minutes >= tightest.response_minutes);
                assert!(t.resolution_minutes <= loosest.resolution_minutes);
            }
        }
        assert_eq!(tightest.clock, Clock::Calendar);
    }

    #[test]
    fn deadlines_follow_the_clock() {
        let cal = Calendar::default();
        // Friday 17:00.
        let opened = at("2026-11-27T17:00:00");
        let around = deadlines(Target::new(30, 240, Clock::Calendar), &cal, opened);
        assert_eq!(around.response, at("2026-11-27T17:30:00"));
        assert_eq!(around.resolution, at("2026-11-27T21:00:00"));
        let business = deadlines(Target::new(60, 240, Clock::Business), &cal, opened);
        assert_eq!(business.response, at("2026-11-27T18:00:00"));
        assert_eq!(business.resolution, at("2026-11-30T12:00:00"));
        assert_eq!(
            minutes_left(Clock::Business, &cal, opened, business.response),
            60
        );
        assert_eq!(
            minutes_left(Clock::Calendar, &cal, opened, around.response),
            30
        );
    }

    #[test]
    fn bad_targets_are_named() {
        let mut p = SlaPolicy::default();
        p.targets.key.high.response_minutes = 0;
        p.targets.ordinary.low.resolution_minutes = 10;
        let fields: Vec<String> = p.problems().into_iter().map(|(f, _)| f).collect();
        assert!(fields.contains(&"targets.key.high.response_minutes".to_owned()));
        assert!(fields.contains(&"targets.ordinary.low.resolution_minutes".to_owned()));
    }
}
