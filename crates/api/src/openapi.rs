//! The OpenAPI document: its fixed parts (info, tags, shared schemas) here, its paths
//! collected from the handlers' `#[utoipa::path]` attributes as they are registered, and a
//! final pass that gives every operation the shared problem+json error response.

use utoipa::OpenApi;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

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
        (name = "reference", description = "National classifications that records refer to: industries (GB/T 4754-2017) and provinces (GB/T 2260)."),
    ),
    components(schemas(Problem, FieldError, ErrorCode)),
)]
pub struct ApiDoc;

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
    for item in doc.paths.paths.values_mut() {
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
