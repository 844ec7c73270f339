//! Helpers every use case shares: collecting all field errors of a request at once, telling
//! an absent field from a `null` one, and today's date.

use chrono::{Datelike, NaiveDate, Utc};
use crm_domain::privacy;
use serde::{Deserialize, Deserializer};

use crate::error::{AppError, FieldError};

/// Declares a named string schema for the document (an item of a request's list, say) with
/// the bounds the server checks: `text_schema!(Name, "what it is", min, max)` for free text,
/// or `text_schema!(Name, "what it is", pattern = "…", max)` for a code.
#[macro_export]
macro_rules! text_schema {
    ($name:ident, $doc:literal, $min:literal, $max:literal) => {
        $crate::text_schema!(@make $name, $doc, |b: utoipa::openapi::schema::ObjectBuilder| b
            .min_length(Some($min))
            .max_length(Some($max)));
    };
    ($name:ident, $doc:literal, pattern = $pattern:literal, $max:literal) => {
        $crate::text_schema!(@make $name, $doc, |b: utoipa::openapi::schema::ObjectBuilder| b
            .pattern(Some($pattern))
            .max_length(Some($max)));
    };
    (@make $name:ident, $doc:literal, $bounds:expr) => {
        #[doc = $doc]
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let builder = utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some($doc));
                ($bounds)(builder).into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

/// Declares a named string enumeration for the document, for a field kept as a string in
/// Rust: `enum_schema!(Name, "what it is", ["a", "b"])`.
#[macro_export]
macro_rules! enum_schema {
    ($name:ident, $doc:literal, [$($value:literal),+ $(,)?]) => {
        #[doc = $doc]
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some($doc))
                    .enum_values(Some([$($value),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

/// Today's date (UTC).
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// Distinguishes a field sent as `null` (`Some(None)`) from an absent one (`None`).
pub fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    de: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(de).map(Some)
}

/// Collects field errors while checking a request.
#[derive(Debug, Default)]
pub struct Checker {
    /// The errors so far.
    pub errors: Vec<FieldError>,
}

/// Control characters no text may hold: everything but tab and line breaks. NUL in
/// particular, which PostgreSQL cannot store in text and SQLite would, so that both
/// databases answer alike.
pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

impl Checker {
    /// Records an error.
    pub fn fail(&mut self, field: impl Into<String>, code: &str, message: &str) {
        self.errors.push(FieldError::new(field, code, message));
    }

    /// A required text: trimmed, `min..=max` characters, scanned by the privacy guard. The
    /// upper bound counts what was sent, the lower one what is left once trimmed; the
    /// document declares both exactly (`maxLength`, and a `pattern` asking for `min`
    /// characters that are not white space and for no control characters).
    pub fn text(&mut self, field: &str, value: &str, min: usize, max: usize) -> String {
        let too_long = self.sent(field, value, max);
        let value = value.trim().to_owned();
        let len = value.chars().count();
        if len < min {
            self.fail(
                field,
                if len == 0 { "required" } else { "too_short" },
                &format!("must be at least {min} characters long"),
            );
        } else if too_long {
            self.fail(
                field,
                "too_long",
                &format!("must be at most {max} characters long"),
            );
        }
        self.guard(field, &value);
        value
    }

    /// An optional text: blank becomes `None` (once what was sent passes the bounds).
    pub fn opt_text(&mut self, field: &str, value: Option<String>, max: usize) -> Option<String> {
        let value = value?;
        if value.trim().is_empty() {
            if self.sent(field, &value, max) {
                self.fail(
                    field,
                    "too_long",
                    &format!("must be at most {max} characters long"),
                );
            }
            return None;
        }
        Some(self.text(field, &value, 1, max))
    }

    /// An optional email address, lower-cased: valid as sent (no blank, no padding), at
    /// most 254 characters; `None` stays `None`.
    pub fn email(&mut self, field: &str, value: Option<String>) -> Option<String> {
        let value = value?;
        if validator::ValidateEmail::validate_email(&value) && value.chars().count() <= 254 {
            Some(value.to_lowercase())
        } else {
            self.fail(
                field,
                "invalid_format",
                "must be a valid email address (send null for none)",
            );
            None
        }
    }

    /// Fails control characters in text as sent; tells whether it is over `max` characters.
    fn sent(&mut self, field: &str, value: &str, max: usize) -> bool {
        if value.chars().any(is_forbidden_control) {
            self.fail(
                field,
                "invalid_character",
                "must not contain control characters (tabs and line breaks are fine)",
            );
        }
        value.chars().count() > max
    }

    /// The privacy guard: refuses resident ID and bank card numbers in free text.
    pub fn guard(&mut self, field: &str, value: &str) {
        if let Some(found) = privacy::scan(value) {
            self.fail(field, "sensitive_data", found.message());
        }
    }

    /// A date `YYYY-MM-DD`, not in the future when `past` is set.
    pub fn date(
        &mut self,
        field: &str,
        value: Option<&str>,
        today: NaiveDate,
        past: bool,
    ) -> Option<NaiveDate> {
        let raw = value?.trim();
        match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            Ok(d) if past && d > today => {
                self.fail(field, "in_future", "must not be in the future");
                None
            }
            Ok(d) if d.year_ce().1 < 1900 => {
                self.fail(field, "out_of_range", "must be after 1900");
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                self.fail(field, "invalid_format", "must be a date YYYY-MM-DD");
                None
            }
        }
    }

    /// An enum value by its name.
    pub fn one_of<T>(
        &mut self,
        field: &str,
        value: Option<&str>,
        parse: fn(&str) -> Option<T>,
        allowed: &str,
    ) -> Option<T> {
        let raw = value?;
        let parsed = parse(raw.trim());
        if parsed.is_none() {
            self.fail(field, "invalid_value", &format!("must be one of {allowed}"));
        }
        parsed
    }

    /// Whether nothing failed.
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

impl Checker {
    /// `Ok` when nothing failed, otherwise a 422 listing every error.
    pub fn finish(self) -> Result<(), AppError> {
        AppError::unless_invalid(self.errors)
    }
}
