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
    components(schemas(Problem, FieldError, ErrorCode)),
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
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).max_length(Some(255))))
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
            op.responses
                .responses
                .entry("default".to_owned())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(PROBLEM_RESPONSE)));
        }
    }
    doc
}
