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
    /// Create and import leads (web forms, trade-fair scanners) and read back the leads the
    /// key created.
    #[serde(rename = "leads:write")]
    LeadsWrite,
    /// Read the event feed (`GET /events`) to catch up on changes by polling.
    #[serde(rename = "events:read")]
    EventsRead,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 2] = [Scope::LeadsWrite, Scope::EventsRead];

    /// The scope's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::LeadsWrite => "leads:write",
            Scope::EventsRead => "events:read",
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
    /// Read the event feed (the outbox) to catch up on changes.
    ReadEvents,
    /// Read one's own account and change one's own password.
    ManageOwnAccount,
    /// Read the leads one can see (an integrator: the ones its key created).
    ReadLeads,
    /// Read a lead's change log (people only: it names records an integrator may not see).
    ReadLeadHistory,
    /// Create and import leads.
    CreateLead,
    /// Edit, convert and disqualify the leads one can see.
    EditLead,
    /// Give a lead to a rep by hand.
    AssignLead,
    /// Read, create, change and delete lead assignment rules.
    ManageAssignmentRules,
    /// Read the deals one can see (and their stages, history, forecast).
    ReadDeals,
    /// Create deals and move one's own: assess, win, lose, edit.
    EditDeal,
    /// Reopen a won or lost deal, and give deals to another owner.
    ManageDeals,
    /// Read the work orders one can see (and their notes, history).
    ReadWorkOrders,
    /// Open a work order for a customer one can see.
    CreateWorkOrder,
    /// Add a progress note to a work order one can see.
    AddWorkOrderNote,
    /// Work a ticket: edit it, start, resolve, record the follow-up visit and close, cancel,
    /// reopen.
    WorkOnWorkOrder,
    /// Give work orders to agents by hand.
    ManageWorkOrders,
    /// Read the SLA policy and the work calendar.
    ReadServicePolicy,
    /// Change the SLA policy.
    EditSlaPolicy,
    /// Change the work calendar.
    EditWorkCalendar,
    /// Record contacts with the customers one can see, and read one's follow-ups due.
    RecordActivity,
    /// Add and renew the contracts of the customers one can see.
    EditContract,
    /// Record a satisfaction survey of a customer one can see.
    RecordSurvey,
    /// Mark a customer lost (流失), and read the customers at risk of it.
    MarkCustomerLost,
    /// Create, change and delete webhook subscriptions; read their delivery logs; redeliver.
    ManageWebhooks,
}

impl Action {
    /// The API-key scope that grants this action to an integrator, if any scope does.
    pub fn scope(self) -> Option<Scope> {
        match self {
            Action::ReadEvents => Some(Scope::EventsRead),
            Action::CreateLead | Action::ReadLeads => Some(Scope::LeadsWrite),
            _ => None,
        }
    }
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
        ManageUsers | ManageApiKeys | ReadEvents | ManageWebhooks => role == Admin,
        ManageOwnAccount => true,
        ReadLeads | ReadLeadHistory | CreateLead | EditLead | ReadDeals | EditDeal => {
            matches!(role, Admin | Manager | Sales)
        }
        AssignLead | ManageAssignmentRules | ManageDeals => matches!(role, Admin | Manager),
        ReadWorkOrders | CreateWorkOrder | AddWorkOrderNote | ReadServicePolicy => true,
        WorkOnWorkOrder => matches!(role, Admin | Manager | Service),
        ManageWorkOrders | EditSlaPolicy => matches!(role, Admin | Manager),
        EditWorkCalendar => role == Admin,
        RecordActivity | EditContract => matches!(role, Admin | Manager | Sales),
        RecordSurvey => true,
        MarkCustomerLost => matches!(role, Admin | Manager),
    }
}

/// Who is asking: a signed-in person, an integrator's API key, or the system itself (the
/// command line, background jobs). One type from authentication through every use case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A person with an account.
    Person {
        /// The account's id.
        id: Uuid,
        /// The account's role.
        role: Role,
    },
    /// An integrator presenting an API key.
    Integrator {
        /// The key's id.
        key_id: Uuid,
        /// What the key was granted.
        scopes: Vec<Scope>,
    },
    /// The server itself: command-line tools and background jobs. Sees and may do everything.
    System,
}

impl Caller {
    /// Whether this caller may ever take `action`, whatever the record: the role policy
    /// for people, the key's scopes for integrators. The one place scopes are checked.
    pub fn may(&self, action: Action) -> bool {
        match self {
            Caller::Person { role, .. } => permits(*role, action),
            Caller::Integrator { scopes, .. } => {
                action.scope().is_some_and(|s| scopes.contains(&s))
            }
            Caller::System => true,
        }
    }

    /// The person's account id; `None` for integrators and the system.
    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Caller::Person { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// The API key's id; `None` for people and the system.
    pub fn api_key_id(&self) -> Option<Uuid> {
        match self {
            Caller::Integrator { key_id, .. } => Some(*key_id),
            _ => None,
        }
    }

    /// The person's role; `None` for integrators and the system.
    pub fn role(&self) -> Option<Role> {
        match self {
            Caller::Person { role, .. } => Some(*role),
            _ => None,
        }
    }

    /// Which records (customers, leads, deals, work orders) this caller can know exist.
    /// Integrators see none of them; the system sees all.
    pub fn visibility(&self) -> Visibility {
        match self {
            Caller::Person { id, role } => record_visibility(*role, *id),
            Caller::Integrator { key_id, .. } => Visibility::CreatedByKey(*key_id),
            Caller::System => Visibility::All,
        }
    }
}

/// Which records of a kind a caller can know exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Every record.
    All,
    /// Only records owned by this user (their customers, leads, deals).
    OwnedBy(Uuid),
    /// Only work orders assigned to (or opened by) this user, and the customers behind them.
    AssignedTo(Uuid),
    /// Only records this API key created (an integrator reading back its own leads).
    CreatedByKey(Uuid),
}

/// The visibility of records (customers, leads, deals, work orders) for a person.
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
        assert_eq!(Scope::parse("events:read"), Some(Scope::EventsRead));
    }

    #[test]
    fn integrators_reach_only_what_their_scopes_grant() {
        let key = Caller::Integrator {
            key_id: Uuid::now_v7(),
            scopes: vec![Scope::LeadsWrite],
        };
        assert!(!key.may(Action::ReadCustomers));
        assert!(!key.may(Action::ReadEvents));
        assert!(!key.may(Action::ManageOwnAccount));
        let reader = Caller::Integrator {
            key_id: Uuid::now_v7(),
            scopes: vec![Scope::EventsRead],
        };
        assert!(reader.may(Action::ReadEvents));
        assert!(Caller::System.may(Action::PurgeCustomer));
        let admin = Caller::Person {
            id: Uuid::now_v7(),
            role: Role::Admin,
        };
        assert!(admin.may(Action::ReadEvents));
        let rep = Caller::Person {
            id: Uuid::now_v7(),
            role: Role::Sales,
        };
        assert!(!rep.may(Action::ReadEvents));
    }
}
