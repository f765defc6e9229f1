//! The register's storage: one set of queries (sqlx `Any`) over SQLite, the embedded default,
//! or PostgreSQL when `DATABASE_URL` names one. All SQL lives here, one file per entity, each
//! an `impl Store` block; feature modules call these methods and never see a row. Every write
//! runs in one transaction with its event-log entry. Errors are [`StoreError`], mapped to HTTP
//! once, in `crate::error`.
//!
//! This file owns connecting, migrating, transactions and the text forms of stored values.

mod accounts;
mod api_tokens;
pub use accounts::{LoginLock, NewAccount, StoredPasskey, link_invalid};
pub use api_tokens::{ApiTokenRecord, MAX_ACTIVE_API_TOKENS};
mod certificates;
mod change_requests;
pub use change_requests::{ChangeRequest, EventFilter};
mod chat;
mod commit_count;
use commit_count::CommitCount;
mod copies;
pub use copies::{CopyRequest, IssueOutcome, IssuedCopyText, RenderDocument, UsageApproval};
mod credentials;
mod documents;
mod enterprises;
mod error;
mod events;
mod lookup;
mod qualifications;
mod sessions;
pub use sessions::{StoredCeremony, StoredSession};
pub mod snapshot;
mod status;
mod verification_counts;
pub use verification_counts::{COUNTS_PER_UPSERT, VerificationDay};

pub use credentials::{EnrolledEnterprise, NewCredential, StoredCredential};
pub use documents::StoredDocument;
pub use error::StoreError;
pub(crate) use error::{UniqueViolation, encode_error};
pub use events::{
    CHANGES_EVERYTHING, EventRecord, NewEvent, StatusChange, Touches, append_event, append_events,
};
pub use snapshot::RegisterReader;
pub use status::{EnterpriseCertificate, StatusAtEvent};

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Transaction};

/// Which database the URL named; the migrations differ, the queries do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub type Tx = Transaction<'static, Any>;

/// Handle to the register database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite in a file only.
    commits: Option<Arc<CommitCount>>,
}

impl Store {
    /// Connects, creating the SQLite file when missing, and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Store::connect_with(url, Duration::from_millis(500)).await
    }

    /// As [`Store::connect`]; a PostgreSQL connection is waited for at most
    /// `acquire_timeout`, so a database that is down fails a request fast instead of holding
    /// it. SQLite (a file here) waits up to its busy timeout for the write lock instead.
    pub async fn connect_with(url: &str, acquire_timeout: Duration) -> Result<Store, StoreError> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 16,
            })
            .acquire_timeout(match backend {
                Backend::Sqlite => Duration::from_secs(10),
                Backend::Postgres => acquire_timeout,
            });
        let options = if backend == Backend::Sqlite {
            // A file in this process has no connection to lose: no ping before each use.
            options.test_before_acquire(false).after_connect(|conn, _meta| {
                Box::pin(async move {
                    use sqlx::Executor;
                    // WAL lets readers (verification) run while the issuer writes.
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
                        .await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        let pool = options.connect(&url).await?;
        match backend {
            Backend::Sqlite => sqlx::migrate!("../migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("../migrations/postgres").run(&pool).await?,
        }
        Store::fill_name_keys(&pool).await?;
        let commits = match backend {
            Backend::Sqlite => Store::register_file(&pool)
                .await?
                .and_then(|file| CommitCount::open(&file))
                .map(Arc::new),
            Backend::Postgres => None,
        };
        Ok(Store {
            pool,
            backend,
            commits,
        })
    }

    /// The SQLite register's file as SQLite resolved it; `None` in memory.
    async fn register_file(pool: &AnyPool) -> Result<Option<std::path::PathBuf>, StoreError> {
        let file: String =
            sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                .fetch_one(pool)
                .await?;
        Ok((!file.is_empty()).then(|| file.into()))
    }

    /// SQLite in a file: its [`CommitCount`] now, read on this thread without a round trip.
    /// `None` on PostgreSQL, in memory, or when it cannot be read now.
    pub fn commit_count(&self) -> Option<i64> {
        self.commits.as_ref()?.read()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction that will write. On SQLite it takes the write lock up front (`BEGIN
    /// IMMEDIATE`): a deferred transaction that read first cannot upgrade once another writer
    /// has committed and fails with SQLITE_BUSY at once, whatever the busy timeout, so
    /// concurrent issuer actions would fail instead of waiting their turn.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// A transaction that only reads: on SQLite (WAL) it never blocks writers.
    pub async fn begin_read(&self) -> Result<Tx, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// A read-only transaction whose queries all see one state of the register: the state
    /// as of the first read.
    pub async fn begin_snapshot(&self) -> Result<Tx, StoreError> {
        let mut tx = self.begin_read().await?;
        if self.backend == Backend::Postgres {
            // The default (read committed) gives each statement a fresh view.
            use sqlx::Executor;
            (&mut *tx)
                .execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .await?;
        }
        // SQLite (WAL): the first read starts the transaction's snapshot.
        Ok(tx)
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query_scalar::<_, i32>("SELECT 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes every connection; used by tests and shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Makes sure the parent directory exists and SQLite creates the file on first start.
fn sqlite_url(url: &str) -> Result<String, StoreError> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:"
        && !path.is_empty()
        && let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            StoreError::Unavailable(sqlx::Error::Io(std::io::Error::new(
                e.kind(),
                format!("cannot create {parent:?}: {e}"),
            )))
        })?;
    }
    let mut query = query.to_owned();
    if !query.contains("mode=") {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str("mode=rwc");
    }
    Ok(format!("sqlite://{path}?{query}"))
}

/// The stored text form of an instant (sorts as time).
pub fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn parse_instant(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("bad instant {s:?}")))
}

pub fn parse_date(s: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::from_str(s).map_err(|_| StoreError::Corrupt(format!("bad date {s:?}")))
}

pub fn parse_field<T: FromStr>(what: &str, s: &str) -> Result<T, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("bad {what} {s:?}")))
}

/// Escapes `%`, `_` and `\` so a user's search text matches literally inside `LIKE … ESCAPE '\'`.
pub fn like_fragment(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_fragment_wraps_plain_text_in_wildcards() {
        assert_eq!(like_fragment("浦江建设"), "%浦江建设%");
        assert_eq!(like_fragment(""), "%%");
    }

    #[test]
    fn like_fragment_escapes_wildcards_and_the_escape_character() {
        assert_eq!(like_fragment("100%"), "%100\\%%");
        assert_eq!(like_fragment("a_b"), "%a\\_b%");
        assert_eq!(like_fragment("C:\\x"), "%C:\\\\x%");
    }

    #[tokio::test]
    async fn escaped_fragments_match_literally_in_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}/z.db", dir.path().display()))
            .await
            .unwrap();
        let matches = |text: &'static str, q: &'static str| {
            let pool = store.pool().clone();
            async move {
                let hit = sqlx::query_scalar::<_, i64>(
                    "SELECT CASE WHEN $1 LIKE $2 ESCAPE '\\' THEN 1 ELSE 0 END",
                )
                .bind(text)
                .bind(like_fragment(q))
                .fetch_one(&pool)
                .await
                .unwrap();
                hit == 1
            }
        };
        assert!(matches("打折 50% 优惠", "50%").await);
        assert!(!matches("打折 500 优惠", "50%").await);
        assert!(matches("a_b", "a_b").await);
        assert!(!matches("axb", "a_b").await);
        assert!(matches("路径 C:\\tmp", "C:\\tmp").await);
        store.close().await;
    }

    #[test]
    fn sqlite_url_creates_the_parent_directory_and_asks_for_create_mode() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("nested/deeper/z.db");
        let url = sqlite_url(&format!("sqlite://{}", db.display())).unwrap();
        assert_eq!(url, format!("sqlite://{}?mode=rwc", db.display()));
        assert!(dir.path().join("nested/deeper").is_dir());
        assert!(
            !db.exists(),
            "only the directory is created; SQLite makes the file"
        );
    }

    #[test]
    fn sqlite_url_keeps_an_existing_query_and_an_explicit_mode() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("z.db");
        assert_eq!(
            sqlite_url(&format!("sqlite:{}?cache=shared", db.display())).unwrap(),
            format!("sqlite://{}?cache=shared&mode=rwc", db.display())
        );
        assert_eq!(
            sqlite_url(&format!("sqlite://{}?mode=ro", db.display())).unwrap(),
            format!("sqlite://{}?mode=ro", db.display())
        );
    }

    #[test]
    fn sqlite_url_leaves_in_memory_databases_alone() {
        assert_eq!(
            sqlite_url("sqlite::memory:").unwrap(),
            "sqlite://:memory:?mode=rwc"
        );
    }

    #[tokio::test]
    async fn other_database_urls_are_refused() {
        let err = Store::connect("mysql://localhost/zizhi").await.unwrap_err();
        assert!(matches!(err, StoreError::UnsupportedUrl), "{err:?}");
    }
}
