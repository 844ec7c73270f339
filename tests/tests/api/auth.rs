//! Signing in, tokens that must be dead, refresh rotation, throttling.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crm_domain::access::Role;
use crm_tests::{JWT_SECRET, PASSWORD, TestApp, json, problem};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::json;

async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.as_user(Method::GET, "/api/v1/me", token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn expect_401(app: &TestApp, token: &str) {
    let response = app
        .as_user(Method::GET, "/api/v1/me", token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some(r#"Bearer realm="crm""#)
    );
    problem(response, 401, "unauthenticated").await;
}

#[tokio::test]
async fn login_returns_a_token_pair_and_the_user() {
    let app = TestApp::spawn().await;
    let (id, username) = app.create_account(Role::Sales).await;
    let body = app.login(&username.to_uppercase(), PASSWORD).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["user"]["id"], id.to_string());
    assert_eq!(body["user"]["role"], "sales");
    assert!(body["user"]["last_login_at"].is_string());
    assert!(body["user"].get("password_hash").is_none());
    let token = body["access_token"].as_str().unwrap();
    let me = json(
        app.as_user(Method::GET, "/api/v1/me", token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(me["username"], username);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    let app = TestApp::spawn().await;
    let (_, username) = app.create_account(Role::Sales).await;
    let mut details = Vec::new();
    for (user, password) in [
        (username.as_str(), "wrong-password-1"),
        ("nobody-here", PASSWORD),
    ] {
        let response = app
            .request(Method::POST, "/api/v1/auth/login")
            .json(&json!({"username": user, "password": password}))
            .send()
            .await
            .unwrap();
        assert!(response.headers().contains_key("www-authenticate"));
        let body = problem(response, 401, "unauthenticated").await;
        details.push(body["detail"].clone());
    }
    assert_eq!(details[0], details[1]);
}

#[tokio::test]
async fn missing_or_malformed_credentials_are_401() {
    let app = TestApp::spawn().await;
    problem(app.get("/api/v1/me").await, 401, "unauthenticated").await;
    for header in ["Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer ", "token abc"] {
        let response = app
            .request(Method::GET, "/api/v1/me")
            .header("Authorization", header)
            .send()
            .await
            .unwrap();
        problem(response, 401, "unauthenticated").await;
    }
    expect_401(&app, "not.a.jwt").await;
}

fn forge(header: &Header, claims: &serde_json::Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

#[tokio::test]
async fn a_control_character_in_a_username_is_refused_on_both_databases() {
    let app = TestApp::spawn().await;
    // JSON escapes: the body is well-formed, the username is not.
    for name in [r"adm\u0000in", r"admin\u0007", r"a\u001b[2J"] {
        let response = app
            .request(Method::POST, "/api/v1/auth/login")
            .header("Content-Type", "application/json")
            .body(format!(
                r#"{{"username": "{name}", "password": "whatever-1234"}}"#
            ))
            .send()
            .await
            .unwrap();
        let body = problem(response, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "username");
    }
}

#[tokio::test]
async fn tokens_this_server_could_not_have_issued_are_rejected() {
    let app = TestApp::spawn().await;
    let user = app.user(Role::Admin).await;
    let now = chrono::Utc::now().timestamp();
    let claims = |iat: i64, exp: i64, nbf: Option<i64>| {
        let mut c = json!({"iss": "crm", "aud": "crm-api", "sub": user.id, "exp": exp, "iat": iat,
                           "jti": uuid::Uuid::now_v7(), "ver": 0});
        if let Some(nbf) = nbf {
            c["nbf"] = json!(nbf);
        }
        c
    };
    let hs256 = Header::new(Algorithm::HS256);
    // Within the configured lifetime (15 minutes in tests) and small clock skew: accepted.
    let fine = forge(&hs256, &claims(now - 10, now + 800, None), JWT_SECRET);
    assert_eq!(me_status(&app, &fine).await, 200);
    let skewed = forge(
        &hs256,
        &claims(now + 10, now + 800, Some(now + 10)),
        JWT_SECRET,
    );
    assert_eq!(me_status(&app, &skewed).await, 200);
    // A hundred-year token signed with the right secret.
    expect_401(
        &app,
        &forge(
            &hs256,
            &claims(now, now + 100 * 365 * 86_400, None),
            JWT_SECRET,
        ),
    )
    .await;
    // Issued in the future.
    expect_401(
        &app,
        &forge(&hs256, &claims(now + 3600, now + 3700, None), JWT_SECRET),
    )
    .await;
    // Not valid before an hour from now.
    expect_401(
        &app,
        &forge(
            &hs256,
            &claims(now, now + 600, Some(now + 3600)),
            JWT_SECRET,
        ),
    )
    .await;
}

#[tokio::test]
async fn tampered_tokens_are_rejected() {
    let app = TestApp::spawn().await;
    let user = app.user(Role::Admin).await;
    assert_eq!(me_status(&app, &user.token).await, 200);
    let now = chrono::Utc::now().timestamp();
    let claims = |iss: &str, aud: &str, exp: i64| {
        json!({"iss": iss, "aud": aud, "sub": user.id, "exp": exp, "iat": now - 10,
               "jti": uuid::Uuid::now_v7(), "ver": 0})
    };
    let hs256 = Header::new(Algorithm::HS256);

    // The forging itself works: a token made like the server's is accepted.
    assert_eq!(
        me_status(
            &app,
            &forge(&hs256, &claims("crm", "crm-api", now + 60), JWT_SECRET)
        )
        .await,
        200
    );

    // Wrong signature.
    expect_401(
        &app,
        &forge(
            &hs256,
            &claims("crm", "crm-api", now + 60),
            b"another-secret-that-is-long-enough!!",
        ),
    )
    .await;
    // Signature of the real token swapped onto altered claims (privilege change by editing).
    let parts: Vec<&str> = user.token.split('.').collect();
    let mut altered: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    altered["sub"] = json!(uuid::Uuid::now_v7());
    let altered = URL_SAFE_NO_PAD.encode(altered.to_string());
    expect_401(&app, &format!("{}.{}.{}", parts[0], altered, parts[2])).await;
    // alg: none, unsigned.
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims("crm", "crm-api", now + 60).to_string());
    expect_401(&app, &format!("{none_header}.{body}.")).await;
    expect_401(&app, &format!("{none_header}.{body}")).await;
    // Another algorithm with the same secret.
    expect_401(
        &app,
        &forge(
            &Header::new(Algorithm::HS512),
            &claims("crm", "crm-api", now + 60),
            JWT_SECRET,
        ),
    )
    .await;
    // Expired (beyond the leeway).
    expect_401(
        &app,
        &forge(&hs256, &claims("crm", "crm-api", now - 120), JWT_SECRET),
    )
    .await;
    // Wrong audience, wrong issuer.
    expect_401(
        &app,
        &forge(&hs256, &claims("crm", "another-api", now + 60), JWT_SECRET),
    )
    .await;
    expect_401(
        &app,
        &forge(
            &hs256,
            &claims("someone-else", "crm-api", now + 60),
            JWT_SECRET,
        ),
    )
    .await;
    // Missing expiry.
    let mut no_exp = claims("crm", "crm-api", now + 60);
    no_exp.as_object_mut().unwrap().remove("exp");
    expect_401(&app, &forge(&hs256, &no_exp, JWT_SECRET)).await;
}

#[tokio::test]
async fn deactivation_kills_tokens_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let sales = app.user(Role::Sales).await;
    assert_eq!(me_status(&app, &sales.token).await, 200);
    let response = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/users/{}", sales.id),
            &admin.token,
        )
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(response, 200).await["active"], false);
    expect_401(&app, &sales.token).await;
    // Their refresh token died too, and they cannot sign in.
    let response = app
        .request(Method::POST, "/api/v1/auth/refresh")
        .json(&json!({"refresh_token": sales.refresh}))
        .send()
        .await
        .unwrap();
    problem(response, 401, "unauthenticated").await;
    let response = app
        .request(Method::POST, "/api/v1/auth/login")
        .json(&json!({"username": sales.username, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    problem(response, 401, "unauthenticated").await;
}

#[tokio::test]
async fn role_change_kills_tokens_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.user(Role::Admin).await;
    let user = app.user(Role::Manager).await;
    let response = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/users/{}", user.id),
            &admin.token,
        )
        .json(&json!({"role": "sales"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(response, 200).await["role"], "sales");
    expect_401(&app, &user.token).await;
    // Signing in again gives the new role.
    let body = app.login(&user.username, PASSWORD).await;
    assert_eq!(body["user"]["role"], "sales");
}

#[tokio::test]
async fn password_change_kills_earlier_tokens() {
    let app = TestApp::spawn().await;
    let user = app.user(Role::Sales).await;
    let other_session = app.login(&user.username, PASSWORD).await;

    let response = app
        .as_user(Method::PUT, "/api/v1/me/password", &user.token)
        .json(&json!({"current_password": "wrong-password-1", "new_password": "A-new-password-9"}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "current_password");

    let response = app
        .as_user(Method::PUT, "/api/v1/me/password", &user.token)
        .json(&json!({"current_password": PASSWORD, "new_password": "short"}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "new_password");

    let response = app
        .as_user(Method::PUT, "/api/v1/me/password", &user.token)
        .json(&json!({"current_password": PASSWORD, "new_password": "A-new-password-9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    expect_401(&app, &user.token).await;
    expect_401(&app, other_session["access_token"].as_str().unwrap()).await;
    let response = app
        .request(Method::POST, "/api/v1/auth/refresh")
        .json(&json!({"refresh_token": other_session["refresh_token"]}))
        .send()
        .await
        .unwrap();
    problem(response, 401, "unauthenticated").await;
    let body = app.login(&user.username, "A-new-password-9").await;
    assert_eq!(
        me_status(&app, body["access_token"].as_str().unwrap()).await,
        200
    );
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/auth/refresh")
        .json(&json!({"refresh_token": token}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_chain() {
    let app = TestApp::spawn().await;
    let user = app.user(Role::Sales).await;

    let first = json(refresh(&app, &user.refresh).await, 200).await;
    let second_refresh = first["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, user.refresh);
    assert_eq!(
        me_status(&app, first["access_token"].as_str().unwrap()).await,
        200
    );

    // Presenting the spent token again: refused, and the whole chain dies with it.
    problem(refresh(&app, &user.refresh).await, 401, "unauthenticated").await;
    problem(refresh(&app, &second_refresh).await, 401, "unauthenticated").await;

    // Another login is a separate chain and unaffected.
    let other = app.login(&user.username, PASSWORD).await;
    json(
        refresh(&app, other["refresh_token"].as_str().unwrap()).await,
        200,
    )
    .await;

    problem(refresh(&app, "crt_made-up").await, 401, "unauthenticated").await;
}

#[tokio::test]
async fn logout_revokes_the_refresh_chain() {
    let app = TestApp::spawn().await;
    let user = app.user(Role::Sales).await;
    let rotated = json(refresh(&app, &user.refresh).await, 200).await;
    let response = app
        .request(Method::POST, "/api/v1/auth/logout")
        .json(&json!({"refresh_token": rotated["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    problem(
        refresh(&app, rotated["refresh_token"].as_str().unwrap()).await,
        401,
        "unauthenticated",
    )
    .await;
    // Logging out with an unknown token says nothing about it; a string that cannot be a
    // refresh token at all is refused, as the document's pattern says.
    let unknown = format!("crt_{}", "A".repeat(43));
    let response = app
        .request(Method::POST, "/api/v1/auth/logout")
        .json(&json!({"refresh_token": unknown}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let response = app
        .request(Method::POST, "/api/v1/auth/logout")
        .json(&json!({"refresh_token": "crt_unknown"}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "refresh_token");
}

async fn attempt(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/auth/login")
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn repeated_failures_are_throttled_per_account_and_reset() {
    let app = TestApp::spawn().await;
    let (_, username) = app.create_account(Role::Sales).await;
    for _ in 0..5 {
        problem(
            attempt(&app, &username, "wrong-password-1").await,
            401,
            "unauthenticated",
        )
        .await;
    }
    // Locked: even the right password is refused, with Retry-After.
    let response = attempt(&app, &username, PASSWORD).await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after));
    problem(response, 429, "rate_limited").await;
    // Another account is not affected.
    let (_, other) = app.create_account(Role::Sales).await;
    app.login(&other, PASSWORD).await;
    // Unknown usernames are throttled exactly the same way.
    for _ in 0..5 {
        problem(
            attempt(&app, "no-such-user", "wrong-password-1").await,
            401,
            "unauthenticated",
        )
        .await;
    }
    problem(
        attempt(&app, "no-such-user", "wrong-password-1").await,
        429,
        "rate_limited",
    )
    .await;

    // The lock expires (1 s in tests) and a success resets the count.
    tokio::time::sleep(std::time::Duration::from_millis(1100 * retry_after)).await;
    app.login(&username, PASSWORD).await;
    for _ in 0..4 {
        problem(
            attempt(&app, &username, "wrong-password-1").await,
            401,
            "unauthenticated",
        )
        .await;
    }
    app.login(&username, PASSWORD).await;
}

/// `GET /customers` with `token` on `app`: its status.
async fn list_status(app: &TestApp, token: &str) -> u16 {
    app.as_user(Method::GET, "/api/v1/customers", token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Sends `token` to `app` until the account check has cached the account (the cache turns on
/// once the copy hears account changes from the database).
async fn until_cached(app: &TestApp, token: &str, id: uuid::Uuid) {
    for _ in 0..100 {
        assert_eq!(list_status(app, token).await, 200);
        if app.ctx.accounts.holds(id) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the account was never cached");
}

/// Sends `token` to `app` until it is refused; panics when it still counts after a second.
async fn until_refused(app: &TestApp, token: &str) {
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(1) {
        match list_status(app, token).await {
            401 => return,
            200 => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            other => panic!("unexpected status {other}"),
        }
    }
    panic!("the token still counts a second after its account changed");
}

#[tokio::test]
async fn a_deactivation_on_one_copy_ends_the_tokens_on_the_others() {
    let app = TestApp::spawn().await;
    let twin = app.spawn_twin().await;
    let admin = app.user(Role::Admin).await;
    let rep = app.user(Role::Sales).await;
    until_cached(&twin, &rep.token, rep.id).await;
    let response = app
        .as_user(
            Method::PATCH,
            &format!("/api/v1/users/{}", rep.id),
            &admin.token,
        )
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(response, 200).await["active"], false);
    // This copy made the change: refused with the very next request.
    assert_eq!(list_status(&app, &rep.token).await, 401);
    // The other heard it from the database.
    until_refused(&twin, &rep.token).await;
}

#[tokio::test]
async fn an_account_changed_in_sql_is_checked_again_at_once() {
    let app = TestApp::spawn().await;
    let rep = app.user(Role::Sales).await;
    let admin = app.user(Role::Admin).await;
    until_cached(&app, &rep.token, rep.id).await;
    until_cached(&app, &admin.token, admin.id).await;
    // An operator bumps the rep's token version and demotes the admin by hand.
    let bump = format!(
        "UPDATE users SET token_version = token_version + 1 WHERE username = '{}'",
        rep.username
    );
    let demote = format!(
        "UPDATE users SET role = 'sales' WHERE username = '{}'",
        admin.username
    );
    app.test_db.db.execute_unprepared(&bump).await.unwrap();
    app.test_db.db.execute_unprepared(&demote).await.unwrap();
    until_refused(&app, &rep.token).await;
    // The admin's token still counts, with the role the account has now: the users list
    // is for admins.
    let started = std::time::Instant::now();
    loop {
        let status = app
            .as_user(Method::GET, "/api/v1/users", &admin.token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 403 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "the old role still counts a second after it changed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // A change that does not touch authentication leaves the cache alone.
    until_cached(&app, &admin.token, admin.id).await;
    app.test_db
        .db
        .execute_unprepared(&format!(
            "UPDATE users SET display_name = 'Renamed' WHERE username = '{}'",
            admin.username
        ))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(app.ctx.accounts.holds(admin.id));
}

#[tokio::test]
async fn a_copy_that_loses_its_listening_connection_reads_accounts_until_it_listens_again() {
    let app = TestApp::spawn().await;
    let rep = app.user(Role::Sales).await;
    until_cached(&app, &rep.token, rep.id).await;
    let db = &app.test_db.db;
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Cut the connection the copy listens on, then change the account at once: the
        // notification goes nowhere, and the copy must not answer from its cache.
        let cut = db
            .execute_unprepared(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
            )
            .await
            .unwrap();
        assert_eq!(cut.rows_affected(), 1, "one listening connection");
    }
    let bump = format!(
        "UPDATE users SET token_version = token_version + 1 WHERE username = '{}'",
        rep.username
    );
    db.execute_unprepared(&bump).await.unwrap();
    until_refused(&app, &rep.token).await;
    // It listens again, and caches again.
    let fresh = app.login(&rep.username, PASSWORD).await;
    let token = fresh["access_token"].as_str().unwrap().to_owned();
    for _ in 0..200 {
        assert_eq!(list_status(&app, &token).await, 200);
        if app.ctx.accounts.holds(rep.id) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the copy never cached again");
}
