//! Integrator API keys.

use crm_domain::access::Role;
use crm_tests::{TestApp, json, problem};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn keys_are_shown_once_listed_without_secret_and_revocable() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let response = app
        .as_user(Method::POST, "/api/v1/api-keys", &admin.token)
        .json(&json!({"name": "官网表单", "scopes": ["leads:write", "leads:write"]}))
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created = json(response, 201).await;
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("crm_") && key.len() > 40);
    assert_eq!(created["scopes"], json!(["leads:write"]));
    assert_eq!(created["prefix"], &key[..8]);
    assert_eq!(
        location,
        format!("/api/v1/api-keys/{}", created["id"].as_str().unwrap())
    );

    let list = json(
        app.as_user(Method::GET, "/api/v1/api-keys", &admin.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(&key));
    assert_eq!(list["items"][0]["last_used_at"], serde_json::Value::Null);

    // A valid key is recognised (and its use recorded) but opens no person's endpoint.
    let response = app
        .request(Method::GET, "/api/v1/me")
        .header("X-API-Key", &key)
        .send()
        .await
        .unwrap();
    problem(response, 403, "forbidden").await;
    let list = json(
        app.as_user(Method::GET, "/api/v1/api-keys", &admin.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(list["items"][0]["last_used_at"].is_string());

    let response = app
        .as_user(Method::DELETE, &location, &admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let response = app
        .request(Method::GET, "/api/v1/me")
        .header("X-API-Key", &key)
        .send()
        .await
        .unwrap();
    problem(response, 401, "unauthenticated").await;
    problem(
        app.as_user(Method::DELETE, &location, &admin.token)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    let list = json(
        app.as_user(Method::GET, "/api/v1/api-keys", &admin.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn invalid_keys_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let response = app
        .as_user(Method::POST, "/api/v1/api-keys", &admin.token)
        .json(&json!({"name": " ", "scopes": []}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
    let response = app
        .as_user(Method::POST, "/api/v1/api-keys", &admin.token)
        .json(&json!({"name": "x", "scopes": ["customers:delete"]}))
        .send()
        .await
        .unwrap();
    problem(response, 422, "validation_failed").await;
    let response = app
        .request(Method::GET, "/api/v1/me")
        .header("X-API-Key", "crm_forged")
        .send()
        .await
        .unwrap();
    problem(response, 401, "unauthenticated").await;
}
