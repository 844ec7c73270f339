//! Attachments (附件): the HTTP side of [`crm_app::attachments`]. Uploads are
//! `multipart/form-data` with the file in part `file`; the use case checks who may upload
//! before the body is read, and everything again in its transaction.

use actix_multipart::Multipart;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use bytes::BytesMut;
use crm_app::AppError;
use crm_app::attachments::{
    self as uc, Attachment, AttachmentList, AttachmentUpload, MAX_ATTACHMENT, Upload,
};
use futures_util::StreamExt;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorCode};

/// Reads the part `file` of a multipart body: 415 for another media type, 413 past 5 MiB,
/// 400 for a malformed body, no such part, or any other part.
async fn read_upload(req: &HttpRequest, payload: web::Payload) -> Result<Upload, AppError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_ATTACHMENT + 64 * 1024) {
        return Err(AppError::PayloadTooLarge {
            limit: MAX_ATTACHMENT,
        });
    }
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(AppError::UnsupportedMediaType(
            "Upload the file as multipart/form-data in a part named `file`.".to_owned(),
        ));
    }
    let bad = |detail: &str| AppError::BadRequest {
        code: ErrorCode::BadRequest,
        detail: detail.to_owned(),
        errors: Vec::new(),
    };
    let mut multipart = Multipart::new(req.headers(), payload);
    let mut found: Option<(Option<String>, BytesMut)> = None;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|_| bad("The multipart body is malformed."))?;
        let is_file = field.content_disposition().and_then(|cd| cd.get_name()) == Some("file");
        if !is_file {
            return Err(bad("The body may hold one part only, named `file`."));
        }
        let filename = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned);
        let mut bytes = BytesMut::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| bad("The multipart body is malformed."))?;
            if bytes.len() + chunk.len() > MAX_ATTACHMENT {
                return Err(AppError::PayloadTooLarge {
                    limit: MAX_ATTACHMENT,
                });
            }
            if is_file {
                bytes.extend_from_slice(&chunk);
            }
        }
        if is_file && found.is_none() {
            found = Some((filename, bytes));
        }
    }
    let (filename, bytes) =
        found.ok_or_else(|| bad("The multipart body has no part named `file`."))?;
    Ok(Upload {
        filename,
        bytes: bytes.freeze(),
    })
}

/// Lists a customer's attachments.
#[utoipa::path(
    operation_id = "list_attachments",
    tag = "attachments",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The attachments.", body = AttachmentList),
        (status = 404, description = "No such customer, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[get("/customers/{id}/attachments")]
pub async fn list_attachments(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let list: AttachmentList = uc::list(&state.ctx, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Uploads an attachment as `multipart/form-data` with the file in part `file`. Only PDF
/// and JPEG, recognised by their first bytes (415 otherwise), at most 5 MiB (413).
#[utoipa::path(
    operation_id = "upload_attachment",
    tag = "attachments",
    params(("id" = Uuid, Path, description = "Customer id")),
    request_body(content = AttachmentUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored; `Location` names it.", body = Attachment),
        (status = 400, description = "Not a multipart body, or no part `file`."),
        (status = 404, description = "No such customer, or not yours to see."),
        (status = 409, description = "The customer is archived."),
        (status = 413, description = "Larger than 5 MiB."),
        (status = 415, description = "Not a PDF or JPEG."),
    ),
    security(("bearer" = [])),
)]
#[post("/customers/{id}/attachments")]
pub async fn upload_attachment(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let customer_id = id.into_inner();
    uc::authorize_upload(&state.ctx, &caller, customer_id).await?;
    let upload = read_upload(&req, payload).await?;
    let saved: Attachment = uc::upload(&state.ctx, &caller, customer_id, upload).await?;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .insert_header((
            header::LOCATION,
            format!("/api/v1/attachments/{}", saved.id),
        ))
        .json(saved))
}

/// Downloads an attachment's bytes with their media type.
#[utoipa::path(
    operation_id = "download_attachment",
    tag = "attachments",
    params(("id" = Uuid, Path, description = "Attachment id")),
    responses(
        (status = 200, description = "The file.", content(
            ([u8] = "application/pdf"),
            ([u8] = "image/jpeg"),
            ([u8] = "application/octet-stream"),
        )),
        (status = 404, description = "No such attachment, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[get("/attachments/{id}")]
pub async fn download_attachment(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (record, bytes) = uc::download(&state.ctx, &caller, id.into_inner()).await?;
    let disposition = header::ContentDisposition {
        disposition: header::DispositionType::Attachment,
        parameters: vec![header::DispositionParam::FilenameExt(
            header::ExtendedValue {
                charset: header::Charset::Ext("UTF-8".to_owned()),
                language_tag: None,
                value: record.filename.into_bytes(),
            },
        )],
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, record.content_type))
        .insert_header(disposition)
        .insert_header((header::ETAG, format!("\"{}\"", record.sha256)))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .body(bytes))
}

/// Deletes an attachment and its bytes.
#[utoipa::path(
    operation_id = "delete_attachment",
    tag = "attachments",
    params(("id" = Uuid, Path, description = "Attachment id")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such attachment, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[delete("/attachments/{id}")]
pub async fn delete_attachment(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    uc::delete(&state.ctx, &caller, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
