//! Communication records and follow-ups due: the HTTP side of [`crm_app::activities`].

use actix_web::{HttpResponse, get, post, web};
use crm_app::activities::{
    self as uc, Activity, ActivityList, ActivityQuery, FollowUpList, FollowUpQuery, NewActivity,
};
use crm_app::page::PageQuery;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::{Json, Query};

/// A customer's communication records (沟通档案), newest first.
#[utoipa::path(
    operation_id = "list_customer_activities",
    tag = "activities",
    params(("id" = Uuid, Path, description = "Customer id"), PageQuery),
    responses(
        (status = 200, description = "A page of records.", body = ActivityList),
        (status = 404, description = "No such customer, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[get("/customers/{id}/activities")]
pub async fn list_customer_activities(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    page: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let list = uc::for_customer(&state.ctx, &caller, id.into_inner(), page.input()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Records a visit, call, meeting, e-mail or WeChat with a live customer you can see: what
/// was said, the customer's feedback, changed needs, the next follow-up. The customer's last
/// contact moves with it, which resets its follow-up cadence.
#[utoipa::path(
    operation_id = "create_activity",
    tag = "activities",
    params(("id" = Uuid, Path, description = "Customer id")),
    request_body = NewActivity,
    responses(
        (status = 201, description = "Recorded; `Location` names it.", body = Activity),
        (status = 403, description = "Service agents read records but do not make them."),
        (status = 404, description = "No such customer, or not yours to see."),
        (status = 409, description = "The customer is archived or purged."),
        (status = 422, description = "Invalid fields (a date more than a day ahead, a contact of another customer…), all listed."),
    ),
    security(("bearer" = [])),
)]
#[post("/customers/{id}/activities")]
pub async fn create_activity(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<NewActivity>,
) -> Result<HttpResponse, ApiError> {
    let activity = uc::create(&state.ctx, &caller, id.into_inner(), body.input()).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/activities/{}", activity.id),
        ))
        .json(activity))
}

/// The communication records of the customers you can see, newest first: `mine=true` for
/// your own, `created_by` for a rep's (managers), by customer, kind and time.
#[utoipa::path(
    operation_id = "list_activities",
    tag = "activities",
    params(ActivityQuery),
    responses(
        (status = 200, description = "A page of records.", body = ActivityList),
        (status = 400, description = "A query parameter is invalid."),
    ),
    security(("bearer" = [])),
)]
#[get("/activities")]
pub async fn list_activities(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: Query<ActivityQuery>,
) -> Result<HttpResponse, ApiError> {
    let list = uc::list(&state.ctx, &caller, query.input()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// One communication record.
#[utoipa::path(
    operation_id = "get_activity",
    tag = "activities",
    params(("id" = Uuid, Path, description = "Record id")),
    responses(
        (status = 200, description = "The record.", body = Activity),
        (status = 404, description = "No such record, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[get("/activities/{id}")]
pub async fn get_activity(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let activity = uc::get(&state.ctx, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(activity))
}

/// Your customers (everyone's, for managers) whose last contact is older than their tier's
/// follow-up cadence (tier policy: monthly for strategic and key, quarterly for ordinary by
/// default), most overdue first.
#[utoipa::path(
    operation_id = "list_follow_ups_due",
    tag = "activities",
    params(FollowUpQuery),
    responses(
        (status = 200, description = "The customers due a follow-up.", body = FollowUpList),
        (status = 400, description = "A query parameter is invalid."),
        (status = 403, description = "Follow-ups are for admins, managers and sales reps."),
    ),
    security(("bearer" = [])),
)]
#[get("/follow-ups/due")]
pub async fn list_follow_ups_due(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: Query<FollowUpQuery>,
) -> Result<HttpResponse, ApiError> {
    let list = uc::follow_ups_due(&state.ctx, &caller, query.input()).await?;
    Ok(HttpResponse::Ok().json(list))
}
