//! The OpenAPI document: committed, served and generated must be one and the same.

use crm_tests::{TestApp, json};

fn committed() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn committed_document_is_current() {
    let generated = crm_api::openapi_json();
    assert!(
        committed() == generated,
        "openapi/openapi.json is stale: regenerate it with `cargo run -- openapi -o openapi/openapi.json` and commit it"
    );
}

#[tokio::test]
async fn served_document_equals_the_committed_one() {
    let app = TestApp::spawn().await;
    let served = json(app.get("/api/v1/openapi.json").await, 200).await;
    let committed: serde_json::Value = serde_json::from_str(&committed()).unwrap();
    assert_eq!(served, committed);
    assert_eq!(served["openapi"], "3.1.0");
}

#[test]
fn every_operation_has_an_id_a_tag_and_an_error_response() {
    let doc: serde_json::Value = serde_json::from_str(&crm_api::openapi_json()).unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{id}: no tag"
            );
            assert!(
                op["responses"]["default"].is_object(),
                "{id}: no default error response"
            );
            assert!(
                op["summary"].is_string() || op["description"].is_string(),
                "{id}: undocumented"
            );
        }
    }
}

/// Component schemas a request can carry (bodies and parameters), following references.
fn request_schemas(doc: &serde_json::Value) -> std::collections::BTreeSet<String> {
    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                    out.push(r.trim_start_matches("#/components/schemas/").to_owned());
                }
                m.values().for_each(|v| refs(v, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut pending = Vec::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            refs(&op["requestBody"], &mut pending);
            refs(&op["parameters"], &mut pending);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = pending.pop() {
        if seen.insert(name.clone()) {
            refs(&doc["components"]["schemas"][&name], &mut pending);
        }
    }
    seen
}

fn has_type(schema: &serde_json::Value, wanted: &str) -> bool {
    match &schema["type"] {
        serde_json::Value::String(t) => t == wanted,
        serde_json::Value::Array(types) => types.iter().any(|t| t == wanted),
        _ => false,
    }
}

/// Every string and array a request can carry states its bound, and every free text the
/// characters it may hold: what the server enforces, a generated client can see.
fn unbounded(at: &str, schema: &serde_json::Value, out: &mut Vec<String>) {
    let Some(map) = schema.as_object() else {
        return;
    };
    let formatted = matches!(
        map.get("format").and_then(|f| f.as_str()),
        Some("date" | "date-time" | "uuid" | "binary")
    );
    if has_type(schema, "string") && !formatted && !map.contains_key("enum") {
        if !map.contains_key("maxLength") {
            out.push(format!("{at}: string without maxLength"));
        }
        let free_text = !map.contains_key("format") && !map.contains_key("pattern");
        if free_text {
            out.push(format!("{at}: free text without the text pattern"));
        }
    }
    if has_type(schema, "array") && !map.contains_key("maxItems") {
        out.push(format!("{at}: array without maxItems"));
    }
    if let Some(props) = map.get("properties").and_then(|p| p.as_object()) {
        for (name, prop) in props {
            unbounded(&format!("{at}.{name}"), prop, out);
        }
    }
    if let Some(items) = map.get("items") {
        unbounded(&format!("{at}[]"), items, out);
    }
}

#[test]
fn every_request_string_and_array_is_bounded() {
    let doc: serde_json::Value = serde_json::from_str(&crm_api::openapi_json()).unwrap();
    let mut problems = Vec::new();
    for name in request_schemas(&doc) {
        unbounded(&name, &doc["components"]["schemas"][&name], &mut problems);
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for param in op["parameters"].as_array().into_iter().flatten() {
                if param["in"] == "query" {
                    let at = format!("{method} {path} ?{}", param["name"].as_str().unwrap());
                    unbounded(&at, &param["schema"], &mut problems);
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The text pattern is the server's rule: no control characters but tab and line breaks,
    // and as many characters that are not white space as the minimum length.
    let name = &doc["components"]["schemas"]["NewCustomer"]["properties"]["name"];
    assert_eq!(name["minLength"], 2);
    assert_eq!(name["pattern"], crm_api::openapi::text_pattern(2));
}

#[test]
fn merge_patch_fields_that_cannot_be_cleared_are_not_nullable() {
    let doc: serde_json::Value = serde_json::from_str(&crm_api::openapi_json()).unwrap();
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("CustomerPatch", "name"),
        ("CustomerPatch", "owner_id"),
        ("ContactPatch", "is_primary"),
        ("OpportunityPatch", "probability"),
        ("WorkOrderPatch", "severity"),
        ("UpdateUser", "active"),
        ("LeadPatch", "company_name"),
    ] {
        let prop = &schemas[schema]["properties"][field];
        assert!(prop.is_object(), "{schema}.{field} missing");
        assert!(
            !has_type(prop, "null"),
            "{schema}.{field} declared nullable"
        );
    }
    for (schema, field) in [("CustomerPatch", "needs"), ("ContactPatch", "email")] {
        assert!(
            has_type(&schemas[schema]["properties"][field], "null"),
            "{schema}.{field} can be cleared"
        );
    }
}
