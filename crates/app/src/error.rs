//! The application's one error type and its table of stable machine codes.
//!
//! Every way a use case (or the HTTP layer around it) can fail is an [`AppError`]; each maps
//! to one [`ErrorCode`], and each code to one HTTP status, in [`ErrorCode::status`]. Rule
//! violations from the domain keep their own specific codes. The HTTP layer renders these as
//! problem documents; the command line prints their detail.

use std::fmt;

use crm_domain::rule::RuleViolation;
use crm_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// Stable, machine-readable error codes. Clients switch on these, never on `title` or
/// `detail`. `docs/API.md` lists them with their statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the request could not be understood (bad syntax, bad header).
    BadRequest,
    /// 400: the body is not well-formed JSON.
    MalformedJson,
    /// 400: a query or path parameter has the wrong form.
    InvalidParameter,
    /// 400: an uploaded CSV file is not readable text or not well-formed CSV.
    MalformedCsv,
    /// 401: credentials are missing, malformed, expired or revoked.
    Unauthenticated,
    /// 403: the role or key may not take this action, or not on this record.
    Forbidden,
    /// 404: there is nothing here, or nothing the caller may see.
    NotFound,
    /// 405: the path exists but not with this method; `Allow` lists the methods.
    MethodNotAllowed,
    /// 409: the request conflicts with the current state (generic).
    Conflict,
    /// 409: the customer is archived; restore it first.
    CustomerArchived,
    /// 409: the customer was purged and can no longer change.
    CustomerPurged,
    /// 409: another live customer has this USCC; `existing_id` names it when visible.
    DuplicateUscc,
    /// 409: a customer cannot be merged into itself.
    MergeIntoSelf,
    /// 409: a customer's last contact cannot be removed.
    LastContact,
    /// 409: another account has this username.
    DuplicateUsername,
    /// 409: the last active admin cannot be deactivated or demoted.
    LastAdmin,
    /// 409: another tag has this name; `existing_id` names it.
    DuplicateTag,
    /// 409: another contract has this number.
    DuplicateContractNumber,
    /// 409: the contract was renewed already; `existing_id` names its successor.
    AlreadyRenewed,
    /// 409: the customer has a survey for this period; `existing_id` names it.
    DuplicateSurvey,
    /// 409: the record's state does not allow this move; `allowed` lists what is.
    IllegalTransition,
    /// 409: the record changed while the request was processed; read it again and retry.
    StaleVersion,
    /// 409: a request with this `Idempotency-Key` is still being processed.
    IdempotencyInFlight,
    /// 412: the `If-Match` version is stale.
    PreconditionFailed,
    /// 413: the body is larger than this endpoint accepts.
    PayloadTooLarge,
    /// 415: the body's media type is not accepted here.
    UnsupportedMediaType,
    /// 422: well-formed, but some fields are invalid; `errors` lists them all.
    ValidationFailed,
    /// 428: this write needs an `If-Match` header.
    PreconditionRequired,
    /// 429: too many requests; `Retry-After` says when to try again.
    RateLimited,
    /// 500: a bug on our side; the request id finds it in the logs.
    InternalError,
    /// 503: a dependency (the database) is unavailable; try again later.
    ServiceUnavailable,
}

impl ErrorCode {
    /// Every code, in documentation order.
    pub const ALL: [ErrorCode; 31] = [
        Self::BadRequest,
        Self::MalformedJson,
        Self::InvalidParameter,
        Self::MalformedCsv,
        Self::Unauthenticated,
        Self::Forbidden,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::CustomerArchived,
        Self::CustomerPurged,
        Self::DuplicateUscc,
        Self::MergeIntoSelf,
        Self::LastContact,
        Self::DuplicateUsername,
        Self::LastAdmin,
        Self::DuplicateTag,
        Self::DuplicateContractNumber,
        Self::AlreadyRenewed,
        Self::DuplicateSurvey,
        Self::IllegalTransition,
        Self::StaleVersion,
        Self::IdempotencyInFlight,
        Self::PreconditionFailed,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::ValidationFailed,
        Self::PreconditionRequired,
        Self::RateLimited,
        Self::InternalError,
        Self::ServiceUnavailable,
    ];

    /// The HTTP status this code is always sent with: the one table.
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest
            | Self::MalformedJson
            | Self::InvalidParameter
            | Self::MalformedCsv => 400,
            Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict
            | Self::CustomerArchived
            | Self::CustomerPurged
            | Self::DuplicateUscc
            | Self::MergeIntoSelf
            | Self::LastContact
            | Self::DuplicateUsername
            | Self::LastAdmin
            | Self::DuplicateTag
            | Self::DuplicateContractNumber
            | Self::AlreadyRenewed
            | Self::DuplicateSurvey
            | Self::IllegalTransition
            | Self::StaleVersion
            | Self::IdempotencyInFlight => 409,
            Self::PreconditionFailed => 412,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::ValidationFailed => 422,
            Self::PreconditionRequired => 428,
            Self::RateLimited => 429,
            Self::InternalError => 500,
            Self::ServiceUnavailable => 503,
        }
    }

    /// The code as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::MalformedJson => "malformed_json",
            Self::InvalidParameter => "invalid_parameter",
            Self::MalformedCsv => "malformed_csv",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::CustomerArchived => "customer_archived",
            Self::CustomerPurged => "customer_purged",
            Self::DuplicateUscc => "duplicate_uscc",
            Self::MergeIntoSelf => "merge_into_self",
            Self::LastContact => "last_contact",
            Self::DuplicateUsername => "duplicate_username",
            Self::LastAdmin => "last_admin",
            Self::DuplicateTag => "duplicate_tag",
            Self::DuplicateContractNumber => "duplicate_contract_number",
            Self::AlreadyRenewed => "already_renewed",
            Self::DuplicateSurvey => "duplicate_survey",
            Self::IllegalTransition => "illegal_transition",
            Self::StaleVersion => "stale_version",
            Self::IdempotencyInFlight => "idempotency_in_flight",
            Self::PreconditionFailed => "precondition_failed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::ValidationFailed => "validation_failed",
            Self::PreconditionRequired => "precondition_required",
            Self::RateLimited => "rate_limited",
            Self::InternalError => "internal_error",
            Self::ServiceUnavailable => "service_unavailable",
        }
    }

    /// The code of a rule violation.
    pub fn of_rule(rule: &RuleViolation) -> Self {
        match rule {
            RuleViolation::CustomerArchived => Self::CustomerArchived,
            RuleViolation::CustomerPurged => Self::CustomerPurged,
            RuleViolation::DuplicateUscc { .. } => Self::DuplicateUscc,
            RuleViolation::MergeIntoSelf => Self::MergeIntoSelf,
            RuleViolation::LastContact => Self::LastContact,
            RuleViolation::DuplicateUsername { .. } => Self::DuplicateUsername,
            RuleViolation::LastAdmin => Self::LastAdmin,
            RuleViolation::DuplicateTag { .. } => Self::DuplicateTag,
            RuleViolation::DuplicateContractNumber { .. } => Self::DuplicateContractNumber,
            RuleViolation::AlreadyRenewed { .. } => Self::AlreadyRenewed,
            RuleViolation::DuplicateSurvey { .. } => Self::DuplicateSurvey,
            RuleViolation::IllegalTransition { .. } => Self::IllegalTransition,
            RuleViolation::StaleVersion => Self::StaleVersion,
        }
    }

    /// The generic code for a status, used when a response of that status was produced
    /// outside [`AppError`] (by the framework or a library service).
    pub fn for_status(status: u16) -> Self {
        match status {
            401 => Self::Unauthenticated,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            405 => Self::MethodNotAllowed,
            409 => Self::Conflict,
            412 => Self::PreconditionFailed,
            413 => Self::PayloadTooLarge,
            415 => Self::UnsupportedMediaType,
            422 => Self::ValidationFailed,
            428 => Self::PreconditionRequired,
            429 => Self::RateLimited,
            503 => Self::ServiceUnavailable,
            400..=499 => Self::BadRequest,
            _ => Self::InternalError,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON path of the field, e.g. `contacts[0].mobile`; for parameters, their name.
    #[schema(example = "contacts[0].mobile")]
    pub field: String,
    /// Machine-readable reason, e.g. `required`, `invalid_format`, `too_long`.
    #[schema(example = "invalid_format")]
    pub code: String,
    /// Human-readable explanation. Never contains the submitted value.
    #[schema(example = "must be a mainland China mobile number of 11 digits")]
    pub message: String,
}

impl FieldError {
    /// A field error with the given path, code and message.
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Every way a request can fail, each with the code (and so the status) it is answered with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400 with a specific code (`bad_request`, `malformed_json`, `invalid_parameter`).
    #[error("{code}: {detail}")]
    BadRequest {
        /// Which kind of malformed request.
        code: ErrorCode,
        /// What was wrong, without the submitted value.
        detail: String,
        /// Offending parameters, when known.
        errors: Vec<FieldError>,
    },
    /// 401: no usable credentials. The detail never says whether a username exists.
    #[error("unauthenticated: {0}")]
    Unauthenticated(&'static str),
    /// 403: the role or key may not take this action (on this record).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// 404: missing, or not visible to the caller; the two are indistinguishable.
    #[error("not found")]
    NotFound,
    /// 405 with the methods the path does accept.
    #[error("method not allowed")]
    MethodNotAllowed(Vec<String>),
    /// 409 (mostly): a business rule refuses the change in the record's current state.
    #[error("{0}")]
    Rule(#[from] RuleViolation),
    /// 409 with a specific code: conflicts with the current state.
    #[error("{code}: {detail}")]
    Conflict {
        /// Which conflict.
        code: ErrorCode,
        /// What conflicts.
        detail: String,
    },
    /// 412: `If-Match` names a version that is no longer current.
    #[error("precondition failed")]
    PreconditionFailed,
    /// 413: the body exceeds `limit` bytes.
    #[error("payload too large (limit {limit} bytes)")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 415: the body's media type is not accepted.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// 422: one or more fields are invalid; all of them are listed.
    #[error("validation failed: {} field(s)", .0.len())]
    Validation(Vec<FieldError>),
    /// 422 with a specific code, not tied to a field.
    #[error("{code}: {detail}")]
    Unprocessable {
        /// Which problem.
        code: ErrorCode,
        /// What is wrong.
        detail: String,
    },
    /// 428: `If-Match` is required for this write.
    #[error("precondition required")]
    PreconditionRequired,
    /// 429: throttled; retry after this many seconds.
    #[error("rate limited")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// 503: the database is unavailable.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 500: a bug. The cause is logged with the request id and never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// A 422 naming a single field.
    pub fn invalid_field(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }

    /// A 400 `invalid_parameter` naming one query or path parameter.
    pub fn invalid_parameter(field: &str, message: &str) -> Self {
        Self::BadRequest {
            code: ErrorCode::InvalidParameter,
            detail: format!("The query parameter `{field}` {message}."),
            errors: vec![FieldError::new(field, "invalid_value", message)],
        }
    }

    /// `Ok` when `errors` is empty, otherwise a 422 listing them all, ordered by field.
    pub fn unless_invalid(mut errors: Vec<FieldError>) -> Result<(), AppError> {
        if errors.is_empty() {
            return Ok(());
        }
        errors.sort_by(|a, b| a.field.cmp(&b.field));
        Err(Self::Validation(errors))
    }

    /// A 500 whose cause is logged but never sent.
    pub fn internal(cause: impl fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BadRequest { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unprocessable { code, .. } => *code,
            Self::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound => ErrorCode::NotFound,
            Self::MethodNotAllowed(_) => ErrorCode::MethodNotAllowed,
            Self::Rule(rule) => ErrorCode::of_rule(rule),
            Self::PreconditionFailed => ErrorCode::PreconditionFailed,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            Self::Validation(_) => ErrorCode::ValidationFailed,
            Self::PreconditionRequired => ErrorCode::PreconditionRequired,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Unavailable(_) => ErrorCode::ServiceUnavailable,
            Self::Internal(_) => ErrorCode::InternalError,
        }
    }

    /// The explanation sent to the client: never a submitted value, never an internal cause.
    pub fn detail(&self) -> String {
        match self {
            Self::BadRequest { detail, .. }
            | Self::Conflict { detail, .. }
            | Self::Unprocessable { detail, .. }
            | Self::UnsupportedMediaType(detail) => detail.clone(),
            Self::Unauthenticated(detail) | Self::Forbidden(detail) => (*detail).to_owned(),
            Self::NotFound => "The requested resource does not exist.".to_owned(),
            Self::MethodNotAllowed(allow) => {
                format!("This resource accepts only {}.", allow.join(", "))
            }
            Self::Rule(rule) => rule.to_string(),
            Self::PreconditionFailed => "The resource has changed since the version named in If-Match; fetch it again and retry.".to_owned(),
            Self::PayloadTooLarge { limit } => {
                format!("The request body exceeds the limit of {limit} bytes.")
            }
            Self::Validation(errors) => match errors.len() {
                1 => "1 field is invalid.".to_owned(),
                n => format!("{n} fields are invalid."),
            },
            Self::PreconditionRequired => "This request must carry an If-Match header with the resource's current ETag.".to_owned(),
            Self::RateLimited { retry_after_secs } => {
                format!("Too many requests; retry after {retry_after_secs} seconds.")
            }
            Self::Unavailable(_) => {
                "The service is temporarily unavailable; retry shortly.".to_owned()
            }
            Self::Internal(_) => {
                "An unexpected error occurred; it has been logged with the request id.".to_owned()
            }
        }
    }

    /// The invalid fields, for `validation_failed` and `invalid_parameter`.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Validation(errors) | Self::BadRequest { errors, .. } => errors,
            _ => &[],
        }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::UniqueViolation(_) => Self::Conflict {
                code: ErrorCode::Conflict,
                detail: "A record with the same unique value already exists.".to_owned(),
            },
            StoreError::Unavailable(cause) => Self::Unavailable(cause.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<validator::ValidationErrors> for AppError {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut out = Vec::new();
        flatten_validation(&errors, String::new(), &mut out);
        out.sort_by(|a, b| a.field.cmp(&b.field));
        Self::Validation(out)
    }
}

fn flatten_validation(
    errors: &validator::ValidationErrors,
    prefix: String,
    out: &mut Vec<FieldError>,
) {
    use validator::ValidationErrorsKind;
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    let message = e
                        .message
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_else(|| default_message(&e.code));
                    out.push(FieldError::new(path.clone(), e.code.to_string(), message));
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten_validation(inner, path, out),
            ValidationErrorsKind::List(items) => {
                for (idx, inner) in items {
                    flatten_validation(inner, format!("{path}[{idx}]"), out);
                }
            }
        }
    }
}

fn default_message(code: &str) -> String {
    match code {
        "length" => "has an invalid length".to_owned(),
        "range" => "is out of range".to_owned(),
        "email" => "must be a valid email address".to_owned(),
        "required" => "is required".to_owned(),
        other => format!("is invalid ({other})"),
    }
}

/// Turns a serde error message into one that names what was expected but never repeats the
/// submitted value, and drops the line/column suffix. Returns a field-error code and message.
pub fn sanitize_serde_message(raw: &str) -> (&'static str, String) {
    let msg = raw.split(" at line ").next().unwrap_or(raw);
    let expected = |m: &str| m.split_once(", expected ").map(|(_, e)| e.to_owned());
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let _ = rest;
        return ("required", "is required".to_owned());
    }
    if msg.starts_with("unknown field `") {
        let allowed = expected(msg)
            .map(|e| format!(": expected {e}"))
            .unwrap_or_default();
        return ("unknown_field", format!("is not a known field{allowed}"));
    }
    if msg.starts_with("duplicate field `") {
        return ("duplicate_field", "appears more than once".to_owned());
    }
    if msg.starts_with("unknown variant `") {
        let allowed = expected(msg).unwrap_or_else(|| "a known value".to_owned());
        return ("invalid_value", format!("must be {allowed}"));
    }
    if msg.starts_with("invalid type: ") {
        let e = expected(msg).unwrap_or_else(|| "another type".to_owned());
        return ("invalid_type", format!("must be {e}"));
    }
    if msg.starts_with("invalid value: ") || msg.starts_with("invalid length ") {
        let e = expected(msg).unwrap_or_else(|| "a valid value".to_owned());
        return ("invalid_value", format!("must be {e}"));
    }
    ("invalid_value", "has an invalid value".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_generic_codes_match_their_status() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap_or_default();
            assert_eq!(json, serde_json::Value::from(code.as_str()));
            let generic = ErrorCode::for_status(code.status());
            assert_eq!(generic.status(), code.status(), "{code}");
        }
    }

    #[test]
    fn serde_messages_never_echo_values() {
        let cases = [
            "invalid type: string \"hunter2\", expected u32 at line 1 column 12",
            "invalid value: string \"hunter2\", expected a date",
            "unknown variant `hunter2`, expected one of `a`, `b`",
            "UUID parsing failed: invalid character `hunter2`",
        ];
        for raw in cases {
            let (_, message) = sanitize_serde_message(raw);
            assert!(!message.contains("hunter2"), "{message}");
            assert!(!message.contains("line 1"), "{message}");
        }
        assert_eq!(sanitize_serde_message("missing field `name`").0, "required");
        assert_eq!(
            sanitize_serde_message("unknown variant `x`, expected one of `a`, `b`").1,
            "must be one of `a`, `b`"
        );
    }

    #[test]
    fn rule_violations_keep_their_codes() {
        let err = AppError::from(RuleViolation::MergeIntoSelf);
        assert_eq!(err.code(), ErrorCode::MergeIntoSelf);
        assert_eq!(err.code().status(), 409);
        assert_eq!(err.code().as_str(), RuleViolation::MergeIntoSelf.code());
    }
}
