//! The status snapshot on the device: which request to make, and what to do with the answer.
//!
//! The first sync fetches the full snapshot; later ones ask for the delta since the cached
//! `seq` (and `since_time`, the cache's `as_of`, so the server can add certificates that
//! expired in between). A delta that does not start where the cache ends (the server's
//! register was rebuilt, another device's cache was copied in) makes the app fetch the full
//! snapshot again instead of guessing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zizhi_shared::snapshot::{SignedStatusSnapshot, SnapshotError, StatusCache};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use zizhi_shared::TrustList;

use crate::sync::SyncError;

pub const SNAPSHOT_PATH: &str = "/api/v1/status/snapshot";

/// The cache as stored, with when the device last synced it (the cache's `as_of` is when
/// the server issued the snapshot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredStatus {
    pub cache: StatusCache,
    pub synced_at: DateTime<Utc>,
}

/// Path and query of the next snapshot request.
pub fn snapshot_request(cache: Option<&StatusCache>) -> String {
    match cache {
        Some(c) => format!(
            "{SNAPSHOT_PATH}?since={}&since_time={}",
            c.seq,
            c.as_of.timestamp()
        ),
        None => SNAPSHOT_PATH.to_owned(),
    }
}

/// What to do after a snapshot response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotStep {
    /// The new cache to store.
    Applied(StatusCache),
    /// The delta does not fit the cache: fetch the full snapshot (the reason is for the log).
    FetchFull(String),
}

/// The field of the snapshot response the app uses: the signed bytes.
#[derive(Debug, Deserialize)]
struct SnapshotResponse {
    /// base64 of the COSE_Sign1.
    signed: String,
}

/// Opens a snapshot response with the snapshot-signing key of the device's trust list (itself
/// opened with the pinned root) and applies it to `cache` (a copy; the caller stores the
/// result only when the whole sync succeeded). A full snapshot fetched after a delta did not
/// fit is applied to the same cache, so it too must be newer than what the device holds.
pub fn accept_snapshot(
    json: &str,
    trust: &TrustList,
    cache: Option<&StatusCache>,
) -> Result<SnapshotStep, SyncError> {
    let response: SnapshotResponse =
        serde_json::from_str(json).map_err(|e| SyncError::BadResponse(e.to_string()))?;
    let bytes = B64
        .decode(response.signed.trim())
        .map_err(|_| SyncError::BadResponse("signed 不是 base64".into()))?;
    let snapshot = SignedStatusSnapshot::from_bytes(bytes)
        .open(trust)
        .map_err(|e| SyncError::BadSignature(e.to_string()))?;
    let result = match cache {
        Some(c) => {
            let mut next = c.clone();
            next.apply(snapshot).map(|()| next)
        }
        None => StatusCache::from_full(snapshot),
    };
    match result {
        Ok(next) => Ok(SnapshotStep::Applied(next)),
        Err(e @ (SnapshotError::SinceMismatch { .. } | SnapshotError::NotFull { .. })) => {
            Ok(SnapshotStep::FetchFull(e.to_string()))
        }
        Err(e) => Err(SyncError::Snapshot(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use zizhi_shared::snapshot::{StatusSnapshot, VersionEntry};
    use zizhi_shared::trust::KeyRole;
    use zizhi_shared::verdict::CertificateState;
    use zizhi_shared::{IssuerKey, KeyId, TrustedKey};

    use super::*;

    /// The snapshot-signing key the trust list names.
    fn root() -> IssuerKey {
        IssuerKey::from_seed(KeyId::new(*b"SN01"), [9; 32])
    }

    fn pin() -> TrustList {
        let from = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        TrustList::new(
            vec![
                TrustedKey::for_key(&root(), "发证机关", from, None)
                    .with_role(KeyRole::SnapshotSigning),
            ],
            t(1),
        )
    }

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, h, 0, 0).unwrap()
    }

    fn entry(version: u32, state: CertificateState, at: DateTime<Utc>) -> VersionEntry {
        VersionEntry {
            certificate_number: "D231000037".parse().unwrap(),
            version,
            state,
            at,
        }
    }

    fn response(s: &StatusSnapshot, signer: &IssuerKey) -> String {
        serde_json::json!({
            "kid": "SN01",
            "signed": B64.encode(s.sign(signer).as_bytes()),
            "issued_at": s.issued_at,
            "since": s.since,
            "seq": s.seq,
            "full": s.since == 0,
        })
        .to_string()
    }

    fn full() -> StatusSnapshot {
        StatusSnapshot::new(
            t(6),
            0,
            41,
            vec![7],
            vec![entry(1, CertificateState::Superseded, t(5))],
        )
    }

    #[test]
    fn first_sync_asks_for_the_full_snapshot_then_deltas() {
        assert_eq!(snapshot_request(None), "/api/v1/status/snapshot");
        let cache = StatusCache::from_full(full()).unwrap();
        assert_eq!(
            snapshot_request(Some(&cache)),
            format!(
                "/api/v1/status/snapshot?since=41&since_time={}",
                t(6).timestamp()
            )
        );
    }

    #[test]
    fn a_full_snapshot_builds_the_cache_and_a_delta_updates_it() {
        let step = accept_snapshot(&response(&full(), &root()), &pin(), None).unwrap();
        let SnapshotStep::Applied(cache) = step else {
            panic!("{step:?}")
        };
        assert!(cache.copy_withdrawn(7));
        let delta = StatusSnapshot::new(
            t(7),
            41,
            43,
            vec![],
            vec![entry(2, CertificateState::Revoked, t(7))],
        );
        let step = accept_snapshot(&response(&delta, &root()), &pin(), Some(&cache)).unwrap();
        let SnapshotStep::Applied(next) = step else {
            panic!("{step:?}")
        };
        assert_eq!(next.seq, 43);
        assert_eq!(next.as_of, t(7));
        let n = "D231000037".parse().unwrap();
        assert_eq!(
            next.version_state(&n, 2),
            Some((CertificateState::Revoked, t(7)))
        );
        assert_eq!(
            next.version_state(&n, 1),
            Some((CertificateState::Superseded, t(5)))
        );
    }

    #[test]
    fn a_delta_from_another_starting_point_asks_for_the_full_snapshot() {
        let cache = StatusCache::from_full(full()).unwrap();
        let delta = StatusSnapshot::new(t(7), 40, 43, vec![], vec![]);
        let step = accept_snapshot(&response(&delta, &root()), &pin(), Some(&cache)).unwrap();
        assert!(matches!(step, SnapshotStep::FetchFull(_)), "{step:?}");
        // A delta with no cache at all, likewise.
        let step = accept_snapshot(&response(&delta, &root()), &pin(), None).unwrap();
        assert!(matches!(step, SnapshotStep::FetchFull(_)), "{step:?}");
    }

    #[test]
    fn a_snapshot_not_signed_by_the_listed_snapshot_key_is_refused() {
        let impostor = IssuerKey::from_seed(KeyId::new(*b"SN01"), [5; 32]);
        let err = accept_snapshot(&response(&full(), &impostor), &pin(), None).unwrap_err();
        assert_eq!(err.code(), "bad_signature");
        // A copy-signing key (or the root) is no snapshot key, whatever it is called.
        let copy_key = IssuerKey::from_seed(KeyId::new(*b"SH01"), [7; 32]);
        let err = accept_snapshot(&response(&full(), &copy_key), &pin(), None).unwrap_err();
        assert_eq!(err.code(), "bad_signature");
    }

    #[test]
    fn a_replayed_old_full_snapshot_after_a_delta_mismatch_is_refused() {
        // The device holds seq 50 as of 09:00. A server (or whoever sits in between) answers
        // the delta request with a mismatch, then the full-snapshot fallback with an old one:
        // the revocations since would vanish, so it is refused.
        let cache =
            StatusCache::from_full(StatusSnapshot::new(t(9), 0, 50, vec![], vec![])).unwrap();
        let mismatched = StatusSnapshot::new(t(10), 12, 13, vec![], vec![]);
        let step = accept_snapshot(&response(&mismatched, &root()), &pin(), Some(&cache)).unwrap();
        assert!(matches!(step, SnapshotStep::FetchFull(_)), "{step:?}");
        let err = accept_snapshot(&response(&full(), &root()), &pin(), Some(&cache)).unwrap_err();
        assert_eq!(err.code(), "snapshot");
        assert!(err.to_string().contains("不予采用"), "{err}");
    }

    #[test]
    fn an_older_snapshot_does_not_replace_a_newer_cache() {
        let newer = StatusSnapshot::new(t(9), 0, 50, vec![], vec![]);
        let cache = StatusCache::from_full(newer).unwrap();
        let err = accept_snapshot(&response(&full(), &root()), &pin(), Some(&cache)).unwrap_err();
        assert_eq!(err.code(), "snapshot");
    }

    #[test]
    fn the_cache_round_trips_through_json_for_local_storage() {
        let stored = StoredStatus {
            cache: StatusCache::from_full(full()).unwrap(),
            synced_at: t(6),
        };
        let json = serde_json::to_string(&stored).unwrap();
        assert_eq!(serde_json::from_str::<StoredStatus>(&json).unwrap(), stored);
    }
}
