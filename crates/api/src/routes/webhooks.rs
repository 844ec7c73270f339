//! Webhook subscriptions: the HTTP side of [`crm_app::webhooks`]. Admins.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use crm_app::webhooks::{
    self as uc, DeliveryQuery, NewWebhook, Webhook, WebhookDelivery, WebhookDeliveryList,
    WebhookList, WebhookPatch, WebhookWithSecret,
};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::{Json, Query, if_match};

fn respond(status: StatusCode, webhook: &Webhook) -> HttpResponse {
    super::resource(status, webhook, webhook.version, "webhooks", webhook.id)
}

fn respond_with_secret(status: StatusCode, created: &WebhookWithSecret) -> HttpResponse {
    let webhook = &created.webhook;
    crate::idempotency::showing_secret(super::resource(
        status,
        created,
        webhook.version,
        "webhooks",
        webhook.id,
    ))
}

/// Every webhook subscription, oldest first. Secrets are not shown.
#[utoipa::path(
    operation_id = "list_webhooks",
    tag = "webhooks",
    responses(
        (status = 200, description = "The subscriptions.", body = WebhookList),
        (status = 403, description = "Only admins manage webhooks."),
    ),
    security(("bearer" = [])),
)]
#[get("/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let list = uc::list(&state.ctx, &caller).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Subscribes a URL to event types. Every event of those types committed from now on is
/// posted to it, signed with the secret in this answer — the only time it is shown. See
/// `docs/WEBHOOKS.md` for the body, the headers and how to check the signature.
#[utoipa::path(
    operation_id = "create_webhook",
    tag = "webhooks",
    request_body = NewWebhook,
    responses(
        (status = 201, description = "Created; `secret` is shown this once.", body = WebhookWithSecret),
        (status = 403, description = "Only admins manage webhooks."),
        (status = 422, description = "Invalid fields, all listed: a URL that is not http(s), carries credentials, or names a private address when those are not allowed; no or unknown event types."),
    ),
    security(("bearer" = [])),
)]
#[post("/webhooks")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: Json<NewWebhook>,
) -> Result<HttpResponse, ApiError> {
    let created = uc::create(&state.ctx, &caller, body.input()).await?;
    Ok(respond_with_secret(StatusCode::CREATED, &created))
}

/// One subscription (without its secret).
#[utoipa::path(
    operation_id = "get_webhook",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Subscription id")),
    responses(
        (status = 200, description = "The subscription.", body = Webhook),
        (status = 403, description = "Only admins manage webhooks."),
        (status = 404, description = "No such subscription."),
    ),
    security(("bearer" = [])),
)]
#[get("/webhooks/{id}")]
pub async fn get_webhook(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let webhook = uc::get(&state.ctx, &caller, id.into_inner()).await?;
    Ok(respond(StatusCode::OK, &webhook))
}

/// Changes a subscription (merge patch): its URL, event types, description, or whether it
/// is on. Turning it on again after the server turned it off sends the events that waited.
/// Honours `If-Match` when sent.
#[utoipa::path(
    operation_id = "update_webhook",
    tag = "webhooks",
    params(
        ("id" = Uuid, Path, description = "Subscription id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read."),
    ),
    request_body(content = WebhookPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed subscription.", body = Webhook),
        (status = 403, description = "Only admins manage webhooks."),
        (status = 404, description = "No such subscription."),
        (status = 412, description = "The subscription changed since the `If-Match` version."),
        (status = 422, description = "Invalid fields, all listed."),
    ),
    security(("bearer" = [])),
)]
#[patch("/webhooks/{id}")]
pub async fn update_webhook(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<WebhookPatch>,
) -> Result<HttpResponse, ApiError> {
    let webhook = uc::update(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(respond(StatusCode::OK, &webhook))
}

/// Deletes a subscription and its delivery log; its undelivered events are not sent.
#[utoipa::path(
    operation_id = "delete_webhook",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Subscription id")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "Only admins manage webhooks."),
        (status = 404, description = "No such subscription."),
    ),
    security(("bearer" = [])),
)]
#[delete("/webhooks/{id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    uc::delete(&state.ctx, &caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replaces the signing secret; the new one is in this answer, the only time it is shown.
/// Deliveries from now on are signed with it.
#[utoipa::path(
    operation_id = "rotate_webhook_secret",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Subscription id")),
    responses(
        (status = 200, description = "The subscription with its new secret.", body = WebhookWithSecret),
        (status = 403, description = "Only admins manage webhooks."),
        (status = 404, description = "No such subscription."),
    ),
    security(("bearer" = [])),
)]
#[post("/webhooks/{id}/rotate-secret")]
pub async fn rotate_webhook_secret(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let rotated = uc::rotate_secret(&state.ctx, &caller, id.into_inner()).await?;
    Ok(respond_with_secret(StatusCode::OK, &rotated))
}

/// The delivery log: each event sent to this subscription, newest first, with every
/// attempt's time, duration and HTTP status.
#[utoipa::path(
    operation_id = "list_webhook_deliveries",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Subscription id"), DeliveryQuery),
    responses(
        (status = 200, description = "A page of deliveries.", body = WebhookDeliveryList),
        (status = 400, description = "A query parameter is invalid."),
        (status = 403, description = "Only admins manage webhooks."),
        (status = 404, description = "No such subscription."),
    ),
    security(("bearer" = [])),
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn list_webhook_deliveries(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    query: Query<DeliveryQuery>,
) -> Result<HttpResponse, ApiError> {
    let list = uc::deliveries(&state.ctx, &caller, id.into_inner(), query.input()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Sends an event to the subscription again, now, with a fresh set of attempts, whatever
/// became of the earlier ones. The receiver gets the same event id.
#[utoipa::path(
    operation_id = "redeliver_webhook_delivery",
    tag = "webhooks",
    params(
        ("id" = Uuid, Path, description = "Subscription id"),
        ("delivery_id" = Uuid, Path, description = "Delivery id"),
    ),
    responses(
        (status = 202, description = "Queued for an attempt now.", body = WebhookDelivery),
        (status = 403, description = "Only admins manage webhooks."),
        (status = 404, description = "No such subscription or delivery."),
        (status = 409, description = "The subscription is turned off."),
    ),
    security(("bearer" = [])),
)]
#[post("/webhooks/{id}/deliveries/{delivery_id}/redeliver")]
pub async fn redeliver_webhook_delivery(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery_id) = path.into_inner();
    let delivery = uc::redeliver(&state.ctx, &caller, id, delivery_id).await?;
    Ok(HttpResponse::Accepted().json(delivery))
}
