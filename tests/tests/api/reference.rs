//! Reference data through the API.

use crm_tests::{TestApp, json};

#[tokio::test]
async fn lists_all_industry_divisions_with_their_sections() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/v1/reference/industries").await;
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let body = json(response, 200).await;
    let items = body.as_array().unwrap();
    assert_eq!(items.len(), 97);
    assert_eq!(
        items[34],
        serde_json::json!({"code": "C35", "name": "专用设备制造业", "section": "C", "section_name": "制造业"})
    );
    assert_eq!(items[0]["code"], "A01");
    assert_eq!(items[96]["code"], "T97");
    let sections: std::collections::BTreeSet<_> = items
        .iter()
        .map(|i| i["section"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sections.len(), 20);
}

#[tokio::test]
async fn lists_all_provinces() {
    let app = TestApp::spawn().await;
    let body = json(app.get("/api/v1/reference/regions").await, 200).await;
    let items = body.as_array().unwrap();
    assert_eq!(items.len(), 34);
    assert_eq!(
        items[0],
        serde_json::json!({"code": "11", "name": "北京市"})
    );
    assert!(
        items
            .iter()
            .any(|r| r["code"] == "44" && r["name"] == "广东省")
    );
}
