//! Rule violations: a request that is well-formed and allowed, but that the business rules
//! refuse in the record's current state. Each has a stable machine code; the application
//! layer maps each to its HTTP status in one table.

use uuid::Uuid;

/// A business rule the request would break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleViolation {
    /// The customer is archived; it must be restored before it can change.
    #[error("The customer is archived; restore it first.")]
    CustomerArchived,
    /// The customer's personal data was purged; it can never change again.
    #[error("The customer was purged and can no longer change.")]
    CustomerPurged,
    /// Another live customer has this USCC.
    #[error("A customer with this USCC already exists.")]
    DuplicateUscc {
        /// The other customer, when the caller may see it.
        existing_id: Option<Uuid>,
    },
    /// A merge names the same customer twice.
    #[error("A customer cannot be merged into itself.")]
    MergeIntoSelf,
    /// Removing this contact would leave the customer without one.
    #[error("A customer needs at least one contact.")]
    LastContact,
    /// Another account has this username.
    #[error("An account with this username already exists.")]
    DuplicateUsername {
        /// The other account.
        existing_id: Option<Uuid>,
    },
    /// The change would leave no active admin.
    #[error("This is the last active admin; make another admin first.")]
    LastAdmin,
    /// Another tag has this name.
    #[error("A tag with this name exists.")]
    DuplicateTag {
        /// The other tag.
        existing_id: Option<Uuid>,
    },
    /// Another contract has this number.
    #[error("A contract with this number exists.")]
    DuplicateContractNumber {
        /// The other contract, when the caller may see it.
        existing_id: Option<Uuid>,
    },
    /// The contract was renewed already.
    #[error("This contract was renewed already.")]
    AlreadyRenewed {
        /// Its successor, when the caller may see it.
        existing_id: Option<Uuid>,
    },
    /// The customer has a survey for this period.
    #[error("This customer has a survey for this period.")]
    DuplicateSurvey {
        /// The existing survey.
        existing_id: Option<Uuid>,
    },
    /// The record's state does not allow this move.
    #[error("This change is not allowed from state `{from}`; allowed: {}.", allowed_list(.allowed))]
    IllegalTransition {
        /// The current state.
        from: String,
        /// The moves (or states) allowed from here.
        allowed: Vec<String>,
    },
    /// The record changed while this request was being processed; read it again and retry.
    #[error("The record changed while this request was being processed; read it again and retry.")]
    StaleVersion,
}

fn allowed_list(allowed: &[String]) -> String {
    if allowed.is_empty() {
        "none".to_owned()
    } else {
        allowed.join(", ")
    }
}

impl RuleViolation {
    /// The stable machine code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::CustomerArchived => "customer_archived",
            Self::CustomerPurged => "customer_purged",
            Self::DuplicateUscc { .. } => "duplicate_uscc",
            Self::MergeIntoSelf => "merge_into_self",
            Self::LastContact => "last_contact",
            Self::DuplicateUsername { .. } => "duplicate_username",
            Self::LastAdmin => "last_admin",
            Self::DuplicateTag { .. } => "duplicate_tag",
            Self::DuplicateContractNumber { .. } => "duplicate_contract_number",
            Self::AlreadyRenewed { .. } => "already_renewed",
            Self::DuplicateSurvey { .. } => "duplicate_survey",
            Self::IllegalTransition { .. } => "illegal_transition",
            Self::StaleVersion => "stale_version",
        }
    }

    /// The existing record the violation points at, when the caller may see it.
    pub fn existing_id(&self) -> Option<Uuid> {
        match self {
            Self::DuplicateUscc { existing_id }
            | Self::DuplicateTag { existing_id }
            | Self::DuplicateContractNumber { existing_id }
            | Self::AlreadyRenewed { existing_id }
            | Self::DuplicateSurvey { existing_id }
            | Self::DuplicateUsername { existing_id } => *existing_id,
            _ => None,
        }
    }

    /// The moves allowed from the current state, for `illegal_transition`.
    pub fn allowed(&self) -> &[String] {
        match self {
            Self::IllegalTransition { allowed, .. } => allowed,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_allowed_moves() {
        let v = RuleViolation::IllegalTransition {
            from: "won".to_owned(),
            allowed: vec!["reopen".to_owned()],
        };
        assert_eq!(v.code(), "illegal_transition");
        assert!(v.to_string().contains("reopen"), "{v}");
        assert_eq!(RuleViolation::MergeIntoSelf.code(), "merge_into_self");
    }
}
