//! Attachments (附件): business licences and contracts, PDF or JPEG only (recognised by their
//! bytes, not their name), at most 5 MiB each. The bytes go to the object store (a local
//! directory by default, any S3-compatible store by configuration) under a key of their
//! own; the database keeps the record with size and SHA-256.

use actix_multipart::Multipart;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use crm_domain::access::Action;
use crm_store::{ConnectionTrait, attachments, begin_write, history};
use futures_util::StreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path as StorePath;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Principal, hex_digest};
use crate::error::{ApiError, ErrorCode};
use crate::routes::customers::{ensure_live, touch, visible};

/// Largest attachment accepted.
pub const MAX_ATTACHMENT: usize = 5 * 1024 * 1024;

/// An attachment's record.
#[derive(Debug, Serialize, ToSchema)]
pub struct Attachment {
    /// Attachment id.
    pub id: Uuid,
    /// The customer it belongs to.
    pub customer_id: Uuid,
    /// The uploaded file's name.
    #[schema(example = "营业执照.pdf")]
    pub filename: String,
    /// `application/pdf` or `image/jpeg`, from the bytes.
    #[schema(example = "application/pdf")]
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// Who uploaded it.
    pub uploaded_by: Uuid,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<attachments::Model> for Attachment {
    fn from(m: attachments::Model) -> Self {
        Self {
            id: m.id,
            customer_id: m.customer_id,
            filename: m.filename,
            content_type: m.content_type,
            size: m.size,
            sha256: m.sha256,
            uploaded_by: m.uploaded_by,
            created_at: m.created_at,
        }
    }
}

/// A customer's attachments.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentList {
    /// Oldest first.
    pub items: Vec<Attachment>,
    /// Always `null`: a customer's attachments come in one page.
    pub next_cursor: Option<String>,
}

/// The upload form: the file in part `file`.
#[derive(Debug, ToSchema)]
pub struct AttachmentUpload {
    /// A PDF or JPEG of at most 5 MiB.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// The media type of `bytes`, if it is one we accept.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

fn clean_filename(raw: Option<&str>, content_type: &str) -> String {
    let base = raw
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\''))
        .take(200)
        .collect::<String>();
    let base = base.trim().to_owned();
    if base.is_empty() || crm_domain::privacy::scan(&base).is_some() {
        let ext = if content_type == "application/pdf" {
            "pdf"
        } else {
            "jpg"
        };
        format!("attachment.{ext}")
    } else {
        base
    }
}

fn storage_key(customer_id: Uuid, id: Uuid) -> String {
    format!("customers/{customer_id}/{id}")
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
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ReadCustomers)?;
    let customer = visible(&state.db, &principal, id.into_inner()).await?;
    let items = attachments::for_customer(&state.db, customer.id)
        .await?
        .into_iter()
        .map(Attachment::from)
        .collect();
    Ok(HttpResponse::Ok().json(AttachmentList {
        items,
        next_cursor: None,
    }))
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
    principal: Principal,
    id: web::Path<Uuid>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::EditCustomer)?;
    let customer = visible(&state.db, &principal, id.into_inner()).await?;
    ensure_live(&customer)?;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_ATTACHMENT + 64 * 1024) {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_ATTACHMENT,
        });
    }
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(ApiError::UnsupportedMediaType(
            "Upload the file as multipart/form-data in a part named `file`.".to_owned(),
        ));
    }
    let bad = |detail: &str| ApiError::BadRequest {
        code: ErrorCode::BadRequest,
        detail: detail.to_owned(),
        errors: Vec::new(),
    };
    let mut multipart = Multipart::new(req.headers(), payload);
    let mut found: Option<(Option<String>, Vec<u8>)> = None;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|_| bad("The multipart body is malformed."))?;
        let is_file = field.content_disposition().and_then(|cd| cd.get_name()) == Some("file");
        let filename = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned);
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| bad("The multipart body is malformed."))?;
            if bytes.len() + chunk.len() > MAX_ATTACHMENT {
                return Err(ApiError::PayloadTooLarge {
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
    let content_type = sniff(&bytes).ok_or_else(|| {
        ApiError::UnsupportedMediaType("Only PDF and JPEG files are accepted.".to_owned())
    })?;
    let record = attachments::Model {
        id: Uuid::now_v7(),
        customer_id: customer.id,
        filename: clean_filename(filename.as_deref(), content_type),
        content_type: content_type.to_owned(),
        size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        sha256: hex_digest(&Sha256::digest(&bytes)),
        storage_key: storage_key(customer.id, Uuid::now_v7()),
        uploaded_by: principal.id,
        created_at: Utc::now(),
    };
    // Bytes first: a failed write leaves no record pointing at nothing.
    let location = StorePath::from(record.storage_key.as_str());
    state
        .files
        .put(&location, bytes.into())
        .await
        .map_err(ApiError::internal)?;
    let tx = begin_write(&state.db).await?;
    let saved = attachments::insert(&tx, record).await?;
    let current = visible(&tx, &principal, customer.id).await?;
    touch(&tx, current).await?;
    history::record(&tx, customer.id, Some(principal.id), "attachment_added", json!({"attachment": {"from": null, "to": {"id": saved.id, "filename": saved.filename, "sha256": saved.sha256}}})).await?;
    if let Err(e) = tx.commit().await {
        let _ = state.files.delete(&location).await;
        return Err(crm_store::StoreError::from(e).into());
    }
    Ok(HttpResponse::build(StatusCode::CREATED)
        .insert_header((
            header::LOCATION,
            format!("/api/v1/attachments/{}", saved.id),
        ))
        .json(Attachment::from(saved)))
}

async fn visible_attachment(
    conn: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
) -> Result<attachments::Model, ApiError> {
    let record = attachments::find(conn, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    visible(conn, principal, record.customer_id).await?;
    Ok(record)
}

/// Downloads an attachment's bytes with their media type.
#[utoipa::path(
    operation_id = "download_attachment",
    tag = "attachments",
    params(("id" = Uuid, Path, description = "Attachment id")),
    responses(
        (status = 200, description = "The file.", content(
            (Vec<u8> = "application/pdf"),
            (Vec<u8> = "image/jpeg"),
        )),
        (status = 404, description = "No such attachment, or not yours to see."),
    ),
    security(("bearer" = [])),
)]
#[get("/attachments/{id}")]
pub async fn download_attachment(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::ReadCustomers)?;
    let record = visible_attachment(&state.db, &principal, id.into_inner()).await?;
    let bytes = state
        .files
        .get(&StorePath::from(record.storage_key.as_str()))
        .await
        .map_err(ApiError::internal)?
        .bytes()
        .await
        .map_err(ApiError::internal)?;
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
    principal: Principal,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    principal.require(Action::EditCustomer)?;
    let tx = begin_write(&state.db).await?;
    let record = visible_attachment(&tx, &principal, id.into_inner()).await?;
    attachments::delete(&tx, record.id).await?;
    let current = visible(&tx, &principal, record.customer_id).await?;
    touch(&tx, current).await?;
    history::record(
        &tx,
        record.customer_id,
        Some(principal.id),
        "attachment_removed",
        json!({"attachment": {"from": {"id": record.id, "filename": record.filename}, "to": null}}),
    )
    .await?;
    tx.commit().await.map_err(crm_store::StoreError::from)?;
    remove_files(&state, vec![record.storage_key]).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Moves a customer's attachments onto another (merge); the bytes stay where they are.
pub(crate) async fn move_all(
    conn: &impl ConnectionTrait,
    from: Uuid,
    to: Uuid,
) -> Result<u64, ApiError> {
    Ok(attachments::move_all(conn, from, to).await?)
}

/// Deletes a customer's attachment records, returning the keys of their bytes (purge).
pub(crate) async fn delete_all(
    conn: &impl ConnectionTrait,
    customer_id: Uuid,
) -> Result<Vec<String>, ApiError> {
    Ok(attachments::delete_for_customer(conn, customer_id)
        .await?
        .into_iter()
        .map(|a| a.storage_key)
        .collect())
}

/// Deletes stored bytes; failures are logged (the records are already gone).
pub(crate) async fn remove_files(state: &AppState, keys: Vec<String>) {
    for key in keys {
        if let Err(e) = state.files.delete(&StorePath::from(key.as_str())).await {
            tracing::error!(key, error = %e, "could not delete attachment bytes");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_pdf_and_jpeg_by_bytes() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
            Some("image/jpeg")
        );
        assert_eq!(sniff(b"\x89PNG\r\n"), None);
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn cleans_file_names() {
        assert_eq!(
            clean_filename(Some("../../etc/passwd"), "application/pdf"),
            "passwd"
        );
        assert_eq!(
            clean_filename(Some("C:\\docs\\营业执照.pdf"), "application/pdf"),
            "营业执照.pdf"
        );
        assert_eq!(clean_filename(None, "image/jpeg"), "attachment.jpg");
        assert_eq!(
            clean_filename(Some("身份证11010519491231002X.jpg"), "image/jpeg"),
            "attachment.jpg"
        );
    }
}
