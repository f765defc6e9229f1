//! The status snapshot (状态快照) the scanner app keeps for offline use: every withdrawn copy
//! and every certificate version that is no longer simply current, read from the register in
//! one read transaction and signed with the root key (wire form in
//! [`zizhi_shared::snapshot`]).
//!
//! **Sequence number.** A snapshot reflects the register at `seq` = the highest event id it
//! saw. Every change that matters (qualification changes, renewals, enterprise edits that
//! issue versions, copy withdrawals) writes its event in the same transaction as the change
//! (`crate::store`), and events commit in id order (`store::append_event` takes a lock on
//! PostgreSQL; SQLite has one writer), so the state at a given `seq` is one state and a delta
//! "after `seq`" misses nothing. The reads happen in `store::snapshot`, in one read
//! transaction; this module turns them into version states and snapshots.
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
//! **Span of a delta.** A delta is answered only for a `since` at most [`MAX_DELTA_EVENTS`]
//! events back and a `since_time` at most [`MAX_DELTA_DAYS`] days ago; beyond either, the
//! answer is a full snapshot (`"full": true`), which then costs less than reading that much of
//! the event log, and a device that was away that long replaces what it holds anyway.
//!
//! **Cache.** One register status per server instance, kept with the `seq` it is current at.
//! Issuing a copy writes an event but changes no status ([`UNCHANGING`]), so when `seq` has
//! moved on the events since the cached `seq` are read first: none that changes a status and
//! the status is still current (only `seq` moves on); only withdrawals and the cached status
//! gets those copies added; anything else (or more than [`MAX_CATCH_UP_EVENTS`] events, or a
//! new day, as expiry depends on the date) and it is rebuilt from the register. Requests take
//! one lock for this, so concurrent requests after a change wait for one rebuild instead of
//! each making its own. The status and the events a delta is made of are read in the same
//! read transaction as `seq`, so a status is never served for a `seq` it does not reflect.
//!
//! **State of a version**: see `state.rs`; its precedence is the verdict's own
//! ([`zizhi_shared::CertificateState::of_version`]).

pub mod api;
mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use tokio::sync::Mutex;
use zizhi_shared::{CertificateNumber, CertificateState, StatusSnapshot, VersionEntry};

use crate::store::snapshot::{RegisterReader, RegisterRows};
use crate::store::{Store, StoreError};
use state::version_states;

/// Event actions that change no certificate's status and no copy's: issuing a copy.
pub const UNCHANGING: &[&str] = &["copy.issue_approval", "copy.issue_usage"];

/// A delta reaches back at most this many events; further back, a full snapshot.
pub const MAX_DELTA_EVENTS: u64 = 200_000;

/// A delta reaches back at most this many days (by `since_time`); further back, a full
/// snapshot.
pub const MAX_DELTA_DAYS: i64 = 31;

/// The cached status catches up by reading at most this many events; more, and it is rebuilt.
pub const MAX_CATCH_UP_EVENTS: u64 = 100_000;

/// The whole register's status on one day (expiry depends on the date), as of some `seq`
/// kept next to it.
#[derive(Debug, Clone)]
pub struct RegisterStatus {
    pub today: NaiveDate,
    pub withdrawn_copies: BTreeSet<u64>,
    /// Every version of every certificate, current ones included, oldest first.
    pub certificates: BTreeMap<CertificateNumber, Vec<VersionEntry>>,
    /// 有效期至 of each certificate, to find the ones that expired since a given day.
    pub valid_until: BTreeMap<CertificateNumber, NaiveDate>,
}

impl RegisterStatus {
    /// Everything that is not current, as the snapshot of `seq`.
    pub fn full(&self, seq: u64, issued_at: DateTime<Utc>) -> StatusSnapshot {
        StatusSnapshot::new(
            issued_at,
            0,
            seq,
            self.withdrawn_copies.iter().copied().collect(),
            self.certificates
                .values()
                .flatten()
                .filter(|e| e.state != CertificateState::Current)
                .cloned()
                .collect(),
        )
    }

    /// What changed after `since` up to `seq`: see the module docs.
    pub fn delta(
        &self,
        since: u64,
        seq: u64,
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
            seq,
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
            // Issuing a copy changes no state (UNCHANGING); other copy events would name
            // their copy.
            a if a.starts_with("copy.") => {}
            // qualification.*, certificate.*, and any later event about a certificate.
            _ => self
                .certificates
                .extend(subject.parse::<CertificateNumber>().ok()),
        }
    }
}

/// The register's status from its rows: every version's state on `today`.
fn register_status(rows: RegisterRows, today: NaiveDate) -> Result<RegisterStatus, StoreError> {
    let RegisterRows {
        certificates: certs,
        mut versions,
        inactive_qualifications: inactive,
        withdrawn_copies,
    } = rows;
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
        today,
        withdrawn_copies,
        certificates,
        valid_until,
    })
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

/// Whether a delta after `since` (issued at `since_time`) is answered as one at `seq`, `now`
/// (module docs: span of a delta).
pub fn delta_in_reach(since: u64, since_time: DateTime<Utc>, seq: u64, now: DateTime<Utc>) -> bool {
    since > 0
        && since <= seq
        && seq - since <= MAX_DELTA_EVENTS
        && since_time >= now - Duration::days(MAX_DELTA_DAYS)
}

/// The cached status and the `seq` it is current at.
struct Cached {
    seq: u64,
    status: Arc<RegisterStatus>,
}

/// Builds snapshots, keeping the last register status (module docs: cache). One per server
/// instance.
#[derive(Clone, Default)]
pub struct Snapshots {
    latest: Arc<Mutex<Option<Cached>>>,
    rebuilds: Arc<AtomicU64>,
}

impl Snapshots {
    /// The snapshot for a request, unsigned; `issued_at` is `now`. A delta asked for a `since`
    /// beyond the register's `seq` (a device synced with another register, or a restored
    /// database) or out of reach ([`delta_in_reach`]) is answered with a full snapshot.
    pub async fn build(
        &self,
        store: &Store,
        request: Request,
        now: DateTime<Utc>,
    ) -> Result<StatusSnapshot, StoreError> {
        let today = zizhi_shared::time::beijing_date(now);
        // Held while the status is brought up to date: one rebuild for many requests. The
        // read transaction starts under it, so each request sees a `seq` at least the cached
        // one (events commit in id order).
        let mut latest = self.latest.lock().await;
        let mut reader = store.read_register().await?;
        let seq = reader.seq().await?;
        let status = match latest.as_ref() {
            Some(c) if c.status.today == today && c.seq <= seq => {
                self.catch_up(&mut reader, c, seq).await?
            }
            _ => None,
        };
        let status = match status {
            Some(s) => s,
            None => {
                self.rebuilds.fetch_add(1, Ordering::Relaxed);
                Arc::new(register_status(reader.rows().await?, today)?)
            }
        };
        *latest = Some(Cached {
            seq,
            status: status.clone(),
        });
        drop(latest);
        let snapshot = match request {
            Request::Delta { since, since_time } if delta_in_reach(since, since_time, seq, now) => {
                let mut changes = Changes::default();
                for e in reader.events_except(since, seq, UNCHANGING).await? {
                    changes.add(&e.action, &e.subject, &e.detail);
                }
                status.delta(
                    since,
                    seq,
                    &changes,
                    zizhi_shared::time::beijing_date(since_time),
                    now,
                )
            }
            _ => status.full(seq, now),
        };
        reader.finish().await?;
        Ok(snapshot)
    }

    /// The cached status made current at `seq` from the events since it, when they allow
    /// (module docs: cache); `None` when it must be rebuilt.
    async fn catch_up(
        &self,
        reader: &mut RegisterReader,
        cached: &Cached,
        seq: u64,
    ) -> Result<Option<Arc<RegisterStatus>>, StoreError> {
        if cached.seq == seq {
            return Ok(Some(cached.status.clone()));
        }
        if seq - cached.seq > MAX_CATCH_UP_EVENTS {
            return Ok(None);
        }
        let mut changes = Changes::default();
        for e in reader.events_except(cached.seq, seq, UNCHANGING).await? {
            changes.add(&e.action, &e.subject, &e.detail);
        }
        if !changes.certificates.is_empty() {
            return Ok(None);
        }
        if changes.copies.is_empty() {
            return Ok(Some(cached.status.clone()));
        }
        let mut status = (*cached.status).clone();
        status.withdrawn_copies.extend(changes.copies);
        Ok(Some(Arc::new(status)))
    }

    /// How many times the status was rebuilt from the whole register (for tests and
    /// measurements).
    pub fn rebuilds(&self) -> u64 {
        self.rebuilds.load(Ordering::Relaxed)
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
        let s = status().full(50, t(20));
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
        let s = status().delta(40, 50, &changes, today() - Duration::days(4), t(20));
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
        let s = status().delta(
            40,
            50,
            &Changes::default(),
            today() - Duration::days(2),
            t(20),
        );
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

    #[test]
    fn a_delta_reaches_back_a_bounded_number_of_events_and_days() {
        let now = t(20);
        assert!(delta_in_reach(40, t(19), 50, now));
        assert!(
            !delta_in_reach(0, t(19), 50, now),
            "since 0 is a full snapshot"
        );
        assert!(
            !delta_in_reach(51, t(19), 50, now),
            "beyond the register's seq"
        );
        let far = 1 + MAX_DELTA_EVENTS;
        assert!(delta_in_reach(1, t(19), far, now));
        assert!(
            !delta_in_reach(1, t(19), far + 1, now),
            "too many events back"
        );
        let old = now - Duration::days(MAX_DELTA_DAYS);
        assert!(delta_in_reach(40, old, 50, now));
        assert!(
            !delta_in_reach(40, old - Duration::seconds(1), 50, now),
            "too long ago"
        );
    }

    #[test]
    fn issuing_a_copy_is_the_action_that_changes_nothing() {
        let mut changes = Changes::default();
        for action in UNCHANGING {
            changes.add(action, "D231000037", &serde_json::json!({ "copy_id": 9 }));
        }
        assert_eq!(changes, Changes::default());
    }
}
