//! Attachments (附件): business licences and contracts, PDF or JPEG only (recognised by their
//! bytes, not their name), at most 5 MiB each. The bytes go to the object store (a local
//! directory by default, any S3-compatible store by configuration) under a key of their
//! own; the database keeps the record with size and SHA-256.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use crm_domain::access::{Action, Caller};
use crm_domain::audit::{AuditAction, EntityType};
use crm_store::{ConnectionTrait, attachments};
use object_store::ObjectStoreExt;
use object_store::path::Path as StorePath;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::hex_digest;
use crate::customers::{ensure_live, touch, visible};
use crate::error::AppError;
use crate::journal::Journal;
use crate::{Ctx, require};

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

/// A file as uploaded.
#[derive(Debug)]
pub struct Upload {
    /// The name the client gave it.
    pub filename: Option<String>,
    /// Its bytes (at most [`MAX_ATTACHMENT`]).
    pub bytes: Bytes,
}

/// A customer's attachments, oldest first.
pub async fn list(
    ctx: &Ctx,
    caller: &Caller,
    customer_id: Uuid,
) -> Result<AttachmentList, AppError> {
    require(caller, Action::ReadCustomers)?;
    let customer = visible(&ctx.db, caller, customer_id).await?;
    let items = attachments::for_customer(&ctx.db, customer.id)
        .await?
        .into_iter()
        .map(Attachment::from)
        .collect();
    Ok(AttachmentList {
        items,
        next_cursor: None,
    })
}

/// The checks an upload passes before its body is read: the caller may edit customers and
/// can see this one. [`upload`] checks again, with the rest, in its transaction.
pub async fn authorize_upload(
    ctx: &Ctx,
    caller: &Caller,
    customer_id: Uuid,
) -> Result<(), AppError> {
    require(caller, Action::EditCustomer)?;
    visible(&ctx.db, caller, customer_id).await?;
    Ok(())
}

/// Stores an attachment of a live customer the caller can see. Only PDF and JPEG,
/// recognised by their first bytes (415 otherwise), at most 5 MiB (413).
pub async fn upload(
    ctx: &Ctx,
    caller: &Caller,
    customer_id: Uuid,
    file: Upload,
) -> Result<Attachment, AppError> {
    require(caller, Action::EditCustomer)?;
    visible(&ctx.db, caller, customer_id).await?;
    if file.bytes.len() > MAX_ATTACHMENT {
        return Err(AppError::PayloadTooLarge {
            limit: MAX_ATTACHMENT,
        });
    }
    let content_type = sniff(&file.bytes).ok_or_else(|| {
        AppError::UnsupportedMediaType("Only PDF and JPEG files are accepted.".to_owned())
    })?;
    let record = attachments::Model {
        id: Uuid::now_v7(),
        customer_id,
        filename: clean_filename(file.filename.as_deref(), content_type),
        content_type: content_type.to_owned(),
        size: i64::try_from(file.bytes.len()).unwrap_or(i64::MAX),
        sha256: hex_digest(&Sha256::digest(&file.bytes)),
        storage_key: storage_key(customer_id, Uuid::now_v7()),
        uploaded_by: caller.user_id().unwrap_or_default(),
        created_at: Utc::now(),
    };
    // Bytes first, under a key of their own and outside the transaction (no lock is held
    // during the upload); whatever fails afterwards removes them again.
    let location = StorePath::from(record.storage_key.as_str());
    ctx.files
        .put(&location, file.bytes.into())
        .await
        .map_err(AppError::internal)?;
    let result = async {
        let tx = ctx.begin().await?;
        let customer = visible(&tx, caller, customer_id).await?;
        ensure_live(&customer)?;
        let saved = attachments::insert(&tx, record).await?;
        let shown = touch(&tx, customer).await?;
        let mut journal = Journal::new();
        journal.record(
            EntityType::Customer,
            customer_id,
            AuditAction::AttachmentAdded,
            json!({"attachment": {"from": null, "to": {"id": saved.id, "filename": saved.filename, "sha256": saved.sha256}}}),
            &shown,
        )?;
        journal.commit(tx, caller).await?;
        Ok::<_, AppError>(saved)
    }
    .await;
    match result {
        Ok(saved) => Ok(Attachment::from(saved)),
        Err(e) => {
            if let Err(cleanup) = ctx.files.delete(&location).await {
                tracing::error!(key = %location, error = %cleanup, "could not remove bytes of a failed upload");
            }
            Err(e)
        }
    }
}

async fn visible_attachment(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: Uuid,
) -> Result<(attachments::Model, crm_store::customers::Model), AppError> {
    let record = attachments::find(conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let customer = visible(conn, caller, record.customer_id).await?;
    Ok((record, customer))
}

/// An attachment's record and bytes.
pub async fn download(
    ctx: &Ctx,
    caller: &Caller,
    id: Uuid,
) -> Result<(Attachment, Bytes), AppError> {
    require(caller, Action::ReadCustomers)?;
    let (record, _) = visible_attachment(&ctx.db, caller, id).await?;
    let bytes = ctx
        .files
        .get(&StorePath::from(record.storage_key.as_str()))
        .await
        .map_err(AppError::internal)?
        .bytes()
        .await
        .map_err(AppError::internal)?;
    Ok((Attachment::from(record), bytes))
}

/// Deletes an attachment of a live customer, and its bytes.
pub async fn delete(ctx: &Ctx, caller: &Caller, id: Uuid) -> Result<(), AppError> {
    require(caller, Action::EditCustomer)?;
    let tx = ctx.begin().await?;
    let (record, customer) = visible_attachment(&tx, caller, id).await?;
    ensure_live(&customer)?;
    attachments::delete(&tx, record.id).await?;
    let shown = touch(&tx, customer).await?;
    let mut journal = Journal::new();
    journal.record(
        EntityType::Customer,
        record.customer_id,
        AuditAction::AttachmentRemoved,
        json!({"attachment": {"from": {"id": record.id, "filename": record.filename}, "to": null}}),
        &shown,
    )?;
    journal.commit(tx, caller).await?;
    remove_files(ctx, vec![record.storage_key]).await;
    Ok(())
}

/// Moves a customer's attachments onto another (merge); the bytes stay where they are.
pub(crate) async fn move_all(
    conn: &impl ConnectionTrait,
    from: Uuid,
    to: Uuid,
) -> Result<u64, AppError> {
    Ok(attachments::move_all(conn, from, to).await?)
}

/// Deletes a customer's attachment records, returning the keys of their bytes (purge).
pub(crate) async fn delete_all(
    conn: &impl ConnectionTrait,
    customer_id: Uuid,
) -> Result<Vec<String>, AppError> {
    Ok(attachments::delete_for_customer(conn, customer_id)
        .await?
        .into_iter()
        .map(|a| a.storage_key)
        .collect())
}

/// Deletes stored bytes; failures are logged (the records are already gone).
pub(crate) async fn remove_files(ctx: &Ctx, keys: Vec<String>) {
    for key in keys {
        if let Err(e) = ctx.files.delete(&StorePath::from(key.as_str())).await {
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
