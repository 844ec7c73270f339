//! The event feed: the HTTP side of [`crm_app::events`].

use actix_web::{HttpResponse, get, web};
use crm_app::events::{self as uc, EventList, EventQuery};

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::extract::Query;

/// Every committed change as an event, in commit order, for integrators that catch up by
/// polling: start without `after`, then pass each page's `next_cursor` as the next `after`.
/// Admins, and API keys with scope `events:read`.
#[utoipa::path(
    operation_id = "list_events",
    tag = "events",
    params(EventQuery),
    responses(
        (status = 200, description = "A page of events.", body = EventList),
        (status = 400, description = "A query parameter is invalid."),
        (status = 403, description = "Only admins and keys with `events:read` read the feed."),
    ),
    security(("bearer" = []), ("api_key" = [])),
)]
#[get("/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: Query<EventQuery>,
) -> Result<HttpResponse, ApiError> {
    let list: EventList = uc::list(&state.ctx, &caller, query.input()).await?;
    Ok(HttpResponse::Ok().json(list))
}
