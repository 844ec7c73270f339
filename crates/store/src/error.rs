//! The store's error type: what went wrong below the API, classified so that the API can
//! answer with the right status without looking at driver messages.

use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// An error from the persistence layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated (→ 409 conflict).
    #[error("unique constraint violated: {0}")]
    UniqueViolation(String),
    /// A foreign key pointed at a missing row (→ 409 or 422, depending on the caller).
    #[error("foreign key violated: {0}")]
    ForeignKeyViolation(String),
    /// The database could not be reached or the pool is exhausted (→ 503).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] DbErr),
    /// Anything else: a bug or an unexpected database state (→ 500).
    #[error("database error: {0}")]
    Database(#[source] DbErr),
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(msg)) => return Self::UniqueViolation(msg),
            Some(SqlErr::ForeignKeyConstraintViolation(msg)) => {
                return Self::ForeignKeyViolation(msg);
            }
            _ => {}
        }
        if unavailable(&err) {
            Self::Unavailable(err)
        } else {
            Self::Database(err)
        }
    }
}

/// Whether `err` says the database cannot be reached now — no connection from the pool, a
/// connection refused, broken or closed under a query, the server shutting down or not yet
/// accepting, SQLite's file busy, locked or unreadable — rather than that the statement is
/// wrong.
/// These answer 503 with `Retry-After`: the request may simply be sent again. So do a
/// PostgreSQL deadlock or serialization failure, which roll the transaction back whole:
/// sent again, it succeeds.
fn unavailable(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as E;
    let sqlx = match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Query(RuntimeErr::SqlxError(e)) | DbErr::Exec(RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    match sqlx.as_ref() {
        E::Io(_)
        | E::Tls(_)
        | E::PoolTimedOut
        | E::PoolClosed
        | E::WorkerCrashed
        | E::Protocol(_) => true,
        E::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db
                .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
                .is_some()
            {
                // Busy (5), locked (6), I/O error (10), cannot open (14), and their extended
                // codes (the low byte).
                code.parse::<i64>()
                    .is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 10 | 14))
            } else {
                // Connection exceptions (08…), admin or crash shutdown and cannot connect
                // now (57P01–03), too many connections (53300), serialization failure
                // (40001) and deadlock (40P01).
                code.starts_with("08")
                    || ["57P01", "57P02", "57P03", "53300", "40001", "40P01"].contains(&&*code)
            }
        }
        _ => false,
    }
}
