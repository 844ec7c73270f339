//! Extractors that authenticate a request. A person presents `Authorization: Bearer`; an
//! integrator presents `X-API-Key`. Anything missing, malformed, expired or revoked is 401
//! with `WWW-Authenticate`; valid credentials of the wrong kind are 403.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::Utc;
use crm_domain::access::{Action, Role, permits};
use uuid::Uuid;

use crate::AppState;
use crate::auth::sha256_hex;
use crate::error::ApiError;

/// An authenticated person, loaded fresh from the database on every request so that a
/// deactivation, role change or password change takes effect at once.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user's id.
    pub id: Uuid,
    /// The user's username.
    pub username: String,
    /// The user's role.
    pub role: Role,
}

impl Principal {
    /// Refuses with 403 unless the policy lets this role take `action`.
    pub fn require(&self, action: Action) -> Result<(), ApiError> {
        if permits(self.role, action) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "Your role may not perform this action.",
            ))
        }
    }
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("application state missing"))
}

fn bearer(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthenticated("The Authorization header is malformed."))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(ApiError::Unauthenticated(
            "The Authorization header must be `Bearer <access token>`.",
        )),
    }
}

fn api_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    match req.headers().get("x-api-key") {
        None => Ok(None),
        Some(v) => {
            v.to_str()
                .ok()
                .map(|s| Some(s.trim().to_owned()))
                .ok_or(ApiError::Unauthenticated(
                    "The X-API-Key header is malformed.",
                ))
        }
    }
}

async fn authenticate_person(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let claims = state.auth.verify_access(token)?;
    let user = crm_store::users::find(&state.db, claims.sub)
        .await?
        .filter(|u| u.active && u.token_version == claims.ver)
        .ok_or(ApiError::Unauthenticated(
            "The access token has been revoked.",
        ))?;
    let role =
        Role::parse(&user.role).ok_or_else(|| ApiError::internal("stored role is unknown"))?;
    Ok(Principal {
        id: user.id,
        username: user.username,
        role,
    })
}

/// Checks an integrator's key and records its use. Integrator endpoints (leads) build on this.
async fn authenticate_integrator(state: &AppState, key: &str) -> Result<(), ApiError> {
    let found = crm_store::api_keys::find_live_by_hash(&state.db, &sha256_hex(key))
        .await?
        .ok_or(ApiError::Unauthenticated(
            "The API key is invalid or revoked.",
        ))?;
    crm_store::api_keys::touch(&state.db, found.id, Utc::now()).await?;
    Ok(())
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state(&req)?;
            if let Some(token) = bearer(&req)? {
                return authenticate_person(&state, &token).await;
            }
            if let Some(key) = api_key(&req)? {
                // A valid key is recognised, but keys only serve integrator endpoints.
                authenticate_integrator(&state, &key).await?;
                return Err(ApiError::Forbidden(
                    "API keys may only be used for integrator endpoints such as creating leads.",
                ));
            }
            Err(ApiError::Unauthenticated(
                "This endpoint needs `Authorization: Bearer <access token>`.",
            ))
        })
    }
}
