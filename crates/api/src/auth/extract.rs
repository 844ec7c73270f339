//! The extractor that authenticates a request. A person presents `Authorization: Bearer`;
//! an integrator presents `X-API-Key`. Anything missing, malformed, expired or revoked is 401
//! with `WWW-Authenticate`. Whether the caller may do what they ask is the use case's
//! question (403), asked before anything else.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::Utc;
use crm_app::AppError;
use crm_domain::access::{Caller, Scope};

use crate::AppState;
use crate::auth::sha256_hex;
use crate::error::ApiError;

/// The authenticated caller of a request: a person (their account as it is now, so that a
/// deactivation, role change or password change takes effect at once: see
/// [`crm_app::accounts`]) or an integrator's live API key with its scopes.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Caller);

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::internal("application state missing"))
}

fn bearer(req: &HttpRequest) -> Result<Option<String>, AppError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| AppError::Unauthenticated("The Authorization header is malformed."))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(AppError::Unauthenticated(
            "The Authorization header must be `Bearer <access token>`.",
        )),
    }
}

fn api_key(req: &HttpRequest) -> Result<Option<String>, AppError> {
    match req.headers().get("x-api-key") {
        None => Ok(None),
        Some(v) => {
            v.to_str()
                .ok()
                .map(|s| Some(s.trim().to_owned()))
                .ok_or(AppError::Unauthenticated(
                    "The X-API-Key header is malformed.",
                ))
        }
    }
}

async fn authenticate_person(state: &AppState, token: &str) -> Result<Caller, AppError> {
    let claims = state.ctx.auth.verify_access(token)?;
    let account = state
        .ctx
        .accounts
        .get(&state.ctx.db, claims.sub)
        .await?
        .filter(|a| a.active && a.token_version == claims.ver)
        .ok_or(AppError::Unauthenticated(
            "The access token has been revoked.",
        ))?;
    Ok(Caller::Person {
        id: claims.sub,
        role: account.role,
    })
}

async fn authenticate_integrator(state: &AppState, key: &str) -> Result<Caller, AppError> {
    let found = crm_store::api_keys::find_live_by_hash(&state.ctx.db, &sha256_hex(key))
        .await?
        .ok_or(AppError::Unauthenticated(
            "The API key is invalid or revoked.",
        ))?;
    crm_store::api_keys::touch(&state.ctx.db, &found, Utc::now()).await?;
    Ok(Caller::Integrator {
        key_id: found.id,
        scopes: found
            .scopes
            .split_whitespace()
            .filter_map(Scope::parse)
            .collect(),
    })
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state(&req)?;
            if let Some(token) = bearer(&req)? {
                return Ok(Authenticated(authenticate_person(&state, &token).await?));
            }
            if let Some(key) = api_key(&req)? {
                return Ok(Authenticated(authenticate_integrator(&state, &key).await?));
            }
            Err(AppError::Unauthenticated(
                "This endpoint needs `Authorization: Bearer <access token>` (or `X-API-Key` where integrators are served).",
            )
            .into())
        })
    }
}
