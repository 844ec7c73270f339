//! Service work orders (服务工单): their kinds, severities and states, the moves between states
//! as one function, the readable number, and the fair choice of an agent.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::rule::RuleViolation;

named_enum! {
    /// What a work order is about.
    Category {
        /// A question (咨询).
        Consultation = "consultation",
        /// A complaint (投诉).
        Complaint = "complaint",
        /// Something broken to repair (维修).
        Repair = "repair",
        /// An installation (安装).
        Installation = "installation",
        /// Anything else.
        Other = "other",
    }
}

named_enum! {
    /// How bad it is (问题分级).
    Severity {
        /// Production down, no workaround.
        Critical = "critical",
        /// Badly impaired.
        High = "high",
        /// Impaired, with a workaround.
        Normal = "normal",
        /// Questions and cosmetic issues.
        Low = "low",
    }
}

named_enum! {
    /// How the request came in.
    Channel {
        /// A phone call (the service hotline).
        Phone = "phone",
        /// An e-mail.
        Email = "email",
        /// WeChat.
        Wechat = "wechat",
        /// A web form or the customer portal.
        Web = "web",
        /// In person, on site.
        Onsite = "onsite",
        /// Anything else.
        Other = "other",
    }
}

named_enum! {
    /// Where a work order stands.
    WorkOrderStatus {
        /// Received, no agent yet (no active service agent was available).
        New = "new",
        /// An agent has it and has not started.
        Assigned = "assigned",
        /// Being worked: the first response was given.
        InProgress = "in_progress",
        /// Solved; waiting for the follow-up visit (回访).
        Resolved = "resolved",
        /// Closed after the follow-up visit.
        Closed = "closed",
        /// Cancelled, with a reason.
        Cancelled = "cancelled",
    }
}

impl WorkOrderStatus {
    /// Whether the order is still being handled (not closed, not cancelled).
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Closed | Self::Cancelled)
    }

    /// The states an order counts towards an agent's load in.
    pub const LOAD: [WorkOrderStatus; 3] = [Self::Assigned, Self::InProgress, Self::Resolved];
}

/// A move of a work order; each has its own endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkOrderEvent {
    /// Give it to an agent (or another agent).
    Assign,
    /// The agent starts work: the first response.
    Start,
    /// The problem is solved.
    Resolve,
    /// Closed after the follow-up visit.
    Close,
    /// Cancelled, with a reason.
    Cancel,
    /// Not solved after all: back to work.
    Reopen,
}

impl WorkOrderEvent {
    /// The move's name (its endpoint).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assign => "assign",
            Self::Start => "start",
            Self::Resolve => "resolve",
            Self::Close => "close",
            Self::Cancel => "cancel",
            Self::Reopen => "reopen",
        }
    }
}

/// The moves allowed from `status`.
pub fn allowed(status: WorkOrderStatus) -> &'static [&'static str] {
    use WorkOrderStatus::*;
    match status {
        New => &["assign", "cancel"],
        Assigned => &["assign", "start", "cancel"],
        InProgress => &["assign", "resolve", "cancel"],
        Resolved => &["assign", "close", "reopen"],
        Closed | Cancelled => &[],
    }
}

/// The state after `event`, or `illegal_transition` naming the allowed moves. Assigning
/// a new order makes it `assigned`; reassigning one that is further on keeps its state.
pub fn transition(
    status: WorkOrderStatus,
    event: WorkOrderEvent,
) -> Result<WorkOrderStatus, RuleViolation> {
    use WorkOrderEvent as E;
    use WorkOrderStatus::*;
    let next = match (status, event) {
        (New, E::Assign) => Some(Assigned),
        (Assigned | InProgress | Resolved, E::Assign) => Some(status),
        (Assigned, E::Start) => Some(InProgress),
        (InProgress, E::Resolve) => Some(Resolved),
        (Resolved, E::Close) => Some(Closed),
        (Resolved, E::Reopen) => Some(InProgress),
        (New | Assigned | InProgress, E::Cancel) => Some(Cancelled),
        _ => None,
    };
    next.ok_or_else(|| RuleViolation::IllegalTransition {
        from: status.as_str().to_owned(),
        allowed: allowed(status).iter().map(|s| (*s).to_owned()).collect(),
    })
}

/// A satisfaction score of the follow-up visit: 1 (very dissatisfied) to 5 (very satisfied).
pub fn satisfaction(score: i64) -> Result<i16, &'static str> {
    match score {
        1..=5 => Ok(i16::try_from(score).unwrap_or(1)),
        _ => Err("must be 1 (very dissatisfied) to 5 (very satisfied)"),
    }
}

/// The readable number of the `sequence`-th order opened on `day` (office time):
/// `WO-20261123-0007`; past 9999 the sequence simply grows a digit.
pub fn number(day: NaiveDate, sequence: i64) -> String {
    format!("WO-{}-{sequence:04}", day.format("%Y%m%d"))
}

/// Someone a work order (or an escalation) could go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The account.
    pub id: Uuid,
    /// How many it holds now.
    pub load: i64,
    /// When it was last given one (`None`: never).
    pub last_given: Option<DateTime<Utc>>,
    /// Whether a rule prefers this one (same region or team).
    pub preferred: bool,
}

/// The fair choice: among the preferred candidates if there are any, the one with the least
/// load; on a tie, the one that waited longest since its last; then the lowest id, so that
/// every copy of the server decides alike.
pub fn pick(candidates: &[Candidate]) -> Option<Uuid> {
    let preferred = candidates.iter().any(|c| c.preferred);
    candidates
        .iter()
        .filter(|c| c.preferred || !preferred)
        .min_by(|a, b| {
            a.load
                .cmp(&b.load)
                .then(a.last_given.cmp(&b.last_given))
                .then(a.id.cmp(&b.id))
        })
        .map(|c| c.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use WorkOrderEvent as E;
    use WorkOrderStatus::*;

    #[test]
    fn the_happy_path_and_its_exits() {
        let mut s = New;
        for (e, to) in [
            (E::Assign, Assigned),
            (E::Start, InProgress),
            (E::Resolve, Resolved),
            (E::Reopen, InProgress),
            (E::Resolve, Resolved),
            (E::Close, Closed),
        ] {
            s = transition(s, e).unwrap_or(New);
            assert_eq!(s, to);
        }
        for from in [New, Assigned, InProgress] {
            assert_eq!(transition(from, E::Cancel), Ok(Cancelled));
        }
        assert_eq!(transition(InProgress, E::Assign), Ok(InProgress));
    }

    #[test]
    fn illegal_moves_name_the_allowed_ones() {
        match transition(Assigned, E::Close) {
            Err(RuleViolation::IllegalTransition { from, allowed }) => {
                assert_eq!(from, "assigned");
                assert_eq!(allowed, ["assign", "start", "cancel"]);
            }
            other => panic!("{other:?}"),
        }
        for e in [
            E::Assign,
            E::Start,
            E::Resolve,
            E::Close,
            E::Cancel,
            E::Reopen,
        ] {
            assert!(transition(Closed, e).is_err());
            assert!(transition(Cancelled, e).is_err());
        }
        assert!(transition(Resolved, E::Cancel).is_err());
        assert!(transition(New, E::Start).is_err());
    }

    #[test]
    fn numbers_and_scores() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default();
        assert_eq!(number(day, 7), "WO-20261123-0007");
        assert_eq!(number(day, 12345), "WO-20261123-12345");
        assert_eq!(satisfaction(5), Ok(5));
        assert!(satisfaction(6).is_err() && satisfaction(0).is_err());
        assert_eq!(Severity::parse("critical"), Some(Severity::Critical));
        assert_eq!(Category::parse("urgent"), None);
    }

    #[test]
    fn the_least_loaded_then_longest_waiting_gets_it() {
        let id = |n: u128| Uuid::from_u128(n);
        let t = |h: u32| {
            NaiveDate::from_ymd_opt(2026, 11, 23)
                .and_then(|d| d.and_hms_opt(h, 0, 0))
                .map(|d| d.and_utc())
        };
        let c = |n, load, last, preferred| Candidate {
            id: id(n),
            load,
            last_given: last,
            preferred,
        };
        assert_eq!(
            pick(&[c(1, 3, t(1), false), c(2, 1, t(9), false)]),
            Some(id(2))
        );
        // A tie goes to the one that waited longest; never given one waits longest.
        assert_eq!(
            pick(&[c(1, 1, t(9), false), c(2, 1, t(8), false)]),
            Some(id(2))
        );
        assert_eq!(
            pick(&[c(1, 1, t(9), false), c(2, 1, None, false)]),
            Some(id(2))
        );
        // A preferred agent wins even with more work.
        assert_eq!(
            pick(&[c(1, 0, None, false), c(2, 5, t(1), true)]),
            Some(id(2))
        );
        assert_eq!(pick(&[]), None);
    }
}
