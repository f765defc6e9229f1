//! What the store can answer instead of a result. The register's own refusals carry the stable
//! machine code and the Chinese message the API shows; infrastructure failures keep their cause
//! for the log. Which HTTP status each one is lives in `crate::error`, the one place that
//! speaks HTTP.

use zizhi_shared::{DomainError, PayloadError};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The register holds no such enterprise, certificate, qualification or copy.
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    /// The register already holds it, or its state does not allow the change (a second
    /// enterprise with the same credit code, reinstating what is not suspended).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The input breaks one of the register's rules (a grade in the wrong direction, a
    /// validity that ends before it starts, a malformed field).
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// Well-formed, but what is asked for cannot be made from the register as it stands (a
    /// copy of a certificate with nothing left in force, or past its validity).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    /// The database could not be reached: pool exhausted or closed, connection refused, I/O.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A stored value that the code cannot read back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error(transparent)]
    Db(sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL (expected sqlite: or postgres:)")]
    UnsupportedUrl,
}

impl StoreError {
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        StoreError::NotFound {
            code,
            message: message.into(),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        StoreError::Conflict {
            code,
            message: message.into(),
        }
    }
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        StoreError::Invalid {
            code,
            message: message.into(),
        }
    }
    pub fn refused(code: &'static str, message: impl Into<String>) -> Self {
        StoreError::Refused {
            code,
            message: message.into(),
        }
    }

    /// Stable machine code: the register's own for its refusals, a generic one per kind of
    /// infrastructure failure (the API shows those as `internal_error`).
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotFound { code, .. }
            | StoreError::Conflict { code, .. }
            | StoreError::Invalid { code, .. }
            | StoreError::Refused { code, .. } => code,
            StoreError::Unavailable(_) => "store_unavailable",
            StoreError::Corrupt(_) => "store_corrupt",
            StoreError::Db(_) => "store_error",
            StoreError::Migrate(_) => "store_migration_failed",
            StoreError::UnsupportedUrl => "unsupported_database_url",
        }
    }

    /// Whether the register itself refused (as opposed to failing to answer).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            StoreError::NotFound { .. }
                | StoreError::Conflict { .. }
                | StoreError::Invalid { .. }
                | StoreError::Refused { .. }
        )
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e),
            sqlx::Error::Database(ref d) => match d.code().as_deref() {
                // Connection exceptions, the server shutting down or starting up, too many
                // connections: the database cannot answer now, whatever was asked.
                Some(c) if c.starts_with("08") || c.starts_with("57P") || c == "53300" => {
                    StoreError::Unavailable(e)
                }
                // Serialization failure, deadlock: another change to the same rows won.
                Some("40001" | "40P01") => StoreError::conflict(
                    "concurrent_change",
                    "同一证书正被另一操作修改，请刷新后重试",
                ),
                _ => StoreError::Db(e),
            },
            e => StoreError::Db(e),
        }
    }
}

/// A field the register refuses, with the shared crate's code and message.
impl From<DomainError> for StoreError {
    fn from(e: DomainError) -> Self {
        StoreError::invalid(e.code(), e.to_string())
    }
}

/// A payload the register would sign but that breaks the payload rules.
impl From<PayloadError> for StoreError {
    fn from(e: PayloadError) -> Self {
        StoreError::invalid(e.code(), e.to_string())
    }
}

pub(crate) trait UniqueViolation<T> {
    /// Turns a unique-constraint violation into the register's own answer (usually a
    /// conflict); any other error stays a database error.
    fn on_unique_violation(self, answer: impl FnOnce() -> StoreError) -> Result<T, StoreError>;
}

impl<T> UniqueViolation<T> for Result<T, sqlx::Error> {
    fn on_unique_violation(self, answer: impl FnOnce() -> StoreError) -> Result<T, StoreError> {
        self.map_err(|e| {
            let unique = e
                .as_database_error()
                .is_some_and(|d| d.kind() == sqlx::error::ErrorKind::UniqueViolation);
            if unique { answer() } else { e.into() }
        })
    }
}

/// A value that cannot be encoded for storage (serialising a record), as sqlx reports its own.
pub(crate) fn encode_error(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Db(sqlx::Error::Encode(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_databases_are_unavailable_not_generic_errors() {
        for e in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        ] {
            let e = StoreError::from(e);
            assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
            assert_eq!(e.code(), "store_unavailable");
            assert!(!e.is_refusal());
        }
        let e = StoreError::from(sqlx::Error::RowNotFound);
        assert!(matches!(e, StoreError::Db(_)), "{e:?}");
    }

    #[test]
    fn domain_errors_keep_their_code_and_message() {
        let e = StoreError::from(DomainError::NegativeCapital);
        assert_eq!(e.code(), "negative_capital");
        assert_eq!(e.to_string(), "注册资本不能为负数");
        assert!(e.is_refusal());
    }

    #[tokio::test]
    async fn a_unique_violation_becomes_the_registers_answer_and_rolls_back() {
        use chrono::Utc;
        use zizhi_shared::Enterprise;

        use crate::store::Store;

        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}/z.db", dir.path().display()))
            .await
            .unwrap();
        let e = Enterprise {
            name: "上海浦江建设有限公司".into(),
            credit_code: "91310115MA1H7Q2B3H".parse().unwrap(),
            address: "上海市浦东新区".into(),
            legal_representative: "张三".into(),
            registered_capital_wan: "5000".into(),
            economic_nature: "有限责任公司".into(),
        };
        store
            .create_enterprise("test", &e, Utc::now())
            .await
            .unwrap();
        let err = store
            .create_enterprise("test", &e, Utc::now())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        assert_eq!(err.code(), "enterprise_exists");
        assert_eq!(store.events(0, 10).await.unwrap().len(), 1);
        store.close().await;
    }
}
