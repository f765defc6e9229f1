//! SQLite's count of commits, read on the caller's own thread.
//!
//! The status cache must know of every change committed before a request arrived
//! (`crate::cache`); on SQLite most of what that costs is not the read itself but the hand-off
//! to sqlx's worker thread and back. `PRAGMA data_version` on a connection of our own answers
//! "has anything been committed since I last asked?" in a few microseconds without one.

use std::path::Path;
use std::sync::Mutex;

/// 提交计数: a number that changes whenever a connection other than this one commits to the
/// SQLite register, in this process or another (`PRAGMA data_version` on a read-only
/// connection that never writes). Equal readings mean nothing was committed between them.
pub struct CommitCount {
    // A connection is not `Sync`; only the status cache's one reader asks, so the lock is
    // never contended.
    conn: Mutex<rusqlite::Connection>,
}

impl std::fmt::Debug for CommitCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitCount").finish_non_exhaustive()
    }
}

impl CommitCount {
    /// Opens the register file read-only. `None` when it cannot be: the caller then reads the
    /// event log every time, as on PostgreSQL.
    pub(super) fn open(file: &Path) -> Option<CommitCount> {
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        match rusqlite::Connection::open_with_flags(file, flags) {
            // No busy timeout (the default): a reading that would wait fails at once and the
            // caller falls back to the event log, instead of blocking a runtime thread.
            Ok(conn) => Some(CommitCount {
                conn: Mutex::new(conn),
            }),
            Err(e) => {
                tracing::warn!(error = %e, ?file, "commit count unavailable; the event log is read on every check");
                None
            }
        }
    }

    /// The count now, or `None` when it cannot be read (busy, I/O): the caller then reads the
    /// event log.
    pub(super) fn read(&self) -> Option<i64> {
        let conn = self.conn.lock().ok()?;
        let mut statement = conn.prepare_cached("PRAGMA data_version").ok()?;
        statement.query_row([], |row| row.get(0)).ok()
    }
}
