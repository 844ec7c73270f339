//! Webhooks: the event types a subscription may ask for, the targets it may name, the
//! signature receivers check, and how long a failed delivery waits before the next try.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::audit::{AuditAction, EntityType};

/// Declares the event catalogue: each variant's wire name and the (entity, action) of the
/// audit log it comes from.
macro_rules! webhook_events {
    ($($(#[$meta:meta])* $variant:ident = $text:literal ($entity:ident, $action:ident)),+ $(,)?) => {
        /// An event type a webhook subscription can ask for.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
        )]
        pub enum WebhookEvent {
            $($(#[$meta])* #[serde(rename = $text)] $variant),+
        }

        impl WebhookEvent {
            /// Every event type, in documentation order.
            pub const ALL: &'static [WebhookEvent] = &[$(WebhookEvent::$variant),+];

            /// The name as stored and sent, e.g. `customer.created`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(WebhookEvent::$variant => $text),+
                }
            }

            /// The audit entity and action whose event this is.
            pub fn source(self) -> (EntityType, AuditAction) {
                match self {
                    $(WebhookEvent::$variant => (EntityType::$entity, AuditAction::$action)),+
                }
            }
        }
    };
}

webhook_events! {
    /// A customer was created.
    CustomerCreated = "customer.created" (Customer, Created),
    /// A customer's fields, contacts, tags or attachments changed.
    CustomerUpdated = "customer.updated" (Customer, Updated),
    /// A customer was given to another owner.
    CustomerOwnerChanged = "customer.owner_changed" (Customer, OwnerChanged),
    /// A customer's tier changed (by the policy or pinned by hand).
    CustomerTierChanged = "customer.tier_changed" (Customer, TierChanged),
    /// Another customer was merged into this one.
    CustomerMerged = "customer.merged" (Customer, Merged),
    /// This customer was merged into another and archived.
    CustomerMergedInto = "customer.merged_into" (Customer, MergedInto),
    /// A customer was archived.
    CustomerArchived = "customer.archived" (Customer, Archived),
    /// A customer was restored from the archive.
    CustomerRestored = "customer.restored" (Customer, Restored),
    /// A customer's personal data was removed for good.
    CustomerPurged = "customer.purged" (Customer, Purged),
    /// A customer was marked lost.
    CustomerLost = "customer.lost" (Customer, MarkedLost),
    /// A lead arrived (created or imported).
    LeadCreated = "lead.created" (Lead, Created),
    /// A lead changed.
    LeadUpdated = "lead.updated" (Lead, Updated),
    /// A lead was given to a rep, by a rule or by hand.
    LeadAssigned = "lead.assigned" (Lead, Assigned),
    /// A lead became a customer and a deal.
    LeadConverted = "lead.converted" (Lead, Converted),
    /// A lead was set aside.
    LeadDisqualified = "lead.disqualified" (Lead, Disqualified),
    /// A deal was created.
    OpportunityCreated = "opportunity.created" (Opportunity, Created),
    /// A deal's fields changed.
    OpportunityUpdated = "opportunity.updated" (Opportunity, Updated),
    /// A deal moved to another probability stage.
    OpportunityStageChanged = "opportunity.stage_changed" (Opportunity, StageChanged),
    /// A deal was won.
    OpportunityWon = "opportunity.won" (Opportunity, Won),
    /// A deal was lost.
    OpportunityLost = "opportunity.lost" (Opportunity, Lost),
    /// A won or lost deal was reopened.
    OpportunityReopened = "opportunity.reopened" (Opportunity, Reopened),
    /// A work order was opened.
    WorkOrderCreated = "work_order.created" (WorkOrder, Created),
    /// A work order's fields changed.
    WorkOrderUpdated = "work_order.updated" (WorkOrder, Updated),
    /// A work order was given to an agent.
    WorkOrderAssigned = "work_order.assigned" (WorkOrder, Assigned),
    /// An agent started work on a work order.
    WorkOrderStarted = "work_order.started" (WorkOrder, Started),
    /// A work order was resolved.
    WorkOrderResolved = "work_order.resolved" (WorkOrder, Resolved),
    /// A work order was closed after its follow-up visit.
    WorkOrderClosed = "work_order.closed" (WorkOrder, Closed),
    /// A work order was cancelled.
    WorkOrderCancelled = "work_order.cancelled" (WorkOrder, Cancelled),
    /// A resolved work order was reopened.
    WorkOrderReopened = "work_order.reopened" (WorkOrder, Reopened),
    /// A work order missed its response or resolution time.
    WorkOrderBreached = "work_order.breached" (WorkOrder, Breached),
    /// A late work order was escalated to the managers.
    WorkOrderEscalated = "work_order.escalated" (WorkOrder, Escalated),
    /// A progress note was added to a work order.
    WorkOrderNoteAdded = "work_order.note_added" (WorkOrder, NoteAdded),
    /// A contact with a customer was recorded.
    ActivityCreated = "activity.created" (Activity, Created),
    /// A contract was added.
    ContractCreated = "contract.created" (Contract, Created),
    /// A contract was renewed.
    ContractRenewed = "contract.renewed" (Contract, Renewed),
    /// A satisfaction survey was recorded.
    SurveyCreated = "survey.created" (Survey, Created),
    /// A tag was added to the catalogue.
    TagCreated = "tag.created" (Tag, Created),
    /// A tag was renamed or merged.
    TagUpdated = "tag.updated" (Tag, Renamed),
    /// A tag was deleted.
    TagDeleted = "tag.deleted" (Tag, Deleted),
    /// An account was created.
    UserCreated = "user.created" (User, Created),
    /// An account changed (role, name, reactivation, password).
    UserUpdated = "user.updated" (User, Updated),
    /// An account was deactivated.
    UserDeactivated = "user.deactivated" (User, Deactivated),
}

impl utoipa::PartialSchema for WebhookEvent {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "An event type a webhook subscription can ask for (docs/WEBHOOKS.md lists them).",
            ))
            .enum_values(Some(Self::ALL.iter().map(|e| e.as_str())))
            .into()
    }
}

impl utoipa::ToSchema for WebhookEvent {}

impl WebhookEvent {
    /// Parses a stored or submitted name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|e| e.as_str() == s)
    }
}

/// Longest target URL, in bytes.
pub const MAX_URL_LEN: usize = 2000;

/// Why a webhook target URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not an absolute URL.
    #[error("is not an absolute URL")]
    Malformed,
    /// Too long.
    #[error("is longer than 2000 characters")]
    TooLong,
    /// Not http or https.
    #[error("must be an http or https URL")]
    Scheme,
    /// Carries a user name or password.
    #[error("must not carry a user name or password: receivers check the signature instead")]
    Credentials,
    /// Carries a fragment, which is never sent.
    #[error("must not carry a fragment (`#…`)")]
    Fragment,
    /// Names a loopback, private, link-local or otherwise non-public address.
    #[error(
        "names a private, loopback or otherwise non-public address, which this server is configured not to call"
    )]
    Private,
}

/// A target URL that passed the checks that need no network: `host` is what must be
/// resolved (or the address itself when `ip` is set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL as it will be called.
    pub url: String,
    /// The host name, without brackets for IPv6.
    pub host: String,
    /// The address when the URL names one directly.
    pub ip: Option<IpAddr>,
    /// The port, explicit or the scheme's default.
    pub port: u16,
}

/// Checks a target URL's form; refuses an address literal that is not public unless
/// `allow_private`. Host names are resolved and checked by the caller.
pub fn parse_target(raw: &str, allow_private: bool) -> Result<Target, TargetError> {
    if raw.chars().count() > MAX_URL_LEN {
        return Err(TargetError::TooLong);
    }
    let url = url::Url::parse(raw).map_err(|_| TargetError::Malformed)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetError::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::Credentials);
    }
    if url.fragment().is_some() {
        return Err(TargetError::Fragment);
    }
    let (host, ip) = match url.host() {
        Some(url::Host::Domain(d)) => (d.to_owned(), None),
        Some(url::Host::Ipv4(a)) => (a.to_string(), Some(IpAddr::V4(a))),
        Some(url::Host::Ipv6(a)) => (a.to_string(), Some(IpAddr::V6(a))),
        None => return Err(TargetError::Malformed),
    };
    if let Some(ip) = ip
        && !allow_private
        && !is_public(ip)
    {
        return Err(TargetError::Private);
    }
    let port = url.port_or_known_default().ok_or(TargetError::Malformed)?;
    Ok(Target {
        url: url.to_string(),
        host,
        ip,
        port,
    })
}

/// Whether `ip` is a public unicast address: not loopback, private (RFC 1918, unique local),
/// shared (CGNAT), link-local, documentation, benchmarking, multicast, reserved or
/// unspecified, and not an IPv4 address of those kinds wrapped in IPv6.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return is_public_v4(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return is_public_v4(embedded(s[1], s[2]));
    }
    // IPv4-translated (::ffff:0:a.b.c.d) carries one too.
    if s[0..4] == [0, 0, 0, 0] && s[4] == 0xffff && s[5] == 0 {
        return is_public_v4(embedded(s[6], s[7]));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local, deprecated
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0) // Teredo
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard
        || s[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible, deprecated
}

/// Prefix of every signing secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// The `v1` signature of a delivery: lowercase hex HMAC-SHA256, keyed with the whole secret
/// (prefix included), over `"{timestamp}.{body}"`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        // HMAC takes a key of any length; this cannot happen.
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The signature header's value: `t=<unix seconds>,v1=<hex>`.
pub fn signature_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, body))
}

/// How long a delivery waits after failed attempt number `attempt` (1-based): `base`,
/// doubling each time, never longer than `max`.
pub fn retry_delay(attempt: u32, base: Duration, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(30));
    base.saturating_mul(factor).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_is_the_one_its_source_produces() {
        for event in WebhookEvent::ALL {
            let (entity, action) = event.source();
            assert_eq!(action.event(entity), event.as_str());
            assert_eq!(WebhookEvent::parse(event.as_str()), Some(*event));
            let json = serde_json::to_string(event).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", event.as_str()));
        }
        assert_eq!(WebhookEvent::parse("customer.*"), None);
    }

    #[test]
    fn every_event_type_is_documented() {
        let doc = include_str!("../../../docs/WEBHOOKS.md");
        for event in WebhookEvent::ALL {
            assert!(
                doc.contains(&format!("`{}`", event.as_str())),
                "docs/WEBHOOKS.md does not list `{}`",
                event.as_str()
            );
        }
    }

    #[test]
    fn targets_are_http_urls_without_credentials() {
        let ok = parse_target("https://hooks.example.com/crm?x=1", false);
        assert_eq!(
            ok.map(|t| (t.host, t.port)),
            Ok(("hooks.example.com".to_owned(), 443))
        );
        assert_eq!(
            parse_target("ftp://example.com/", false),
            Err(TargetError::Scheme)
        );
        assert_eq!(
            parse_target("javascript:alert(1)", false),
            Err(TargetError::Scheme)
        );
        assert_eq!(
            parse_target("example.com/hook", false),
            Err(TargetError::Malformed)
        );
        assert_eq!(
            parse_target("https://u:p@example.com/", false),
            Err(TargetError::Credentials)
        );
        assert_eq!(
            parse_target("https://example.com/#x", false),
            Err(TargetError::Fragment)
        );
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(parse_target(&long, false), Err(TargetError::TooLong));
    }

    #[test]
    fn private_address_literals_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:8080/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[64:ff9b::a00:1]/",
            "http://[2002:c0a8:101::1]/",
            "http://[::ffff:0:7f00:1]/",
            "http://[64:ff9b:1::a00:1]/",
            "http://[fec0::1]/",
            "http://2130706433/",
            "http://0x7f.1/",
        ] {
            assert_eq!(parse_target(url, false), Err(TargetError::Private), "{url}");
            assert!(parse_target(url, true).is_ok(), "{url}");
        }
        for url in [
            "http://8.8.8.8/",
            "http://[2606:4700::1111]/",
            "http://[::ffff:8.8.8.8]/",
        ] {
            assert!(parse_target(url, false).is_ok(), "{url}");
        }
    }

    #[test]
    fn signatures_are_hmac_sha256_over_timestamp_and_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
        assert_eq!(
            sign("whsec_test", 1_700_000_000, br#"{"a":1}"#),
            "38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
        assert!(signature_header("whsec_test", 5, b"x").starts_with("t=5,v1="));
    }

    #[test]
    fn retries_wait_longer_each_time_up_to_the_cap() {
        let (base, max) = (Duration::from_secs(10), Duration::from_secs(3600));
        assert_eq!(retry_delay(1, base, max), Duration::from_secs(10));
        assert_eq!(retry_delay(2, base, max), Duration::from_secs(20));
        assert_eq!(retry_delay(4, base, max), Duration::from_secs(80));
        assert_eq!(retry_delay(30, base, max), max);
        assert_eq!(retry_delay(u32::MAX, base, max), max);
    }
}
