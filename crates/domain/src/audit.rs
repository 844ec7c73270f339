//! What the audit log and the event feed record: the kinds of entity, the actions taken on
//! them, and the public event types integrators receive. Names are stable: clients and
//! stored rows depend on them.

use serde::Serialize;
use utoipa::ToSchema;

/// The kinds of record the audit log and the event feed speak of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    /// A customer profile, with its contacts, tags and attachments.
    Customer,
    /// An account.
    User,
    /// An integrator's API key.
    ApiKey,
    /// A tag of the catalogue.
    Tag,
    /// The tier policy.
    TierPolicy,
    /// A lead.
    Lead,
    /// A deal.
    Opportunity,
    /// A lead assignment rule.
    AssignmentRule,
    /// A service work order.
    WorkOrder,
    /// The SLA policy.
    SlaPolicy,
    /// The work calendar.
    WorkCalendar,
    /// A communication record.
    Activity,
    /// A contract.
    Contract,
    /// A reminder in someone's inbox.
    Reminder,
    /// The holidays kept for customer care.
    CareHolidays,
    /// A satisfaction survey.
    Survey,
    /// A webhook subscription.
    Webhook,
}

impl EntityType {
    /// The name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::User => "user",
            Self::ApiKey => "api_key",
            Self::Tag => "tag",
            Self::TierPolicy => "tier_policy",
            Self::Lead => "lead",
            Self::Opportunity => "opportunity",
            Self::AssignmentRule => "assignment_rule",
            Self::WorkOrder => "work_order",
            Self::SlaPolicy => "sla_policy",
            Self::WorkCalendar => "work_calendar",
            Self::Activity => "activity",
            Self::Contract => "contract",
            Self::Reminder => "reminder",
            Self::CareHolidays => "care_holidays",
            Self::Survey => "survey",
            Self::Webhook => "webhook",
        }
    }
}

/// Every action the audit log records. The documented list in `docs/API.md` is this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// The record was created; `changes` holds every field set.
    Created,
    /// Fields changed.
    Updated,
    /// A customer was given to another owner.
    OwnerChanged,
    /// A customer's tier was pinned or unpinned by hand.
    TierPinned,
    /// A customer's tier changed by the policy (re-tiering).
    TierChanged,
    /// A customer's tag set changed.
    TagsChanged,
    /// A contact was added to a customer.
    ContactAdded,
    /// A contact changed.
    ContactChanged,
    /// A contact was removed.
    ContactRemoved,
    /// A file was attached to a customer.
    AttachmentAdded,
    /// An attachment was deleted.
    AttachmentRemoved,
    /// The record was archived.
    Archived,
    /// The record was restored from the archive.
    Restored,
    /// Another customer was merged into this one.
    Merged,
    /// This customer was merged into another and archived.
    MergedInto,
    /// A customer's personal data was irreversibly removed.
    Purged,
    /// An account was deactivated.
    Deactivated,
    /// An account was reactivated.
    Reactivated,
    /// An account's role changed.
    RoleChanged,
    /// An account's password was changed by its owner or reset by an admin.
    PasswordChanged,
    /// An API key was revoked.
    Revoked,
    /// A tag was renamed.
    Renamed,
    /// A tag was merged into another of the same name.
    TagMerged,
    /// The record was deleted.
    Deleted,
    /// A lead was given to a rep.
    Assigned,
    /// A lead became a customer and a deal.
    Converted,
    /// A lead was set aside.
    Disqualified,
    /// A deal's probability changed.
    StageChanged,
    /// A deal was won.
    Won,
    /// A deal was lost.
    Lost,
    /// A closed deal or a resolved work order was opened again.
    Reopened,
    /// An agent started work on a work order (its first response).
    Started,
    /// A work order was resolved.
    Resolved,
    /// A work order was closed after its follow-up visit.
    Closed,
    /// A work order was cancelled.
    Cancelled,
    /// A work order missed its response or resolution due time.
    Breached,
    /// A late work order was escalated to a manager.
    Escalated,
    /// A progress note was added to a work order.
    NoteAdded,
    /// A contract was renewed by a successor.
    Renewed,
    /// A manager marked a customer lost (流失), with the reason.
    MarkedLost,
    /// A webhook subscription's signing secret was replaced.
    SecretRotated,
}

impl AuditAction {
    /// Every action, in documentation order.
    pub const ALL: [AuditAction; 41] = [
        Self::Created,
        Self::Updated,
        Self::OwnerChanged,
        Self::TierPinned,
        Self::TierChanged,
        Self::TagsChanged,
        Self::ContactAdded,
        Self::ContactChanged,
        Self::ContactRemoved,
        Self::AttachmentAdded,
        Self::AttachmentRemoved,
        Self::Archived,
        Self::Restored,
        Self::Merged,
        Self::MergedInto,
        Self::Purged,
        Self::Deactivated,
        Self::Reactivated,
        Self::RoleChanged,
        Self::PasswordChanged,
        Self::Revoked,
        Self::Renamed,
        Self::TagMerged,
        Self::Deleted,
        Self::Assigned,
        Self::Converted,
        Self::Disqualified,
        Self::StageChanged,
        Self::Won,
        Self::Lost,
        Self::Reopened,
        Self::Started,
        Self::Resolved,
        Self::Closed,
        Self::Cancelled,
        Self::Breached,
        Self::Escalated,
        Self::NoteAdded,
        Self::Renewed,
        Self::MarkedLost,
        Self::SecretRotated,
    ];

    /// The name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::OwnerChanged => "owner_changed",
            Self::TierPinned => "tier_pinned",
            Self::TierChanged => "tier_changed",
            Self::TagsChanged => "tags_changed",
            Self::ContactAdded => "contact_added",
            Self::ContactChanged => "contact_changed",
            Self::ContactRemoved => "contact_removed",
            Self::AttachmentAdded => "attachment_added",
            Self::AttachmentRemoved => "attachment_removed",
            Self::Archived => "archived",
            Self::Restored => "restored",
            Self::Merged => "merged",
            Self::MergedInto => "merged_into",
            Self::Purged => "purged",
            Self::Deactivated => "deactivated",
            Self::Reactivated => "reactivated",
            Self::RoleChanged => "role_changed",
            Self::PasswordChanged => "password_changed",
            Self::Revoked => "revoked",
            Self::Renamed => "renamed",
            Self::TagMerged => "tag_merged",
            Self::Deleted => "deleted",
            Self::Assigned => "assigned",
            Self::Converted => "converted",
            Self::Disqualified => "disqualified",
            Self::StageChanged => "stage_changed",
            Self::Won => "won",
            Self::Lost => "lost",
            Self::Reopened => "reopened",
            Self::Started => "started",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
            Self::Cancelled => "cancelled",
            Self::Breached => "breached",
            Self::Escalated => "escalated",
            Self::NoteAdded => "note_added",
            Self::Renewed => "renewed",
            Self::MarkedLost => "marked_lost",
            Self::SecretRotated => "secret_rotated",
        }
    }

    /// The event an integrator receives for this action on `entity`, if any: customer
    /// changes of every kind are `customer.updated` unless they have a name of their own.
    pub fn event(self, entity: EntityType) -> String {
        let name = match (entity, self) {
            (_, Self::Created) => "created",
            (_, Self::Archived) => "archived",
            (_, Self::Restored) => "restored",
            (_, Self::Purged) => "purged",
            (_, Self::Deleted) => "deleted",
            (EntityType::Customer, Self::Merged) => "merged",
            (EntityType::Customer, Self::MergedInto) => "merged_into",
            (EntityType::Customer, Self::OwnerChanged) => "owner_changed",
            (EntityType::Customer, Self::TierChanged | Self::TierPinned) => "tier_changed",
            (EntityType::User, Self::Deactivated) => "deactivated",
            (EntityType::ApiKey, Self::Revoked) => "revoked",
            (EntityType::Lead, Self::Assigned) => "assigned",
            (EntityType::Lead, Self::Converted) => "converted",
            (EntityType::Lead, Self::Disqualified) => "disqualified",
            (EntityType::Opportunity, Self::StageChanged) => "stage_changed",
            (EntityType::Opportunity, Self::Won) => "won",
            (EntityType::Opportunity, Self::Lost) => "lost",
            (EntityType::Opportunity, Self::Reopened) => "reopened",
            (
                EntityType::WorkOrder,
                Self::Assigned
                | Self::Started
                | Self::Resolved
                | Self::Closed
                | Self::Cancelled
                | Self::Reopened
                | Self::Breached
                | Self::Escalated
                | Self::NoteAdded,
            ) => self.as_str(),
            (EntityType::Contract, Self::Renewed) => "renewed",
            (EntityType::Customer, Self::MarkedLost) => "lost",
            _ => "updated",
        };
        format!("{}.{name}", entity.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_and_event_is_documented() {
        let doc = include_str!("../../../docs/API.md");
        for action in AuditAction::ALL {
            assert!(
                doc.contains(&format!("`{}`", action.as_str())),
                "docs/API.md does not list the audit action `{}`",
                action.as_str()
            );
        }
        use AuditAction::*;
        let work_order = [
            Created, Updated, Assigned, Started, Resolved, Closed, Cancelled, Reopened, Breached,
            Escalated, NoteAdded,
        ];
        for action in work_order {
            let event = action.event(EntityType::WorkOrder);
            assert!(doc.contains(&format!("`{event}`")), "{event}");
        }
        for entity in [EntityType::SlaPolicy, EntityType::WorkCalendar] {
            let event = Updated.event(entity);
            assert!(doc.contains(&format!("`{event}`")), "{event}");
        }
    }

    #[test]
    fn names_are_unique_and_events_are_dotted() {
        let mut names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AuditAction::ALL.len());
        assert_eq!(
            AuditAction::ContactAdded.event(EntityType::Customer),
            "customer.updated"
        );
        assert_eq!(
            AuditAction::Created.event(EntityType::Customer),
            "customer.created"
        );
        assert_eq!(
            AuditAction::Merged.event(EntityType::Customer),
            "customer.merged"
        );
    }
}
