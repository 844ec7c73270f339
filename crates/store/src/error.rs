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
        match &err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(RuntimeErr::SqlxError(_)) => {
                Self::Unavailable(err)
            }
            _ => Self::Database(err),
        }
    }
}
