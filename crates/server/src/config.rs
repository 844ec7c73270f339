//! Typed configuration: built-in defaults, then an optional `crm.toml`, then `CRM_*`
//! environment variables. A bad value stops the start with a message naming the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, coloured when writing to a terminal.
    #[default]
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// A list given either as a TOML array or as a comma-separated string (`CRM_CORS_ORIGINS=a,b`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StringList {
    /// `["a", "b"]`
    List(Vec<String>),
    /// `"a,b"`
    Csv(String),
}

impl Default for StringList {
    fn default() -> Self {
        Self::List(Vec::new())
    }
}

impl StringList {
    /// The items, trimmed, empty ones dropped.
    pub fn items(&self) -> Vec<String> {
        let raw: Vec<&str> = match self {
            Self::List(v) => v.iter().map(String::as_str).collect(),
            Self::Csv(s) => s.split(',').collect(),
        };
        raw.into_iter()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// Every setting of the server. Field names are the `crm.toml` keys; the environment
/// variable is the name upper-cased with a `CRM_` prefix.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Address to listen on (`CRM_BIND`).
    pub bind: SocketAddr,
    /// Database URL (`CRM_DATABASE_URL`); unset means SQLite at `<data_dir>/crm.db`.
    pub database_url: Option<String>,
    /// Directory for the embedded database and local files (`CRM_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Secret for signing access tokens (`CRM_JWT_SECRET`); unset means one generated once and
    /// kept in the data directory.
    #[serde(skip_serializing)]
    pub jwt_secret: Option<SecretString>,
    /// Log filter in `tracing` syntax, e.g. `info` or `crm=debug,sqlx=warn` (`CRM_LOG`).
    pub log: String,
    /// `pretty` or `json` (`CRM_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// Browser origins allowed by CORS, comma-separated; `*` for any (`CRM_CORS_ORIGINS`).
    pub cors_origins: StringList,
    /// Size of the database connection pool (`CRM_DB_MAX_CONNECTIONS`).
    pub db_max_connections: u32,
    /// MiB of a SQLite database file that each connection reads through memory mapping, the
    /// operating system's file cache, instead of copying pages into its own cache; 0 for
    /// none (`CRM_SQLITE_MMAP_MIB`). Up to the file's size is worth it where memory holds
    /// the file; PostgreSQL ignores it.
    pub sqlite_mmap_mib: u64,
    /// HTTP worker threads; unset means one per core (`CRM_WORKERS`).
    pub workers: Option<usize>,
    /// Seconds that in-flight requests get to finish on shutdown (`CRM_SHUTDOWN_TIMEOUT`).
    pub shutdown_timeout: u64,
    /// Lifetime of access tokens in seconds (`CRM_ACCESS_TOKEN_TTL`).
    pub access_token_ttl: u64,
    /// Lifetime of refresh tokens in seconds (`CRM_REFRESH_TOKEN_TTL`).
    pub refresh_token_ttl: u64,
    /// First lock, in seconds, after five failed logins in a row for one username; doubles
    /// with each further failure up to 15 minutes (`CRM_LOGIN_LOCK_SECONDS`).
    pub login_lock_seconds: i64,
    /// Where attachments are stored (`CRM_STORAGE_URL`): unset for `<data_dir>/attachments`,
    /// `file:///path` for another directory, or `s3://bucket/prefix` for an S3-compatible
    /// store configured by the usual `AWS_*` variables (`AWS_ENDPOINT` for non-AWS stores).
    pub storage_url: Option<String>,
    /// Password of the `admin` account created on first start (`CRM_ADMIN_PASSWORD`); when
    /// unset, one is generated and printed once.
    #[serde(skip_serializing)]
    pub admin_password: Option<SecretString>,
    /// Whether `crm serve` also runs the background worker (`CRM_RUN_WORKER`); turn it off
    /// when dedicated `crm worker` processes do the background work.
    pub run_worker: bool,
    /// Milliseconds between the worker's looks for due jobs (`CRM_JOB_POLL_MS`).
    pub job_poll_ms: u64,
    /// Background jobs one process runs at once (`CRM_JOB_CONCURRENCY`).
    pub job_concurrency: usize,
    /// UTC time of day of the nightly re-tiering, `HH:MM` (`CRM_RETIER_AT`).
    pub retier_at: String,
    /// Seconds between sweeps for late work orders (`CRM_SLA_SWEEP_SECONDS`).
    pub sla_sweep_seconds: u64,
    /// `Strict-Transport-Security` max-age in seconds, 0 for none (`CRM_HSTS_MAX_AGE`); set
    /// it when the API is served over TLS.
    pub hsts_max_age: u64,
    /// Seconds between runs of the reminder generator (`CRM_REMINDER_INTERVAL_SECONDS`).
    pub reminder_interval_seconds: u64,
    /// Days before a contract ends that renewal talks are reminded of
    /// (`CRM_RENEWAL_NOTICE_DAYS`).
    pub renewal_notice_days: i64,
    /// Milliseconds between runs of the webhook delivery job (`CRM_WEBHOOK_INTERVAL_MS`).
    pub webhook_interval_ms: u64,
    /// Seconds a webhook receiver has to answer, connecting included
    /// (`CRM_WEBHOOK_TIMEOUT_SECONDS`).
    pub webhook_timeout_seconds: u64,
    /// Seconds before the first retry of a failed delivery; doubled for each further one
    /// (`CRM_WEBHOOK_BACKOFF_SECONDS`).
    pub webhook_backoff_seconds: u64,
    /// Longest wait between two attempts, in seconds (`CRM_WEBHOOK_BACKOFF_MAX_SECONDS`).
    pub webhook_backoff_max_seconds: u64,
    /// Attempts per delivery before it is given up (`CRM_WEBHOOK_MAX_ATTEMPTS`).
    pub webhook_max_attempts: u32,
    /// Failed attempts in a row after which a subscription is turned off
    /// (`CRM_WEBHOOK_DISABLE_AFTER`).
    pub webhook_disable_after: u32,
    /// Deliveries one server copy sends at once (`CRM_WEBHOOK_CONCURRENCY`).
    pub webhook_concurrency: usize,
    /// Whether webhook targets may be loopback, private or link-local addresses
    /// (`CRM_WEBHOOK_ALLOW_PRIVATE`); off by default so that no one can make the server call
    /// into its own network.
    pub webhook_allow_private: bool,
    /// Path of the Prometheus metrics, outside `/api`; empty turns them off
    /// (`CRM_METRICS_PATH`).
    pub metrics_path: String,
    /// Bearer token a scraper must send for the metrics; unset means none is asked for
    /// (`CRM_METRICS_TOKEN`).
    #[serde(skip_serializing)]
    pub metrics_token: Option<SecretString>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            data_dir: PathBuf::from("data"),
            jwt_secret: None,
            log: "info".to_owned(),
            log_format: LogFormat::Pretty,
            cors_origins: StringList::default(),
            db_max_connections: 10,
            sqlite_mmap_mib: crm_store::DEFAULT_SQLITE_MMAP_SIZE >> 20,
            workers: None,
            shutdown_timeout: 30,
            access_token_ttl: 15 * 60,
            refresh_token_ttl: 30 * 24 * 3600,
            login_lock_seconds: 30,
            admin_password: None,
            storage_url: None,
            run_worker: true,
            job_poll_ms: 1000,
            job_concurrency: 2,
            retier_at: "02:00".to_owned(),
            sla_sweep_seconds: 60,
            hsts_max_age: 0,
            reminder_interval_seconds: 300,
            renewal_notice_days: 90,
            webhook_interval_ms: 5000,
            webhook_timeout_seconds: 10,
            webhook_backoff_seconds: 30,
            webhook_backoff_max_seconds: 6 * 3600,
            webhook_max_attempts: 12,
            webhook_disable_after: 50,
            webhook_concurrency: 8,
            webhook_allow_private: false,
            metrics_path: "/metrics".to_owned(),
            metrics_token: None,
        }
    }
}

/// The largest map the bundled SQLite is built to allow (`SQLITE_MAX_MMAP_SIZE` in
/// `.cargo/config.toml`: 1 TiB), in MiB.
const MAX_SQLITE_MMAP_MIB: u64 = 1 << 20;

/// Keys read from the environment; others with the `CRM_` prefix (such as the test suite's
/// `CRM_TEST_DATABASE_URL`) are not configuration.
const ENV_KEYS: &[&str] = &[
    "bind",
    "database_url",
    "data_dir",
    "jwt_secret",
    "log",
    "log_format",
    "cors_origins",
    "db_max_connections",
    "sqlite_mmap_mib",
    "workers",
    "shutdown_timeout",
    "access_token_ttl",
    "refresh_token_ttl",
    "login_lock_seconds",
    "admin_password",
    "storage_url",
    "run_worker",
    "job_poll_ms",
    "job_concurrency",
    "retier_at",
    "sla_sweep_seconds",
    "hsts_max_age",
    "reminder_interval_seconds",
    "renewal_notice_days",
    "webhook_interval_ms",
    "webhook_timeout_seconds",
    "webhook_backoff_seconds",
    "webhook_backoff_max_seconds",
    "webhook_max_attempts",
    "webhook_disable_after",
    "webhook_concurrency",
    "webhook_allow_private",
    "metrics_path",
    "metrics_token",
];

impl Config {
    /// Loads defaults, then `file` (or `crm.toml` if present), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, String> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) if !path.exists() => {
                return Err(format!(
                    "configuration file {} does not exist",
                    path.display()
                ));
            }
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if Path::new("crm.toml").exists() => {
                figment = figment.merge(Toml::file_exact("crm.toml"));
            }
            None => {}
        }
        figment = figment.merge(Env::prefixed("CRM_").only(ENV_KEYS));
        let config: Config = figment.extract().map_err(describe)?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        if self.db_max_connections == 0 {
            return Err("invalid configuration: `db_max_connections` (CRM_DB_MAX_CONNECTIONS) must be at least 1".to_owned());
        }
        if self.sqlite_mmap_mib > MAX_SQLITE_MMAP_MIB {
            return Err(format!(
                "invalid configuration: `sqlite_mmap_mib` (CRM_SQLITE_MMAP_MIB) must be 0 to {MAX_SQLITE_MMAP_MIB}"
            ));
        }
        if self.workers == Some(0) {
            return Err(
                "invalid configuration: `workers` (CRM_WORKERS) must be at least 1".to_owned(),
            );
        }
        if !(60..=24 * 3600).contains(&self.access_token_ttl) {
            return Err("invalid configuration: `access_token_ttl` (CRM_ACCESS_TOKEN_TTL) must be 60 to 86400 seconds".to_owned());
        }
        if !(3600..=365 * 24 * 3600).contains(&self.refresh_token_ttl) {
            return Err("invalid configuration: `refresh_token_ttl` (CRM_REFRESH_TOKEN_TTL) must be 3600 to 31536000 seconds".to_owned());
        }
        if !(1..=900).contains(&self.login_lock_seconds) {
            return Err("invalid configuration: `login_lock_seconds` (CRM_LOGIN_LOCK_SECONDS) must be 1 to 900".to_owned());
        }
        if let Some(secret) = &self.jwt_secret
            && secret.expose_secret().len() < crm_app::auth::MIN_SECRET_LEN
        {
            return Err(format!(
                "invalid configuration: `jwt_secret` (CRM_JWT_SECRET) must be at least {} bytes long",
                crm_app::auth::MIN_SECRET_LEN
            ));
        }
        if let Some(url) = &self.storage_url
            && !(url.starts_with("file:///") || url.starts_with("s3://"))
        {
            return Err("invalid configuration: `storage_url` (CRM_STORAGE_URL) must start with file:/// or s3://".to_owned());
        }
        if let Some(url) = &self.database_url
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            return Err("invalid configuration: `database_url` (CRM_DATABASE_URL) must start with sqlite:, postgres:// or postgresql://".to_owned());
        }
        if !(10..=3_600_000).contains(&self.job_poll_ms) {
            return Err("invalid configuration: `job_poll_ms` (CRM_JOB_POLL_MS) must be 10 to 3600000 milliseconds".to_owned());
        }
        if !(1..=64).contains(&self.job_concurrency) {
            return Err(
                "invalid configuration: `job_concurrency` (CRM_JOB_CONCURRENCY) must be 1 to 64"
                    .to_owned(),
            );
        }
        if !(1..=86_400).contains(&self.sla_sweep_seconds) {
            return Err("invalid configuration: `sla_sweep_seconds` (CRM_SLA_SWEEP_SECONDS) must be 1 to 86400 seconds".to_owned());
        }
        if self.hsts_max_age > 63_072_000 {
            return Err("invalid configuration: `hsts_max_age` (CRM_HSTS_MAX_AGE) must be 0 to 63072000 seconds (two years)".to_owned());
        }
        if !(1..=86_400).contains(&self.reminder_interval_seconds) {
            return Err("invalid configuration: `reminder_interval_seconds` (CRM_REMINDER_INTERVAL_SECONDS) must be 1 to 86400 seconds".to_owned());
        }
        if !(1..=3660).contains(&self.renewal_notice_days) {
            return Err("invalid configuration: `renewal_notice_days` (CRM_RENEWAL_NOTICE_DAYS) must be 1 to 3660 days".to_owned());
        }
        if !(100..=3_600_000).contains(&self.webhook_interval_ms) {
            return Err("invalid configuration: `webhook_interval_ms` (CRM_WEBHOOK_INTERVAL_MS) must be 100 to 3600000 milliseconds".to_owned());
        }
        if !(1..=120).contains(&self.webhook_timeout_seconds) {
            return Err("invalid configuration: `webhook_timeout_seconds` (CRM_WEBHOOK_TIMEOUT_SECONDS) must be 1 to 120 seconds".to_owned());
        }
        if !(1..=86_400).contains(&self.webhook_backoff_seconds)
            || !(self.webhook_backoff_seconds..=7 * 86_400)
                .contains(&self.webhook_backoff_max_seconds)
        {
            return Err("invalid configuration: `webhook_backoff_seconds` (CRM_WEBHOOK_BACKOFF_SECONDS) must be 1 to 86400 seconds and `webhook_backoff_max_seconds` (CRM_WEBHOOK_BACKOFF_MAX_SECONDS) at least that, at most 604800".to_owned());
        }
        if !(1..=100).contains(&self.webhook_max_attempts) {
            return Err("invalid configuration: `webhook_max_attempts` (CRM_WEBHOOK_MAX_ATTEMPTS) must be 1 to 100".to_owned());
        }
        if !(1..=100_000).contains(&self.webhook_disable_after) {
            return Err("invalid configuration: `webhook_disable_after` (CRM_WEBHOOK_DISABLE_AFTER) must be 1 to 100000".to_owned());
        }
        if !(1..=64).contains(&self.webhook_concurrency) {
            return Err("invalid configuration: `webhook_concurrency` (CRM_WEBHOOK_CONCURRENCY) must be 1 to 64".to_owned());
        }
        if !self.metrics_path.is_empty()
            && (!self.metrics_path.starts_with('/')
                || self.metrics_path == "/"
                || self.metrics_path.starts_with("/api")
                || self.metrics_path.starts_with("/docs")
                || self.metrics_path.starts_with("/healthz")
                || self.metrics_path.starts_with("/readyz")
                || !self.metrics_path[1..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.')))
        {
            return Err("invalid configuration: `metrics_path` (CRM_METRICS_PATH) must be empty (off) or a path such as /metrics, outside /api, /docs, /healthz and /readyz".to_owned());
        }
        if self.retier_time().is_none() {
            return Err("invalid configuration: `retier_at` (CRM_RETIER_AT) must be a UTC time of day HH:MM such as 02:00".to_owned());
        }
        for origin in self.cors_origins.items() {
            if origin != "*" && !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return Err(format!(
                    "invalid configuration: `cors_origins` (CRM_CORS_ORIGINS) entry {origin:?} must be `*` or an origin such as https://app.example.com"
                ));
            }
        }
        Ok(())
    }

    /// The time of day of the nightly re-tiering.
    pub fn retier_time(&self) -> Option<chrono::NaiveTime> {
        chrono::NaiveTime::parse_from_str(self.retier_at.trim(), "%H:%M").ok()
    }

    /// How webhooks are delivered.
    pub fn webhook_settings(&self) -> crm_app::webhooks::WebhookSettings {
        use std::time::Duration;
        crm_app::webhooks::WebhookSettings {
            allow_private: self.webhook_allow_private,
            interval: Duration::from_millis(self.webhook_interval_ms),
            timeout: Duration::from_secs(self.webhook_timeout_seconds),
            backoff_base: Duration::from_secs(self.webhook_backoff_seconds),
            backoff_max: Duration::from_secs(self.webhook_backoff_max_seconds),
            max_attempts: self.webhook_max_attempts,
            disable_after: self.webhook_disable_after,
            concurrency: self.webhook_concurrency,
        }
    }

    /// The database URL in effect: the configured one, or SQLite in the data directory.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("crm.db").display()
            ),
        }
    }
}

/// Formats figment's error so that each problem names its key and where the value came from.
fn describe(err: figment::Error) -> String {
    let lines: Vec<String> = err
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let source = e
                .metadata
                .as_ref()
                .map(|m| match &e.path.last() {
                    Some(k) if m.name.contains("environment") => {
                        format!(" (from CRM_{})", k.to_uppercase())
                    }
                    _ => format!(" (from {})", m.name),
                })
                .unwrap_or_default();
            if key.is_empty() {
                format!("invalid configuration: {}{source}", e.kind)
            } else {
                format!("invalid configuration for `{key}`{source}: {}", e.kind)
            }
        })
        .collect();
    lines.join("\n")
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail API returns its own large error
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_configuration() {
        figment::Jail::expect_with(|_jail| {
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
            assert_eq!(
                config.effective_database_url(),
                "sqlite://data/crm.db?mode=rwc"
            );
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("crm.toml", "bind = \"0.0.0.0:9000\"\nlog_format = \"json\"\ncors_origins = [\"https://a.example\"]")?;
            jail.set_env("CRM_BIND", "127.0.0.1:9001");
            jail.set_env("CRM_TEST_DATABASE_URL", "postgres://ignored");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.bind.to_string(), "127.0.0.1:9001");
            assert_eq!(config.log_format, LogFormat::Json);
            assert_eq!(
                config.cors_origins.items(),
                vec!["https://a.example".to_owned()]
            );
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_their_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CRM_BIND", "not-an-address");
            let err = Config::load(None).err().unwrap_or_default();
            assert!(err.contains("`bind`") && err.contains("CRM_BIND"), "{err}");
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.set_env("CRM_LOG_FORMAT", "xml");
            let err = Config::load(None).err().unwrap_or_default();
            assert!(err.contains("log_format"), "{err}");
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.set_env("CRM_CORS_ORIGINS", "https://a.example, ftp://b");
            let err = Config::load(None).err().unwrap_or_default();
            assert!(err.contains("CRM_CORS_ORIGINS"), "{err}");
            Ok(())
        });
        for concurrency in ["0", "65", "many"] {
            figment::Jail::expect_with(|jail| {
                jail.set_env("CRM_WEBHOOK_CONCURRENCY", concurrency);
                let err = Config::load(None).err().unwrap_or_default();
                assert!(err.contains("webhook_concurrency"), "{concurrency}: {err}");
                Ok(())
            });
        }
        for mib in ["1048577", "-1", "lots"] {
            figment::Jail::expect_with(|jail| {
                jail.set_env("CRM_SQLITE_MMAP_MIB", mib);
                let err = Config::load(None).err().unwrap_or_default();
                assert!(err.contains("sqlite_mmap_mib"), "{mib}: {err}");
                Ok(())
            });
        }
    }
}
