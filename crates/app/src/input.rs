//! What a use case receives besides the caller: its input, whose decoding may be deferred,
//! and the `If-Match` precondition.
//!
//! The order of checks is fixed (DESIGN.md): who may act at all → is the record visible →
//! may this caller make this change → `If-Match` → the body. A body that fails to decode
//! must therefore not be reported before the caller has passed the earlier checks, or a
//! stranger could learn that a record exists by sending garbage. The HTTP layer hands the
//! raw body over as an [`Input::deferred`] decoder, and the use case calls [`Input::take`]
//! only when it reaches the body step. Callers that already hold a value (the command line,
//! jobs, tests) pass it with [`Input::ready`] or `.into()`.

use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError, sanitize_serde_message};

type Decoder<T> = Box<dyn FnOnce() -> Result<T, AppError> + Send>;

/// A use case's input, decoded when the use case asks for it.
pub struct Input<T>(Inner<T>);

enum Inner<T> {
    Ready(T),
    Deferred(Decoder<T>),
}

impl<T> Input<T> {
    /// An input that is already a value.
    pub fn ready(value: T) -> Self {
        Self(Inner::Ready(value))
    }

    /// An input decoded by `decode` when the use case reaches the body step.
    pub fn deferred(decode: impl FnOnce() -> Result<T, AppError> + Send + 'static) -> Self {
        Self(Inner::Deferred(Box::new(decode)))
    }

    /// The value, or the error that decoding it gave (400, 413, 415 or 422).
    pub fn take(self) -> Result<T, AppError> {
        match self.0 {
            Inner::Ready(value) => Ok(value),
            Inner::Deferred(decode) => decode(),
        }
    }
}

impl<T> From<T> for Input<T> {
    fn from(value: T) -> Self {
        Self::ready(value)
    }
}

/// Decodes a JSON value into `T`; a value of the wrong shape gives the first bad field with
/// its JSON path (`contacts[0].mobile`), never echoing what was sent.
pub fn decode_value<T: DeserializeOwned>(mut value: serde_json::Value) -> Result<T, FieldError> {
    integral_numbers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let raw = err.into_inner().to_string();
        let (code, message) = sanitize_serde_message(&raw);
        let (field, message) = missing_field_path(&path, &raw, message);
        FieldError::new(field, code, message)
    })
}

/// JSON has one number type: `3.0` is the integer 3 to JSON Schema (and to the document's
/// `type: integer`), so numbers without a fraction become integers before decoding.
fn integral_numbers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9_007_199_254_740_992.0
            {
                // Exact: below 2^53 every integral f64 is an integer that i64 holds.
                *value = serde_json::Value::from(f as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        serde_json::Value::Object(map) => map.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

/// serde reports a missing field at the path of its parent; name the field itself.
fn missing_field_path(path: &str, raw: &str, message: String) -> (String, String) {
    let missing = raw
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match missing {
        Some(name) if path == "." || path.is_empty() => (name.to_owned(), message),
        Some(name) => (format!("{path}.{name}"), message),
        None if path == "." => ("$".to_owned(), message),
        None => (path.to_owned(), message),
    }
}

/// The `If-Match` precondition of a write, as the client sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IfMatch {
    /// No `If-Match` header.
    #[default]
    Absent,
    /// `If-Match: *`: any current version.
    Any,
    /// `If-Match: "N"`: exactly version N.
    Version(i32),
    /// A header that names nothing this API issues; it can never match.
    Unmatchable,
}

impl IfMatch {
    /// Parses the header value (`"3"`, `W/"3"` or `*`).
    pub fn parse(value: Option<&str>) -> Self {
        let Some(value) = value.map(str::trim) else {
            return Self::Absent;
        };
        if value == "*" {
            return Self::Any;
        }
        let tag = value.strip_prefix("W/").unwrap_or(value);
        tag.strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .and_then(|t| t.parse::<i32>().ok())
            .map_or(Self::Unmatchable, Self::Version)
    }

    /// For writes that require it: 428 when absent, 412 when it names another version.
    pub fn require(self, current: i32) -> Result<(), AppError> {
        match self {
            Self::Absent => Err(AppError::PreconditionRequired),
            other => other.check(current),
        }
    }

    /// For writes where it is optional: 412 only when it is sent and names another version.
    pub fn check(self, current: i32) -> Result<(), AppError> {
        match self {
            Self::Absent | Self::Any => Ok(()),
            Self::Version(v) if v == current => Ok(()),
            Self::Version(_) | Self::Unmatchable => Err(AppError::PreconditionFailed),
        }
    }
}

/// The entity tag of a resource at `version`.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_forms() {
        assert_eq!(IfMatch::parse(None), IfMatch::Absent);
        assert_eq!(IfMatch::parse(Some("*")), IfMatch::Any);
        assert_eq!(IfMatch::parse(Some("\"3\"")), IfMatch::Version(3));
        assert_eq!(IfMatch::parse(Some("W/\"3\"")), IfMatch::Version(3));
        assert_eq!(IfMatch::parse(Some("3")), IfMatch::Unmatchable);
        assert!(IfMatch::Any.require(7).is_ok());
        assert!(matches!(
            IfMatch::Absent.require(1),
            Err(AppError::PreconditionRequired)
        ));
        assert!(matches!(
            IfMatch::Version(2).require(1),
            Err(AppError::PreconditionFailed)
        ));
        assert!(IfMatch::Absent.check(1).is_ok());
    }

    #[test]
    fn deferred_input_decodes_only_when_taken() {
        let input: Input<u8> = Input::deferred(|| Err(AppError::NotFound));
        assert!(matches!(input.take(), Err(AppError::NotFound)));
        assert_eq!(Input::from(3u8).take().ok(), Some(3));
    }
}
