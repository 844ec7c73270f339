//! Service work orders (服务工单): the HTTP side of [`crm_app::work_orders`].

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use crm_app::customers::HistoryList;
use crm_app::page::PageQuery;
use crm_app::work_orders::{
    self as uc, AssignWorkOrder, CloseWorkOrder, NewNote, NewWorkOrder, ReasonBody,
    ResolveWorkOrder, StartWorkOrder, Timeline, TimelineEntry, WorkOrder, WorkOrderList,
    WorkOrderPatch, WorkOrderQuery,
};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::{Json, Query, if_match};

fn respond(status: StatusCode, order: &WorkOrder) -> HttpResponse {
    super::resource(status, order, order.version, "work-orders", order.id)
}

/// The work orders you can see, newest first, with filters; `breached=true` is the
/// escalation list.
#[utoipa::path(
    operation_id = "list_work_orders",
    tag = "work-orders",
    params(WorkOrderQuery),
    responses(
        (status = 200, description = "A page of work orders.", body = WorkOrderList),
        (status = 400, description = "A query parameter is invalid."),
    ),
    security(("bearer" = [])),
)]
#[get("/work-orders")]
pub async fn list_work_orders(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: Query<WorkOrderQuery>,
) -> Result<HttpResponse, ApiError> {
    let list: WorkOrderList = uc::list(&state.ctx, &caller, query.input()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Opens a work order for a live customer you can see. It is numbered
/// (`WO-YYYYMMDD-NNNN`), given response and resolution due times for the customer's tier
/// and its severity, and assigned at once to the active service agent with the fewest
/// orders in hand (it stays `new` when no agent is active).
#[utoipa::path(
    operation_id = "create_work_order",
    tag = "work-orders",
    request_body = NewWorkOrder,
    responses(
        (status = 201, description = "Opened; `Location` names it.", body = WorkOrder),
        (status = 409, description = "The customer is archived or purged."),
        (status = 422, description = "Invalid fields (an unknown category or severity, a contact of another customer…), all listed."),
    ),
    security(("bearer" = [])),
)]
#[post("/work-orders")]
pub async fn create_work_order(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: Json<NewWorkOrder>,
) -> Result<HttpResponse, ApiError> {
    let order = uc::create(&state.ctx, &caller, body.input()).await?;
    Ok(respond(StatusCode::CREATED, &order))
}

/// One work order with the minutes left to its due times; `ETag` carries its version.
#[utoipa::path(
    operation_id = "get_work_order",
    tag = "work-orders",
    params(("id" = Uuid, Path, description = "Work order id")),
    responses(
        (status = 200, description = "The work order.", body = WorkOrder),
        (status = 404, description = "No such work order, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[get("/work-orders/{id}")]
pub async fn get_work_order(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let order = uc::get(&state.ctx, &caller, id.into_inner()).await?;
    Ok(respond(StatusCode::OK, &order))
}

/// Changes an open work order (JSON merge patch) with `If-Match`: title, description,
/// category, channel, contact, severity (a re-grade: due times are set again from when it
/// was opened).
#[utoipa::path(
    operation_id = "update_work_order",
    tag = "work-orders",
    params(
        ("id" = Uuid, Path, description = "Work order id"),
        ("If-Match" = String, Header, description = "The `ETag` last read."),
    ),
    request_body(content = WorkOrderPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed work order.", body = WorkOrder),
        (status = 403, description = "Sales reps do not edit work orders; agents only their own."),
        (status = 404, description = "No such work order, or not yours to see."),
        (status = 409, description = "Closed or cancelled (`illegal_transition`)."),
        (status = 412, description = "It changed since the `If-Match` version."),
        (status = 422, description = "Invalid fields, all listed."),
        (status = 428, description = "`If-Match` is missing."),
    ),
    security(("bearer" = [])),
)]
#[patch("/work-orders/{id}")]
pub async fn update_work_order(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<WorkOrderPatch>,
) -> Result<HttpResponse, ApiError> {
    let order = uc::update(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(respond(StatusCode::OK, &order))
}

/// Gives a work order to an active service agent (managers and admins): a `new` order becomes `assigned`; one further on changes hands and keeps its state.
#[utoipa::path(
    operation_id = "assign_work_order",
    tag = "work-orders",
    params(
        ("id" = Uuid, Path, description = "Work order id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read."),
    ),
    request_body = AssignWorkOrder,
    responses(
        (status = 200, description = "The work order after the move.", body = WorkOrder),
        (status = 403, description = "Only managers and admins assign."),
        (status = 404, description = "No such work order, or not yours to see."),
        (status = 409, description = "Closed or cancelled (`illegal_transition`, `allowed` names the moves)."),
        (status = 412, description = "It changed since the `If-Match` version."),
        (status = 422, description = "`assignee_id` is not an active service agent."),
    ),
    security(("bearer" = [])),
)]
#[post("/work-orders/{id}/assign")]
pub async fn assign_work_order(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<AssignWorkOrder>,
) -> Result<HttpResponse, ApiError> {
    let order = uc::assign(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(respond(StatusCode::OK, &order))
}

/// The assigned agent starts work (`assigned → in_progress`): the first response, which meets the response due time.
#[utoipa::path(
    operation_id = "start_work_order",
    tag = "work-orders",
    params(
        ("id" = Uuid, Path, description = "Work order id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read."),
    ),
    request_body = StartWorkOrder,
    responses(
        (status = 200, description = "The work order after the move.", body = WorkOrder),
        (status = 403, description = "Sales reps do not work orders; agents only their own."),
        (status = 404, description = "No such work order, or not yours to see."),
        (status = 409, description = "Not `assigned` (`illegal_transition`, `allowed` names the moves)."),
        (status = 412, description = "It changed since the `If-Match` version."),
        (status = 422, description = "The note is invalid."),
    ),
    security(("bearer" = [])),
)]
#[post("/work-orders/{id}/start")]
pub async fn start_work_order(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<StartWorkOrder>,
) -> Result<HttpResponse, ApiError> {
    let order = uc::start(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(respond(StatusCode::OK, &order))
}

/// Resolves a work order in progress (`in_progress → resolved`), saying how. It is closed after the follow-up visit.
#[utoipa::path(
    operation_id = "resolve_work_order",
    tag = "work-orders",
    params(
        ("id" = Uuid, Path, description = "Work order id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read."),
    ),
    request_body = ResolveWorkOrder,
    responses(
        (status = 200, description = "The work order after the move.", body = WorkOrder),
        (status = 403, description = "Sales reps do not work orders; agents only their own."),
        (status = 404, description = "No such work order, or not yours to see."),
        (status = 409, description = "Not in progress (`illegal_transition`, `allowed` names the moves)."),
        (status = 412, description = "It changed since the `If-Match` version."),
        (status = 422, description = "The resolution is missing or invalid."),
    ),
    security(("bearer" = [])),
)]
#[post("/work-orders/{id}/resolve")]
pub async fn resolve_work_order(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<ResolveWorkOrder>,
) -> Result<HttpResponse, ApiError> {
    let order = uc::resolve(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(respond(StatusCode::OK, &order))
}

/// Closes a resolved work order with its follow-up visit (回访): satisfaction 1–5 and the customer's comment, both required.
#[utoipa::path(
    operation_id = "close_work_order",
    tag = "work-orders",
    params(
        ("id" = Uuid, Path, description = "Work order id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read."),
    ),
    request_body = CloseWorkOrder,
    responses(
        (status = 200, description = "The work order after the move.", body = WorkOrder),
        (status = 403, description = "Sales reps do not work orders; agents only their own."),
        (status = 404, description = "No such work order, or not yours to see."),
        (status = 409, description = "Not resolved (`illegal_transition`, `allowed` names the moves)."),
        (status = 412, description = "It changed since the `If-Match` version."),
        (status = 422, description = "The visit is missing or invalid (a satisfaction outside 1–5, no comment)."),
    ),
    security(("bearer" = [])),
)]
#[post("/work-orders/{id}/close")]
pub async fn close_work_order(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<CloseWorkOrder>,
) -> Result<HttpResponse, ApiError> {
    let order = uc::close(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(respond(StatusCode::OK, &order))
}

/// Cancels a work order that is not yet resolved, with the reason.
#[utoipa::path(
    operation_id = "cancel_work_order",
    tag = "work-orders",
    params(
        ("id" = Uuid, Path, description = "Work order id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read."),
    ),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The work order after the move.", body = WorkOrder),
        (status = 403, description = "Sales reps do not work orders; agents only their own."),
        (status = 404, description = "No such work order, or not yours to see."),
        (status = 409, description = "Resolved, closed or cancelled (`illegal_transition`, `allowed` names the moves)."),
        (status = 412, description = "It changed since the `If-Match` version."),
        (status = 422, description = "The reason is missing or invalid."),
    ),
    security(("bearer" = [])),
)]
#[post("/work-orders/{id}/cancel")]
pub async fn cancel_work_order(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    let order = uc::cancel(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(respond(StatusCode::OK, &order))
}

/// Reopens a resolved work order (`resolved → in_progress`) with the reason; its resolution due time stands.
#[utoipa::path(
    operation_id = "reopen_work_order",
    tag = "work-orders",
    params(
        ("id" = Uuid, Path, description = "Work order id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read."),
    ),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The work order after the move.", body = WorkOrder),
        (status = 403, description = "Sales reps do not work orders; agents only their own."),
        (status = 404, description = "No such work order, or not yours to see."),
        (status = 409, description = "Not resolved (`illegal_transition`, `allowed` names the moves)."),
        (status = 412, description = "It changed since the `If-Match` version."),
        (status = 422, description = "The reason is missing or invalid."),
    ),
    security(("bearer" = [])),
)]
#[post("/work-orders/{id}/reopen")]
pub async fn reopen_work_order(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    let order = uc::reopen(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(respond(StatusCode::OK, &order))
}

/// A work order's timeline, oldest first: its progress notes and every move (opened,
/// assigned, started, resolved, breached, escalated, visited, closed…).
#[utoipa::path(
    operation_id = "list_work_order_notes",
    tag = "work-orders",
    params(("id" = Uuid, Path, description = "Work order id"), PageQuery),
    responses(
        (status = 200, description = "A page of the timeline.", body = Timeline),
        (status = 404, description = "No such work order, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[get("/work-orders/{id}/notes")]
pub async fn list_work_order_notes(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    page: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let list = uc::timeline(&state.ctx, &caller, id.into_inner(), page.input()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Adds a progress note to a work order you can see.
#[utoipa::path(
    operation_id = "add_work_order_note",
    tag = "work-orders",
    params(("id" = Uuid, Path, description = "Work order id")),
    request_body = NewNote,
    responses(
        (status = 201, description = "The note, as it appears in the timeline.", body = TimelineEntry),
        (status = 404, description = "No such work order, or not yours to see."),
        (status = 422, description = "The note is empty, too long, or holds an ID or bank card number."),
    ),
    security(("bearer" = [])),
)]
#[post("/work-orders/{id}/notes")]
pub async fn add_work_order_note(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<NewNote>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let note = uc::add_note(&state.ctx, &caller, id, body.input()).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/work-orders/{id}/notes"),
        ))
        .json(note))
}

/// The change log of a work order, newest first.
#[utoipa::path(
    operation_id = "list_work_order_history",
    tag = "work-orders",
    params(("id" = Uuid, Path, description = "Work order id"), PageQuery),
    responses(
        (status = 200, description = "A page of entries.", body = HistoryList),
        (status = 404, description = "No such work order, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[get("/work-orders/{id}/history")]
pub async fn list_work_order_history(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    page: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let list = uc::history(&state.ctx, &caller, id.into_inner(), page.input()).await?;
    Ok(HttpResponse::Ok().json(list))
}
