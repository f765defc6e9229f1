//! What a device keeps between syncs ([`StatusCache`]) and why a snapshot may not apply.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{StatusSnapshot, VersionEntry};
use crate::domain::CertificateNumber;
use crate::payload::PayloadError;
use crate::verdict::CertificateState;

/// Why a snapshot cannot be applied to a [`StatusCache`]. `code()` is the stable name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    #[error("需要全量状态快照，收到的是增量（起点 {since}）")]
    NotFull { since: u64 },
    #[error("增量状态快照的起点 {since} 与本机状态序号 {cache_seq} 不符，需要重新同步全量快照")]
    SinceMismatch { cache_seq: u64, since: u64 },
    #[error("状态快照（{issued_at}）早于本机已有状态（{as_of}），不予采用")]
    Older {
        as_of: DateTime<Utc>,
        issued_at: DateTime<Utc>,
    },
    #[error("{0}")]
    Invalid(PayloadError),
}

impl SnapshotError {
    pub fn code(&self) -> &'static str {
        match self {
            SnapshotError::NotFull { .. } => "snapshot_not_full",
            SnapshotError::SinceMismatch { .. } => "snapshot_since_mismatch",
            SnapshotError::Older { .. } => "snapshot_older_than_cache",
            SnapshotError::Invalid(e) => e.code(),
        }
    }
}

/// The state of one version as the cache holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CachedState {
    pub state: CertificateState,
    pub at: DateTime<Utc>,
}

/// What a device keeps between syncs: the status as of `as_of`, at register sequence `seq`.
/// Serialises to JSON (for localStorage); versions are keyed by number, then version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusCache {
    /// `issued_at` of the last snapshot applied.
    pub as_of: DateTime<Utc>,
    /// `seq` of the last snapshot applied: the `since` to ask the next delta for.
    pub seq: u64,
    withdrawn_copies: BTreeSet<u64>,
    versions: BTreeMap<CertificateNumber, BTreeMap<u32, CachedState>>,
}

impl StatusCache {
    /// A cache holding exactly what a full snapshot says.
    pub fn from_full(s: StatusSnapshot) -> Result<StatusCache, SnapshotError> {
        if !s.is_full() {
            return Err(SnapshotError::NotFull { since: s.since });
        }
        s.validate().map_err(SnapshotError::Invalid)?;
        let mut cache = StatusCache {
            as_of: s.issued_at,
            seq: s.seq,
            withdrawn_copies: BTreeSet::new(),
            versions: BTreeMap::new(),
        };
        cache.merge(s);
        Ok(cache)
    }

    /// Applies a snapshot: a full one replaces the cache, a delta must start where the cache
    /// ends (`since == seq`). A snapshot older than the cache is refused, so a replayed old
    /// snapshot cannot bring back a status that has since changed. On error the cache is
    /// left as it was.
    pub fn apply(&mut self, s: StatusSnapshot) -> Result<(), SnapshotError> {
        if s.issued_at < self.as_of {
            return Err(SnapshotError::Older {
                as_of: self.as_of,
                issued_at: s.issued_at,
            });
        }
        if s.is_full() {
            *self = StatusCache::from_full(s)?;
            return Ok(());
        }
        if s.since != self.seq {
            return Err(SnapshotError::SinceMismatch {
                cache_seq: self.seq,
                since: s.since,
            });
        }
        s.validate().map_err(SnapshotError::Invalid)?;
        self.as_of = s.issued_at;
        self.seq = s.seq;
        self.merge(s);
        Ok(())
    }

    fn merge(&mut self, s: StatusSnapshot) {
        self.withdrawn_copies.extend(s.withdrawn_copies);
        for e in s.versions {
            if e.state == CertificateState::Current {
                if let Some(vs) = self.versions.get_mut(&e.certificate_number) {
                    vs.remove(&e.version);
                    if vs.is_empty() {
                        self.versions.remove(&e.certificate_number);
                    }
                }
            } else {
                self.versions
                    .entry(e.certificate_number)
                    .or_default()
                    .insert(
                        e.version,
                        CachedState {
                            state: e.state,
                            at: e.at,
                        },
                    );
            }
        }
    }

    pub fn copy_withdrawn(&self, id: u64) -> bool {
        self.withdrawn_copies.contains(&id)
    }

    /// The state of a version other than current, with when it began; `None` means current
    /// as of [`StatusCache::as_of`].
    pub fn version_state(
        &self,
        number: &CertificateNumber,
        version: u32,
    ) -> Option<(CertificateState, DateTime<Utc>)> {
        self.versions
            .get(number)
            .and_then(|vs| vs.get(&version))
            .map(|c| (c.state, c.at))
    }

    pub fn withdrawn_copies(&self) -> impl Iterator<Item = u64> + '_ {
        self.withdrawn_copies.iter().copied()
    }

    /// Every version held, ascending by (number, version); none is current.
    pub fn versions(&self) -> impl Iterator<Item = VersionEntry> + '_ {
        self.versions.iter().flat_map(|(n, vs)| {
            vs.iter().map(move |(&version, c)| VersionEntry {
                certificate_number: n.clone(),
                version,
                state: c.state,
                at: c.at,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::snapshot::tests::{entry, full, t0};

    #[test]
    fn a_delta_applies_only_to_the_cache_at_its_since() {
        let mut cache = StatusCache::from_full(full()).unwrap();
        let before = cache.clone();
        let later = t0() + Duration::hours(2);
        let wrong = StatusSnapshot::new(later, 39, 45, vec![99], vec![]);
        let err = cache.apply(wrong).unwrap_err();
        assert_eq!(
            err,
            SnapshotError::SinceMismatch {
                cache_seq: 40,
                since: 39
            }
        );
        assert_eq!(err.code(), "snapshot_since_mismatch");
        assert_eq!(cache, before, "a refused delta changes nothing");

        let delta = StatusSnapshot::new(
            later,
            40,
            45,
            vec![99],
            vec![
                // Reinstated: the revoked version is current again.
                entry("D231000037", 2, CertificateState::Current, later),
                entry("B131000005", 4, CertificateState::Suspended, later),
                // Current entry for a version the cache never held: nothing to remove.
                entry("B131000005", 5, CertificateState::Current, later),
            ],
        );
        cache.apply(delta).unwrap();
        assert_eq!((cache.seq, cache.as_of), (45, later));
        assert!(cache.copy_withdrawn(99) && cache.copy_withdrawn(17));
        let n = |s: &str| s.parse::<CertificateNumber>().unwrap();
        assert_eq!(cache.version_state(&n("D231000037"), 2), None);
        assert_eq!(
            cache.version_state(&n("D231000037"), 1).map(|s| s.0),
            Some(CertificateState::Superseded)
        );
        assert_eq!(
            cache.version_state(&n("B131000005"), 4),
            Some((CertificateState::Suspended, later))
        );
        assert_eq!(cache.version_state(&n("B131000005"), 5), None);
    }

    #[test]
    fn a_full_snapshot_replaces_the_cache_and_a_delta_cannot_start_one() {
        let mut cache = StatusCache::from_full(full()).unwrap();
        let later = t0() + Duration::days(1);
        let fresh = StatusSnapshot::new(later, 0, 3, vec![1], vec![]);
        cache.apply(fresh.clone()).unwrap();
        assert_eq!(cache, StatusCache::from_full(fresh).unwrap());
        assert!(!cache.copy_withdrawn(17));
        assert_eq!(cache.versions().count(), 0);

        let delta = StatusSnapshot::new(later, 3, 4, vec![], vec![]);
        assert_eq!(
            StatusCache::from_full(delta).unwrap_err(),
            SnapshotError::NotFull { since: 3 }
        );
    }

    #[test]
    fn an_older_snapshot_cannot_replace_a_newer_cache() {
        let mut cache = StatusCache::from_full(full()).unwrap();
        let replay = StatusSnapshot::new(t0() - Duration::days(2), 0, 30, vec![], vec![]);
        let err = cache.apply(replay).unwrap_err();
        assert_eq!(err.code(), "snapshot_older_than_cache");
        assert!(cache.copy_withdrawn(17));
    }

    #[test]
    fn cache_round_trips_through_json() {
        let cache = StatusCache::from_full(full()).unwrap();
        let json = serde_json::to_string(&cache).unwrap();
        assert!(json.contains("\"D231000037\""), "{json}");
        assert!(json.contains("\"revoked\""), "{json}");
        assert_eq!(serde_json::from_str::<StatusCache>(&json).unwrap(), cache);
    }
}
