//! Leads (线索): the HTTP side of [`crm_app::leads`]. Integrators reach the create, import
//! and read routes with an `X-API-Key` of scope `leads:write`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use bytes::BytesMut;
use crm_app::customers::HistoryList;
use crm_app::leads::convert::{Conversion, ConvertLead};
use crm_app::leads::dto::{Lead, LeadList, LeadPatch, LeadQuery, NewLead};
use crm_app::leads::{self as uc, AssignLead, DisqualifyLead, ImportReport, ImportRequest};
use crm_app::page::PageQuery;
use crm_app::{Action, AppError};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{Json, Query, if_match, parse_json};

/// Largest import body: 1,000 rows with room to spare.
pub const IMPORT_LIMIT: usize = 4 * 1024 * 1024;

fn respond(status: StatusCode, lead: &Lead) -> HttpResponse {
    super::resource(status, lead, lead.version, "leads", lead.id)
}

/// The leads the caller can see, newest first: a rep's own, everyone's for managers, the
/// ones its key created for an integrator.
#[utoipa::path(
    operation_id = "list_leads",
    tag = "leads",
    params(LeadQuery),
    responses(
        (status = 200, description = "A page of leads.", body = LeadList),
        (status = 400, description = "A query parameter is invalid."),
    ),
    security(("bearer" = []), ("api_key" = [])),
)]
#[get("/leads")]
pub async fn list_leads(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: Query<LeadQuery>,
) -> Result<HttpResponse, ApiError> {
    let list: LeadList = uc::list(&state.ctx, &caller, query.input()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Creates a lead (a web form, a fair scanner, a rep). It is checked like a customer
/// (USCC checksum, mobile, privacy guard), flagged when it duplicates an open lead or a
/// customer, and routed: to a duplicated customer's owner, to its creator when a rep makes
/// it, else by the assignment rules. The same `external_id` from the same integrator
/// answers 200 with the lead made before.
#[utoipa::path(
    operation_id = "create_lead",
    tag = "leads",
    request_body = NewLead,
    responses(
        (status = 201, description = "Created; `Location` names it.", body = Lead),
        (status = 200, description = "This `external_id` was sent before: the lead made then.", body = Lead),
        (status = 403, description = "The role or key may not create leads."),
        (status = 422, description = "Invalid fields, all listed."),
    ),
    security(("bearer" = []), ("api_key" = [])),
)]
#[post("/leads")]
pub async fn create_lead(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: Json<NewLead>,
) -> Result<HttpResponse, ApiError> {
    let (lead, created) = uc::create(&state.ctx, &caller, body.input()).await?;
    Ok(respond(
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        &lead,
    ))
}

/// The import template's language.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TemplateQuery {
    /// `zh` (default): Chinese headers; `en`: the field names.
    #[param(inline)]
    pub lang: Option<TemplateLang>,
}

/// Languages of the import template's headers.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TemplateLang {
    /// Chinese headers.
    Zh,
    /// The field names.
    En,
}

/// The CSV template for imports (UTF-8 with a byte-order mark, so Excel opens it
/// correctly), with one example row.
#[utoipa::path(
    operation_id = "get_lead_import_template",
    tag = "leads",
    params(TemplateQuery),
    responses(
        (status = 200, description = "The template.", content_type = "text/csv", body = String),
    ),
    security(("bearer" = []), ("api_key" = [])),
)]
#[get("/leads/import/template")]
pub async fn get_lead_import_template(
    Authenticated(caller): Authenticated,
    query: Query<TemplateQuery>,
) -> Result<HttpResponse, ApiError> {
    crm_app::require(&caller, Action::CreateLead)?;
    let q = query.input().take()?;
    let english = matches!(q.lang, Some(TemplateLang::En));
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"leads-template.csv\"",
        ))
        .body(crm_app::leads::csv_import::template(english)))
}

/// Reads the whole body, up to the import limit.
async fn read_body(mut payload: web::Payload) -> Result<bytes::Bytes, AppError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| AppError::BadRequest {
            code: ErrorCode::BadRequest,
            detail: "The request body could not be read.".to_owned(),
            errors: Vec::new(),
        })?;
        if body.len() + chunk.len() > IMPORT_LIMIT {
            return Err(AppError::PayloadTooLarge {
                limit: IMPORT_LIMIT,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The file in part `file` of a multipart body held in memory.
async fn multipart_file(req: &HttpRequest, body: bytes::Bytes) -> Result<bytes::Bytes, AppError> {
    let bad = |detail: &str| AppError::BadRequest {
        code: ErrorCode::BadRequest,
        detail: detail.to_owned(),
        errors: Vec::new(),
    };
    let stream =
        futures_util::stream::once(async move { Ok::<_, actix_web::error::PayloadError>(body) });
    let mut multipart = actix_multipart::Multipart::new(req.headers(), stream);
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|_| bad("The multipart body is malformed."))?;
        let is_file = field.content_disposition().and_then(|cd| cd.get_name()) == Some("file");
        let mut bytes = BytesMut::new();
        while let Some(chunk) = field.next().await {
            bytes.extend_from_slice(&chunk.map_err(|_| bad("The multipart body is malformed."))?);
        }
        if is_file {
            return Ok(bytes.freeze());
        }
    }
    Err(bad("The multipart body has no part named `file`."))
}

/// Imports up to 1,000 leads at once: JSON `{"leads": [...]}`, or a CSV file — as the body
/// with `Content-Type: text/csv`, or as part `file` of `multipart/form-data` — in UTF-8
/// (with or without BOM) or GB18030, with the template's Chinese or English headers. Every
/// row is answered (`created`, `duplicate`, `existing`, `invalid` with its errors); the valid
/// rows commit together or not at all. A bad file (encoding, syntax, unknown column, more
/// than 1,000 rows) is refused whole. With `Idempotency-Key`, a retry changes nothing and
/// gets the first answer.
#[utoipa::path(
    operation_id = "import_leads",
    tag = "leads",
    request_body(content(
        (ImportRequest = "application/json"),
        (crm_app::attachments::AttachmentUpload = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Every row answered, with a summary.", body = ImportReport),
        (status = 400, description = "The file is not readable CSV (`malformed_csv`) or not JSON."),
        (status = 403, description = "The role or key may not create leads."),
        (status = 413, description = "The body is larger than 4 MiB."),
        (status = 415, description = "Neither JSON nor CSV."),
        (status = 422, description = "Unknown or missing columns, more than 1,000 rows, or no rows."),
    ),
    security(("bearer" = []), ("api_key" = [])),
)]
#[post("/leads/import")]
pub async fn import_leads(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // No record is involved: who may import is all there is to check before the body.
    crm_app::require(&caller, Action::CreateLead)?;
    let media = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok());
    let body = read_body(payload).await?;
    let report: ImportReport = match media {
        Some(m)
            if m.type_() == mime::APPLICATION
                && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON)) =>
        {
            let request: ImportRequest = parse_json(&body)?;
            uc::import(&state.ctx, &caller, request.into()).await?
        }
        Some(m)
            if m.type_() == mime::TEXT && (m.subtype() == mime::CSV || m.subtype() == "plain") =>
        {
            let rows = crm_app::leads::csv_import::read(&body)?;
            uc::import_rows(&state.ctx, &caller, rows).await?
        }
        Some(m) if m.type_() == mime::MULTIPART && m.subtype() == mime::FORM_DATA => {
            let file = multipart_file(&req, body).await?;
            let rows = crm_app::leads::csv_import::read(&file)?;
            uc::import_rows(&state.ctx, &caller, rows).await?
        }
        _ => {
            return Err(AppError::UnsupportedMediaType(
                "Send application/json, text/csv, or multipart/form-data with the file in part `file`."
                    .to_owned(),
            )
            .into());
        }
    };
    Ok(HttpResponse::Ok().json(report))
}

/// One lead; `ETag` carries its version.
#[utoipa::path(
    operation_id = "get_lead",
    tag = "leads",
    params(("id" = Uuid, Path, description = "Lead id")),
    responses(
        (status = 200, description = "The lead.", body = Lead),
        (status = 404, description = "No such lead, or not yours to see."),
    ),
    security(("bearer" = []), ("api_key" = [])),
)]
#[get("/leads/{id}")]
pub async fn get_lead(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let lead = uc::get(&state.ctx, &caller, id.into_inner()).await?;
    Ok(respond(StatusCode::OK, &lead))
}

/// Changes an open lead (JSON merge patch). Needs `If-Match` with the current `ETag`.
#[utoipa::path(
    operation_id = "update_lead",
    tag = "leads",
    params(
        ("id" = Uuid, Path, description = "Lead id"),
        ("If-Match" = String, Header, description = "The `ETag` last read."),
    ),
    request_body(content = LeadPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed lead.", body = Lead),
        (status = 404, description = "No such lead, or not yours to see."),
        (status = 409, description = "The lead is converted or disqualified."),
        (status = 412, description = "The lead changed since the `If-Match` version."),
        (status = 422, description = "Invalid fields, all listed."),
        (status = 428, description = "`If-Match` is missing."),
    ),
    security(("bearer" = [])),
)]
#[patch("/leads/{id}")]
pub async fn update_lead(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<LeadPatch>,
) -> Result<HttpResponse, ApiError> {
    let lead = uc::update(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(respond(StatusCode::OK, &lead))
}

/// The change log of a lead, newest first: creation, assignments, edits, conversion.
#[utoipa::path(
    operation_id = "list_lead_history",
    tag = "leads",
    params(("id" = Uuid, Path, description = "Lead id"), PageQuery),
    responses(
        (status = 200, description = "A page of entries.", body = HistoryList),
        (status = 403, description = "API keys do not read change logs."),
        (status = 404, description = "No such lead, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[get("/leads/{id}/history")]
pub async fn list_lead_history(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    page: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let list = uc::history(&state.ctx, &caller, id.into_inner(), page.input()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Gives an open lead to a rep (managers and admins); it becomes `following`. Honours
/// `If-Match` when sent.
#[utoipa::path(
    operation_id = "assign_lead",
    tag = "leads",
    params(
        ("id" = Uuid, Path, description = "Lead id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read."),
    ),
    request_body = AssignLead,
    responses(
        (status = 200, description = "The assigned lead.", body = Lead),
        (status = 403, description = "Only managers and admins assign."),
        (status = 404, description = "No such lead."),
        (status = 409, description = "The lead is converted or disqualified."),
        (status = 422, description = "Not an active account."),
    ),
    security(("bearer" = [])),
)]
#[post("/leads/{id}/assign")]
pub async fn assign_lead(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<AssignLead>,
) -> Result<HttpResponse, ApiError> {
    let lead = uc::assign(
        &state.ctx,
        &caller,
        id.into_inner(),
        if_match(&req),
        body.input(),
    )
    .await?;
    Ok(respond(StatusCode::OK, &lead))
}

/// Converts an open lead (转化为商机) in one transaction: creates the customer from the lead
/// (every customer rule applies; errors name the lead field to fix, or the `customer.*`
/// field to add) or links `customer_id`, creates the deal, and marks the lead `converted`.
#[utoipa::path(
    operation_id = "convert_lead",
    tag = "leads",
    params(("id" = Uuid, Path, description = "Lead id")),
    request_body = ConvertLead,
    responses(
        (status = 200, description = "The converted lead, its customer and its deal.", body = Conversion),
        (status = 404, description = "No such lead, or not yours to see."),
        (status = 409, description = "Already converted or disqualified (`illegal_transition`), the customer is archived, or its USCC is taken."),
        (status = 422, description = "What the customer or the deal lacks, all listed."),
    ),
    security(("bearer" = [])),
)]
#[post("/leads/{id}/convert")]
pub async fn convert_lead(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<ConvertLead>,
) -> Result<HttpResponse, ApiError> {
    let done = crm_app::leads::convert::convert(&state.ctx, &caller, id.into_inner(), body.input())
        .await?;
    Ok(HttpResponse::Ok().json(done))
}

/// Sets an open lead aside, with the reason.
#[utoipa::path(
    operation_id = "disqualify_lead",
    tag = "leads",
    params(("id" = Uuid, Path, description = "Lead id")),
    request_body = DisqualifyLead,
    responses(
        (status = 200, description = "The disqualified lead.", body = Lead),
        (status = 404, description = "No such lead, or not yours to see."),
        (status = 409, description = "Already converted or disqualified."),
        (status = 422, description = "The reason is missing or invalid."),
    ),
    security(("bearer" = [])),
)]
#[post("/leads/{id}/disqualify")]
pub async fn disqualify_lead(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    body: Json<DisqualifyLead>,
) -> Result<HttpResponse, ApiError> {
    let lead = uc::disqualify(&state.ctx, &caller, id.into_inner(), body.input()).await?;
    Ok(respond(StatusCode::OK, &lead))
}
