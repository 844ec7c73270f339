//! The access matrix: every route of the OpenAPI document, called as each kind of caller,
//! must answer the expected status. A route missing from the table fails the test, so every
//! new endpoint has to state who may call it.

use std::collections::BTreeSet;

use crm_domain::access::Role;
use crm_tests::{PASSWORD, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

/// Callers, in the order of each row's expected statuses.
const CALLERS: [&str; 6] = [
    "anonymous",
    "api_key",
    "admin",
    "manager",
    "sales",
    "service",
];

struct Case {
    method: &'static str,
    path: &'static str,
    /// Expected status for each of [`CALLERS`].
    expect: [u16; 6],
    /// Request body; `{unique}` is replaced by a fresh value for each call.
    body: Option<&'static str>,
}

const fn case(
    method: &'static str,
    path: &'static str,
    expect: [u16; 6],
    body: Option<&'static str>,
) -> Case {
    Case {
        method,
        path,
        expect,
        body,
    }
}

#[rustfmt::skip]
const MATRIX: &[Case] = &[
    //                                                  anon  key  admin mgr sales service
    case("GET",    "/healthz",                          [200, 200, 200, 200, 200, 200], None),
    case("GET",    "/readyz",                           [200, 200, 200, 200, 200, 200], None),
    case("GET",    "/api/v1/openapi.json",              [200, 200, 200, 200, 200, 200], None),
    case("GET",    "/api/v1/reference/industries",      [200, 200, 200, 200, 200, 200], None),
    case("GET",    "/api/v1/reference/regions",         [200, 200, 200, 200, 200, 200], None),
    case("POST",   "/api/v1/auth/login",                [200, 200, 200, 200, 200, 200],
         Some(r#"{"username": "{login}", "password": "{password}"}"#)),
    case("POST",   "/api/v1/auth/refresh",              [401, 401, 401, 401, 401, 401],
         Some(r#"{"refresh_token": "crt_{unique}"}"#)),
    case("POST",   "/api/v1/auth/logout",               [204, 204, 204, 204, 204, 204],
         Some(r#"{"refresh_token": "crt_{unique}"}"#)),
    case("GET",    "/api/v1/me",                        [401, 403, 200, 200, 200, 200], None),
    // A wrong current password proves the caller got through to the check.
    case("PUT",    "/api/v1/me/password",               [401, 403, 422, 422, 422, 422],
         Some(r#"{"current_password": "not-the-password", "new_password": "Another-pass-1"}"#)),
    case("GET",    "/api/v1/users",                     [401, 403, 200, 200, 403, 403], None),
    case("POST",   "/api/v1/users",                     [401, 403, 201, 403, 403, 403],
         Some(r#"{"username": "u{unique}", "display_name": "x", "role": "sales", "password": "Matrix-pass-12"}"#)),
    case("GET",    "/api/v1/users/{id}",                [401, 403, 200, 200, 403, 403], None),
    case("PATCH",  "/api/v1/users/{id}",                [401, 403, 200, 403, 403, 403], Some(r#"{"team": "t{unique}"}"#)),
    case("GET",    "/api/v1/api-keys",                  [401, 403, 200, 403, 403, 403], None),
    case("POST",   "/api/v1/api-keys",                  [401, 403, 201, 403, 403, 403],
         Some(r#"{"name": "k{unique}", "scopes": ["leads:write"]}"#)),
    case("DELETE", "/api/v1/api-keys/{id}",             [401, 403, 204, 403, 403, 403], None),
];

fn documented_routes() -> BTreeSet<(String, String)> {
    let doc: Value = serde_json::from_str(&crm_api::openapi_json()).unwrap();
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.insert((method.to_uppercase(), path.clone()));
        }
    }
    routes
}

#[test]
fn every_documented_route_is_in_the_matrix() {
    let documented = documented_routes();
    let listed: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|c| (c.method.to_owned(), c.path.to_owned()))
        .collect();
    let missing: Vec<_> = documented.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the access matrix: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "matrix rows for routes that do not exist: {stale:?}"
    );
    assert_eq!(listed.len(), MATRIX.len(), "duplicate rows");
}

#[tokio::test]
async fn every_route_answers_each_caller_as_expected() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let manager = app.user(Role::Manager).await;
    let sales = app.user(Role::Sales).await;
    let service = app.user(Role::Service).await;
    let (target_user, _) = app.create_account(Role::Sales).await;
    let (_, login_name) = app.create_account(Role::Sales).await;
    let key = app
        .as_user(Method::POST, "/api/v1/api-keys", &admin.token)
        .json(&json!({"name": "matrix", "scopes": ["leads:write"]}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let key_secret = key["key"].as_str().unwrap().to_owned();
    let key_id = key["id"].as_str().unwrap().to_owned();

    let target_user = target_user.to_string();
    let mut failures = Vec::new();
    for case in MATRIX {
        let id = if case.path.contains("api-keys") {
            &key_id
        } else {
            &target_user
        };
        let path = case.path.replace("{id}", id);
        for (idx, caller) in CALLERS.iter().enumerate() {
            let method = Method::from_bytes(case.method.as_bytes()).unwrap();
            let mut request = app.request(method, &path);
            request = match *caller {
                "anonymous" => request,
                "api_key" => request.header("X-API-Key", &key_secret),
                "admin" => request.bearer_auth(&admin.token),
                "manager" => request.bearer_auth(&manager.token),
                "sales" => request.bearer_auth(&sales.token),
                _ => request.bearer_auth(&service.token),
            };
            if let Some(body) = case.body {
                let body = body
                    .replace("{unique}", &uuid::Uuid::now_v7().simple().to_string()[16..])
                    .replace("{login}", &login_name)
                    .replace("{password}", PASSWORD);
                request = request
                    .header("Content-Type", "application/json")
                    .body(body);
            }
            let status = request.send().await.unwrap().status().as_u16();
            if status != case.expect[idx] {
                failures.push(format!(
                    "{} {} as {caller}: expected {}, got {status}",
                    case.method, case.path, case.expect[idx]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "access matrix violations:\n{}",
        failures.join("\n")
    );
}
