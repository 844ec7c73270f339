//! The accounts behind signed-in people, as every request's authentication reads them, kept
//! in a short-lived cache that never outlives a change: an entry goes the moment this copy
//! changes the account, and the moment the database says it changed anywhere (a trigger
//! notifies on PostgreSQL; the account-change counter is polled on SQLite). While this copy
//! cannot hear the database, nothing is cached and every request reads the account; "hearing"
//! is proved continuously (a heartbeat sent through the channel on PostgreSQL, each poll on
//! SQLite), so a listening connection that died without a word turns the cache off within
//! seconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crm_domain::access::Role;
use crm_store::accounts::{self, AccountChange, ChangeListener};
use crm_store::{Database, DbBackend};
use uuid::Uuid;

use crate::error::AppError;

/// How long an entry serves at most, changes or not.
const TTL: Duration = Duration::from_secs(60);
/// How many accounts are cached at most; past it the cache starts again empty.
const CAPACITY: usize = 10_000;
/// How often SQLite's account-change counter is read.
const SQLITE_POLL: Duration = Duration::from_millis(100);
/// How long SQLite's counter may go unread before the cache is off.
const SQLITE_SILENCE: Duration = Duration::from_secs(1);
/// How often a heartbeat goes through PostgreSQL's channel.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long PostgreSQL's channel may stay silent (no heartbeat, no change) before the cache is
/// off and the copy listens again on a new connection.
const SILENCE: Duration = Duration::from_secs(3);
/// How long to wait before listening again after the database could not be heard.
const RETRY: Duration = Duration::from_secs(1);

/// What authentication needs to know about an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    /// The account's role now.
    pub role: Role,
    /// Whether it may act.
    pub active: bool,
    /// Tokens carrying another version are revoked.
    pub token_version: i32,
}

#[derive(Default)]
struct Inner {
    /// Whether changes are being heard; nothing is cached while they are not.
    live: bool,
    /// When the database was last heard from, and how long it may then stay silent.
    heard: Option<(Instant, Duration)>,
    /// Moves with every forgetting, so that a read that began before one is not cached.
    generation: u64,
    entries: HashMap<Uuid, (Account, Instant)>,
}

/// The account cache (one per server copy).
#[derive(Default)]
pub struct Accounts {
    inner: Mutex<Inner>,
}

impl Accounts {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The account with this id, from the cache when it may be trusted.
    pub async fn get(&self, db: &Database, id: Uuid) -> Result<Option<Account>, AppError> {
        let generation = {
            let inner = self.lock();
            if inner.trusted()
                && let Some((account, at)) = inner.entries.get(&id)
                && at.elapsed() < TTL
            {
                return Ok(Some(*account));
            }
            inner.generation
        };
        let Some(state) = accounts::state(db, id).await? else {
            return Ok(None);
        };
        let account = Account {
            role: Role::parse(&state.role)
                .ok_or_else(|| AppError::internal("stored role is unknown"))?,
            active: state.active,
            token_version: state.token_version,
        };
        let mut inner = self.lock();
        if inner.trusted() && inner.generation == generation {
            if inner.entries.len() >= CAPACITY {
                inner.entries.clear();
            }
            inner.entries.insert(id, (account, Instant::now()));
        }
        Ok(Some(account))
    }

    /// Drops what is cached about this account (after this copy changed it).
    pub fn forget(&self, id: Uuid) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.remove(&id);
    }

    /// Drops what is cached about this account when the returned guard goes: at the end of
    /// the use case that changes it, whether it returns or is cancelled after its commit.
    pub fn forget_later(&self, id: Uuid) -> ForgetOnDrop<'_> {
        ForgetOnDrop { accounts: self, id }
    }

    /// Drops everything cached.
    fn forget_all(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
    }

    /// Starts caching, the database having been heard (and to be heard again within
    /// `silence`), or stops.
    fn set_live(&self, live: Option<Duration>) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
        inner.live = live.is_some();
        inner.heard = live.map(|silence| (Instant::now(), silence));
    }

    /// The database was heard from just now.
    fn heard(&self) {
        let mut inner = self.lock();
        if let Some((at, _)) = &mut inner.heard {
            *at = Instant::now();
        }
    }

    /// Whether this account is cached now (and would be served from the cache).
    pub fn holds(&self, id: Uuid) -> bool {
        let inner = self.lock();
        inner.trusted() && inner.entries.contains_key(&id)
    }
}

impl Inner {
    /// Whether the cache may be used: changes are heard, and were heard lately.
    fn trusted(&self) -> bool {
        self.live
            && self
                .heard
                .is_some_and(|(at, silence)| at.elapsed() < silence)
    }
}

/// Forgets an account when dropped ([`Accounts::forget_later`]).
pub struct ForgetOnDrop<'a> {
    accounts: &'a Accounts,
    id: Uuid,
}

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        self.accounts.forget(self.id);
    }
}

/// Listens for account changes in the database for as long as the process runs, turning the
/// cache on while they are heard. A server copy spawns it once.
pub async fn watch(db: Database, accounts: Arc<Accounts>) {
    match db.get_database_backend() {
        DbBackend::Postgres => listen(db, accounts).await,
        _ => poll(db, accounts).await,
    }
}

async fn listen(db: Database, accounts: Arc<Accounts>) {
    // Heartbeats through the channel prove that the listening connection still hears it.
    let beat_db = db.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(HEARTBEAT).await;
            if let Err(e) = accounts::heartbeat(&beat_db).await {
                tracing::debug!(error = %e, "account changes: heartbeat not sent");
            }
        }
    });
    loop {
        match ChangeListener::connect(&db).await {
            Ok(mut listener) => {
                accounts.set_live(Some(SILENCE));
                loop {
                    // On silence the connection is dropped whole, so a read cut short by the
                    // timeout leaves nothing behind.
                    let Ok(next) = tokio::time::timeout(SILENCE, listener.next()).await else {
                        tracing::warn!("account changes: nothing heard, listening again");
                        break;
                    };
                    match next {
                        Ok(Some(AccountChange::Account(id))) => {
                            accounts.forget(id);
                            accounts.heard();
                        }
                        Ok(Some(AccountChange::Unknown)) => {
                            accounts.forget_all();
                            accounts.heard();
                        }
                        Ok(Some(AccountChange::Heartbeat)) => accounts.heard(),
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "account changes: listening failed");
                            break;
                        }
                    }
                }
                accounts.set_live(None);
            }
            Err(e) => tracing::warn!(error = %e, "account changes: cannot listen"),
        }
        tokio::time::sleep(RETRY).await;
    }
}

async fn poll(db: Database, accounts: Arc<Accounts>) {
    let mut seen = None;
    let mut ticks = tokio::time::interval(SQLITE_POLL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match accounts::change_seq(&db).await {
            Ok(seq) if seen == Some(seq) => accounts.heard(),
            Ok(seq) => {
                if seen.is_none() {
                    accounts.set_live(Some(SQLITE_SILENCE));
                } else {
                    accounts.forget_all();
                    accounts.heard();
                }
                seen = Some(seq);
            }
            Err(e) => {
                if seen.take().is_some() {
                    tracing::warn!(error = %e, "account changes: cannot read the counter");
                    accounts.set_live(None);
                }
            }
        }
    }
}
