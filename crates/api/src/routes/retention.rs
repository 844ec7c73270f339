//! Surveys, customers at risk, marking one lost, referrals: the HTTP side of
//! [`crm_app::retention`].

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use crm_app::customers::dto::Customer;
use crm_app::page::PageQuery;
use crm_app::retention::{
    self as uc, AtRiskList, MarkLost, NewSurvey, ReferralQuery, ReferralReport, Survey, SurveyList,
};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::{Json, Query, if_match};

/// A customer's satisfaction surveys (满意度调查), latest half year first.
#[utoipa::path(
    operation_id = "list_customer_surveys",
    tag = "retention",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The surveys.", body = SurveyList),
        (status = 404, description = "No such customer, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[get("/customers/{id}/surveys")]
pub async fn list_customer_surveys(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let list = uc::surveys(&state.ctx, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Records a customer's survey for a half year (twice a year, 每半年一次): needs, product and
/// service satisfaction 1–5, comments. One per customer and half year.
#[utoipa::path(
    operation_id = "create_customer_survey",
    tag = "retention",
    params(("id" = Uuid, Path, description = "Customer id")),
    request_body = NewSurvey,
    responses(
        (status = 201, description = "Recorded.", body = Survey),
        (status = 404, description = "No such customer, or not yours to see."),
        (status = 409, description = "The customer has a survey for this half year (`duplicate_survey`), or is archived."),
        (status = 422, description = "A score outside 1–5, a half year to come…, all listed."),
    ),
    security(("bearer" = [])),
)]
#[post("/customers/{id}/surveys")]
pub async fn create_customer_survey(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<NewSurvey>,
) -> Result<HttpResponse, ApiError> {
    let survey = uc::create_survey(&state.ctx, &caller, id.into_inner(), body.input()).await?;
    Ok(HttpResponse::Created().json(survey))
}

/// Your customers (everyone's, for managers) with no contact, won deal or contract for the
/// tier policy's `at_risk_months` (default 12), the longest quiet first.
#[utoipa::path(
    operation_id = "list_customers_at_risk",
    tag = "retention",
    params(PageQuery),
    responses(
        (status = 200, description = "The customers at risk.", body = AtRiskList),
        (status = 400, description = "A query parameter is invalid."),
        (status = 403, description = "For admins, managers and sales reps."),
    ),
    security(("bearer" = [])),
)]
#[get("/customers/at-risk")]
pub async fn list_customers_at_risk(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    page: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let list = uc::at_risk(&state.ctx, &caller, page.input()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Marks a customer lost (流失客户) with the reason (managers and admins); the churn
/// report counts it. Honours `If-Match`.
#[utoipa::path(
    operation_id = "mark_customer_lost",
    tag = "retention",
    params(
        ("id" = Uuid, Path, description = "Customer id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read."),
    ),
    request_body = MarkLost,
    responses(
        (status = 200, description = "The customer, now `lost`.", body = Customer),
        (status = 403, description = "Only managers and admins mark customers lost."),
        (status = 404, description = "No such customer, or not yours to see."),
        (status = 409, description = "Lost already, archived or purged."),
        (status = 412, description = "The customer changed since the `If-Match` version."),
        (status = 422, description = "The reason is missing or invalid."),
    ),
    security(("bearer" = [])),
)]
#[post("/customers/{id}/mark-lost")]
pub async fn mark_customer_lost(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<MarkLost>,
) -> Result<HttpResponse, ApiError> {
    let customer = uc::mark_lost(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(super::resource(
        StatusCode::OK,
        &customer,
        customer.version,
        "customers",
        customer.id,
    ))
}

/// Who referred whom among the customers you can see, and whether each referral became a
/// paying customer (客户推荐奖励).
#[utoipa::path(
    operation_id = "get_referral_report",
    tag = "reports",
    params(ReferralQuery),
    responses(
        (status = 200, description = "A page of referrals.", body = ReferralReport),
        (status = 400, description = "A query parameter is invalid."),
        (status = 403, description = "For admins, managers and sales reps."),
    ),
    security(("bearer" = [])),
)]
#[get("/reports/referrals")]
pub async fn get_referral_report(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: Query<ReferralQuery>,
) -> Result<HttpResponse, ApiError> {
    let report = uc::referrals(&state.ctx, &caller, query.input()).await?;
    Ok(HttpResponse::Ok().json(report))
}
