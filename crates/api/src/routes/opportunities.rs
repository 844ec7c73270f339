//! Deals (opportunities): the HTTP side of [`crm_app::opportunities`].

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use crm_app::customers::HistoryList;
use crm_app::opportunities::{
    self as uc, LoseOpportunity, NewOpportunity, Opportunity, OpportunityList, OpportunityPatch,
    OpportunityQuery, ReopenOpportunity, StageList, WinOpportunity,
};
use crm_app::page::PageQuery;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::{Json, Query, if_match};

fn respond(status: StatusCode, deal: &Opportunity) -> HttpResponse {
    super::resource(status, deal, deal.version, "opportunities", deal.id)
}

/// The deals the caller can see, newest first, with filters.
#[utoipa::path(
    operation_id = "list_opportunities",
    tag = "opportunities",
    params(OpportunityQuery),
    responses(
        (status = 200, description = "A page of deals.", body = OpportunityList),
        (status = 400, description = "A query parameter is invalid."),
    ),
    security(("bearer" = [])),
)]
#[get("/opportunities")]
pub async fn list_opportunities(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: Query<OpportunityQuery>,
) -> Result<HttpResponse, ApiError> {
    let list: OpportunityList = uc::list(&state.ctx, &caller, query.input()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Creates a deal for a live customer you can see, at 30, 60 or 90 percent.
#[utoipa::path(
    operation_id = "create_opportunity",
    tag = "opportunities",
    request_body = NewOpportunity,
    responses(
        (status = 201, description = "Created; `Location` names it.", body = Opportunity),
        (status = 403, description = "The role may not create deals, or name another owner."),
        (status = 409, description = "The customer is archived."),
        (status = 422, description = "Invalid fields (a probability other than 30, 60 or 90, a negative amount…), all listed."),
    ),
    security(("bearer" = [])),
)]
#[post("/opportunities")]
pub async fn create_opportunity(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: Json<NewOpportunity>,
) -> Result<HttpResponse, ApiError> {
    let deal = uc::create(&state.ctx, &caller, body.input()).await?;
    Ok(respond(StatusCode::CREATED, &deal))
}

/// One deal; `ETag` carries its version.
#[utoipa::path(
    operation_id = "get_opportunity",
    tag = "opportunities",
    params(("id" = Uuid, Path, description = "Deal id")),
    responses(
        (status = 200, description = "The deal.", body = Opportunity),
        (status = 404, description = "No such deal, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[get("/opportunities/{id}")]
pub async fn get_opportunity(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let deal = uc::get(&state.ctx, &caller, id.into_inner()).await?;
    Ok(respond(StatusCode::OK, &deal))
}

/// Changes an open deal (JSON merge patch) with `If-Match`: name, amount, expected close,
/// probability (a stage change), owner (managers and admins).
#[utoipa::path(
    operation_id = "update_opportunity",
    tag = "opportunities",
    params(
        ("id" = Uuid, Path, description = "Deal id"),
        ("If-Match" = String, Header, description = "The `ETag` last read."),
    ),
    request_body(content = OpportunityPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed deal.", body = Opportunity),
        (status = 403, description = "Only managers and admins change the owner."),
        (status = 404, description = "No such deal, or not yours to see."),
        (status = 409, description = "The deal is closed: reopen it first (`illegal_transition`)."),
        (status = 412, description = "The deal changed since the `If-Match` version."),
        (status = 422, description = "Invalid fields, all listed."),
        (status = 428, description = "`If-Match` is missing."),
    ),
    security(("bearer" = [])),
)]
#[patch("/opportunities/{id}")]
pub async fn update_opportunity(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<OpportunityPatch>,
) -> Result<HttpResponse, ApiError> {
    let deal = uc::update(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(respond(StatusCode::OK, &deal))
}

/// Wins an open deal (赢单) with its final amount: probability 100; the customer becomes a
/// `customer` if it was `potential`, and its tier follows its purchases.
#[utoipa::path(
    operation_id = "win_opportunity",
    tag = "opportunities",
    params(
        ("id" = Uuid, Path, description = "Deal id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read."),
    ),
    request_body = WinOpportunity,
    responses(
        (status = 200, description = "The won deal.", body = Opportunity),
        (status = 404, description = "No such deal, or not yours to see."),
        (status = 409, description = "Not open (`illegal_transition`, `allowed` names the moves)."),
        (status = 412, description = "The deal changed since the `If-Match` version."),
        (status = 422, description = "The amount is missing or invalid."),
    ),
    security(("bearer" = [])),
)]
#[post("/opportunities/{id}/win")]
pub async fn win_opportunity(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<WinOpportunity>,
) -> Result<HttpResponse, ApiError> {
    let deal = uc::win(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(respond(StatusCode::OK, &deal))
}

/// Loses an open deal, with the reason (probability 0).
#[utoipa::path(
    operation_id = "lose_opportunity",
    tag = "opportunities",
    params(
        ("id" = Uuid, Path, description = "Deal id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read."),
    ),
    request_body = LoseOpportunity,
    responses(
        (status = 200, description = "The lost deal.", body = Opportunity),
        (status = 404, description = "No such deal, or not yours to see."),
        (status = 409, description = "Not open (`illegal_transition`)."),
        (status = 412, description = "The deal changed since the `If-Match` version."),
        (status = 422, description = "The reason is missing."),
    ),
    security(("bearer" = [])),
)]
#[post("/opportunities/{id}/lose")]
pub async fn lose_opportunity(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<LoseOpportunity>,
) -> Result<HttpResponse, ApiError> {
    let deal = uc::lose(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(respond(StatusCode::OK, &deal))
}

/// Opens a won or lost deal again (managers and admins), at 30 percent unless told.
#[utoipa::path(
    operation_id = "reopen_opportunity",
    tag = "opportunities",
    params(
        ("id" = Uuid, Path, description = "Deal id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read."),
    ),
    request_body = ReopenOpportunity,
    responses(
        (status = 200, description = "The reopened deal.", body = Opportunity),
        (status = 403, description = "Only managers and admins reopen."),
        (status = 404, description = "No such deal."),
        (status = 409, description = "Already open (`illegal_transition`)."),
        (status = 422, description = "A probability other than 30, 60 or 90."),
    ),
    security(("bearer" = [])),
)]
#[post("/opportunities/{id}/reopen")]
pub async fn reopen_opportunity(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<ReopenOpportunity>,
) -> Result<HttpResponse, ApiError> {
    let deal = uc::reopen(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(respond(StatusCode::OK, &deal))
}

/// Every stage change of a deal, oldest first: when, who, from and to.
#[utoipa::path(
    operation_id = "list_opportunity_stages",
    tag = "opportunities",
    params(("id" = Uuid, Path, description = "Deal id")),
    responses(
        (status = 200, description = "The stage changes.", body = StageList),
        (status = 404, description = "No such deal, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[get("/opportunities/{id}/stages")]
pub async fn list_opportunity_stages(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let list = uc::stages(&state.ctx, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// The change log of a deal, newest first.
#[utoipa::path(
    operation_id = "list_opportunity_history",
    tag = "opportunities",
    params(("id" = Uuid, Path, description = "Deal id"), PageQuery),
    responses(
        (status = 200, description = "A page of entries.", body = HistoryList),
        (status = 404, description = "No such deal, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[get("/opportunities/{id}/history")]
pub async fn list_opportunity_history(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    page: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let list = uc::history(&state.ctx, &caller, id.into_inner(), page.input()).await?;
    Ok(HttpResponse::Ok().json(list))
}
