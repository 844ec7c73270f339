//! Reports: the HTTP side of [`crm_app::reports`].

use actix_web::{HttpResponse, get, web};
use crm_app::reports::{self as uc, Forecast, ForecastQuery};

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::Query;

/// The weighted forecast over a date range, per owner or per month: open pipeline,
/// weighted pipeline (Σ amount × probability), won and lost amounts and counts. A rep sees
/// their own numbers; managers and admins everyone's.
#[utoipa::path(
    operation_id = "get_forecast",
    tag = "reports",
    params(ForecastQuery),
    responses(
        (status = 200, description = "The forecast.", body = Forecast),
        (status = 400, description = "A query parameter is invalid."),
    ),
    security(("bearer" = [])),
)]
#[get("/reports/forecast")]
pub async fn get_forecast(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: Query<ForecastQuery>,
) -> Result<HttpResponse, ApiError> {
    let forecast: Forecast = uc::forecast(&state.ctx, &caller, query.input()).await?;
    Ok(HttpResponse::Ok().json(forecast))
}
