//! The status snapshot (状态快照) the scanner app keeps for offline use: every withdrawn copy
//! and every certificate version that is no longer simply current, read from the register in
//! one read transaction and signed with the root key (wire form in
//! [`zizhi_shared::snapshot`]).
//!
//! **Sequence number.** A snapshot reflects the register at `seq` = the highest event id it
//! saw. Every change that matters (qualification changes, renewals, enterprise edits that
//! issue versions, copy withdrawals) writes its event in the same transaction as the change
//! (`register::ops`, `copies::ops`), and events commit in id order (`store::append_event`
//! takes a lock on PostgreSQL; SQLite has one writer), so the state at a given `seq` is one
//! state and a delta "after `seq`" misses nothing.
//!
//! **Delta.** The events after `since` name the certificates they changed (the subject of
//! `qualification.*` and `certificate.*`, `new_versions` of `enterprise.update`) and the copies
//! withdrawn (`copy.withdraw`); certificates whose validity ran out between the previous
//! snapshot's time and today count as changed too, as expiry writes no event. For every
//! changed certificate the delta carries the state of **each** of its versions, the current
//! one as `current`, so a device replaces what it knew about that certificate (a reinstated
//! qualification drops the suspended entry). Withdrawn copies are only added: a withdrawal is
//! never undone.
//!
//! **State of a version**: see `state.rs`; its precedence is the verdict's own
//! ([`zizhi_shared::CertificateState::of_version`]).

pub mod api;
mod state;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;
use zizhi_shared::{CertificateNumber, CertificateState, StatusSnapshot, VersionEntry};

use crate::store::{Backend, Store, StoreError, parse_date, parse_field, parse_instant};
use state::{CertificateRow, QualificationRow, VersionRow, version_states};

/// The whole register's status at one `seq`, on one day (expiry depends on the date).
#[derive(Debug)]
pub struct RegisterStatus {
    pub seq: u64,
    pub today: NaiveDate,
    pub withdrawn_copies: BTreeSet<u64>,
    /// Every version of every certificate, current ones included, oldest first.
    pub certificates: BTreeMap<CertificateNumber, Vec<VersionEntry>>,
    /// 有效期至 of each certificate, to find the ones that expired since a given day.
    pub valid_until: BTreeMap<CertificateNumber, NaiveDate>,
}

impl RegisterStatus {
    /// Everything that is not current.
    pub fn full(&self, issued_at: DateTime<Utc>) -> StatusSnapshot {
        StatusSnapshot::new(
            issued_at,
            0,
            self.seq,
            self.withdrawn_copies.iter().copied().collect(),
            self.certificates
                .values()
                .flatten()
                .filter(|e| e.state != CertificateState::Current)
                .cloned()
                .collect(),
        )
    }

    /// What changed after `since`: see the module docs.
    pub fn delta(
        &self,
        since: u64,
        changes: &Changes,
        since_day: NaiveDate,
        issued_at: DateTime<Utc>,
    ) -> StatusSnapshot {
        let expired = self
            .valid_until
            .iter()
            .filter(|(_, until)| **until >= since_day && **until < self.today)
            .map(|(n, _)| n);
        let touched: BTreeSet<&CertificateNumber> =
            changes.certificates.iter().chain(expired).collect();
        StatusSnapshot::new(
            issued_at,
            since,
            self.seq,
            changes
                .copies
                .iter()
                .copied()
                .filter(|id| self.withdrawn_copies.contains(id))
                .collect(),
            touched
                .into_iter()
                .filter_map(|n| self.certificates.get(n))
                .flatten()
                .cloned()
                .collect(),
        )
    }
}

/// What the events after a `seq` changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    pub certificates: BTreeSet<CertificateNumber>,
    pub copies: BTreeSet<u64>,
}

impl Changes {
    /// Adds what one event changed (see the module docs for which events count).
    pub fn add(&mut self, action: &str, subject: &str, detail: &serde_json::Value) {
        match action {
            "copy.withdraw" => self.copies.extend(detail["copy_id"].as_u64()),
            "enterprise.update" => self.certificates.extend(
                detail["new_versions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|n| n.as_str()?.parse().ok()),
            ),
            // Issuing a copy changes no state; other copy events would name their copy.
            a if a.starts_with("copy.") => {}
            // qualification.*, certificate.*, and any later event about a certificate.
            _ => self
                .certificates
                .extend(subject.parse::<CertificateNumber>().ok()),
        }
    }
}

type ReadTx = sqlx::Transaction<'static, sqlx::Any>;

/// Opens a read transaction that sees one state of the register throughout.
async fn begin_read(store: &Store) -> Result<ReadTx, StoreError> {
    let mut tx = store.begin_read().await?;
    if store.backend() == Backend::Postgres {
        // The default (read committed) gives each statement a fresh view; the snapshot's
        // queries must all see the state at the seq read first.
        use sqlx::Executor;
        (&mut *tx)
            .execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?;
    }
    // SQLite (WAL): the first read starts the transaction's snapshot.
    Ok(tx)
}

async fn read_seq(tx: &mut ReadTx) -> Result<u64, StoreError> {
    let seq: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM events")
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    Ok(seq.max(0) as u64)
}

async fn load_register(
    tx: &mut ReadTx,
    seq: u64,
    today: NaiveDate,
) -> Result<RegisterStatus, StoreError> {
    let mut certs = BTreeMap::new();
    for r in sqlx::query("SELECT number, state, current_version, valid_until FROM certificates")
        .fetch_all(&mut **tx)
        .await?
    {
        let number: CertificateNumber = parse_field("number", &r.try_get::<String, _>(0)?)?;
        certs.insert(
            number,
            CertificateRow {
                standing: parse_field("state", &r.try_get::<String, _>(1)?)?,
                current_version: r.try_get::<i64, _>(2)? as u32,
                valid_until: parse_date(&r.try_get::<String, _>(3)?)?,
            },
        );
    }
    let mut versions: HashMap<CertificateNumber, Vec<VersionRow>> = HashMap::new();
    for r in sqlx::query(
        "SELECT certificate_number, version, qualification_ids, created_at, superseded_at
         FROM certificate_versions ORDER BY certificate_number, version",
    )
    .fetch_all(&mut **tx)
    .await?
    {
        let number: CertificateNumber = parse_field("number", &r.try_get::<String, _>(0)?)?;
        let ids: String = r.try_get(2)?;
        let superseded: Option<String> = r.try_get(4)?;
        versions.entry(number).or_default().push(VersionRow {
            version: r.try_get::<i64, _>(1)? as u32,
            qualification_ids: serde_json::from_str(&ids)
                .map_err(|e| StoreError::Corrupt(format!("qualification ids: {e}")))?,
            created_at: parse_instant(&r.try_get::<String, _>(3)?)?,
            superseded_at: superseded.as_deref().map(parse_instant).transpose()?,
        });
    }
    let mut inactive = HashMap::new();
    for r in
        sqlx::query("SELECT id, status, changed_at FROM qualifications WHERE status <> 'active'")
            .fetch_all(&mut **tx)
            .await?
    {
        inactive.insert(
            r.try_get::<i64, _>(0)?,
            QualificationRow {
                status: parse_field("status", &r.try_get::<String, _>(1)?)?,
                changed_at: parse_instant(&r.try_get::<String, _>(2)?)?,
            },
        );
    }
    let withdrawn_copies = sqlx::query("SELECT id FROM copies WHERE withdrawn_at IS NOT NULL")
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| Ok(r.try_get::<i64, _>(0)? as u64))
        .collect::<Result<BTreeSet<_>, StoreError>>()?;

    let mut certificates = BTreeMap::new();
    let mut valid_until = BTreeMap::new();
    for (number, cert) in certs {
        let vs = versions.remove(&number).unwrap_or_default();
        if vs.is_empty() {
            return Err(StoreError::Corrupt(format!("{number} has no version")));
        }
        let entries = version_states(&number, &cert, &vs, &inactive, today);
        valid_until.insert(number.clone(), cert.valid_until);
        certificates.insert(number, entries);
    }
    Ok(RegisterStatus {
        seq,
        today,
        withdrawn_copies,
        certificates,
        valid_until,
    })
}

async fn changes_after(tx: &mut ReadTx, since: u64, seq: u64) -> Result<Changes, StoreError> {
    let mut changes = Changes::default();
    for r in sqlx::query("SELECT action, subject, detail FROM events WHERE id > $1 AND id <= $2")
        .bind(since as i64)
        .bind(seq as i64)
        .fetch_all(&mut **tx)
        .await?
    {
        let detail: serde_json::Value = serde_json::from_str(&r.try_get::<String, _>(2)?)
            .map_err(|e| StoreError::Corrupt(format!("event detail: {e}")))?;
        changes.add(
            &r.try_get::<String, _>(0)?,
            &r.try_get::<String, _>(1)?,
            &detail,
        );
    }
    Ok(changes)
}

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Full,
    /// Changes after `since`, for a device whose last snapshot was issued at `since_time`.
    Delta {
        since: u64,
        since_time: DateTime<Utc>,
    },
}

/// Builds snapshots, keeping the last computed register status: while `seq` and the day stay
/// the same the status cannot have changed, so a repeat request costs one `MAX(id)` query
/// and a signature. One per server instance (the cache key is this database's `seq`).
#[derive(Clone, Default)]
pub struct Snapshots {
    latest: Arc<Mutex<Option<Arc<RegisterStatus>>>>,
}

impl Snapshots {
    /// The snapshot for a request, unsigned; `issued_at` is `now`. A delta asked for a `since`
    /// beyond the register's `seq` (a device synced with another register, or a restored
    /// database) is answered with a full snapshot.
    pub async fn build(
        &self,
        store: &Store,
        request: Request,
        now: DateTime<Utc>,
    ) -> Result<StatusSnapshot, StoreError> {
        let today = now.date_naive();
        let mut tx = begin_read(store).await?;
        let seq = read_seq(&mut tx).await?;
        let cached = self
            .latest
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
            .filter(|s| s.seq == seq && s.today == today);
        let status = match cached {
            Some(s) => s,
            None => {
                let s = Arc::new(load_register(&mut tx, seq, today).await?);
                if let Ok(mut l) = self.latest.lock() {
                    // Keep the newest; a slower request that read an older seq must not win.
                    if l.as_ref().is_none_or(|o| (o.seq, o.today) <= (seq, today)) {
                        *l = Some(s.clone());
                    }
                }
                s
            }
        };
        let snapshot = match request {
            Request::Delta { since, since_time } if since > 0 && since <= seq => {
                let changes = changes_after(&mut tx, since, seq).await?;
                status.delta(since, &changes, since_time.date_naive(), now)
            }
            _ => status.full(now),
        };
        tx.rollback().await?;
        Ok(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn t(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 2, 0, 0).unwrap()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 20).unwrap()
    }

    fn status() -> RegisterStatus {
        let n = |s: &str| s.parse::<CertificateNumber>().unwrap();
        let e = |num: &str, version, state| VersionEntry {
            certificate_number: n(num),
            version,
            state,
            at: t(1),
        };
        RegisterStatus {
            seq: 50,
            today: today(),
            withdrawn_copies: [3, 8].into(),
            certificates: [
                (
                    n("A131000001"),
                    vec![
                        e("A131000001", 1, CertificateState::Superseded),
                        e("A131000001", 2, CertificateState::Current),
                    ],
                ),
                (
                    n("B131000002"),
                    vec![e("B131000002", 1, CertificateState::Expired)],
                ),
                (
                    n("D231000037"),
                    vec![e("D231000037", 1, CertificateState::Current)],
                ),
            ]
            .into(),
            valid_until: [
                (n("A131000001"), today() + Duration::days(100)),
                (n("B131000002"), today() - Duration::days(3)),
                (n("D231000037"), today()),
            ]
            .into(),
        }
    }

    #[test]
    fn full_snapshot_lists_what_is_not_current() {
        let s = status().full(t(20));
        assert_eq!((s.since, s.seq), (0, 50));
        assert_eq!(s.withdrawn_copies, [3, 8]);
        let listed: Vec<_> = s
            .versions
            .iter()
            .map(|e| (e.certificate_number.as_str(), e.version, e.state))
            .collect();
        assert_eq!(
            listed,
            [
                ("A131000001", 1, CertificateState::Superseded),
                ("B131000002", 1, CertificateState::Expired),
            ]
        );
    }

    #[test]
    fn delta_carries_every_version_of_changed_certificates_and_the_newly_expired() {
        let mut changes = Changes::default();
        changes.add(
            "qualification.reinstate",
            "A131000001",
            &serde_json::json!({}),
        );
        changes.add(
            "copy.withdraw",
            "D231000037",
            &serde_json::json!({ "copy_id": 8 }),
        );
        changes.add(
            "copy.issue_usage",
            "D231000037",
            &serde_json::json!({ "copy_id": 9 }),
        );
        assert_eq!(changes.copies, [8].into());

        // The previous snapshot was taken before B131000002 expired (4 days ago).
        let s = status().delta(40, &changes, today() - Duration::days(4), t(20));
        assert_eq!((s.since, s.seq), (40, 50));
        assert_eq!(s.withdrawn_copies, [8]);
        let listed: Vec<_> = s
            .versions
            .iter()
            .map(|e| (e.certificate_number.as_str(), e.version, e.state))
            .collect();
        assert_eq!(
            listed,
            [
                ("A131000001", 1, CertificateState::Superseded),
                ("A131000001", 2, CertificateState::Current),
                ("B131000002", 1, CertificateState::Expired),
            ]
        );
        // Taken after it expired: nothing new about it.
        let s = status().delta(40, &Changes::default(), today() - Duration::days(2), t(20));
        assert!(s.versions.is_empty() && s.withdrawn_copies.is_empty());
    }

    #[test]
    fn enterprise_updates_name_their_new_versions_and_other_events_name_nothing() {
        let mut changes = Changes::default();
        changes.add(
            "enterprise.update",
            "91310115MA1H7Q2B3H",
            &serde_json::json!({ "new_versions": ["D231000037", "A131000001"] }),
        );
        changes.add(
            "enterprise.create",
            "91310115MA1H7Q2B3H",
            &serde_json::json!({}),
        );
        changes.add(
            "credential.enrol",
            "91310115MA1H7Q2B3H",
            &serde_json::json!({}),
        );
        let got: Vec<_> = changes.certificates.iter().map(|n| n.as_str()).collect();
        assert_eq!(got, ["A131000001", "D231000037"]);
        assert!(changes.copies.is_empty());
    }
}
