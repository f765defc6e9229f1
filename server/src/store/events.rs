//! The append-only event log: who changed what, when.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zizhi_shared::CertificateNumber;

use super::{Store, StoreError, Tx, instant};

/// One entry of the append-only event log (who, when, what).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventRecord {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: serde_json::Value,
}

#[derive(sqlx::FromRow)]
pub(super) struct EventRow {
    id: i64,
    at: String,
    actor: String,
    action: String,
    subject: String,
    detail: String,
}

impl TryFrom<EventRow> for EventRecord {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<Self, StoreError> {
        Ok(EventRecord {
            id: r.id,
            at: r.at,
            actor: r.actor,
            action: r.action,
            subject: r.subject,
            detail: serde_json::from_str(&r.detail)
                .map_err(|e| StoreError::Corrupt(format!("event detail: {e}")))?,
        })
    }
}

pub(super) const EVENT_COLUMNS: &str = "id, at, actor, action, subject, detail";

/// Whose live status a change alters. Stored with its event, it is what every instance's
/// status cache follows (`crate::cache`) to drop exactly what a committed change made stale.
#[derive(Debug, Clone, Copy)]
pub enum Touches<'a> {
    /// One certificate's status (its qualifications, versions, standing or copies).
    Certificate(&'a CertificateNumber),
    /// Possibly any certificate's (an enterprise's details, printed on all its certificates).
    Everything,
    /// No certificate's status (an enterprise created, a credential enrolled).
    Nothing,
}

impl Touches<'_> {
    /// The stored form; [`CHANGES_EVERYTHING`] for `Everything`.
    fn stored(self) -> Option<String> {
        match self {
            Touches::Certificate(n) => Some(n.as_str().to_owned()),
            Touches::Everything => Some(CHANGES_EVERYTHING.to_owned()),
            Touches::Nothing => None,
        }
    }
}

/// The stored `touches` of an event that may change any certificate's status.
pub const CHANGES_EVERYTHING: &str = "*";

/// Appends one entry to the event log inside the caller's transaction, so a change and its
/// record commit together or not at all.
pub async fn append_event(
    tx: &mut Tx,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    subject: &str,
    touches: Touches<'_>,
    detail: &serde_json::Value,
) -> Result<(), StoreError> {
    append_events(
        tx,
        at,
        actor,
        &[NewEvent {
            action: action.to_owned(),
            subject,
            touches,
            detail: detail.clone(),
        }],
    )
    .await
}

/// One entry for [`append_events`].
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub action: String,
    pub subject: &'a str,
    pub touches: Touches<'a>,
    pub detail: serde_json::Value,
}

/// Rows per multi-row `INSERT`: 6 parameters each, well under SQLite's and PostgreSQL's
/// limits on bound parameters per statement.
const EVENTS_PER_INSERT: usize = 1_000;

/// [`append_event`] for many entries of one change, with multi-row inserts: the lock taken
/// once, ids in the order given. Like `append_event`, call it last, right before committing.
pub async fn append_events(
    tx: &mut Tx,
    at: DateTime<Utc>,
    actor: &str,
    events: &[NewEvent<'_>],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    // PostgreSQL hands out identity values at insert time but they become visible at commit,
    // so two writers could commit events 11 then 10; a status snapshot read in between would
    // claim "seq 11" and its deltas would never carry event 10's change. This lock, held to
    // the end of the transaction, makes events commit in id order. Every caller appends its
    // event last, right before committing, so the lock is held only for the commit. SQLite
    // has a single writer already.
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT pg_advisory_xact_lock(7283001)")
            .execute(&mut **tx)
            .await?;
    }
    let at = instant(at);
    for chunk in events.chunks(EVENTS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO events (at, actor, action, subject, touches, detail) VALUES {}",
            values_placeholders(chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = q
                .bind(&at)
                .bind(actor)
                .bind(e.action.as_str())
                .bind(e.subject)
                .bind(e.touches.stored())
                .bind(e.detail.to_string());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// `($1, …, $width), ($width+1, …), …` for `rows` rows: only placeholders, every value is
/// bound.
pub(super) fn values_placeholders(rows: usize, width: usize) -> String {
    let mut out = String::with_capacity(rows * width * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..width {
            if c > 0 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&(r * width + c + 1).to_string());
        }
        out.push(')');
    }
    out
}

/// Reads events `after < id <= up_to`, oldest first, at most `limit`, on one connection (a
/// pooled one or a transaction's).
pub(super) async fn events_between(
    conn: &mut sqlx::AnyConnection,
    after: i64,
    up_to: i64,
    limit: i64,
) -> Result<Vec<EventRecord>, StoreError> {
    sqlx::query_as::<_, EventRow>(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3"
    ))
    .bind(after)
    .bind(up_to)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(EventRecord::try_from)
    .collect()
}

/// One committed change as the status caches follow it: its event id and whose status it
/// touched (`None`: nobody's; [`CHANGES_EVERYTHING`]: anybody's).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatusChange {
    pub id: i64,
    pub touches: Option<String>,
}

impl Store {
    /// Events after `after`, oldest first, at most `limit`, as the status caches need them.
    /// One indexed range read, empty when nothing changed: cheap enough to run before every
    /// cached answer (`crate::cache` runs one for many requests at once).
    pub async fn status_changes(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StatusChange>, StoreError> {
        Ok(sqlx::query_as::<_, StatusChange>(
            "SELECT id, touches FROM events WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// The highest event id: every change committed so far has an id at most this.
    pub async fn last_event_id(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(id), 0) FROM events")
                .fetch_one(self.pool())
                .await?,
        )
    }

    /// The event log, oldest first, after a given id.
    pub async fn events(&self, after: i64, limit: i64) -> Result<Vec<EventRecord>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        events_between(&mut conn, after, i64::MAX, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::values_placeholders;

    #[test]
    fn placeholders_number_rows_then_columns() {
        assert_eq!(values_placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_placeholders(1, 1), "($1)");
    }
}
