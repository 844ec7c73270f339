//! CSV export of the customers the caller can see, streamed page by page so memory stays
//! flat however many there are (the rows come from [`crm_app::customers::export`]).

use actix_web::{HttpResponse, get, web};
use bytes::Bytes;
use crm_app::customers::export::{Export, export};
use crm_app::customers::query::CustomerQuery;
use futures_util::stream;

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::Query;

async fn next_chunk(mut export: Export) -> Option<(Result<Bytes, ApiError>, Export)> {
    match export.next_chunk().await {
        Ok(Some(bytes)) => Some((Ok(bytes), export)),
        Ok(None) => None,
        Err(e) => {
            // Headers are gone already; end the stream short and log why.
            tracing::error!(error = %e, "customer export failed mid-stream");
            Some((Err(ApiError(e)), export))
        }
    }
}

/// Exports the customers the caller can see as CSV, with the list's filters (`sort`,
/// `limit` and `cursor` do not apply: everything is exported, in id order).
#[utoipa::path(
    operation_id = "export_customers",
    tag = "customers",
    params(CustomerQuery),
    responses(
        (status = 200, description = "UTF-8 CSV with a byte-order mark and a header row.", content_type = "text/csv", body = String),
        (status = 400, description = "A query parameter is invalid."),
    ),
    security(("bearer" = [])),
)]
#[get("/customers/export")]
pub async fn export_customers(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: Query<CustomerQuery>,
) -> Result<HttpResponse, ApiError> {
    let export = export(&state.ctx, &caller, query.input()).await?;
    let filename = format!("customers-{}.csv", chrono::Utc::now().format("%Y%m%d"));
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .streaming(stream::unfold(export, next_chunk)))
}
