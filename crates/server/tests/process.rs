//! The `crm` binary as an operator runs it, on a fresh database (SQLite, or PostgreSQL when
//! `CRM_TEST_DATABASE_URL` is set): secrets never reach its log, SIGTERM lets in-flight
//! requests finish, and `kill -9` in the middle of a lead import leaves no partial batch.

// A test's helpers fail it by panicking, like the tests themselves.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use crm_tests::TestDb;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "Process-root-pass-31";

/// A running `crm serve` with its log in a file.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    /// Starts the binary on `db` and waits until it answers `/readyz`.
    async fn start(db: &TestDb, dir: &Path, log_filter: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = dir.join(format!("server-{port}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_crm"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CRM_DATABASE_URL", &db.url)
            .env("CRM_DATA_DIR", dir)
            .env("CRM_BIND", format!("127.0.0.1:{port}"))
            .env("CRM_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("CRM_JWT_SECRET", "process-test-secret-0123456789abcdefghij")
            .env("CRM_LOG", log_filter)
            .env("CRM_LOG_FORMAT", "json")
            .env("CRM_WORKERS", "2")
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .expect("start crm");
        let mut server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = client.get(format!("{}/readyz", server.base)).send().await
                && r.status() == 200
            {
                return server;
            }
            let exited = server.child.try_wait().expect("process state");
            assert!(
                exited.is_none() && started.elapsed() < Duration::from_secs(30),
                "the server did not become ready ({exited:?}): {}",
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} failed");
    }

    /// Waits for the process to end, at most `limit`.
    async fn wait(&mut self, limit: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("process state") {
                return status;
            }
            assert!(started.elapsed() < limit, "the server did not stop");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn post(
    client: &reqwest::Client,
    url: String,
    token: &str,
    body: &Value,
) -> reqwest::Response {
    client
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("request sent")
}

async fn login(client: &reqwest::Client, server: &Server, username: &str, password: &str) -> Value {
    let response = client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .expect("login sent");
    assert_eq!(response.status(), 200, "login as {username}");
    response.json().await.expect("login body")
}

#[tokio::test]
async fn secrets_never_reach_the_log() {
    let db = TestDb::empty().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    // The most talkative setting an operator would turn on.
    let mut server = Server::start(&db, dir.path(), "debug").await;
    let client = reqwest::Client::new();
    let admin = login(&client, &server, "admin", ADMIN_PASSWORD).await;
    let admin_token = admin["access_token"].as_str().expect("token").to_owned();
    let rep_password = "Rep-secret-pass-77";
    let new_password = "Rep-renewed-pass-88";
    let wrong_password = "Not-the-password-99";
    let created = post(
        &client,
        server.url("/api/v1/users"),
        &admin_token,
        &json!({"username": "log.rep", "display_name": "日志", "role": "sales", "password": rep_password}),
    )
    .await;
    assert_eq!(created.status(), 201);
    let failed = client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"username": "log.rep", "password": wrong_password}))
        .send()
        .await
        .expect("login sent");
    assert_eq!(failed.status(), 401);
    let rep = login(&client, &server, "log.rep", rep_password).await;
    let rep_token = rep["access_token"].as_str().expect("token").to_owned();
    let refresh = rep["refresh_token"].as_str().expect("refresh").to_owned();
    let key: Value = post(
        &client,
        server.url("/api/v1/api-keys"),
        &admin_token,
        &json!({"name": "日志测试", "scopes": ["leads:write"]}),
    )
    .await
    .json()
    .await
    .expect("key body");
    let api_key = key["key"].as_str().expect("key").to_owned();
    let lead = client
        .post(server.url("/api/v1/leads"))
        .header("X-API-Key", &api_key)
        .json(&json!({"source": "website", "company_name": "日志线索有限公司", "contact_name": "李四", "mobile": "13900001111"}))
        .send()
        .await
        .expect("lead sent");
    assert_eq!(lead.status(), 201);
    let refreshed: Value = client
        .post(server.url("/api/v1/auth/refresh"))
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .expect("refresh sent")
        .json()
        .await
        .expect("refresh body");
    let second_token = refreshed["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let second_refresh = refreshed["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let changed = client
        .put(server.url("/api/v1/me/password"))
        .bearer_auth(&second_token)
        .json(&json!({"current_password": rep_password, "new_password": new_password}))
        .send()
        .await
        .expect("change sent");
    assert_eq!(changed.status(), 204);
    // A token sent where it is no longer good is still not written down.
    let stale = client
        .get(server.url("/api/v1/me"))
        .bearer_auth(&rep_token)
        .send()
        .await
        .expect("me sent");
    assert_eq!(stale.status(), 401);
    server.signal("-TERM");
    server.wait(Duration::from_secs(30)).await;

    let log = server.log();
    assert!(
        log.contains("/api/v1/auth/login") && log.contains("/api/v1/me/password"),
        "the log holds the requests: {log}"
    );
    for (what, secret) in [
        ("the admin password", ADMIN_PASSWORD),
        ("a password", rep_password),
        ("a new password", new_password),
        ("a wrong password", wrong_password),
        ("an access token", admin_token.as_str()),
        ("an access token", rep_token.as_str()),
        ("an access token", second_token.as_str()),
        ("a refresh token", refresh.as_str()),
        ("a refresh token", second_refresh.as_str()),
        ("an API key", api_key.as_str()),
    ] {
        assert!(!log.contains(secret), "the log holds {what}");
    }
}

#[tokio::test]
async fn sigterm_lets_requests_in_flight_finish() {
    let db = TestDb::empty().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut server = Server::start(&db, dir.path(), "warn").await;
    let client = reqwest::Client::new();
    // Sign-ins hash a password each, a few at a time: a queue that takes a while to drain.
    let requests: Vec<_> = (0..24)
        .map(|_| {
            let client = client.clone();
            let url = server.url("/api/v1/auth/login");
            tokio::spawn(async move {
                let response = client
                    .post(url)
                    .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
                    .send()
                    .await;
                (response.map(|r| r.status().as_u16()), Instant::now())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let signalled = Instant::now();
    server.signal("-TERM");
    let mut after_signal = 0;
    for request in requests {
        let (status, finished) = request.await.expect("request task");
        assert_eq!(status.ok(), Some(200), "a request in flight was cut off");
        if finished > signalled {
            after_signal += 1;
        }
    }
    assert!(
        after_signal > 0,
        "no request was still in flight when SIGTERM came"
    );
    let status = server.wait(Duration::from_secs(30)).await;
    assert!(status.success(), "the server exited with {status}");
    assert!(
        client.get(server.url("/healthz")).send().await.is_err(),
        "the server still answers after draining"
    );
}

fn import_body(batch: usize) -> Value {
    let leads: Vec<Value> = (0..1000)
        .map(|i| {
            json!({
                "source": "fair",
                "company_name": format!("批次{batch}线索{i}有限公司"),
                "contact_name": "王五",
                "mobile": format!("13{batch}{i:08}"),
            })
        })
        .collect();
    json!({ "leads": leads })
}

async fn lead_count(db: &TestDb) -> i64 {
    let row = db
        .db
        .query_one_raw(Statement::from_string(
            db.db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM leads",
        ))
        .await
        .expect("count leads")
        .expect("a row");
    row.try_get::<i64>("", "n").expect("a count")
}

#[tokio::test]
async fn kill_9_during_a_lead_import_leaves_no_partial_batch() {
    let db = TestDb::empty().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let client = reqwest::Client::new();
    let mut cut_off = false;
    // Kill sooner each round until one import is cut off before it answers.
    for (round, delay) in [400u64, 200, 100, 50, 25, 10].into_iter().enumerate() {
        let server = Server::start(&db, dir.path(), "warn").await;
        let admin = login(&client, &server, "admin", ADMIN_PASSWORD).await;
        let token = admin["access_token"].as_str().expect("token").to_owned();
        let body = import_body(round + 1);
        let request = {
            let client = client.clone();
            let url = server.url("/api/v1/leads/import");
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        };
        tokio::time::sleep(Duration::from_millis(delay)).await;
        server.signal("-KILL");
        let answered = request.await.expect("request task").is_ok();
        drop(server);
        let count = lead_count(&db).await;
        assert_eq!(count % 1000, 0, "a partial batch: {count} leads");
        if !answered {
            cut_off = true;
            break;
        }
    }
    assert!(
        cut_off,
        "no import was in flight when the process was killed"
    );
    // The next start finds the database whole and serves.
    let server = Server::start(&db, dir.path(), "warn").await;
    let admin = login(&client, &server, "admin", ADMIN_PASSWORD).await;
    assert!(admin["access_token"].is_string());
}
