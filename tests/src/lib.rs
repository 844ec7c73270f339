//! Test harness: starts the real application on a loopback port over a fresh database
//! (a temporary SQLite file, or a new PostgreSQL database when `CRM_TEST_DATABASE_URL` is
//! set) and gives tests an HTTP client pointed at it.

use std::net::TcpListener;
use std::sync::Once;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use crm_api::{ApiSettings, AppState};
use crm_app::Ctx;
use crm_app::auth::AuthSettings;
use crm_app::webhooks::WebhookSettings;
use crm_domain::access::Role;
use crm_server::ServeOptions;
use crm_store::Database;
use sea_orm::ConnectionTrait;

/// A fresh, migrated database that is removed when dropped.
pub struct TestDb {
    /// The connection pool.
    pub db: Database,
    /// The URL the pool was opened with.
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
    /// Another `TestDb` owns the database.
    Borrowed,
}

impl TestDb {
    /// Creates an empty database (no migrations applied).
    pub async fn empty() -> Self {
        init_logging();
        match std::env::var("CRM_TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => Self::postgres(admin_url).await,
            _ => Self::sqlite().await,
        }
    }

    /// Creates a database with every migration applied.
    pub async fn migrated() -> Self {
        let test_db = Self::empty().await;
        crm_store::migrate_up(&test_db.db)
            .await
            .expect("migrations apply");
        test_db
    }

    /// A second pool on the database of `other`, which keeps owning it.
    pub async fn attach(other: &TestDb) -> Self {
        let db = crm_store::connect(&other.url, 4)
            .await
            .expect("open the shared database");
        Self {
            db,
            url: other.url.clone(),
            cleanup: Cleanup::Borrowed,
        }
    }

    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("crm.db").display());
        let db = crm_store::connect(&url, 4).await.expect("open SQLite");
        Self {
            db,
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    async fn postgres(admin_url: String) -> Self {
        let name = format!("crm_test_{}", uuid::Uuid::now_v7().simple());
        let admin = crm_store::connect(&admin_url, 1)
            .await
            .expect("connect to CRM_TEST_DATABASE_URL");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        admin.close().await.ok();
        let url = replace_database(&admin_url, &name);
        let db = crm_store::connect(&url, 4)
            .await
            .expect("open test database");
        Self {
            db,
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        }
    }
}

/// Points a PostgreSQL URL at another database, keeping credentials and parameters.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime; do the async cleanup on a thread of its own.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(admin) = crm_store::connect(&admin_url, 1).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// The application running on a loopback port.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// A client with no default headers, cookies or redirects.
    pub client: reqwest::Client,
    /// The application's database.
    pub test_db: TestDb,
    /// Where the application stores attachment bytes.
    pub files_dir: tempfile::TempDir,
    /// The use cases' context the server runs with.
    pub ctx: Ctx,
    handle: ServerHandle,
    worker: Option<crm_server::worker::WorkerHandle>,
}

impl TestApp {
    /// Starts the app over a fresh, migrated database.
    pub async fn spawn() -> Self {
        Self::spawn_with(ApiSettings::default()).await
    }

    /// Starts the app with the given HTTP settings.
    pub async fn spawn_with(settings: ApiSettings) -> Self {
        Self::spawn_on(TestDb::migrated().await, settings, test_webhook_settings()).await
    }

    /// Starts the app delivering webhooks with `webhooks`.
    pub async fn spawn_with_webhooks(webhooks: WebhookSettings) -> Self {
        Self::spawn_on(TestDb::migrated().await, ApiSettings::default(), webhooks).await
    }

    /// Starts a second copy of the server, with its own pool and worker, on this app's
    /// database: two copies behind one load balancer.
    pub async fn spawn_twin(&self) -> Self {
        let webhooks = self.ctx.webhooks.settings.clone();
        Self::spawn_on(
            TestDb::attach(&self.test_db).await,
            ApiSettings::default(),
            webhooks,
        )
        .await
    }

    async fn spawn_on(test_db: TestDb, settings: ApiSettings, webhooks: WebhookSettings) -> Self {
        let files_dir = tempfile::tempdir().expect("temporary directory");
        let files = std::sync::Arc::new(
            object_store::local::LocalFileSystem::new_with_prefix(files_dir.path())
                .expect("file store"),
        );
        let ctx = Ctx::new(test_db.db.clone(), files, &auth_settings())
            .expect("context")
            .with_webhooks(webhooks);
        let state = AppState::new(ctx.clone(), settings);
        let worker = Some(crm_server::jobs::start_with(&ctx, test_worker_options()));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let options = ServeOptions {
            workers: Some(2),
            shutdown_timeout: Duration::from_secs(1),
            handle_signals: false,
        };
        let server = crm_server::serve(listener, state, &options).expect("start server");
        let handle = server.handle();
        tokio::spawn(server);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        Self {
            base: format!("http://127.0.0.1:{port}"),
            client,
            test_db,
            files_dir,
            ctx,
            handle,
            worker,
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// A request with any method.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// Stops the server, letting in-flight requests finish, and its worker.
    pub async fn stop(&mut self) {
        self.handle.stop(true).await;
        if let Some(worker) = self.worker.take() {
            worker.shutdown().await;
        }
    }
}

/// The test server's worker: looks for due jobs every 50 ms, sweeps for late work orders
/// and generates reminders every second, so that tests wait little.
pub fn test_worker_options() -> crm_server::jobs::JobSettings {
    crm_server::jobs::JobSettings {
        poll: Duration::from_millis(50),
        concurrency: 2,
        retier_at: chrono::NaiveTime::MIN,
        sla_sweep: Duration::from_secs(1),
        reminders: Duration::from_secs(1),
        renewal_notice_days: 90,
    }
}

/// Webhooks in tests: loopback receivers allowed, a run every 100 ms, quick retries.
pub fn test_webhook_settings() -> WebhookSettings {
    WebhookSettings {
        allow_private: true,
        interval: Duration::from_millis(100),
        timeout: Duration::from_secs(2),
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        max_attempts: 3,
        disable_after: 5,
        concurrency: 4,
    }
}

/// The signing secret the test server uses, so tests can forge tokens.
pub const JWT_SECRET: &[u8] = b"test-secret-that-is-long-enough-for-hs256";
/// The password every test account has.
pub const PASSWORD: &str = "Test-password-42";

/// Authentication settings of the test server: a known secret, one-second login locks.
pub fn auth_settings() -> AuthSettings {
    AuthSettings {
        jwt_secret: JWT_SECRET.to_vec(),
        access_ttl: Duration::from_secs(900),
        refresh_ttl: Duration::from_secs(3600),
        lock_base_secs: 1,
        hash_concurrency: 2,
    }
}

fn password_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| crm_domain::password::hash(PASSWORD).expect("hash"))
}

/// A signed-in test account.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// Account id.
    pub id: uuid::Uuid,
    /// Username.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Access token.
    pub token: String,
    /// Refresh token.
    pub refresh: String,
}

impl TestApp {
    /// Creates an account with `role` (password [`PASSWORD`]) directly in the database.
    pub async fn create_account(&self, role: Role) -> (uuid::Uuid, String) {
        let username = format!(
            "{}{}",
            role.as_str(),
            &uuid::Uuid::now_v7().simple().to_string()[20..]
        );
        let user = crm_store::users::insert(
            &self.test_db.db,
            crm_store::users::NewUser {
                username: username.clone(),
                display_name: format!("Test {}", role.as_str()),
                email: None,
                role: role.as_str().to_owned(),
                region: None,
                team: None,
                password_hash: password_hash().to_owned(),
            },
        )
        .await
        .expect("insert user");
        (user.id, username)
    }

    /// Creates an account with `role` and signs it in over HTTP.
    pub async fn user(&self, role: Role) -> TestUser {
        let (id, username) = self.create_account(role).await;
        let body = self.login(&username, PASSWORD).await;
        TestUser {
            id,
            username,
            role,
            token: body["access_token"].as_str().expect("token").to_owned(),
            refresh: body["refresh_token"].as_str().expect("refresh").to_owned(),
        }
    }

    /// Signs in; asserts 200.
    pub async fn login(&self, username: &str, password: &str) -> serde_json::Value {
        let response = self
            .request(reqwest::Method::POST, "/api/v1/auth/login")
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login sent");
        json(response, 200).await
    }

    /// Creates a customer as the holder of `token` from `body` (see [`customer_body`]); asserts 201.
    pub async fn create_customer(
        &self,
        token: &str,
        body: &serde_json::Value,
    ) -> serde_json::Value {
        let response = self
            .as_user(reqwest::Method::POST, "/api/v1/customers", token)
            .json(body)
            .send()
            .await
            .expect("request sent");
        json(response, 201).await
    }

    /// Creates a customer of `owner` and has `manager` pin it to `tier`; returns its id.
    pub async fn pinned_customer(
        &self,
        owner: &TestUser,
        manager: &TestUser,
        tier: &str,
    ) -> String {
        let created = self
            .create_customer(&owner.token, &customer_body("深圳华瑞智能装备有限公司"))
            .await;
        let id = created["id"].as_str().expect("id").to_owned();
        let response = self
            .as_user(
                reqwest::Method::PATCH,
                &format!("/api/v1/customers/{id}"),
                &manager.token,
            )
            .header("If-Match", format!("\"{}\"", created["version"]))
            .json(&serde_json::json!({"tier": tier, "tier_reason": "集团战略合作伙伴"}))
            .send()
            .await
            .expect("request sent");
        json(response, 200).await;
        id
    }

    /// Moves work order `id`'s due times an hour into the past, as if it were opened long
    /// ago, straight in the database.
    pub async fn make_late(&self, id: &str) {
        use crm_store::work_orders::{Column, Entity};
        use sea_orm::sea_query::Expr;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let past = chrono::Utc::now() - chrono::Duration::hours(1);
        Entity::update_many()
            .col_expr(Column::ResponseDueAt, Expr::value(past))
            .col_expr(Column::ResolutionDueAt, Expr::value(past))
            .filter(Column::Id.eq(uuid::Uuid::parse_str(id).expect("a work order id")))
            .exec(&self.test_db.db)
            .await
            .expect("due times moved");
    }

    /// A request with a bearer token.
    pub fn as_user(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.request(method, path).bearer_auth(token)
    }
}

/// Reads a response as JSON, asserting its status first.
pub async fn json(response: reqwest::Response, status: u16) -> serde_json::Value {
    let actual = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

/// Asserts that `response` is a problem document with `status` and `code`, and returns it.
pub async fn problem(response: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = json(response, status).await;
    assert_eq!(content_type, "application/problem+json", "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert!(!request_id.is_empty(), "X-Request-Id header missing");
    assert_eq!(body["request_id"], request_id.as_str(), "{body}");
    assert!(body["title"].is_string() && body["detail"].is_string() && body["type"].is_string());
    body
}

fn init_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let filter = if filter.is_empty() || filter == "1" {
                "debug".to_owned()
            } else {
                filter
            };
            let _ = crm_server::telemetry::init(&filter, crm_server::config::LogFormat::Pretty);
        }
    });
}

/// A valid, random unified social credit code registered in Guangdong (`44`).
pub fn random_uscc() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let seed = uuid::Uuid::new_v4();
    let tail: String = seed.as_bytes()[..9]
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % 31] as char)
        .collect();
    crm_domain::customer::Uscc::with_check(&format!("914403{}", &format!("{tail}00000000")[..11]))
        .expect("17 symbols")
        .to_string()
}

/// A valid new-customer body with one primary contact and the given name.
pub fn customer_body(name: &str) -> serde_json::Value {
    let mobile = format!("139{:08}", uuid::Uuid::new_v4().as_u128() % 100_000_000);
    serde_json::json!({
        "name": name,
        "uscc": random_uscc(),
        "industry_code": "C35",
        "customer_type": "potential",
        "contacts": [{"name": "张伟", "title": "采购经理", "mobile": mobile, "is_primary": true}]
    })
}
