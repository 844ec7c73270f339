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
