//! Leads (线索): where they come from, the states they go through, and the assignment rules
//! (线索分配规则) that route them to reps.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::rule::RuleViolation;

/// Where a lead came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadSource {
    /// 展会推广: a trade fair.
    Fair,
    /// 官网咨询: the website.
    Website,
    /// 客户转介绍: referred by a customer.
    Referral,
    /// A phone call.
    Phone,
    /// Anything else.
    Other,
}

impl LeadSource {
    /// Every source.
    pub const ALL: [LeadSource; 5] = [
        Self::Fair,
        Self::Website,
        Self::Referral,
        Self::Phone,
        Self::Other,
    ];

    /// The name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fair => "fair",
            Self::Website => "website",
            Self::Referral => "referral",
            Self::Phone => "phone",
            Self::Other => "other",
        }
    }

    /// Parses a name (also the Chinese of the import template).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "fair" | "展会" | "展会推广" => Some(Self::Fair),
            "website" | "官网" | "官网咨询" => Some(Self::Website),
            "referral" | "转介绍" | "客户转介绍" => Some(Self::Referral),
            "phone" | "电话" => Some(Self::Phone),
            "other" | "其他" => Some(Self::Other),
            _ => None,
        }
    }
}

/// A lead's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    /// Received, not yet assigned: in the managers' queue.
    New,
    /// Assigned to a rep (跟进中).
    Following,
    /// Turned into a customer and a deal.
    Converted,
    /// Not worth pursuing, with a reason.
    Disqualified,
}

impl LeadStatus {
    /// The name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Following => "following",
            Self::Converted => "converted",
            Self::Disqualified => "disqualified",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "new" => Some(Self::New),
            "following" => Some(Self::Following),
            "converted" => Some(Self::Converted),
            "disqualified" => Some(Self::Disqualified),
            _ => None,
        }
    }

    /// Whether the lead is still being worked (new or following).
    pub fn is_open(self) -> bool {
        matches!(self, Self::New | Self::Following)
    }
}

/// A move of a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadEvent {
    /// Given to a rep (by a rule, a manager, or its customer's owner).
    Assign,
    /// Turned into a customer and a deal.
    Convert,
    /// Set aside.
    Disqualify,
}

/// The moves allowed from `status`.
pub fn allowed(status: LeadStatus) -> &'static [&'static str] {
    match status {
        LeadStatus::New | LeadStatus::Following => &["assign", "convert", "disqualify"],
        LeadStatus::Converted | LeadStatus::Disqualified => &[],
    }
}

/// The status after `event`, or `illegal_transition` naming the allowed moves.
pub fn transition(status: LeadStatus, event: LeadEvent) -> Result<LeadStatus, RuleViolation> {
    match (status.is_open(), event) {
        (true, LeadEvent::Assign) => Ok(LeadStatus::Following),
        (true, LeadEvent::Convert) => Ok(LeadStatus::Converted),
        (true, LeadEvent::Disqualify) => Ok(LeadStatus::Disqualified),
        (false, _) => Err(RuleViolation::IllegalTransition {
            from: status.as_str().to_owned(),
            allowed: allowed(status).iter().map(|s| (*s).to_owned()).collect(),
        }),
    }
}

/// What an assignment rule looks at in a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeadFacts<'a> {
    /// Province code.
    pub region: Option<&'a str>,
    /// GB/T 4754 division, e.g. `C35`.
    pub industry_code: Option<&'a str>,
    /// Where it came from.
    pub source: LeadSource,
}

/// The conditions of an assignment rule: every list given must contain the lead's value
/// (an empty list matches anything). Industries may name a division (`C35`) or a whole
/// section (`C`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleConditions {
    /// Province codes.
    pub regions: Vec<String>,
    /// Industry divisions or sections.
    pub industries: Vec<String>,
    /// Sources.
    pub sources: Vec<LeadSource>,
}

impl RuleConditions {
    /// Whether a lead with `facts` matches.
    pub fn matches(&self, facts: LeadFacts<'_>) -> bool {
        let region = self.regions.is_empty()
            || facts
                .region
                .is_some_and(|r| self.regions.iter().any(|x| x == r));
        let industry = self.industries.is_empty()
            || facts.industry_code.is_some_and(|code| {
                self.industries
                    .iter()
                    .any(|x| x == code || (x.len() == 1 && code.starts_with(x.as_str())))
            });
        let source = self.sources.is_empty() || self.sources.contains(&facts.source);
        region && industry && source
    }
}

/// The index of the first rule (in order) that a lead matches.
pub fn first_match(rules: &[RuleConditions], facts: LeadFacts<'_>) -> Option<usize> {
    rules.iter().position(|r| r.matches(facts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_read_english_and_the_template_chinese() {
        for s in LeadSource::ALL {
            assert_eq!(LeadSource::parse(s.as_str()), Some(s));
        }
        assert_eq!(LeadSource::parse("展会"), Some(LeadSource::Fair));
        assert_eq!(LeadSource::parse("tv"), None);
    }

    #[test]
    fn closed_leads_cannot_move() {
        assert_eq!(
            transition(LeadStatus::New, LeadEvent::Assign),
            Ok(LeadStatus::Following)
        );
        assert_eq!(
            transition(LeadStatus::Following, LeadEvent::Convert),
            Ok(LeadStatus::Converted)
        );
        assert!(transition(LeadStatus::Disqualified, LeadEvent::Convert).is_err());
        assert!(transition(LeadStatus::Converted, LeadEvent::Convert).is_err());
    }

    #[test]
    fn rules_match_on_region_industry_section_and_source() {
        let rule = RuleConditions {
            regions: vec!["44".to_owned()],
            industries: vec!["C".to_owned(), "I65".to_owned()],
            sources: vec![],
        };
        let facts = |region, industry, source| LeadFacts {
            region,
            industry_code: industry,
            source,
        };
        assert!(rule.matches(facts(Some("44"), Some("C35"), LeadSource::Fair)));
        assert!(rule.matches(facts(Some("44"), Some("I65"), LeadSource::Website)));
        assert!(!rule.matches(facts(Some("44"), Some("I64"), LeadSource::Website)));
        assert!(!rule.matches(facts(Some("11"), Some("C35"), LeadSource::Fair)));
        assert!(!rule.matches(facts(None, Some("C35"), LeadSource::Fair)));
        let any = RuleConditions::default();
        assert!(any.matches(facts(None, None, LeadSource::Other)));
        let fair = RuleConditions {
            sources: vec![LeadSource::Fair],
            ..RuleConditions::default()
        };
        assert_eq!(
            first_match(&[fair, any], facts(None, None, LeadSource::Phone)),
            Some(1)
        );
    }
}
