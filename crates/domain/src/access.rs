//! Who may do what: the role × action policy and the visibility rule, in one place.
//!
//! Two questions are kept apart. *Visibility* decides which records a caller can know exist
//! (anything else is "not found" to them, and is filtered out in the store's SQL). The
//! *policy* decides which actions a role may take on what it can see (refused: 403).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A person's role. Ordered by reach, not by rank: use [`permits`] to decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// System administrator: accounts, API keys, policies, purge.
    Admin,
    /// Customer manager and above: sees everything, assigns, merges, edits policies.
    Manager,
    /// Account rep: sees and edits only the records they own.
    Sales,
    /// Customer-service agent: works the tickets assigned to them.
    Service,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::Sales, Role::Service];

    /// The role's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Sales => "sales",
            Role::Service => "service",
        }
    }

    /// Parses a stored or submitted role name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Scopes an integrator's API key can carry.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub enum Scope {
    /// Create leads (web forms, trade-fair scanners).
    #[serde(rename = "leads:write")]
    LeadsWrite,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 1] = [Scope::LeadsWrite];

    /// The scope's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::LeadsWrite => "leads:write",
        }
    }

    /// Parses a stored or submitted scope name.
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Actions that the policy rules on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read the account list and other users' accounts.
    ReadUsers,
    /// Create, change, deactivate accounts; reset passwords.
    ManageUsers,
    /// Create, list and revoke integrator API keys.
    ManageApiKeys,
    /// Read reference data (industries, regions).
    ReadReference,
    /// Read the customers one can see (and their contacts, tags, history).
    ReadCustomers,
    /// Create customers (owned by oneself unless one may assign owners).
    CreateCustomer,
    /// Edit the customers one can see: fields, contacts, tags.
    EditCustomer,
    /// Give a customer to another owner.
    AssignOwner,
    /// Archive and restore customers.
    ArchiveCustomer,
    /// Merge two customers.
    MergeCustomers,
    /// Irreversibly remove a customer's personal data.
    PurgeCustomer,
    /// Pin a customer's tier by hand.
    PinTier,
    /// Change the tier policy.
    EditTierPolicy,
    /// Add a tag to the catalogue.
    CreateTag,
    /// Rename, merge and delete tags.
    ManageTags,
}

/// Whether `role` may take `action` on a record it can see.
pub fn permits(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match action {
        ReadReference | ReadCustomers => true,
        CreateCustomer | EditCustomer | CreateTag => matches!(role, Admin | Manager | Sales),
        AssignOwner | ArchiveCustomer | MergeCustomers | PinTier | EditTierPolicy | ManageTags => {
            matches!(role, Admin | Manager)
        }
        PurgeCustomer => role == Admin,
        ReadUsers => matches!(role, Admin | Manager),
        ManageUsers | ManageApiKeys => role == Admin,
    }
}

/// Which records of a kind a caller can know exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Every record.
    All,
    /// Only records owned by this user (their customers, leads, deals).
    OwnedBy(Uuid),
    /// Only records assigned to this user (their work orders), and what hangs off them.
    AssignedTo(Uuid),
}

/// The visibility of owned records (customers, leads, deals, activities) for a caller.
pub fn record_visibility(role: Role, user_id: Uuid) -> Visibility {
    match role {
        Role::Admin | Role::Manager => Visibility::All,
        Role::Sales => Visibility::OwnedBy(user_id),
        Role::Service => Visibility::AssignedTo(user_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_manage_accounts_and_keys() {
        for role in Role::ALL {
            assert_eq!(permits(role, Action::ManageUsers), role == Role::Admin);
            assert_eq!(permits(role, Action::ManageApiKeys), role == Role::Admin);
            assert!(permits(role, Action::ReadReference));
        }
        assert!(permits(Role::Manager, Action::ReadUsers));
        assert!(!permits(Role::Sales, Action::ReadUsers));
        assert!(!permits(Role::Service, Action::ReadUsers));
    }

    #[test]
    fn customer_actions_follow_the_roles() {
        for role in Role::ALL {
            let manages = matches!(role, Role::Admin | Role::Manager);
            assert_eq!(permits(role, Action::AssignOwner), manages);
            assert_eq!(permits(role, Action::MergeCustomers), manages);
            assert_eq!(permits(role, Action::EditCustomer), role != Role::Service);
            assert_eq!(permits(role, Action::PurgeCustomer), role == Role::Admin);
            assert!(permits(role, Action::ReadCustomers));
        }
    }

    #[test]
    fn sales_see_only_their_own() {
        let me = Uuid::now_v7();
        assert_eq!(record_visibility(Role::Sales, me), Visibility::OwnedBy(me));
        assert_eq!(record_visibility(Role::Manager, me), Visibility::All);
        assert_eq!(
            record_visibility(Role::Service, me),
            Visibility::AssignedTo(me)
        );
    }

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(Scope::parse("leads:write"), Some(Scope::LeadsWrite));
        assert_eq!(Scope::parse("leads:read"), None);
    }
}
