//! The status snapshot (状态快照): what the register says about copies and certificate
//! versions that are no longer simply current, signed by the server's snapshot-signing key
//! (listed in the trust list for that role only), so a device
//! can tell "signature valid; status as of <time>: revoked" without a network.
//!
//! The server publishes a **full** snapshot (every withdrawn copy, every version that is
//! superseded, suspended, revoked, cancelled or expired) and **deltas** (what changed after
//! the register's event sequence number `since`). A device keeps a [`StatusCache`]: a full
//! snapshot replaces it; a delta applies only to the cache whose `seq` equals the delta's
//! `since`, and an entry in state [`CertificateState::Current`] removes that version from the
//! cache (a reinstated qualification, a renewed certificate).
//!
//! # Wire form
//!
//! An untagged COSE_Sign1 like the trust list's, signed by a key the trust list names with
//! role 2 (snapshot signing) and whose window covers the issue date, with protected header
//! `{1: -19 (Ed25519), 3: "application/zizhi-status-snapshot+cbor", 4: kid}` (-8 is read
//! too); the content
//! type keeps a snapshot from being taken for a trust list or the reverse. The payload is the
//! canonical CBOR map (shortest forms, keys ascending, one encoding per snapshot)
//!
//! | key | field | CBOR |
//! |----:|-------|------|
//! | 1 | issued at | uint, seconds since 1970-01-01T00:00Z: the status is as of this time |
//! | 2 | since | uint, the `seq` this delta applies to; 0 for a full snapshot |
//! | 3 | seq | uint, the register's event sequence number the status reflects; ≥ since |
//! | 4 | withdrawn copies | array of uint copy ids, strictly ascending |
//! | 5 | versions | array of version entries, strictly ascending by (number, version) |
//!
//! where each version entry is
//!
//! | key | field | CBOR |
//! |----:|-------|------|
//! | 1 | certificate number | tstr, `D231000037` |
//! | 2 | version | uint ≥ 1 |
//! | 3 | state | uint: 0 current, 1 superseded, 2 suspended, 3 revoked, 4 cancelled, 5 expired |
//! | 4 | at | uint, seconds since 1970-01-01T00:00Z: when the version entered the state |
//!
//! A full snapshot carries no `current` entry (an absent version is current); a delta may.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use zizhi_shared::snapshot::{StatusCache, StatusSnapshot, VersionEntry};
//! use zizhi_shared::verdict::CertificateState;
//! use zizhi_shared::trust::{KeyRole, TrustList, TrustedKey};
//! use zizhi_shared::{IssuerKey, KeyId};
//!
//! let signer = IssuerKey::from_seed(KeyId::new(*b"SN01"), [5; 32]);
//! let t = Utc.with_ymd_and_hms(2026, 11, 25, 6, 0, 0).unwrap();
//! let listed = TrustedKey::for_key(&signer, "发证机关", t.date_naive(), None)
//!     .with_role(KeyRole::SnapshotSigning);
//! let trust = TrustList::new(vec![listed], t);
//! let revoked = VersionEntry {
//!     certificate_number: "D231000037".parse().unwrap(),
//!     version: 2,
//!     state: CertificateState::Revoked,
//!     at: t,
//! };
//! let full = StatusSnapshot::new(t, 0, 41, vec![1_048_577], vec![revoked.clone()]);
//! let signed = full.sign(&signer);
//! let opened = signed.open(&trust).unwrap();
//! let mut cache = StatusCache::from_full(opened).unwrap();
//! assert!(cache.copy_withdrawn(1_048_577));
//! assert_eq!(
//!     cache.version_state(&revoked.certificate_number, 2),
//!     Some((CertificateState::Revoked, t))
//! );
//!
//! // The qualification is reinstated: the next delta says version 2 is current again.
//! let later = t + chrono::Duration::hours(1);
//! let reinstated = VersionEntry { state: CertificateState::Current, at: later, ..revoked.clone() };
//! let delta = StatusSnapshot::new(later, 41, 42, vec![], vec![reinstated]);
//! cache.apply(delta.sign(&signer).open(&trust).unwrap()).unwrap();
//! assert_eq!(cache.seq, 42);
//! assert_eq!(cache.version_state(&revoked.certificate_number, 2), None);
//! ```

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Timelike, Utc};
use ciborium::Value;
use serde::{Deserialize, Serialize};

use crate::cose::{self, fields};
use crate::domain::CertificateNumber;
use crate::keys::{IssuerKey, KeyId};
use crate::payload::PayloadError;
use crate::trust::{KeyRole, TrustList};
use crate::verdict::CertificateState;

mod cache;
pub use cache::{CachedState, SnapshotError, StatusCache};

/// COSE content type of a signed status snapshot.
pub const STATUS_SNAPSHOT_CONTENT_TYPE: &str = "application/zizhi-status-snapshot+cbor";

/// One certificate version and its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionEntry {
    pub certificate_number: CertificateNumber,
    pub version: u32,
    pub state: CertificateState,
    /// When the version entered this state, as the register records it (whole seconds).
    pub at: DateTime<Utc>,
}

/// A full snapshot (`since == 0`) or a delta since the register's sequence number `since`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusSnapshot {
    /// The status is as of this time; whole seconds in the signed form.
    pub issued_at: DateTime<Utc>,
    /// 0 for a full snapshot; otherwise the `seq` of the snapshot this delta applies to.
    pub since: u64,
    /// The register's event sequence number this status reflects.
    pub seq: u64,
    /// Withdrawn copy ids (a delta: withdrawn since `since`), ascending.
    pub withdrawn_copies: Vec<u64>,
    /// Ascending by (certificate number, version).
    pub versions: Vec<VersionEntry>,
}

fn bad(reason: impl Into<String>) -> PayloadError {
    PayloadError::StatusSnapshotInvalid(reason.into())
}

fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0).unwrap_or(t)
}

impl StatusSnapshot {
    /// Builds a snapshot in canonical order: times cut to whole seconds, copies and versions
    /// sorted, duplicates dropped (for versions, the last entry given wins).
    pub fn new(
        issued_at: DateTime<Utc>,
        since: u64,
        seq: u64,
        withdrawn_copies: Vec<u64>,
        versions: Vec<VersionEntry>,
    ) -> StatusSnapshot {
        let withdrawn_copies: BTreeSet<u64> = withdrawn_copies.into_iter().collect();
        let versions: BTreeMap<(CertificateNumber, u32), VersionEntry> = versions
            .into_iter()
            .map(|e| {
                (
                    (e.certificate_number.clone(), e.version),
                    VersionEntry {
                        at: whole_seconds(e.at),
                        ..e
                    },
                )
            })
            .collect();
        StatusSnapshot {
            issued_at: whole_seconds(issued_at),
            since,
            seq,
            withdrawn_copies: withdrawn_copies.into_iter().collect(),
            versions: versions.into_values().collect(),
        }
    }

    /// A full snapshot replaces what a device holds; a delta updates it.
    pub fn is_full(&self) -> bool {
        self.since == 0
    }

    /// Signs with the snapshot-signing key. Not validated here; [`SignedStatusSnapshot::open`]
    /// refuses what [`StatusSnapshot::validate`] refuses.
    pub fn sign(&self, signer: &IssuerKey) -> SignedStatusSnapshot {
        SignedStatusSnapshot(cose::seal(
            signer,
            Some(STATUS_SNAPSHOT_CONTENT_TYPE),
            &[],
            self.to_cbor(),
        ))
    }

    /// The canonical CBOR map (the COSE payload); see the module docs.
    pub fn to_cbor(&self) -> Vec<u8> {
        let uint = |n: u64| Value::Integer(n.into());
        // Negative (pre-1970) times are written as negative integers, which never decode.
        let time = |t: DateTime<Utc>| Value::Integer(t.timestamp().into());
        let versions = self
            .versions
            .iter()
            .map(|e| {
                Value::Map(vec![
                    (
                        uint(1),
                        Value::Text(e.certificate_number.as_str().to_owned()),
                    ),
                    (uint(2), uint(e.version.into())),
                    (uint(3), uint(e.state.wire_code().into())),
                    (uint(4), time(e.at)),
                ])
            })
            .collect();
        let map = Value::Map(vec![
            (uint(1), time(self.issued_at)),
            (uint(2), uint(self.since)),
            (uint(3), uint(self.seq)),
            (
                uint(4),
                Value::Array(self.withdrawn_copies.iter().map(|&id| uint(id)).collect()),
            ),
            (uint(5), Value::Array(versions)),
        ]);
        let mut out = Vec::new();
        ciborium::ser::into_writer(&map, &mut out)
            .expect("encoding a CBOR value into memory cannot fail");
        out
    }

    /// Decodes the canonical CBOR form and checks it (see [`StatusSnapshot::validate`]).
    pub fn from_cbor(bytes: &[u8]) -> Result<StatusSnapshot, PayloadError> {
        let s = decode(bytes).map_err(PayloadError::StatusSnapshotInvalid)?;
        if s.to_cbor() != bytes {
            return Err(bad("不是规范编码"));
        }
        s.validate()?;
        Ok(s)
    }

    /// The rules a device relies on when applying a snapshot: `since ≤ seq`, copies and
    /// versions strictly ascending (so no entry is said twice), versions from 1, and no
    /// `current` entry in a full snapshot (there an absent version is current).
    pub fn validate(&self) -> Result<(), PayloadError> {
        if self.since > self.seq {
            return Err(bad(format!(
                "增量起点 {} 大于序号 {}",
                self.since, self.seq
            )));
        }
        if self.issued_at.timestamp() < 0 {
            return Err(bad("签发时间早于 1970-01-01"));
        }
        if self.withdrawn_copies.windows(2).any(|w| w[0] >= w[1]) {
            return Err(bad("撤回的证书件编号重复或未按升序排列"));
        }
        for (i, e) in self.versions.iter().enumerate() {
            if e.version < 1 {
                return Err(bad(format!("{} 的版本号应从 1 开始", e.certificate_number)));
            }
            if e.at.timestamp() < 0 {
                return Err(bad(format!(
                    "{} 第 {} 版的时间无效",
                    e.certificate_number, e.version
                )));
            }
            if self.is_full() && e.state == CertificateState::Current {
                return Err(bad(format!(
                    "全量快照不应列出现行版本（{} 第 {} 版）",
                    e.certificate_number, e.version
                )));
            }
            if i > 0 {
                let p = &self.versions[i - 1];
                if (&p.certificate_number, p.version) >= (&e.certificate_number, e.version) {
                    return Err(bad("证书版本重复或未按升序排列"));
                }
            }
        }
        Ok(())
    }
}

/// A status snapshot signed by the snapshot-signing key, as published and fetched.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignedStatusSnapshot(Vec<u8>);

impl SignedStatusSnapshot {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// Wraps bytes without any check; [`SignedStatusSnapshot::open`] does the checking.
    pub fn from_bytes(bytes: Vec<u8>) -> SignedStatusSnapshot {
        SignedStatusSnapshot(bytes)
    }

    /// The signing key's id named in the envelope, read without verifying.
    pub fn kid(&self) -> Result<KeyId, PayloadError> {
        Ok(
            cose::open_signed_document(&self.0, STATUS_SNAPSHOT_CONTENT_TYPE, None)
                .map_err(bad)?
                .kid,
        )
    }

    /// Verifies the signature with the snapshot-signing key the trust list names (a key
    /// listed for another role does not count) and returns the snapshot, which must have been
    /// issued inside that key's window. Every fault is [`PayloadError::StatusSnapshotInvalid`]
    /// with the reason in its message.
    pub fn open(&self, trust: &TrustList) -> Result<StatusSnapshot, PayloadError> {
        // Parsed once; the signer is known only from the envelope's kid.
        let envelope =
            cose::open_signed_document(&self.0, STATUS_SNAPSHOT_CONTENT_TYPE, None).map_err(bad)?;
        let kid = envelope.kid;
        let trusted = trust
            .find_for(&kid, KeyRole::SnapshotSigning)
            .ok_or_else(|| bad(format!("信任列表中没有状态快照签名密钥 {kid}")))?;
        if !envelope.verify(&trusted.verifying_key()?, &[]) {
            return Err(bad("签名无效"));
        }
        let snapshot = StatusSnapshot::from_cbor(envelope.payload())?;
        if !trusted.covers(snapshot.issued_at.date_naive()) {
            return Err(bad(format!("快照签发于密钥 {kid} 的有效期之外")));
        }
        Ok(snapshot)
    }
}

fn decode(bytes: &[u8]) -> Result<StatusSnapshot, String> {
    let value: Value =
        ciborium::de::from_reader(bytes).map_err(|e| format!("不是有效的 CBOR ({e})"))?;
    let mut top = fields(value, 5)?;
    let issued_at = top[1]
        .take()
        .and_then(as_time)
        .ok_or("签发时间缺失或无效")?;
    let since = top[2].take().and_then(as_u64).ok_or("增量起点缺失或无效")?;
    let seq = top[3].take().and_then(as_u64).ok_or("序号缺失或无效")?;
    let Some(Value::Array(copies)) = top[4].take() else {
        return Err("缺少撤回证书件数组".into());
    };
    let withdrawn_copies = copies
        .into_iter()
        .map(|v| as_u64(v).ok_or_else(|| "证书件编号应为无符号整数".to_owned()))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(Value::Array(items)) = top[5].take() else {
        return Err("缺少证书版本数组".into());
    };
    let versions = items
        .into_iter()
        .map(|item| {
            let mut f = fields(item, 4)?;
            let certificate_number = match f[1].take() {
                Some(Value::Text(s)) => s.parse::<CertificateNumber>().map_err(|e| e.to_string()),
                _ => Err("缺少证书编号".to_owned()),
            }?;
            let version = f[2]
                .take()
                .and_then(as_u64)
                .and_then(|v| u32::try_from(v).ok())
                .ok_or("版本号缺失或超出范围")?;
            let state = f[3]
                .take()
                .and_then(as_u64)
                .and_then(CertificateState::from_wire_code)
                .ok_or("版本状态缺失或未知")?;
            let at = f[4].take().and_then(as_time).ok_or("状态时间缺失或无效")?;
            Ok(VersionEntry {
                certificate_number,
                version,
                state,
                at,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(StatusSnapshot {
        issued_at,
        since,
        seq,
        withdrawn_copies,
        versions,
    })
}

fn as_u64(v: Value) -> Option<u64> {
    match v {
        Value::Integer(i) => u64::try_from(i).ok(),
        _ => None,
    }
}

fn as_time(v: Value) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(i64::try_from(as_u64(v)?).ok()?, 0)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    pub(crate) fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 6, 0, 0).unwrap()
    }

    fn root() -> IssuerKey {
        IssuerKey::from_seed(KeyId::new(*b"RT01"), [9; 32])
    }

    /// The snapshot-signing key.
    fn signer() -> IssuerKey {
        IssuerKey::from_seed(KeyId::new(*b"SN01"), [5; 32])
    }

    fn copy_signer() -> IssuerKey {
        IssuerKey::from_seed(KeyId::new(*b"SH01"), [7; 32])
    }

    pub(crate) fn trust() -> crate::TrustList {
        let from = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        crate::TrustList::new(
            vec![
                crate::TrustedKey::for_key(&copy_signer(), "发证机关", from, None),
                crate::TrustedKey::for_key(&signer(), "发证机关", from, None)
                    .with_role(KeyRole::SnapshotSigning),
            ],
            t0(),
        )
    }

    pub(crate) fn entry(
        number: &str,
        version: u32,
        state: CertificateState,
        at: DateTime<Utc>,
    ) -> VersionEntry {
        VersionEntry {
            certificate_number: number.parse().unwrap(),
            version,
            state,
            at,
        }
    }

    /// Seq 40: copies 3 and 17 withdrawn, D231000037 v1 superseded and v2 revoked, A131000002
    /// expired.
    pub(crate) fn full() -> StatusSnapshot {
        StatusSnapshot::new(
            t0(),
            0,
            40,
            vec![17, 3],
            vec![
                entry(
                    "D231000037",
                    2,
                    CertificateState::Revoked,
                    t0() - Duration::days(3),
                ),
                entry(
                    "D231000037",
                    1,
                    CertificateState::Superseded,
                    t0() - Duration::days(30),
                ),
                entry(
                    "A131000002",
                    1,
                    CertificateState::Expired,
                    t0() - Duration::days(1),
                ),
            ],
        )
    }

    fn open(s: &StatusSnapshot) -> Result<StatusSnapshot, PayloadError> {
        s.sign(&signer()).open(&trust())
    }

    #[test]
    fn new_sorts_and_cuts_times_to_whole_seconds() {
        let s = StatusSnapshot::new(
            t0() + Duration::milliseconds(900),
            0,
            1,
            vec![5, 2, 5],
            vec![
                entry("D231000037", 2, CertificateState::Revoked, t0()),
                entry(
                    "A131000002",
                    1,
                    CertificateState::Expired,
                    t0() + Duration::milliseconds(1),
                ),
            ],
        );
        assert_eq!(s.issued_at, t0());
        assert_eq!(s.withdrawn_copies, [2, 5]);
        assert_eq!(s.versions[0].certificate_number.as_str(), "A131000002");
        assert_eq!(s.versions[0].at, t0());
        s.validate().unwrap();
    }

    #[test]
    fn signed_snapshot_opens_with_the_listed_snapshot_key_to_the_same_snapshot() {
        let s = full();
        let signed = s.sign(&signer());
        assert_eq!(signed.kid().unwrap(), KeyId::new(*b"SN01"));
        assert_eq!(signed.open(&trust()).unwrap(), s);
    }

    #[test]
    fn a_snapshot_signed_by_another_key_under_the_same_kid_is_refused() {
        let other = IssuerKey::from_seed(KeyId::new(*b"SN01"), [8; 32]);
        let err = full().sign(&other).open(&trust()).unwrap_err();
        assert_eq!(err.code(), "status_snapshot_invalid");
        assert!(err.to_string().contains("签名无效"), "{err}");
    }

    #[test]
    fn only_a_key_listed_for_snapshots_may_sign_one() {
        // The root (never listed) and a copy-signing key (listed for copies) are refused.
        for key in [root(), copy_signer()] {
            let err = full().sign(&key).open(&trust()).unwrap_err();
            assert_eq!(err.code(), "status_snapshot_invalid");
            assert!(err.to_string().contains("没有状态快照签名密钥"), "{err}");
        }
    }

    #[test]
    fn a_snapshot_issued_outside_its_keys_window_is_refused() {
        let mut list = trust();
        list.keys[1].valid_to = Some(t0().date_naive() - Duration::days(1));
        let err = full().sign(&signer()).open(&list).unwrap_err();
        assert!(err.to_string().contains("有效期之外"), "{err}");
    }

    #[test]
    fn every_flipped_bit_of_a_signed_snapshot_is_refused() {
        let bytes = full().sign(&signer()).into_bytes();
        for i in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[i / 8] ^= 1 << (i % 8);
            let err = SignedStatusSnapshot::from_bytes(b)
                .open(&trust())
                .unwrap_err();
            assert_eq!(err.code(), "status_snapshot_invalid", "bit {i}");
        }
    }

    #[test]
    fn truncated_and_extended_snapshots_are_refused() {
        let bytes = full().sign(&signer()).into_bytes();
        for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            let err = SignedStatusSnapshot::from_bytes(bytes[..cut].to_vec())
                .open(&trust())
                .unwrap_err();
            assert_eq!(err.code(), "status_snapshot_invalid", "cut {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        let err = SignedStatusSnapshot::from_bytes(longer)
            .open(&trust())
            .unwrap_err();
        assert!(err.to_string().contains("多余"), "{err}");
    }

    #[test]
    fn a_trust_list_is_not_taken_for_a_snapshot_nor_the_reverse() {
        let list = trust().sign(&signer());
        let err = SignedStatusSnapshot::from_bytes(list.as_bytes().to_vec())
            .open(&trust())
            .unwrap_err();
        assert_eq!(err.code(), "status_snapshot_invalid");
        assert!(
            err.to_string().contains(STATUS_SNAPSHOT_CONTENT_TYPE),
            "{err}"
        );

        let snap = full().sign(&root());
        let err = crate::SignedTrustList::from_bytes(snap.into_bytes())
            .open(&root().verifying_key())
            .unwrap_err();
        assert_eq!(err.code(), "trust_list_invalid");
        assert!(err.to_string().contains("内容类型"), "{err}");
    }

    #[test]
    fn a_copy_payload_signed_by_the_root_is_not_a_snapshot() {
        // Same key, same COSE shape, but no content type: refused by the header check.
        let payload = crate::Claims::example_usage().sign(&signer());
        let err = SignedStatusSnapshot::from_bytes(payload.as_bytes()[1..].to_vec())
            .open(&trust())
            .unwrap_err();
        assert!(err.to_string().contains("内容类型"), "{err}");
    }

    /// Signs an arbitrary payload map with the snapshot content type, as a forger holding the
    /// root key (or a buggy server) could.
    fn signed_payload(payload: Vec<u8>) -> SignedStatusSnapshot {
        SignedStatusSnapshot(cose::seal(
            &signer(),
            Some(STATUS_SNAPSHOT_CONTENT_TYPE),
            &[],
            payload,
        ))
    }

    fn open_payload(payload: Vec<u8>) -> PayloadError {
        signed_payload(payload).open(&trust()).unwrap_err()
    }

    #[test]
    fn non_canonical_payloads_are_refused_even_when_signed() {
        let canonical = full().to_cbor();
        // Keys in descending order.
        let Value::Map(mut entries) =
            ciborium::de::from_reader::<Value, _>(&canonical[..]).unwrap()
        else {
            panic!("a snapshot is a map")
        };
        entries.reverse();
        let mut reversed = Vec::new();
        ciborium::ser::into_writer(&Value::Map(entries), &mut reversed).unwrap();
        let err = open_payload(reversed);
        assert_eq!(err.code(), "status_snapshot_invalid");
        assert!(err.to_string().contains("规范编码"), "{err}");

        // Layout: a5, 01 1a <4 bytes issued at>, 02 00 (since), 03 18 28 (seq 40),
        // 04 82 03 11 (copies [3, 17]), 05 …
        assert_eq!(&canonical[7..9], [0x02, 0x00]);
        assert_eq!(&canonical[12..16], [0x04, 0x82, 0x03, 0x11]);

        // A longer-than-needed integer head for `since` (0 written as 0x18 0x00).
        let mut long_head = canonical.clone();
        long_head.splice(8..9, [0x18, 0x00]);
        let err = open_payload(long_head);
        assert!(err.to_string().contains("规范编码"), "{err}");

        // Indefinite-length array of withdrawn copies.
        let mut indefinite = canonical.clone();
        indefinite.splice(13..16, [0x9f, 0x03, 0x11, 0xff]);
        let err = open_payload(indefinite);
        assert_eq!(err.code(), "status_snapshot_invalid");
    }

    #[test]
    fn semantically_broken_snapshots_are_refused_even_when_signed() {
        let cases: Vec<(StatusSnapshot, &str)> = vec![
            (
                StatusSnapshot {
                    since: 41,
                    ..full()
                },
                "增量起点",
            ),
            (
                StatusSnapshot {
                    withdrawn_copies: vec![3, 3],
                    ..full()
                },
                "撤回",
            ),
            (
                StatusSnapshot {
                    versions: full().versions.into_iter().rev().collect(),
                    ..full()
                },
                "升序",
            ),
            (
                StatusSnapshot {
                    versions: vec![entry("D231000037", 0, CertificateState::Revoked, t0())],
                    ..full()
                },
                "从 1 开始",
            ),
            (
                StatusSnapshot {
                    versions: vec![entry("D231000037", 3, CertificateState::Current, t0())],
                    ..full()
                },
                "现行版本",
            ),
        ];
        for (s, why) in cases {
            let err = open(&s).unwrap_err();
            assert_eq!(err.code(), "status_snapshot_invalid");
            assert!(err.to_string().contains(why), "{why}: {err}");
        }
        // The same current entry is fine in a delta: it tells the device to drop the version.
        let delta = StatusSnapshot {
            since: 40,
            seq: 41,
            versions: vec![entry("D231000037", 3, CertificateState::Current, t0())],
            ..full()
        };
        assert_eq!(open(&delta).unwrap(), delta);
    }

    #[test]
    fn unknown_state_codes_and_keys_are_refused() {
        let uint = |n: u64| Value::Integer(n.into());
        let map = |state: u64, extra: bool| {
            let mut e = vec![
                (uint(1), Value::Text("D231000037".into())),
                (uint(2), uint(1)),
                (uint(3), uint(state)),
                (uint(4), uint(1_700_000_000)),
            ];
            if extra {
                e.push((uint(5), uint(0)));
            }
            let top = Value::Map(vec![
                (uint(1), uint(1_700_000_000)),
                (uint(2), uint(0)),
                (uint(3), uint(1)),
                (uint(4), Value::Array(vec![])),
                (uint(5), Value::Array(vec![Value::Map(e)])),
            ]);
            let mut out = Vec::new();
            ciborium::ser::into_writer(&top, &mut out).unwrap();
            out
        };
        assert!(open_payload(map(6, false)).to_string().contains("版本状态"));
        assert!(
            open_payload(map(3, true))
                .to_string()
                .contains("未知的字段键")
        );
        // The same map with a known state opens.
        signed_payload(map(3, false)).open(&trust()).unwrap();
    }
}
