//! Deals (商机, opportunities): the three-step probability assessment (三级评估) while open —
//! exactly 30, 60 or 90 percent — and the moves between states as one function.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::rule::RuleViolation;

/// The probabilities an open deal may have, in percent.
pub const PROBABILITIES: [u8; 3] = [30, 60, 90];

/// An open deal's probability of closing: 30, 60 or 90 percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Probability(u8);

impl Probability {
    /// Accepts exactly 30, 60 or 90.
    pub fn new(percent: i64) -> Result<Self, &'static str> {
        match percent {
            30 | 60 | 90 => Ok(Self(u8::try_from(percent).unwrap_or(30))),
            _ => Err("must be 30, 60 or 90 (percent) while the deal is open"),
        }
    }

    /// In percent.
    pub fn percent(self) -> u8 {
        self.0
    }
}

/// Where a deal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DealStatus {
    /// Being worked, at 30, 60 or 90 percent.
    Open,
    /// Won (赢单): probability 100.
    Won,
    /// Lost: probability 0, with a reason.
    Lost,
}

impl DealStatus {
    /// The name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Won => "won",
            Self::Lost => "lost",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "won" => Some(Self::Won),
            "lost" => Some(Self::Lost),
            _ => None,
        }
    }
}

/// A deal's state: its status and probability in percent (100 won, 0 lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DealState {
    /// Open, won or lost.
    pub status: DealStatus,
    /// 30, 60 or 90 while open; 100 won; 0 lost.
    pub probability: u8,
}

/// A move of a deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DealEvent {
    /// Re-assess an open deal.
    Assess(Probability),
    /// Close as won.
    Win,
    /// Close as lost.
    Lose,
    /// Open a closed deal again, at this probability.
    Reopen(Probability),
}

/// The moves allowed from `state`.
pub fn allowed(state: DealState) -> &'static [&'static str] {
    match state.status {
        DealStatus::Open => &["assess", "win", "lose"],
        DealStatus::Won | DealStatus::Lost => &["reopen"],
    }
}

/// The state after `event`, or `illegal_transition` naming the allowed moves.
pub fn transition(state: DealState, event: DealEvent) -> Result<DealState, RuleViolation> {
    let next = match (state.status, event) {
        (DealStatus::Open, DealEvent::Assess(p)) => Some(DealState {
            status: DealStatus::Open,
            probability: p.percent(),
        }),
        (DealStatus::Open, DealEvent::Win) => Some(DealState {
            status: DealStatus::Won,
            probability: 100,
        }),
        (DealStatus::Open, DealEvent::Lose) => Some(DealState {
            status: DealStatus::Lost,
            probability: 0,
        }),
        (DealStatus::Won | DealStatus::Lost, DealEvent::Reopen(p)) => Some(DealState {
            status: DealStatus::Open,
            probability: p.percent(),
        }),
        _ => None,
    };
    next.ok_or_else(|| RuleViolation::IllegalTransition {
        from: state.status.as_str().to_owned(),
        allowed: allowed(state).iter().map(|s| (*s).to_owned()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(p: u8) -> DealState {
        DealState {
            status: DealStatus::Open,
            probability: p,
        }
    }

    #[test]
    fn only_three_probabilities_while_open() {
        for p in [30, 60, 90] {
            assert_eq!(Probability::new(p).map(Probability::percent), Ok(p as u8));
        }
        for p in [0, 10, 50, 100, -30, 31] {
            assert!(Probability::new(p).is_err(), "{p}");
        }
    }

    #[test]
    fn moves_follow_the_state_machine() {
        let p60 = Probability::new(60).unwrap_or(Probability(30));
        assert_eq!(transition(open(30), DealEvent::Assess(p60)), Ok(open(60)));
        let won = transition(open(90), DealEvent::Win).unwrap_or(open(0));
        assert_eq!((won.status, won.probability), (DealStatus::Won, 100));
        let lost = transition(open(30), DealEvent::Lose).unwrap_or(open(0));
        assert_eq!((lost.status, lost.probability), (DealStatus::Lost, 0));
        match transition(won, DealEvent::Lose) {
            Err(RuleViolation::IllegalTransition { allowed, .. }) => {
                assert_eq!(allowed, ["reopen"])
            }
            other => panic!("{other:?}"),
        }
        assert!(transition(won, DealEvent::Assess(p60)).is_err());
        assert_eq!(transition(lost, DealEvent::Reopen(p60)), Ok(open(60)));
        assert!(transition(open(30), DealEvent::Reopen(p60)).is_err());
    }
}
