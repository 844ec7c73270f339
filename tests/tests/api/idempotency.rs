//! `Idempotency-Key`: retries of creating requests do not create twice.

use crm_domain::access::Role;
use crm_tests::{TestApp, customer_body, json, problem};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_retry_with_the_same_key_returns_the_first_response() {
    let app = TestApp::spawn().await;
    let sales = app.user(Role::Sales).await;
    let body = customer_body("宁波港城物流有限公司");
    let post = |key: &'static str, body: serde_json::Value, token: String| {
        let request = app
            .as_user(Method::POST, "/api/v1/customers", &token)
            .header("Idempotency-Key", key)
            .json(&body);
        async move { request.send().await.unwrap() }
    };
    let first = post("order-2026-001", body.clone(), sales.token.clone()).await;
    assert!(first.headers().get("idempotent-replayed").is_none());
    let location = first.headers()["location"].clone();
    let created = json(first, 201).await;

    let again = post("order-2026-001", body.clone(), sales.token.clone()).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["location"], location);
    assert_eq!(again.headers()["etag"], "\"1\"");
    assert_eq!(json(again, 201).await, created);
    let list = json(
        app.as_user(Method::GET, "/api/v1/customers", &sales.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "created once");

    // The same key for another request is refused.
    let other = post(
        "order-2026-001",
        customer_body("另一家有限公司"),
        sales.token.clone(),
    )
    .await;
    assert_eq!(
        problem(other, 422, "validation_failed").await["errors"][0]["code"],
        "key_reused"
    );
    // Keys belong to their caller: another user's identical key is independent.
    let bob = app.user(Role::Sales).await;
    let mut bobs = customer_body("宁波港城物流有限公司");
    bobs["uscc"] = json!(crm_tests::random_uscc());
    json(post("order-2026-001", bobs, bob.token.clone()).await, 201).await;

    // A failed request releases its key: fixed and retried, it succeeds.
    let mut bad = customer_body("温州鹿城鞋业有限公司");
    bad["industry_code"] = json!("Z99");
    problem(
        post("order-2026-002", bad.clone(), sales.token.clone()).await,
        422,
        "validation_failed",
    )
    .await;
    bad["industry_code"] = json!("C19");
    json(post("order-2026-002", bad, sales.token.clone()).await, 201).await;

    let response = app
        .as_user(Method::POST, "/api/v1/customers", &sales.token)
        .header("Idempotency-Key", "with space")
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(response, 400, "invalid_parameter").await;
}

#[tokio::test]
async fn the_key_is_documented_on_every_creating_operation() {
    let doc: serde_json::Value = serde_json::from_str(&crm_api::openapi_json()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if let Some(post) = item
            .get("post")
            .filter(|p| p["responses"].get("201").is_some())
        {
            let names: Vec<&str> = post["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["name"].as_str())
                .collect();
            assert!(names.contains(&"Idempotency-Key"), "POST {path}");
        }
    }
}

#[tokio::test]
async fn failing_requests_racing_on_one_key_never_break_the_server() {
    let app = TestApp::spawn().await;
    let user = app.user(Role::Sales).await;
    for _ in 0..6 {
        let tries = (0..12).map(|_| {
            app.as_user(Method::POST, "/api/v1/customers", &user.token)
                .header("Idempotency-Key", "race-on-one-key")
                .json(&serde_json::json!({}))
                .send()
        });
        for response in futures_util::future::join_all(tries).await {
            let status = response.unwrap().status().as_u16();
            // Refused bodies (422) release the key; a request that meets it claimed is 409.
            assert!([409, 422].contains(&status), "{status}");
        }
    }
}

/// An answer that shows a secret (a new API key, a webhook's signing secret) is not kept for
/// replay: the secret is shown once and stored nowhere in clear. A retry is 409 with the
/// `Location` of what the first request made, and nothing is made twice.
#[tokio::test]
async fn an_answer_showing_a_secret_is_not_kept_for_replay() {
    use sea_orm::{ConnectionTrait, Statement};
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let post = |path: &'static str, key: &'static str, body: serde_json::Value| {
        let request = app
            .as_user(Method::POST, path, &admin.token)
            .header("Idempotency-Key", key)
            .json(&body);
        async move { request.send().await.unwrap() }
    };

    let body = json!({"name": "官网表单", "scopes": ["leads:write"]});
    let first = post("/api/v1/api-keys", "key-2026-01", body.clone()).await;
    let location = first.headers()["location"].clone();
    let secret = json(first, 201).await["key"].as_str().unwrap().to_owned();
    let again = post("/api/v1/api-keys", "key-2026-01", body).await;
    assert_eq!(again.headers()["location"], location);
    let refused = problem(again, 409, "conflict").await;
    assert!(!refused.to_string().contains(&secret));
    let keys = json(
        app.as_user(Method::GET, "/api/v1/api-keys", &admin.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(keys["items"].as_array().unwrap().len(), 1, "created once");

    let hook = json!({"url": "http://127.0.0.1:9/hook", "events": ["customer.created"]});
    let first = post("/api/v1/webhooks", "hook-2026-01", hook.clone()).await;
    let signing = json(first, 201).await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let again = post("/api/v1/webhooks", "hook-2026-01", hook).await;
    problem(again, 409, "conflict").await;

    // What the server keeps for replays holds neither secret.
    let db = &app.test_db.db;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT body FROM idempotency_keys",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let body: Option<String> = row.try_get_by_index(0).unwrap();
        let body = body.unwrap_or_default();
        assert!(
            !body.contains(&secret) && !body.contains(&signing),
            "{body}"
        );
    }
}
