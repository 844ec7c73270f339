//! The reminder inbox and the care calendar: the HTTP side of [`crm_app::reminders`].

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use crm_app::input::etag;
use crm_app::reminders::{
    self as uc, CareCalendar, CareCalendarQuery, CareHolidays, CareHolidaysDocument, NewReminder,
    Reminder, ReminderList, ReminderQuery, SnoozeReminder,
};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::{Json, Query, if_match};

/// Your inbox: open reminders not snoozed, soonest due first — renewal talks, customers
/// due a follow-up, late work orders, birthdays and holidays of the coming week, and those
/// set by hand.
#[utoipa::path(
    operation_id = "list_reminders",
    tag = "reminders",
    params(ReminderQuery),
    responses(
        (status = 200, description = "A page of your reminders.", body = ReminderList),
        (status = 400, description = "A query parameter is invalid."),
    ),
    security(("bearer" = [])),
)]
#[get("/reminders")]
pub async fn list_reminders(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: Query<ReminderQuery>,
) -> Result<HttpResponse, ApiError> {
    let list = uc::inbox(&state.ctx, &caller, query.input()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Sets a reminder by hand, for yourself (managers and admins: for any active user).
#[utoipa::path(
    operation_id = "create_reminder",
    tag = "reminders",
    request_body = NewReminder,
    responses(
        (status = 201, description = "Set.", body = Reminder),
        (status = 403, description = "Only managers and admins set reminders for someone else."),
        (status = 422, description = "Invalid fields, all listed."),
    ),
    security(("bearer" = [])),
)]
#[post("/reminders")]
pub async fn create_reminder(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: Json<NewReminder>,
) -> Result<HttpResponse, ApiError> {
    let reminder = uc::create(&state.ctx, &caller, body.input()).await?;
    Ok(HttpResponse::Created().json(reminder))
}

/// Marks one of your reminders done.
#[utoipa::path(
    operation_id = "complete_reminder",
    tag = "reminders",
    params(("id" = Uuid, Path, description = "Reminder id")),
    responses(
        (status = 200, description = "The reminder, done.", body = Reminder),
        (status = 404, description = "No such reminder in your inbox."),
    ),
    security(("bearer" = [])),
)]
#[post("/reminders/{id}/done")]
pub async fn complete_reminder(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let reminder = uc::done(&state.ctx, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(reminder))
}

/// Dismisses one of your reminders without action.
#[utoipa::path(
    operation_id = "dismiss_reminder",
    tag = "reminders",
    params(("id" = Uuid, Path, description = "Reminder id")),
    responses(
        (status = 200, description = "The reminder, dismissed.", body = Reminder),
        (status = 404, description = "No such reminder in your inbox."),
    ),
    security(("bearer" = [])),
)]
#[post("/reminders/{id}/dismiss")]
pub async fn dismiss_reminder(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let reminder = uc::dismiss(&state.ctx, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(reminder))
}

/// Hides one of your reminders until a later time (within a year).
#[utoipa::path(
    operation_id = "snooze_reminder",
    tag = "reminders",
    params(("id" = Uuid, Path, description = "Reminder id")),
    request_body = SnoozeReminder,
    responses(
        (status = 200, description = "The reminder, snoozed.", body = Reminder),
        (status = 404, description = "No such reminder in your inbox."),
        (status = 422, description = "`until` is not in the coming year."),
    ),
    security(("bearer" = [])),
)]
#[post("/reminders/{id}/snooze")]
pub async fn snooze_reminder(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<SnoozeReminder>,
) -> Result<HttpResponse, ApiError> {
    let reminder = uc::snooze(&state.ctx, &caller, id.into_inner(), body.input()).await?;
    Ok(HttpResponse::Ok().json(reminder))
}

/// The care calendar (客户关怀日历): birthdays of the contacts of your customers and the care
/// holidays, from `from` to `to`.
#[utoipa::path(
    operation_id = "get_care_calendar",
    tag = "reminders",
    params(CareCalendarQuery),
    responses(
        (status = 200, description = "The days, in date order.", body = CareCalendar),
        (status = 400, description = "A date is malformed, or the range is over 366 days."),
    ),
    security(("bearer" = [])),
)]
#[get("/care-calendar")]
pub async fn get_care_calendar(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: Query<CareCalendarQuery>,
) -> Result<HttpResponse, ApiError> {
    let calendar = uc::care_calendar(&state.ctx, &caller, query.input()).await?;
    Ok(HttpResponse::Ok().json(calendar))
}

/// The holidays kept for customer care (春节, 中秋节…).
#[utoipa::path(
    operation_id = "get_care_holidays",
    tag = "reminders",
    responses((status = 200, description = "The holidays.", body = CareHolidaysDocument)),
    security(("bearer" = [])),
)]
#[get("/care-calendar/holidays")]
pub async fn get_care_holidays(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let doc = uc::get_holidays(&state.ctx, &caller).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(doc.version)))
        .json(doc))
}

/// Replaces the care holidays (admins). Honours `If-Match`.
#[utoipa::path(
    operation_id = "put_care_holidays",
    tag = "reminders",
    params(("If-Match" = Option<String>, Header, description = "The `ETag` last read.")),
    request_body = CareHolidays,
    responses(
        (status = 200, description = "The new list.", body = CareHolidaysDocument),
        (status = 403, description = "Only admins keep the list."),
        (status = 412, description = "The list changed since the `If-Match` version."),
        (status = 422, description = "A malformed or repeated day, or a blank name; all listed."),
    ),
    security(("bearer" = [])),
)]
#[put("/care-calendar/holidays")]
pub async fn put_care_holidays(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: Json<CareHolidays>,
) -> Result<HttpResponse, ApiError> {
    let doc = uc::put_holidays(&state.ctx, &caller, if_match(&req), body.input()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(doc.version)))
        .json(doc))
}
