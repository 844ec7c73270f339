//! Webhooks (admins): subscriptions that receive the outbox's events over HTTP, signed with
//! a per-subscription secret, and the background job that delivers them.
//!
//! An event is delivered if and only if its change committed: deliveries are queued from
//! the outbox, which is written in the change's own transaction. Each event is queued once
//! per subscription and each attempt is made by one server copy (see
//! [`crm_store::webhooks`]); receivers get every event at least once and deduplicate on its
//! id. A failed attempt is retried with exponential backoff until the attempts run out; a
//! subscription whose attempts keep failing is turned off, its undelivered events kept.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use crm_domain::access::{Action, Caller};
use crm_domain::audit::{AuditAction, EntityType};
use crm_domain::rule::RuleViolation;
use crm_domain::webhook::{
    self, SECRET_PREFIX, TargetError, WebhookEvent, is_public, parse_target, retry_delay,
};
use crm_store::webhooks::{self as store, Claimed, Outcome, delivery, subscription};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::check::{Checker, present};
use crate::error::{AppError, ErrorCode};
use crate::events::Event;
use crate::input::{IfMatch, Input};
use crate::journal::{Journal, changes};
use crate::page::{PageQuery, next_cursor};
use crate::{Ctx, require};

const WEBHOOK: EntityType = EntityType::Webhook;
/// The kind of the recurring job that queues and sends deliveries.
pub const DELIVER_JOB: &str = "deliver_webhooks";
/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Crm-Signature";
/// Most events one subscription takes from the outbox per look.
const QUEUE_BATCH: u64 = 1000;
/// How long one run of the delivery job keeps claiming before it ends (the next run goes on):
/// short, so that a shutdown finds little in flight.
const RUN_BUDGET: Duration = Duration::from_secs(20);
/// Longest error text kept per attempt.
const MAX_ERROR_CHARS: usize = 500;

/// How webhooks are delivered (the `CRM_WEBHOOK_*` settings).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Whether targets may be loopback, private or otherwise non-public addresses.
    pub allow_private: bool,
    /// Time between runs of the delivery job.
    pub interval: Duration,
    /// Longest wait for a receiver's answer, connecting included.
    pub timeout: Duration,
    /// The wait after the first failed attempt; doubled after each further one.
    pub backoff_base: Duration,
    /// The longest wait between attempts.
    pub backoff_max: Duration,
    /// Attempts per delivery before it is given up (it can still be redelivered by hand).
    pub max_attempts: u32,
    /// Failed attempts in a row after which a subscription is turned off.
    pub disable_after: u32,
    /// Deliveries sent at once by one server copy.
    pub concurrency: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private: false,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            backoff_base: Duration::from_secs(30),
            backoff_max: Duration::from_secs(6 * 3600),
            max_attempts: 12,
            disable_after: 50,
            concurrency: 8,
        }
    }
}

/// The webhook machinery a context carries: its settings and, once needed, its HTTP client.
#[derive(Debug, Default)]
pub struct Webhooks {
    /// The settings.
    pub settings: WebhookSettings,
    client: OnceLock<reqwest::Client>,
}

impl Webhooks {
    /// Webhooks delivered with `settings`.
    pub fn new(settings: WebhookSettings) -> Self {
        Self {
            settings,
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> Result<&reqwest::Client, AppError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(self.settings.timeout.min(Duration::from_secs(5)))
            .timeout(self.settings.timeout)
            .user_agent(concat!("crm-webhooks/", env!("CARGO_PKG_VERSION")));
        if !self.settings.allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        let client = builder.build().map_err(AppError::internal)?;
        Ok(self.client.get_or_init(|| client))
    }
}

/// Resolves host names to their public addresses only, so that a name pointing (or
/// re-pointed) at an internal address is never called.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Why the server turned a subscription off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisabledReason {
    /// Too many attempts in a row failed.
    Failing,
}

/// A webhook subscription. Its secret is shown once, when it is created or rotated.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Webhook {
    /// Subscription id.
    pub id: Uuid,
    /// Where events are sent (`POST`).
    #[schema(example = "https://hooks.example.com/crm")]
    pub url: String,
    /// What it is for.
    pub description: Option<String>,
    /// The event types it receives.
    pub events: Vec<WebhookEvent>,
    /// Whether events are being delivered. Turned off by an admin, or by the server after
    /// too many failed attempts in a row; undelivered events wait until it is on again.
    pub active: bool,
    /// Why the server turned it off, if it did.
    pub disabled_reason: Option<DisabledReason>,
    /// When the server turned it off.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Failed attempts since the last delivered one.
    pub consecutive_failures: i32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Version for `If-Match`.
    pub version: i32,
}

impl From<subscription::Model> for Webhook {
    fn from(m: subscription::Model) -> Self {
        Self {
            id: m.id,
            url: m.url,
            description: m.description,
            events: m
                .events
                .split_whitespace()
                .filter_map(WebhookEvent::parse)
                .collect(),
            active: m.active,
            disabled_reason: m
                .disabled_reason
                .as_deref()
                .filter(|r| *r == store::DISABLED_FAILING)
                .map(|_| DisabledReason::Failing),
            disabled_at: m.disabled_at,
            consecutive_failures: m.consecutive_failures,
            created_at: m.created_at,
            updated_at: m.updated_at,
            version: m.version,
        }
    }
}

/// A subscription with its signing secret: answered once, on creation or rotation.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    /// The subscription.
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The signing secret (`whsec_…`). Keep it: it is not shown again.
    #[schema(example = "whsec_3q2-7wPqkV1bGz3Zx9hN0u4yJd8cLmAe5rTfWsKpQoI")]
    pub secret: String,
}

/// Every subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    /// The subscriptions, oldest first.
    pub items: Vec<Webhook>,
    /// Always `null`: subscriptions come in one page.
    pub next_cursor: Option<String>,
}

crate::text_schema!(
    WebhookUrl,
    "An absolute `http` or `https` URL without user name, password or fragment.",
    pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[^\\s#@]+$",
    2000
);

/// A new subscription.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where to send events.
    #[schema(value_type = WebhookUrl)]
    pub url: String,
    /// The event types to receive: 1 or more, each once.
    #[schema(value_type = BTreeSet<WebhookEvent>, min_items = 1, max_items = 64)]
    pub events: Vec<WebhookEvent>,
    /// What it is for, at most 500 characters.
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// Whether to deliver at once (default true).
    pub active: Option<bool>,
}

/// Changes to a subscription, as a merge patch: absent fields stay.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    /// Where to send events.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = WebhookUrl)]
    pub url: Option<Option<String>>,
    /// The event types to receive: 1 or more, each once.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = BTreeSet<WebhookEvent>, min_items = 1, max_items = 64)]
    pub events: Option<Option<Vec<WebhookEvent>>>,
    /// What it is for; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub description: Option<Option<String>>,
    /// Turn delivery off, or on again (which also clears a server's disabling and sends the
    /// deliveries that waited).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    pub active: Option<Option<bool>>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The receiver answered 2xx.
    Succeeded,
    /// Out of attempts; can be redelivered.
    Failed,
}

/// One attempt at a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAttempt {
    /// When it was made.
    pub attempted_at: DateTime<Utc>,
    /// How long it took, in milliseconds.
    pub duration_ms: i32,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<i32>,
    /// What went wrong (a timeout, a refused connection, a non-2xx answer).
    pub error: Option<String>,
    /// Whether an admin asked for it (a redelivery).
    pub redelivery: bool,
}

/// One event's delivery to one subscription, with every attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDelivery {
    /// Delivery id.
    pub id: Uuid,
    /// The event's id (the body's `id`).
    pub event_id: Uuid,
    /// The event's type.
    #[schema(example = "customer.created")]
    pub event_type: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it succeeded or was given up.
    pub completed_at: Option<DateTime<Utc>>,
    /// Every attempt, oldest first.
    pub attempts: Vec<WebhookAttempt>,
}

/// A page of deliveries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryList {
    /// The deliveries.
    pub items: Vec<WebhookDelivery>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// Which deliveries to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// Items per page, 1–200.
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page; omit for the first page.
    pub cursor: Option<String>,
}

fn delivery_view(d: delivery::Model, attempts: &[store::attempt::Model]) -> WebhookDelivery {
    let status = match d.status.as_str() {
        store::SUCCEEDED => DeliveryStatus::Succeeded,
        store::FAILED => DeliveryStatus::Failed,
        _ => DeliveryStatus::Pending,
    };
    WebhookDelivery {
        id: d.id,
        event_id: d.event_id,
        event_type: d.event_type,
        status,
        next_attempt_at: (status == DeliveryStatus::Pending).then_some(d.next_attempt_at),
        created_at: d.created_at,
        completed_at: d.completed_at,
        attempts: attempts
            .iter()
            .filter(|a| a.delivery_id == d.id)
            .map(|a| WebhookAttempt {
                attempted_at: a.attempted_at,
                duration_ms: a.duration_ms,
                status_code: a.status_code,
                error: a.error.clone(),
                redelivery: a.manual,
            })
            .collect(),
    }
}

fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Checks a target URL: its form, and, unless private targets are allowed, that it names
/// and resolves to public addresses only.
async fn check_url(ctx: &Ctx, c: &mut Checker, raw: &str) -> Option<String> {
    let allow_private = ctx.webhooks.settings.allow_private;
    let target = match parse_target(raw, allow_private) {
        Ok(t) => t,
        Err(e) => {
            let code = match e {
                TargetError::Private => "private_target",
                TargetError::TooLong => "too_long",
                _ => "invalid_url",
            };
            c.fail("url", code, &e.to_string());
            return None;
        }
    };
    if allow_private || target.ip.is_some() {
        return Some(target.url);
    }
    let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
    match tokio::time::timeout(Duration::from_secs(5), lookup).await {
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                c.fail(
                    "url",
                    "unresolvable_host",
                    "names a host that does not resolve",
                );
                None
            } else if addrs.iter().any(|a| !is_public(a.ip())) {
                c.fail("url", "private_target", &TargetError::Private.to_string());
                None
            } else {
                Some(target.url)
            }
        }
        _ => {
            c.fail(
                "url",
                "unresolvable_host",
                "names a host that does not resolve",
            );
            None
        }
    }
}

fn check_events(c: &mut Checker, events: &[WebhookEvent]) -> String {
    if events.is_empty() {
        c.fail("events", "required", "must name at least one event type");
    }
    if events.len() > 64 {
        c.fail("events", "too_many", "may name at most 64 event types");
    }
    let mut out: Vec<&str> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if out.contains(&e.as_str()) {
            c.fail(format!("events[{i}]"), "duplicate", "is named twice");
        } else {
            out.push(e.as_str());
        }
    }
    out.join(" ")
}

/// Every subscription.
pub async fn list(ctx: &Ctx, caller: &Caller) -> Result<WebhookList, AppError> {
    require(caller, Action::ManageWebhooks)?;
    Ok(WebhookList {
        items: store::all(&ctx.db)
            .await?
            .into_iter()
            .map(Webhook::from)
            .collect(),
        next_cursor: None,
    })
}

/// One subscription.
pub async fn get(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<Webhook, AppError> {
    require(caller, Action::ManageWebhooks)?;
    store::find(&ctx.db, id)
        .await?
        .map(Webhook::from)
        .ok_or(AppError::NotFound)
}

/// Subscribes a URL to event types; answers the secret, once. Events committed from now on
/// are delivered.
pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    body: Input<NewWebhook>,
) -> Result<WebhookWithSecret, AppError> {
    require(caller, Action::ManageWebhooks)?;
    let input = body.take()?;
    let mut c = Checker::default();
    let url = check_url(ctx, &mut c, &input.url).await;
    let events = check_events(&mut c, &input.events);
    let description = c.opt_text("description", input.description, 500);
    c.finish()?;
    let tx = ctx.begin().await?;
    let now = Utc::now();
    let secret = new_secret();
    let row = subscription::Model {
        id: Uuid::now_v7(),
        url: url.unwrap_or_default(),
        description,
        events,
        secret: secret.clone(),
        active: input.active.unwrap_or(true),
        disabled_reason: None,
        disabled_at: None,
        consecutive_failures: 0,
        cursor: store::outbox_head(&tx).await?,
        created_by: caller.user_id(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let saved = Webhook::from(store::insert(&tx, row).await?);
    let mut journal = Journal::new();
    let entry = changes(
        &json!({}),
        &serde_json::to_value(&saved).map_err(AppError::internal)?,
        &["id", "version", "created_at", "updated_at"],
    );
    journal.audit(
        WEBHOOK,
        saved.id,
        AuditAction::Created,
        Value::Object(entry),
    );
    journal.commit(tx, caller).await?;
    Ok(WebhookWithSecret {
        webhook: saved,
        secret,
    })
}

/// Changes a subscription (merge patch). Honours `If-Match` when sent. Turning it on again
/// clears the server's disabling and its failure count; undelivered events then go out.
pub async fn update(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    if_match: IfMatch,
    body: Input<WebhookPatch>,
) -> Result<Webhook, AppError> {
    require(caller, Action::ManageWebhooks)?;
    let current = store::find(&ctx.db, id).await?.ok_or(AppError::NotFound)?;
    if_match.check(current.version)?;
    let input = body.take()?;
    let mut c = Checker::default();
    let mut row = current.clone();
    let required = |c: &mut Checker, field: &str| c.fail(field, "required", "cannot be cleared");
    match &input.url {
        Some(Some(url)) => row.url = check_url(ctx, &mut c, url).await.unwrap_or_default(),
        Some(None) => required(&mut c, "url"),
        None => {}
    }
    match &input.events {
        Some(Some(events)) => row.events = check_events(&mut c, events),
        Some(None) => required(&mut c, "events"),
        None => {}
    }
    if let Some(description) = input.description {
        row.description = c.opt_text("description", description, 500);
    }
    let active = match input.active {
        Some(None) => {
            required(&mut c, "active");
            None
        }
        other => other.flatten(),
    };
    c.finish()?;
    let turned_on = active == Some(true) && !current.active;
    if let Some(active) = active {
        row.active = active;
        if active {
            row.disabled_reason = None;
            row.disabled_at = None;
        }
    }
    row.updated_at = Utc::now();
    let tx = ctx.begin().await?;
    let saved = store::save(&tx, row, current.version)
        .await?
        .ok_or(RuleViolation::StaleVersion)?;
    if turned_on {
        store::reset_failures(&tx, id).await?;
        store::wake(&tx, id, Utc::now()).await?;
    }
    let (before, mut after) = (Webhook::from(current), Webhook::from(saved));
    if turned_on {
        after.consecutive_failures = 0;
    }
    let diff = changes(&before, &after, &["version", "updated_at"]);
    let mut journal = Journal::new();
    if !diff.is_empty() {
        journal.audit(WEBHOOK, id, AuditAction::Updated, Value::Object(diff));
    }
    journal.commit(tx, caller).await?;
    Ok(after)
}

/// Replaces a subscription's secret; answers the new one, once. Deliveries from now on are
/// signed with it.
pub async fn rotate_secret(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
) -> Result<WebhookWithSecret, AppError> {
    require(caller, Action::ManageWebhooks)?;
    let tx = ctx.begin().await?;
    let current = store::find(&tx, id).await?.ok_or(AppError::NotFound)?;
    let secret = new_secret();
    let row = subscription::Model {
        secret: secret.clone(),
        updated_at: Utc::now(),
        ..current.clone()
    };
    let saved = store::save(&tx, row, current.version)
        .await?
        .ok_or(RuleViolation::StaleVersion)?;
    let mut journal = Journal::new();
    journal.audit(WEBHOOK, id, AuditAction::SecretRotated, json!({}));
    journal.commit(tx, caller).await?;
    Ok(WebhookWithSecret {
        webhook: Webhook::from(saved),
        secret,
    })
}

/// Deletes a subscription with its delivery log; undelivered events are dropped for it.
pub async fn delete(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<(), AppError> {
    require(caller, Action::ManageWebhooks)?;
    let tx = ctx.begin().await?;
    let current = store::find(&tx, id).await?.ok_or(AppError::NotFound)?;
    store::delete(&tx, id).await?;
    let mut journal = Journal::new();
    journal.audit(
        WEBHOOK,
        id,
        AuditAction::Deleted,
        json!({"url": {"from": current.url, "to": null}}),
    );
    journal.commit(tx, caller).await
}

/// A subscription's deliveries, newest first, each with its attempts.
pub async fn deliveries(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    query: Input<DeliveryQuery>,
) -> Result<WebhookDeliveryList, AppError> {
    require(caller, Action::ManageWebhooks)?;
    store::find(&ctx.db, id).await?.ok_or(AppError::NotFound)?;
    let query = query.take()?;
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .page()?;
    let rows = store::deliveries(&ctx.db, id, page.after, page.limit).await?;
    let last = rows.last().map(|d| d.id);
    let len = rows.len();
    let attempts = store::attempts_of(&ctx.db, rows.iter().map(|d| d.id).collect()).await?;
    Ok(WebhookDeliveryList {
        items: rows
            .into_iter()
            .map(|d| delivery_view(d, &attempts))
            .collect(),
        next_cursor: next_cursor(last, len, page.limit),
    })
}

/// Sends an event to a subscription again, now, whatever became of earlier attempts; the
/// attempt is marked as a redelivery. 409 while the subscription is off.
pub async fn redeliver(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
    delivery_id: Uuid,
) -> Result<WebhookDelivery, AppError> {
    require(caller, Action::ManageWebhooks)?;
    let tx = ctx.begin().await?;
    let sub = store::find(&tx, id).await?.ok_or(AppError::NotFound)?;
    store::delivery(&tx, id, delivery_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !sub.active {
        return Err(AppError::Conflict {
            code: ErrorCode::Conflict,
            detail: "The subscription is turned off; turn it on (`active: true`) to redeliver."
                .to_owned(),
        });
    }
    let row = store::redeliver(&tx, delivery_id, Utc::now())
        .await?
        .ok_or(AppError::NotFound)?;
    let attempts = store::attempts_of(&tx, vec![delivery_id]).await?;
    crate::context::commit(tx).await?;
    Ok(delivery_view(row, &attempts))
}

/// What one run of the delivery job did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryRun {
    /// Deliveries queued from the outbox.
    pub queued: usize,
    /// Attempts that the receiver took.
    pub delivered: usize,
    /// Attempts that failed.
    pub failed: usize,
}

/// The delivery job: queues the outbox's new events for every active subscription, then
/// sends the due deliveries, a few at a time, until none is due or the run's time is up.
/// The worker runs one at a time (a new run is scheduled only when the last one ended), so
/// a backlog never holds up other jobs.
pub async fn deliver(ctx: &Ctx) -> Result<DeliveryRun, AppError> {
    let mut run = DeliveryRun::default();
    let active = store::active(&ctx.db).await?;
    // Read first, write only for work: only active subscriptions' deliveries are attempted,
    // and a run with nothing new or due (or no subscription) takes no turn to write.
    let subscriptions: Vec<Uuid> = active.iter().map(|s| s.id).collect();
    for sub in active {
        if !crm_store::outbox::any_after(&ctx.db, sub.cursor).await? {
            continue;
        }
        loop {
            let tx = ctx.begin().await?;
            let (queued, more) = store::queue(&tx, sub.id, QUEUE_BATCH, Utc::now()).await?;
            crate::context::commit(tx).await?;
            run.queued += queued;
            if !more {
                break;
            }
        }
    }
    let settings = &ctx.webhooks.settings;
    let batch = settings.concurrency.max(1);
    // One batch is attempted at once, each attempt bounded by the timeout: the lease covers
    // one attempt with room to spare.
    let lease = chrono::Duration::from_std(settings.timeout * 2 + Duration::from_secs(30))
        .unwrap_or(chrono::Duration::minutes(1));
    let started = Instant::now();
    while started.elapsed() < RUN_BUDGET {
        let now = Utc::now();
        if !store::any_due(&ctx.db, &subscriptions, now).await? {
            break;
        }
        let token = Uuid::now_v7().simple().to_string();
        let tx = ctx.begin().await?;
        let claimed = store::claim(
            &tx,
            &token,
            now,
            now + lease,
            u64::try_from(batch).unwrap_or(8),
        )
        .await?;
        crate::context::commit(tx).await?;
        if claimed.is_empty() {
            break;
        }
        let outcomes: Vec<Result<Option<bool>, AppError>> = futures_util::stream::iter(claimed)
            .map(|c| deliver_one(ctx, c, &token))
            .buffer_unordered(batch)
            .collect()
            .await;
        for outcome in outcomes {
            match outcome? {
                Some(true) => run.delivered += 1,
                Some(false) => run.failed += 1,
                None => {}
            }
        }
    }
    Ok(run)
}

/// Attempts one claimed delivery and records the outcome at once. `None` when nothing was
/// attempted (the subscription is gone or off) or the claim was lost meanwhile.
async fn deliver_one(ctx: &Ctx, c: Claimed, token: &str) -> Result<Option<bool>, AppError> {
    let settings = &ctx.webhooks.settings;
    // The subscription as it is now: since the claim it may have been deleted, turned off,
    // pointed elsewhere or given a new secret.
    let Some(sub) = store::find(&ctx.db, c.delivery.subscription_id).await? else {
        return Ok(None);
    };
    if !sub.active {
        let tx = ctx.begin().await?;
        store::release(&tx, &c.delivery, token).await?;
        crate::context::commit(tx).await?;
        return Ok(None);
    }
    let outcome = attempt(ctx, &c, &sub).await;
    let disable_after = i32::try_from(settings.disable_after).unwrap_or(i32::MAX);
    let tx = ctx.begin().await?;
    let (recorded, disabled) =
        store::record(&tx, &c.delivery, token, &outcome, disable_after).await?;
    crate::context::commit(tx).await?;
    if !recorded {
        return Ok(None);
    }
    let label = match (outcome.delivered, outcome.retry_at.is_some()) {
        (true, _) => "delivered",
        (false, true) => "retrying",
        (false, false) => "given_up",
    };
    metrics::counter!("crm_webhook_attempts_total", "outcome" => label).increment(1);
    if disabled {
        tracing::warn!(
            subscription = %sub.id,
            failures = settings.disable_after,
            "webhook subscription turned off after failing too often"
        );
    }
    Ok(Some(outcome.delivered))
}

/// Makes one attempt: signs the event and posts it, and says what came of it.
async fn attempt(ctx: &Ctx, c: &Claimed, sub: &subscription::Model) -> Outcome {
    let settings = &ctx.webhooks.settings;
    let started = Instant::now();
    let at = Utc::now();
    let result = send(ctx, c, sub).await;
    let duration_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    let (status_code, error) = match result {
        Ok(status) if (200..300).contains(&status) => (Some(i32::from(status)), None),
        Ok(status) => (
            Some(i32::from(status)),
            Some(format!("the receiver answered {status}")),
        ),
        Err(e) => (None, Some(e.chars().take(MAX_ERROR_CHARS).collect())),
    };
    let delivered = error.is_none();
    let attempts = u32::try_from(c.delivery.attempts).unwrap_or(u32::MAX);
    let retry_at =
        (!delivered && attempts < settings.max_attempts && c.event.is_some()).then(|| {
            let wait = retry_delay(attempts, settings.backoff_base, settings.backoff_max);
            Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1))
        });
    Outcome {
        at,
        duration_ms,
        status_code,
        error,
        delivered,
        retry_at,
    }
}

/// Posts the signed event to the subscription's URL; the receiver's status, or what went
/// wrong.
async fn send(ctx: &Ctx, c: &Claimed, sub: &subscription::Model) -> Result<u16, String> {
    let Some(event) = &c.event else {
        return Err("the event is no longer in the outbox".to_owned());
    };
    let settings = &ctx.webhooks.settings;
    // The configuration may have changed since the subscription was made.
    parse_target(&sub.url, settings.allow_private).map_err(|e| format!("the URL {e}"))?;
    let body = serde_json::to_vec(&Event::from(event.clone())).map_err(|e| e.to_string())?;
    let timestamp = Utc::now().timestamp();
    let signature = webhook::signature_header(&sub.secret, timestamp, &body);
    let client = ctx.webhooks.client().map_err(|e| e.to_string())?;
    let response = client
        .post(&sub.url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header("Crm-Event-Id", event.id.to_string())
        .header("Crm-Event-Type", event.event_type.as_str())
        .header("Crm-Delivery-Id", c.delivery.id.to_string())
        .body(body)
        .send()
        .await
        .map_err(|e| describe(&e, settings.timeout))?;
    Ok(response.status().as_u16())
}

/// A failed request in a few words: what an admin reading the delivery log needs.
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {} ms", timeout.as_millis());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
