//! Accounts: creation with every check, the account audit, optimistic concurrency, and the
//! malformed requests every JSON endpoint must answer cleanly.

use crm_domain::access::Role;
use crm_tests::{TestApp, json, problem};
use reqwest::Method;
use serde_json::json;

fn new_user(username: &str) -> serde_json::Value {
    json!({"username": username, "display_name": "王芳", "email": "wang.fang@example.com",
           "role": "sales", "region": "44", "team": "华南一组", "password": "Correct-horse-7"})
}

#[tokio::test]
async fn admin_creates_an_account_that_can_sign_in() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let response = app
        .as_user(Method::POST, "/api/v1/users", &admin.token)
        .json(&new_user("  Wang.Fang "))
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let body = json(response, 201).await;
    assert_eq!(body["username"], "wang.fang");
    assert_eq!(body["display_name"], "王芳");
    assert_eq!(body["region"], "44");
    assert_eq!(body["active"], true);
    assert_eq!(body["last_login_at"], serde_json::Value::Null);
    assert!(body.get("password").is_none() && body.get("password_hash").is_none());
    assert_eq!(
        location,
        format!("/api/v1/users/{}", body["id"].as_str().unwrap())
    );
    assert_eq!(etag, "\"1\"");

    let fetched = json(
        app.as_user(Method::GET, &location, &admin.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(fetched, body);
    let signed_in = app.login("wang.fang", "Correct-horse-7").await;
    assert_eq!(signed_in["user"]["role"], "sales");

    let response = app
        .as_user(Method::POST, "/api/v1/users", &admin.token)
        .json(&new_user("WANG.FANG"))
        .send()
        .await
        .unwrap();
    let conflict = problem(response, 409, "duplicate_username").await;
    assert_eq!(conflict["existing_id"], body["id"]);
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once_without_echoing_values() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let response = app
        .as_user(Method::POST, "/api/v1/users", &admin.token)
        .json(
            &json!({"username": "1x", "display_name": "", "email": "not-an-email",
                      "role": "sales", "region": "99", "password": "Xq9z"}),
        )
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["display_name", "email", "password", "region", "username"]
    );
    assert!(!body.to_string().contains("Xq9z"));
    assert!(!body.to_string().contains("not-an-email"));

    // Shape errors name the field by its JSON path.
    let response = app
        .as_user(Method::POST, "/api/v1/users", &admin.token)
        .json(&json!({"username": "li.lei", "display_name": "李雷", "role": "superuser", "password": "Correct-horse-7"}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "role");
    assert!(!body.to_string().contains("superuser"));
    let response = app
        .as_user(Method::POST, "/api/v1/users", &admin.token)
        .json(&json!({"display_name": "李雷", "role": "sales", "password": "Correct-horse-7"}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "username");
    assert_eq!(body["errors"][0]["code"], "required");
    let mut with_extra = new_user("li.lei");
    with_extra["is_admin"] = json!(true);
    let response = app
        .as_user(Method::POST, "/api/v1/users", &admin.token)
        .json(&with_extra)
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "unknown_field");
}

#[tokio::test]
async fn malformed_requests_get_problem_documents() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let post = |body: &'static str, content_type: &'static str| {
        app.as_user(Method::POST, "/api/v1/users", &admin.token)
            .header("Content-Type", content_type)
            .body(body)
            .send()
    };
    problem(
        post("{\"username\": ", "application/json").await.unwrap(),
        400,
        "malformed_json",
    )
    .await;
    problem(
        post("{} {}", "application/json").await.unwrap(),
        400,
        "malformed_json",
    )
    .await;
    problem(
        post("", "application/json").await.unwrap(),
        400,
        "malformed_json",
    )
    .await;
    problem(
        post("[1, 2]", "application/json").await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
    problem(
        post("username=x", "application/x-www-form-urlencoded")
            .await
            .unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;
    problem(
        post("{}", "text/plain").await.unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;
    let response = app
        .as_user(Method::POST, "/api/v1/users", &admin.token)
        .body("{}")
        .send()
        .await
        .unwrap();
    problem(response, 415, "unsupported_media_type").await;

    let huge = format!("{{\"username\": \"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let response = app
        .as_user(Method::POST, "/api/v1/users", &admin.token)
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    problem(response, 413, "payload_too_large").await;

    let body = problem(
        app.as_user(Method::GET, "/api/v1/users/not-a-uuid", &admin.token)
            .send()
            .await
            .unwrap(),
        400,
        "invalid_parameter",
    )
    .await;
    assert!(!body.to_string().contains("not-a-uuid"));
    for query in [
        "limit=0",
        "limit=201",
        "limit=abc",
        "cursor=garbage",
        "role=root",
        "inactive_days=-1",
    ] {
        let response = app
            .as_user(Method::GET, &format!("/api/v1/users?{query}"), &admin.token)
            .send()
            .await
            .unwrap();
        problem(response, 400, "invalid_parameter").await;
    }
    problem(
        app.as_user(
            Method::GET,
            &format!("/api/v1/users/{}", uuid::Uuid::now_v7()),
            &admin.token,
        )
        .send()
        .await
        .unwrap(),
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn account_audit_filters_and_pages() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let signed_in = app.user(Role::Sales).await;
    let (never_id, _) = app.create_account(Role::Sales).await;
    let (service_id, _) = app.create_account(Role::Service).await;

    let list = |query: String| {
        let request = app.as_user(Method::GET, &format!("/api/v1/users?{query}"), &admin.token);
        async move { json(request.send().await.unwrap(), 200).await }
    };
    let ids = |body: &serde_json::Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect()
    };

    let inactive = list("inactive_days=30".to_owned()).await;
    assert_eq!(
        ids(&inactive),
        [never_id.to_string(), service_id.to_string()]
    );
    let sales = list("role=sales".to_owned()).await;
    assert_eq!(
        ids(&sales),
        [signed_in.id.to_string(), never_id.to_string()]
    );

    // Pages of two, following the cursor, cover everyone exactly once.
    let mut seen = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let page = list(query.clone()).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 4);
    seen.dedup();
    assert_eq!(seen.len(), 4);

    let response = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/users/{never_id}"),
            &admin.token,
        )
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    json(response, 200).await;
    assert_eq!(
        ids(&list("active=false".to_owned()).await),
        [never_id.to_string()]
    );
}

#[tokio::test]
async fn stale_if_match_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let (id, _) = app.create_account(Role::Sales).await;
    let path = format!("/api/v1/users/{id}");
    let response = app
        .as_user(Method::PATCH, &path, &admin.token)
        .header("If-Match", "\"1\"")
        .header("Content-Type", "application/merge-patch+json")
        .body(r#"{"team": "华东", "email": null}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["etag"], "\"2\"");
    let body = json(response, 200).await;
    assert_eq!(
        (body["team"].as_str(), body["version"].as_i64()),
        (Some("华东"), Some(2))
    );

    let response = app
        .as_user(Method::PATCH, &path, &admin.token)
        .header("If-Match", "\"1\"")
        .json(&json!({"team": "华北"}))
        .send()
        .await
        .unwrap();
    problem(response, 412, "precondition_failed").await;
    let current = json(
        app.as_user(Method::GET, &path, &admin.token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(current["team"], "华东");

    // null clears optional fields; required ones cannot be cleared.
    let response = app
        .as_user(Method::PATCH, &path, &admin.token)
        .json(&json!({"team": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(response, 200).await["team"], serde_json::Value::Null);
    let response = app
        .as_user(Method::PATCH, &path, &admin.token)
        .json(&json!({"display_name": null, "role": null}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_removed() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let path = format!("/api/v1/users/{}", admin.id);
    for change in [json!({"active": false}), json!({"role": "manager"})] {
        let response = app
            .as_user(Method::PATCH, &path, &admin.token)
            .json(&change)
            .send()
            .await
            .unwrap();
        problem(response, 409, "last_admin").await;
    }
    // With a second admin, the first may step down.
    let (second, _) = app.create_account(Role::Admin).await;
    assert_ne!(second, admin.id);
    let response = app
        .as_user(Method::PATCH, &path, &admin.token)
        .json(&json!({"role": "manager"}))
        .send()
        .await
        .unwrap();
    json(response, 200).await;
}

#[tokio::test]
async fn admin_password_reset_lets_the_user_sign_in_with_the_new_one() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let user = app.user(Role::Service).await;
    let response = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/users/{}", user.id),
            &admin.token,
        )
        .json(&json!({"password": "Reset-by-admin-1"}))
        .send()
        .await
        .unwrap();
    json(response, 200).await;
    let response = app
        .as_user(Method::GET, "/api/v1/me", &user.token)
        .send()
        .await
        .unwrap();
    problem(response, 401, "unauthenticated").await;
    app.login(&user.username, "Reset-by-admin-1").await;
}
