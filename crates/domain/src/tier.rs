//! Customer tiers (客户分级): a score from annual purchase volume, years of cooperation and
//! industry influence, weighted and cut by thresholds that managers set in the tier policy.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A customer's tier.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// 普通客户: quarterly follow-up.
    Ordinary,
    /// 重点客户: monthly follow-up.
    Key,
    /// 战略客户: a named account manager, monthly follow-up, the fastest service targets.
    Strategic,
}

impl Tier {
    /// The tier's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Ordinary => "ordinary",
            Tier::Key => "key",
            Tier::Strategic => "strategic",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Tier> {
        [Tier::Ordinary, Tier::Key, Tier::Strategic]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// Weights (in percent, summing to 100) and thresholds (scores 0–100) of the tier policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierPolicy {
    /// Weight of annual purchase volume, percent.
    #[schema(example = 50, maximum = 100)]
    pub purchase_weight: u32,
    /// Weight of years of cooperation, percent.
    #[schema(example = 20, maximum = 100)]
    pub cooperation_weight: u32,
    /// Weight of industry influence, percent.
    #[schema(example = 30, maximum = 100)]
    pub influence_weight: u32,
    /// Annual purchase volume, in 万元, that earns the full purchase score.
    #[schema(example = 1000, minimum = 1)]
    pub purchase_full_score_wan: u32,
    /// Years of cooperation that earn the full cooperation score.
    #[schema(example = 10, minimum = 1)]
    pub cooperation_full_score_years: u32,
    /// Lowest score of a strategic customer.
    #[schema(example = 75, maximum = 100)]
    pub strategic_threshold: u32,
    /// Lowest score of a key customer.
    #[schema(example = 45, maximum = 99)]
    pub key_threshold: u32,
    /// Days between follow-ups by tier (`GET /follow-ups/due`); defaults when left out.
    #[serde(default)]
    pub follow_up: crate::upkeep::FollowUpCadence,
    /// Months without a won deal, a contract or a communication record after which a
    /// customer is flagged at risk (1–60; default 12).
    #[serde(default = "default_at_risk_months")]
    #[schema(minimum = 1, maximum = 60, example = 12)]
    pub at_risk_months: u32,
}

fn default_at_risk_months() -> u32 {
    12
}

impl Default for TierPolicy {
    fn default() -> Self {
        Self {
            purchase_weight: 50,
            cooperation_weight: 20,
            influence_weight: 30,
            purchase_full_score_wan: 1000,
            cooperation_full_score_years: 10,
            strategic_threshold: 75,
            key_threshold: 45,
            follow_up: crate::upkeep::FollowUpCadence::default(),
            at_risk_months: default_at_risk_months(),
        }
    }
}

/// What a customer's tier is computed from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TierInputs {
    /// Annual purchase volume in hundredths of 万元 (won deals of the trailing 12 months, or the
    /// declared annual budget until there are any).
    pub purchase_hundredths: i64,
    /// Whole years of cooperation.
    pub cooperation_years: u32,
    /// Industry influence 1–5, if assessed.
    pub influence: Option<u8>,
}

impl TierPolicy {
    /// Every rule the policy breaks, as (field, message).
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        let sum = self
            .purchase_weight
            .saturating_add(self.cooperation_weight)
            .saturating_add(self.influence_weight);
        if sum != 100 {
            out.push(("purchase_weight", "the three weights must add up to 100"));
        }
        if self.purchase_full_score_wan == 0 {
            out.push(("purchase_full_score_wan", "must be at least 1"));
        }
        if self.cooperation_full_score_years == 0 {
            out.push(("cooperation_full_score_years", "must be at least 1"));
        }
        if self.strategic_threshold > 100 {
            out.push(("strategic_threshold", "must be at most 100"));
        }
        if self.key_threshold >= self.strategic_threshold {
            out.push(("key_threshold", "must be below strategic_threshold"));
        }
        out.extend(self.follow_up.problems());
        if !(1..=60).contains(&self.at_risk_months) {
            out.push(("at_risk_months", "must be 1 to 60 months"));
        }
        out
    }

    /// The score, 0–100 (rounded down), of `inputs`.
    pub fn score(&self, inputs: TierInputs) -> u32 {
        // Work in millionths to stay in integers.
        let full_purchase = i64::from(self.purchase_full_score_wan) * 100;
        let purchase =
            inputs.purchase_hundredths.clamp(0, full_purchase) * 1_000_000 / full_purchase.max(1);
        let full_years = i64::from(self.cooperation_full_score_years);
        let years =
            i64::from(inputs.cooperation_years).min(full_years) * 1_000_000 / full_years.max(1);
        let influence = inputs
            .influence
            .map_or(0, |i| (i64::from(i.clamp(1, 5)) - 1) * 1_000_000 / 4);
        let weighted = purchase * i64::from(self.purchase_weight)
            + years * i64::from(self.cooperation_weight)
            + influence * i64::from(self.influence_weight);
        u32::try_from(weighted / 1_000_000).unwrap_or(0).min(100)
    }

    /// The tier of `inputs`.
    pub fn tier(&self, inputs: TierInputs) -> Tier {
        let score = self.score(inputs);
        if score >= self.strategic_threshold {
            Tier::Strategic
        } else if score >= self.key_threshold {
            Tier::Key
        } else {
            Tier::Ordinary
        }
    }
}

/// Whole years from `since` to `today` (合作年限); 0 for a future date.
pub fn years_between(since: chrono::NaiveDate, today: chrono::NaiveDate) -> u32 {
    today.years_since(since).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_and_tiers() {
        let p = TierPolicy::default();
        assert!(p.problems().is_empty());
        let none = TierInputs::default();
        assert_eq!((p.score(none), p.tier(none)), (0, Tier::Ordinary));
        let top = TierInputs {
            purchase_hundredths: 500_000,
            cooperation_years: 12,
            influence: Some(5),
        };
        assert_eq!((p.score(top), p.tier(top)), (100, Tier::Strategic));
        // 500 万元 (25), 5 years (10), influence 3 (15) = 50: key.
        let mid = TierInputs {
            purchase_hundredths: 50_000,
            cooperation_years: 5,
            influence: Some(3),
        };
        assert_eq!((p.score(mid), p.tier(mid)), (50, Tier::Key));
    }

    #[test]
    fn policy_rules() {
        let p = TierPolicy {
            purchase_weight: 60,
            key_threshold: 80,
            ..TierPolicy::default()
        };
        let fields: Vec<_> = p.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["purchase_weight", "key_threshold"]);
    }

    #[test]
    fn counts_whole_years() {
        let d = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        assert_eq!(years_between(d(2020, 3, 1), d(2026, 2, 28)), 5);
        assert_eq!(years_between(d(2020, 3, 1), d(2026, 3, 1)), 6);
        assert_eq!(years_between(d(2030, 1, 1), d(2026, 3, 1)), 0);
    }
}
