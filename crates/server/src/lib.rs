//! The `crm` server: configuration, telemetry, and starting the HTTP server with graceful
//! shutdown. `main.rs` holds only the command line.

pub mod config;
pub mod demo;
pub mod identity;
pub mod jobs;
pub mod telemetry;
pub mod worker;

use std::net::TcpListener;
use std::time::Duration;

use actix_web::HttpServer;
use actix_web::dev::{Server, ServerHandle};
use crm_api::{ApiSettings, AppState, build_app};
use crm_app::Ctx;
use crm_store::Database;

pub use config::Config;
use secrecy::ExposeSecret;

/// Opens the configured database (creating the data directory for the embedded default)
/// and applies pending migrations.
pub async fn open_database(config: &Config) -> anyhow::Result<Database> {
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create data directory {}: {e}",
                config.data_dir.display()
            )
        })?;
    }
    let url = config.effective_database_url();
    let db = crm_store::connect_with(
        &url,
        config.db_max_connections,
        config.sqlite_mmap_mib << 20,
    )
    .await
    .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))?;
    Ok(db)
}

/// Opens and migrates the database, and assembles what the use cases need: the context the
/// server, the worker and every command share.
pub async fn context(config: &Config) -> anyhow::Result<Ctx> {
    let db = open_database(config).await?;
    crm_store::migrate_up(&db).await?;
    let auth = identity::auth_settings(config)?;
    let files = file_store(config)?;
    Ok(Ctx::new(db, files, &auth)
        .map_err(|e| anyhow::anyhow!(e))?
        .with_webhooks(config.webhook_settings()))
}

/// The store for attachment bytes: a directory under the data directory by default.
pub fn file_store(
    config: &Config,
) -> anyhow::Result<std::sync::Arc<dyn object_store::ObjectStore>> {
    use object_store::aws::AmazonS3Builder;
    use object_store::local::LocalFileSystem;
    let local =
        |dir: std::path::PathBuf| -> anyhow::Result<std::sync::Arc<dyn object_store::ObjectStore>> {
            std::fs::create_dir_all(&dir).map_err(|e| {
                anyhow::anyhow!("cannot create attachment directory {}: {e}", dir.display())
            })?;
            Ok(std::sync::Arc::new(LocalFileSystem::new_with_prefix(&dir)?))
        };
    match config.storage_url.as_deref() {
        None => local(config.data_dir.join("attachments")),
        Some(url) if url.starts_with("file://") => {
            local(std::path::PathBuf::from(&url["file://".len()..]))
        }
        Some(url) => Ok(std::sync::Arc::new(
            AmazonS3Builder::from_env()
                .with_url(url)
                .build()
                .map_err(|e| {
                    anyhow::anyhow!(
                        "invalid configuration for `storage_url` (CRM_STORAGE_URL): {e}"
                    )
                })?,
        )),
    }
}

/// How the HTTP server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Worker threads; `None` means one per core.
    pub workers: Option<usize>,
    /// Time in-flight requests get to finish on shutdown.
    pub shutdown_timeout: Duration,
    /// Whether SIGTERM and Ctrl-C stop the server (off in tests, which stop it themselves).
    pub handle_signals: bool,
}

/// Starts serving `state` on `listener`. The returned server runs until stopped; with
/// `handle_signals`, SIGTERM and Ctrl-C both stop it gracefully: it stops accepting, lets
/// in-flight requests finish within the shutdown timeout, then exits. It also starts
/// listening for account changes, which lets authentication cache the accounts it reads.
pub fn serve(
    listener: TcpListener,
    state: AppState,
    options: &ServeOptions,
) -> std::io::Result<Server> {
    tokio::spawn(crm_app::accounts::watch(
        state.ctx.db.clone(),
        state.ctx.accounts.clone(),
    ));
    let mut server = HttpServer::new(move || build_app(state.clone()))
        .disable_signals()
        .shutdown_timeout(options.shutdown_timeout.as_secs())
        .listen(listener)?;
    if let Some(workers) = options.workers {
        server = server.workers(workers);
    }
    let server = server.run();
    if options.handle_signals {
        tokio::spawn(stop_on_signal(server.handle()));
    }
    Ok(server)
}

async fn stop_on_signal(handle: ServerHandle) {
    wait_for_signal().await;
    handle.stop(true).await;
}

/// Waits for SIGTERM or Ctrl-C.
pub async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("interrupt received; finishing in-flight requests"),
        () = terminate => tracing::info!("SIGTERM received; finishing in-flight requests"),
    }
}

/// The API settings derived from the configuration.
pub fn api_settings(config: &Config) -> ApiSettings {
    ApiSettings {
        cors_origins: config.cors_origins.items(),
        hsts_max_age: config.hsts_max_age,
        metrics_path: (!config.metrics_path.is_empty()).then(|| config.metrics_path.clone()),
        metrics_token: config
            .metrics_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned()),
    }
}
