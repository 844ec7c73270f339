//! The OpenAPI document: its fixed parts (info, tags, shared schemas) here, its paths
//! collected from the handlers' `#[utoipa::path]` attributes as they are registered, and a
//! final pass that gives every operation the shared problem+json error response.

use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::error::{ErrorCode, FieldError, PROBLEM_JSON, Problem};

/// Fixed parts of the document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "CRM API",
        description = "Customer-relationship backend for B2B sales, marketing and service teams: \
customers, leads, deals, service work orders and reports, with role-based access.\n\n\
Conventions: JSON in and out with `snake_case` fields; timestamps RFC 3339 UTC; money as \
decimal strings; errors as `application/problem+json` (RFC 9457) with a stable `code`; \
lists paginated by `limit` and an opaque `cursor`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    servers((url = "/", description = "This server")),
    tags(
        (name = "service", description = "Liveness and readiness for load balancers."),
        (name = "auth", description = "Signing in and out, token refresh, the signed-in user."),
        (name = "users", description = "Accounts and roles (admins; managers read)."),
        (name = "api-keys", description = "Keys for integrators that push leads in (admins)."),
        (name = "customers", description = "Customer profiles (客户档案): contacts, tags, tiers, change log, archive, merge, purge, export."),
        (name = "contacts", description = "Contact people of customers."),
        (name = "attachments", description = "Business licences and contracts: PDF or JPEG, at most 5 MiB."),
        (name = "tags", description = "The tag catalogue with usage counts."),
        (name = "tiers", description = "The tier policy (客户分级) that scores customers."),
        (name = "events", description = "Every committed change as an event, in order, for integrators that poll."),
        (name = "webhooks", description = "Subscriptions that receive events as signed HTTP posts, with a delivery log and redelivery (admins)."),
        (name = "leads", description = "Leads (线索) from web forms, fairs and imports: duplicates, routing, conversion."),
        (name = "assignment-rules", description = "Rules that route new leads to reps (managers)."),
        (name = "opportunities", description = "Deals (商机) at 30, 60 or 90 percent, won or lost, with their stage history."),
        (name = "reports", description = "The weighted forecast and other reports."),
        (name = "work-orders", description = "Service work orders (服务工单): numbered, graded, assigned at once, tracked against tier-aware deadlines, escalated when late, closed after the follow-up visit."),
        (name = "activities", description = "Communication records (沟通档案) and the follow-ups due by each tier's cadence."),
        (name = "contracts", description = "Contracts (合同) and their renewals (续约)."),
        (name = "reminders", description = "Your reminder inbox (renewals, follow-ups, late work orders, birthdays, holidays) and the care calendar (客户关怀日历)."),
        (name = "retention", description = "Satisfaction surveys, customers at risk of leaving, marking one lost (流失)."),
        (name = "service-policy", description = "The SLA policy (targets by tier and severity) and the work calendar (hours, holidays, make-up days) that work-order deadlines are counted on."),
        (name = "reference", description = "National classifications that records refer to: industries (GB/T 4754-2017) and provinces (GB/T 2260)."),
    ),
    components(schemas(Problem, FieldError, ErrorCode, crm_app::customers::query::CustomerSort)),
    modifiers(&SecuritySchemes),
)]
pub struct ApiDoc;

/// Declares how callers authenticate: people with a bearer access token, integrators with
/// an API key.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Access token from `POST /api/v1/auth/login` or `/auth/refresh`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "Integrator key created by an admin (`POST /api/v1/api-keys`).",
            ))),
        );
    }
}

/// Name of the shared error response in `components.responses`.
const PROBLEM_RESPONSE: &str = "Problem";

/// Completes a collected document: sets the version and adds the shared error response as
/// every operation's `default`, so generated clients get a typed error for any status.
pub fn finish(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let components = doc.components.get_or_insert_with(Default::default);
    components.responses.insert(
        PROBLEM_RESPONSE.to_owned(),
        RefOr::T(
            ResponseBuilder::new()
                .description("An error, as an RFC 9457 problem document with a stable `code`.")
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build(),
        ),
    );
    let idempotency_key = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "A unique key (1–255 visible ASCII characters) for this creation. A retry with the same \
             key and the same request within 24 hours returns the first response \
             (`Idempotent-Replayed: true`) instead of creating again; the same key with a different \
             request is 422.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some("^[!-~]+$")),
        ))
        .build();
    for item in doc.paths.paths.values_mut() {
        if let Some(post) = item.post.as_mut()
            && (post.responses.responses.contains_key("201")
                || post.operation_id.as_deref() == Some("import_leads"))
        {
            post.parameters
                .get_or_insert_with(Vec::new)
                .push(RefOr::T(idempotency_key.clone()));
        }
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            for (status, response) in op.responses.responses.iter_mut() {
                if let RefOr::T(response) = response
                    && (status.starts_with('4') || status.starts_with('5'))
                    && response.content.is_empty()
                {
                    response.content.insert(
                        PROBLEM_JSON.to_owned(),
                        RefOr::T(
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Problem")))
                                .build(),
                        ),
                    );
                }
            }
            op.responses
                .responses
                .entry("default".to_owned())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(PROBLEM_RESPONSE)));
        }
    }
    doc
}

/// The document as served and committed: [`finish`]ed, then given the rules the server
/// enforces that utoipa's attributes cannot state (see [`declare_text_rules`]).
pub fn render(doc: &utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut value = serde_json::to_value(doc).unwrap_or_default();
    declare_text_rules(&mut value);
    value
}

/// Control characters no text may hold (all but tab, line feed and carriage return), as a
/// regular-expression class body; the server refuses them in every request string.
const CONTROL: &str = r"\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F";
/// White space and control characters: what trimming removes or the server refuses.
const BLANK: &str = r"\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// The `pattern` of a free text of at least `min` characters once trimmed (0, 1 or 2): no
/// control characters, and `min` characters that are not white space.
pub fn text_pattern(min: u64) -> String {
    let any = format!("[^{CONTROL}]*");
    let solid = format!("[^{BLANK}]");
    let mut pattern = format!("^{any}");
    for _ in 0..min.min(2) {
        pattern.push_str(&solid);
        pattern.push_str(&any);
    }
    pattern.push('$');
    pattern
}

/// Declares a response body of bytes (`[u8]` in a route's attributes, which utoipa writes as
/// an array of integers) as what it is on the wire: a binary string, which generators read
/// as a file.
fn declare_bytes(op: &mut serde_json::Value) {
    let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) else {
        return;
    };
    for response in responses.values_mut() {
        let Some(content) = response.get_mut("content").and_then(|c| c.as_object_mut()) else {
            continue;
        };
        for (media_type, body) in content.iter_mut() {
            let bytes = body.pointer("/schema/type") == Some(&"array".into())
                && body.pointer("/schema/items/type") == Some(&"integer".into());
            if bytes && !media_type.contains("json") {
                body["schema"] = serde_json::json!({"type": "string", "format": "binary"});
            }
        }
    }
}

/// Gives every free-text string a request can carry (a bounded string without a format,
/// enumeration or pattern of its own, in a request body or a parameter) the `pattern` the
/// server enforces, so the document says what is accepted rather than the prose alone.
fn declare_text_rules(value: &mut serde_json::Value) {
    let mut request_schemas = std::collections::BTreeSet::new();
    let mut forms = std::collections::BTreeSet::new();
    if let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) {
        for item in paths.values_mut() {
            for op in item
                .as_object_mut()
                .into_iter()
                .flat_map(|o| o.values_mut())
            {
                declare_bytes(op);
                if let Some(body) = op.get("requestBody") {
                    collect_refs(body, &mut request_schemas);
                    if let Some(form) = body.pointer("/content/multipart~1form-data/schema") {
                        collect_refs(form, &mut forms);
                    }
                }
                for param in op
                    .get_mut("parameters")
                    .and_then(|p| p.as_array_mut())
                    .into_iter()
                    .flatten()
                {
                    let in_query = param.get("in").and_then(|i| i.as_str()) == Some("query");
                    let name = param
                        .get("name")
                        .and_then(|n| n.as_str())
                        .unwrap_or_default()
                        .to_owned();
                    if let Some(schema) = param.get_mut("schema") {
                        collect_refs(schema, &mut request_schemas);
                        if in_query {
                            bound_query_parameter(&name, schema);
                        }
                        add_text_patterns(schema);
                    }
                }
            }
        }
    }
    if let Some(schemas) = value
        .pointer_mut("/components/schemas")
        .and_then(|s| s.as_object_mut())
    {
        // Follow references from request schemas to the schemas they use.
        let mut pending: Vec<String> = request_schemas.iter().cloned().collect();
        while let Some(name) = pending.pop() {
            let mut found = std::collections::BTreeSet::new();
            if let Some(schema) = schemas.get(&name) {
                collect_refs(schema, &mut found);
            }
            for name in found {
                if request_schemas.insert(name.clone()) {
                    pending.push(name);
                }
            }
        }
        for name in &request_schemas {
            if let Some(schema) = schemas.get_mut(name) {
                add_text_patterns(schema);
            }
        }
        // A form holds the parts it declares and no others.
        for name in &forms {
            if let Some(form) = schemas.get_mut(name).and_then(|s| s.as_object_mut()) {
                form.insert("additionalProperties".to_owned(), false.into());
            }
        }
        for schema in schemas.values_mut() {
            name_enum_members(schema);
        }
    }
}

/// Gives a string enumeration whose values are not identifiers (`leads:write`,
/// `customer.created`, `-name`) member names for generated code (`x-enum-varnames`, read by
/// the common generators): `LEADS_WRITE`, `CUSTOMER_CREATED`, `NAME_DESC`.
fn name_enum_members(schema: &mut serde_json::Value) {
    let Some(values) = schema.get("enum").and_then(|e| e.as_array()) else {
        return;
    };
    let values: Vec<&str> = values.iter().filter_map(|v| v.as_str()).collect();
    let plain = |v: &str| {
        v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    if values.is_empty() || values.iter().all(|v| plain(v)) {
        return;
    }
    let names: Vec<serde_json::Value> = values
        .iter()
        .map(|v| {
            let (body, suffix) = match v.strip_prefix('-') {
                Some(rest) => (rest, "_DESC"),
                None => (*v, ""),
            };
            let name: String = body
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            format!("{name}{suffix}").into()
        })
        .collect();
    if let Some(object) = schema.as_object_mut() {
        object.insert("x-enum-varnames".to_owned(), names.into());
    }
}

/// Declares the bounds every query parameter has on the server (`extract::parse_query`)
/// where the parameter declares none tighter: each value at most
/// [`MAX_QUERY_VALUE_CHARS`](crate::extract::MAX_QUERY_VALUE_CHARS) characters, repeated at
/// most [`MAX_QUERY_REPEATS`](crate::extract::MAX_QUERY_REPEATS) times.
/// Also: list cursors are never empty, and query instants lie in years 1900–9999
/// (`crm_app::page::instant`).
fn bound_query_parameter(name: &str, schema: &mut serde_json::Value) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    // (The event feed's `after` is different: empty means from the start.)
    if name == "cursor" {
        map.entry("minLength").or_insert(1.into());
    }
    if map.get("format").and_then(|f| f.as_str()) == Some("date-time") {
        map.entry("pattern")
            .or_insert(r"^(19|[2-9][0-9])[0-9]{2}-".into());
    }
    let has_type =
        |map: &serde_json::Map<String, serde_json::Value>, wanted: &str| match map.get("type") {
            Some(serde_json::Value::String(t)) => t == wanted,
            Some(serde_json::Value::Array(types)) => types.iter().any(|t| t == wanted),
            _ => false,
        };
    if has_type(map, "array") {
        map.entry("maxItems")
            .or_insert(crate::extract::MAX_QUERY_REPEATS.into());
        if let Some(items) = map.get_mut("items") {
            bound_query_parameter(name, items);
        }
    } else if has_type(map, "string")
        && !["format", "enum", "$ref"]
            .iter()
            .any(|k| map.contains_key(*k))
    {
        map.entry("maxLength")
            .or_insert(crate::extract::MAX_QUERY_VALUE_CHARS.into());
    }
}

/// Names of the component schemas `value` refers to.
fn collect_refs(value: &serde_json::Value, found: &mut std::collections::BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(|r| r.as_str())
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                found.insert(name.to_owned());
            }
            map.values().for_each(|v| collect_refs(v, found));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, found)),
        _ => {}
    }
}

/// Adds the text pattern to every free-text string in `schema`, however deeply nested.
fn add_text_patterns(schema: &mut serde_json::Value) {
    match schema {
        serde_json::Value::Object(map) => {
            let is_string = match map.get("type") {
                Some(serde_json::Value::String(t)) => t == "string",
                Some(serde_json::Value::Array(types)) => types.iter().any(|t| t == "string"),
                _ => false,
            };
            let free_text = is_string
                && map.contains_key("maxLength")
                && !["format", "enum", "pattern", "$ref"]
                    .iter()
                    .any(|k| map.contains_key(*k));
            if free_text {
                let min = map
                    .get("minLength")
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(0);
                map.insert("pattern".to_owned(), text_pattern(min).into());
            }
            map.values_mut().for_each(add_text_patterns);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(add_text_patterns),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::{BLANK, CONTROL};

    /// The code points a class body such as `\u0000-\u0008\u000B` names.
    fn ranges(class: &str) -> Vec<(u32, u32)> {
        let mut points = class
            .split("\\u")
            .filter(|p| !p.is_empty())
            .map(|p| (u32::from_str_radix(&p[..4], 16).unwrap(), p.ends_with('-')));
        let mut out = Vec::new();
        while let Some((start, dash)) = points.next() {
            let end = if dash {
                points.next().unwrap().0
            } else {
                start
            };
            out.push((start, end));
        }
        out
    }

    fn holds(ranges: &[(u32, u32)], c: char) -> bool {
        ranges.iter().any(|&(a, b)| (a..=b).contains(&u32::from(c)))
    }

    #[test]
    fn the_text_pattern_classes_are_the_servers_rules() {
        let (control, blank) = (ranges(CONTROL), ranges(BLANK));
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(
                holds(&control, c),
                crm_app::check::is_forbidden_control(c),
                "{c:?} as a refused control"
            );
            assert_eq!(
                holds(&blank, c),
                c.is_whitespace() || c.is_control(),
                "{c:?} as white space"
            );
        }
    }
}
