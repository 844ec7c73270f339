//! The SLA policy and the work calendar: the HTTP side of [`crm_app::service_policy`].

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, put, web};
use crm_app::input::etag;
use crm_app::service_policy::{self as uc, SlaPolicyDocument, WorkCalendarDocument};
use crm_domain::calendar::CalendarDocument;
use crm_domain::sla::SlaPolicy;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::{Json, if_match};

/// Reads the SLA policy: response and resolution targets for each tier and severity, and
/// how new work orders are routed.
#[utoipa::path(
    operation_id = "get_sla_policy",
    tag = "service-policy",
    responses((status = 200, description = "The policy in force.", body = SlaPolicyDocument)),
    security(("bearer" = [])),
)]
#[get("/sla-policy")]
pub async fn get_sla_policy(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let doc: SlaPolicyDocument = uc::get_sla_policy(&state.ctx, &caller).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(doc.version)))
        .json(doc))
}

/// Replaces the SLA policy (managers and admins). It applies to work orders opened (or
/// re-graded) afterwards. Honours `If-Match`.
#[utoipa::path(
    operation_id = "put_sla_policy",
    tag = "service-policy",
    params(("If-Match" = Option<String>, Header, description = "The `ETag` last read.")),
    request_body = SlaPolicy,
    responses(
        (status = 200, description = "The new policy.", body = SlaPolicyDocument),
        (status = 403, description = "Only managers and admins edit the policy."),
        (status = 412, description = "The policy changed since the `If-Match` version."),
        (status = 422, description = "Every tier and severity needs targets of 1–43200 minutes, resolution no shorter than response."),
    ),
    security(("bearer" = [])),
)]
#[put("/sla-policy")]
pub async fn put_sla_policy(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: Json<SlaPolicy>,
) -> Result<HttpResponse, ApiError> {
    let doc = uc::put_sla_policy(&state.ctx, &caller, if_match(&req), body.input()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(doc.version)))
        .json(doc))
}

/// Reads the work calendar: working hours and weekdays, public holidays and make-up
/// working days (调休), on which business-hour due times are counted.
#[utoipa::path(
    operation_id = "get_work_calendar",
    tag = "service-policy",
    responses((status = 200, description = "The calendar in force.", body = WorkCalendarDocument)),
    security(("bearer" = [])),
)]
#[get("/work-calendar")]
pub async fn get_work_calendar(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let doc: WorkCalendarDocument = uc::get_calendar(&state.ctx, &caller).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(doc.version)))
        .json(doc))
}

/// Replaces the work calendar (admins), e.g. each December with the next year's holiday
/// notice. It applies to work orders opened afterwards. Honours `If-Match`.
#[utoipa::path(
    operation_id = "put_work_calendar",
    tag = "service-policy",
    params(("If-Match" = Option<String>, Header, description = "The `ETag` last read.")),
    request_body = CalendarDocument,
    responses(
        (status = 200, description = "The new calendar.", body = WorkCalendarDocument),
        (status = 403, description = "Only admins edit the calendar."),
        (status = 412, description = "The calendar changed since the `If-Match` version."),
        (status = 422, description = "Malformed or overlapping hours, malformed or repeated days, a day both holiday and make-up day; all listed."),
    ),
    security(("bearer" = [])),
)]
#[put("/work-calendar")]
pub async fn put_work_calendar(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: Json<CalendarDocument>,
) -> Result<HttpResponse, ApiError> {
    let doc = uc::put_calendar(&state.ctx, &caller, if_match(&req), body.input()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(doc.version)))
        .json(doc))
}
