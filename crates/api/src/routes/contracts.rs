//! Contracts: the HTTP side of [`crm_app::contracts`].

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use crm_app::contracts::{
    self as uc, Contract, ContractList, ContractQuery, NewContract, RenewContract,
};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::{Json, Query, if_match};

fn respond(status: StatusCode, contract: &Contract) -> HttpResponse {
    super::resource(status, contract, contract.version, "contracts", contract.id)
}

/// The contracts of the customers you can see, newest first; `ending_within_days=90` lists
/// those due for renewal talks.
#[utoipa::path(
    operation_id = "list_contracts",
    tag = "contracts",
    params(ContractQuery),
    responses(
        (status = 200, description = "A page of contracts.", body = ContractList),
        (status = 400, description = "A query parameter is invalid."),
    ),
    security(("bearer" = [])),
)]
#[get("/contracts")]
pub async fn list_contracts(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: Query<ContractQuery>,
) -> Result<HttpResponse, ApiError> {
    let list = uc::list(&state.ctx, &caller, query.input()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Enters a contract of a live customer you can see. Unless it puts a won deal on paper,
/// its amount counts towards the customer's annual purchase volume (and so its tier).
#[utoipa::path(
    operation_id = "create_contract",
    tag = "contracts",
    request_body = NewContract,
    responses(
        (status = 201, description = "Entered; `Location` names it.", body = Contract),
        (status = 403, description = "Service agents do not enter contracts."),
        (status = 409, description = "The number is taken (`duplicate_contract_number`), or the customer is archived."),
        (status = 422, description = "Invalid fields (an end before the start, a deal that is not won…), all listed."),
    ),
    security(("bearer" = [])),
)]
#[post("/contracts")]
pub async fn create_contract(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: Json<NewContract>,
) -> Result<HttpResponse, ApiError> {
    let contract = uc::create(&state.ctx, &caller, body.input()).await?;
    Ok(respond(StatusCode::CREATED, &contract))
}

/// One contract, with its status today and the days left to its end.
#[utoipa::path(
    operation_id = "get_contract",
    tag = "contracts",
    params(("id" = Uuid, Path, description = "Contract id")),
    responses(
        (status = 200, description = "The contract.", body = Contract),
        (status = 404, description = "No such contract, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[get("/contracts/{id}")]
pub async fn get_contract(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let contract = uc::get(&state.ctx, &caller, id.into_inner()).await?;
    Ok(respond(StatusCode::OK, &contract))
}

/// Renews a contract (续约): enters its successor, starting by default the day after it
/// ends, linked both ways. A contract is renewed once.
#[utoipa::path(
    operation_id = "renew_contract",
    tag = "contracts",
    params(
        ("id" = Uuid, Path, description = "Contract id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read."),
    ),
    request_body = RenewContract,
    responses(
        (status = 201, description = "The successor; `Location` names it.", body = Contract),
        (status = 403, description = "Service agents do not renew contracts."),
        (status = 404, description = "No such contract, or not yours to see."),
        (status = 409, description = "Renewed already (`already_renewed`), or the number is taken."),
        (status = 412, description = "The contract changed since the `If-Match` version."),
        (status = 422, description = "Invalid fields, all listed."),
    ),
    security(("bearer" = [])),
)]
#[post("/contracts/{id}/renew")]
pub async fn renew_contract(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<RenewContract>,
) -> Result<HttpResponse, ApiError> {
    let contract = uc::renew(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(respond(StatusCode::CREATED, &contract))
}
