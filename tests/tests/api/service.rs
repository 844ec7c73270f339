//! Service endpoints and the behaviour every route shares: request ids, problem+json for
//! unknown routes and wrong methods, the offline documentation.

use crm_tests::{TestApp, json, problem};
use reqwest::Method;

#[tokio::test]
async fn healthz_answers_with_a_request_id() {
    let app = TestApp::spawn().await;
    let response = app.get("/healthz").await;
    let id = response.headers().get("x-request-id").cloned();
    let body = json(response, 200).await;
    assert_eq!(body["status"], "ok");
    assert!(id.is_some_and(|v| !v.is_empty()));
}

#[tokio::test]
async fn request_id_is_taken_from_the_request_when_sane() {
    let app = TestApp::spawn().await;
    let response = app
        .request(Method::GET, "/nope")
        .header("X-Request-Id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-abc-123");
    let body = problem(response, 404, "not_found").await;
    assert_eq!(body["request_id"], "trace-abc-123");

    let forged = "x".repeat(300);
    let response = app
        .request(Method::GET, "/healthz")
        .header("X-Request-Id", forged.as_str())
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(id, forged);
    assert!(id.len() <= 128);
}

#[tokio::test]
async fn readyz_follows_the_database() {
    let app = TestApp::spawn().await;
    assert_eq!(json(app.get("/readyz").await, 200).await["status"], "ok");
    app.test_db.db.close_by_ref().await.unwrap();
    let response = app.get("/readyz").await;
    assert!(response.headers().contains_key("retry-after"));
    problem(response, 503, "service_unavailable").await;
}

#[tokio::test]
async fn unknown_routes_are_problem_404() {
    let app = TestApp::spawn().await;
    for path in [
        "/",
        "/api/v1/nothing",
        "/api/v1/reference/industries/extra",
        "/healthz/",
    ] {
        problem(app.get(path).await, 404, "not_found").await;
    }
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow() {
    let app = TestApp::spawn().await;
    let trace = Method::from_bytes(b"TRACE").unwrap();
    for (method, path, allow) in [
        (trace.clone(), "/healthz", "GET"),
        (Method::POST, "/readyz", "GET"),
        (Method::DELETE, "/api/v1/reference/industries", "GET"),
        (Method::PUT, "/api/v1/openapi.json", "GET"),
        (trace, "/docs/", "GET"),
    ] {
        let response = app.request(method.clone(), path).send().await.unwrap();
        let allowed = response
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_owned());
        problem(response, 405, "method_not_allowed").await;
        assert_eq!(allowed.as_deref(), Some(allow), "{method} {path}");
    }
}

#[tokio::test]
async fn swagger_ui_is_served_offline() {
    let app = TestApp::spawn().await;
    let response = app.get("/docs/").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let response = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(response.status(), 200);
    let config = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(config.contains("/api/v1/openapi.json"), "{config}");
}

#[tokio::test]
async fn cors_preflight_is_answered_for_configured_origins() {
    let app = TestApp::spawn_with(crm_api::ApiSettings {
        cors_origins: vec!["https://app.example.com".to_owned()],
        ..crm_api::ApiSettings::default()
    })
    .await;
    let response = app
        .request(Method::OPTIONS, "/api/v1/reference/regions")
        .header("Origin", "https://app.example.com")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let response = app
        .request(Method::GET, "/healthz")
        .header("Origin", "https://evil.example.com")
        .send()
        .await
        .unwrap();
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = TestApp::spawn_with(crm_api::ApiSettings {
        hsts_max_age: 31_536_000,
        ..crm_api::ApiSettings::default()
    })
    .await;
    let user = app.user(crm_domain::access::Role::Sales).await;
    let public = app.get("/healthz").await;
    let private = app
        .as_user(Method::GET, "/api/v1/customers", &user.token)
        .send()
        .await
        .unwrap();
    let missing = app
        .as_user(Method::GET, "/api/v1/nothing-here", &user.token)
        .send()
        .await
        .unwrap();
    for response in [&public, &private, &missing] {
        let h = response.headers();
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(
            h["strict-transport-security"],
            "max-age=31536000; includeSubDomains"
        );
    }
    // What an authenticated caller reads is never kept by a shared cache.
    assert_eq!(private.headers()["cache-control"], "no-store");
    assert_eq!(missing.headers()["cache-control"], "no-store");
    // Without the setting, no HSTS.
    let plain = TestApp::spawn().await;
    assert!(
        !plain
            .get("/healthz")
            .await
            .headers()
            .contains_key("strict-transport-security")
    );
}
