//! Lead assignment rules: the HTTP side of [`crm_app::assignment_rules`]. Managers and admins.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use crm_app::assignment_rules::{
    self as uc, AssignmentRule, AssignmentRuleList, NewRule, RuleInput,
};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::{Json, if_match};

fn respond(status: StatusCode, rule: &AssignmentRule) -> HttpResponse {
    super::resource(status, rule, rule.version, "assignment-rules", rule.id)
}

/// Every rule, in the order they apply: the first rule a lead matches takes it.
#[utoipa::path(
    operation_id = "list_assignment_rules",
    tag = "assignment-rules",
    responses(
        (status = 200, description = "The rules.", body = AssignmentRuleList),
        (status = 403, description = "Only managers and admins manage rules."),
    ),
    security(("bearer" = [])),
)]
#[get("/assignment-rules")]
pub async fn list_assignment_rules(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let list = uc::list(&state.ctx, &caller).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Adds a rule: leads matching every condition given (region, industry section or
/// division, source; an empty list matches anything) go to the one assignee, or round-robin
/// over several.
#[utoipa::path(
    operation_id = "create_assignment_rule",
    tag = "assignment-rules",
    request_body = NewRule,
    responses(
        (status = 201, description = "Created.", body = AssignmentRule),
        (status = 403, description = "Only managers and admins manage rules."),
        (status = 422, description = "Invalid fields, all listed."),
    ),
    security(("bearer" = [])),
)]
#[post("/assignment-rules")]
pub async fn create_assignment_rule(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: Json<NewRule>,
) -> Result<HttpResponse, ApiError> {
    let rule = uc::create(&state.ctx, &caller, body.input()).await?;
    Ok(respond(StatusCode::CREATED, &rule))
}

/// One rule.
#[utoipa::path(
    operation_id = "get_assignment_rule",
    tag = "assignment-rules",
    params(("id" = Uuid, Path, description = "Rule id")),
    responses(
        (status = 200, description = "The rule.", body = AssignmentRule),
        (status = 403, description = "Only managers and admins manage rules."),
        (status = 404, description = "No such rule."),
    ),
    security(("bearer" = [])),
)]
#[get("/assignment-rules/{id}")]
pub async fn get_assignment_rule(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let rule = uc::get(&state.ctx, &caller, id.into_inner()).await?;
    Ok(respond(StatusCode::OK, &rule))
}

/// Changes a rule (merge patch). Honours `If-Match` when sent.
#[utoipa::path(
    operation_id = "update_assignment_rule",
    tag = "assignment-rules",
    params(
        ("id" = Uuid, Path, description = "Rule id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read."),
    ),
    request_body(content = RuleInput, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed rule.", body = AssignmentRule),
        (status = 403, description = "Only managers and admins manage rules."),
        (status = 404, description = "No such rule."),
        (status = 412, description = "The rule changed since the `If-Match` version."),
        (status = 422, description = "Invalid fields, all listed."),
    ),
    security(("bearer" = [])),
)]
#[patch("/assignment-rules/{id}")]
pub async fn update_assignment_rule(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<RuleInput>,
) -> Result<HttpResponse, ApiError> {
    let rule = uc::update(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(respond(StatusCode::OK, &rule))
}

/// Deletes a rule.
#[utoipa::path(
    operation_id = "delete_assignment_rule",
    tag = "assignment-rules",
    params(("id" = Uuid, Path, description = "Rule id")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "Only managers and admins manage rules."),
        (status = 404, description = "No such rule."),
    ),
    security(("bearer" = [])),
)]
#[delete("/assignment-rules/{id}")]
pub async fn delete_assignment_rule(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    uc::delete(&state.ctx, &caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
