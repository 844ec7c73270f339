//! What every use case reaches besides its caller and input: the database, the file store
//! and the authentication machinery ([`Ctx`]), and the id of the request being served, which
//! audit entries and events carry.

use std::sync::Arc;

use crm_store::{Database, WriteQueue, WriteTx};

use crate::accounts::Accounts;
use crate::auth::{Auth, AuthSettings};
use crate::error::AppError;
use crate::webhooks::{WebhookSettings, Webhooks};

/// The application's shared handles. Cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    /// The connection pool.
    pub db: Database,
    /// Where attachment bytes are kept.
    pub files: Arc<dyn object_store::ObjectStore>,
    /// Token signing and password hashing.
    pub auth: Arc<Auth>,
    /// How webhooks are delivered.
    pub webhooks: Arc<Webhooks>,
    /// The accounts requests are authenticated against, cached while changes are heard
    /// ([`crate::accounts::watch`]).
    pub accounts: Arc<Accounts>,
    /// This process's writers' queue (SQLite).
    pub writes: WriteQueue,
}

impl Ctx {
    /// A context over `db`, storing files in `files`, with the given authentication settings.
    pub fn new(
        db: Database,
        files: Arc<dyn object_store::ObjectStore>,
        auth: &AuthSettings,
    ) -> Result<Self, String> {
        Ok(Self {
            writes: WriteQueue::for_database(&db),
            db,
            files,
            auth: Arc::new(Auth::new(auth)?),
            webhooks: Arc::new(Webhooks::default()),
            accounts: Arc::new(Accounts::default()),
        })
    }

    /// The same context delivering webhooks with `settings`.
    pub fn with_webhooks(self, settings: WebhookSettings) -> Self {
        Self {
            webhooks: Arc::new(Webhooks::new(settings)),
            ..self
        }
    }

    /// Whether the database answers: 503 when it does not.
    pub async fn ping(&self) -> Result<(), AppError> {
        self.db
            .ping()
            .await
            .map_err(|e| AppError::Unavailable(e.to_string()))
    }

    /// Begins a write transaction (on SQLite after the writers queued before it, taking the
    /// write lock at once).
    pub async fn begin(&self) -> Result<WriteTx, AppError> {
        Ok(crm_store::begin_queued(&self.db, &self.writes).await?)
    }
}

/// Commits a transaction.
pub async fn commit(tx: WriteTx) -> Result<(), AppError> {
    tx.commit().await.map_err(crm_store::StoreError::from)?;
    Ok(())
}

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `fut` with `id` as the current request id (the HTTP layer does this per request).
pub async fn with_request_id<F: Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// Runs `f` with `id` as the current request id, synchronously.
pub fn sync_with_request_id<R>(id: String, f: impl FnOnce() -> R) -> R {
    REQUEST_ID.sync_scope(id, f)
}

/// The id of the request being served, if any.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}
