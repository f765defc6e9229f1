//! Keys, trust lists and clocks shared by the integration tests. Seeds are fixed so every run
//! (and the test vectors) signs the same bytes.
#![allow(dead_code)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use zizhi_shared::trust::KeyRole;
use zizhi_shared::{IssuerKey, KeyId, SignedTrustList, TrustList, TrustedKey};

pub const ISSUER: &str = "上海市住房和城乡建设管理委员会";
pub const HOST: &str = "ZIZHI.JSGL.SH.GOV.CN";

pub const ROOT_SEED: [u8; 32] = [0x52; 32];
/// The retired key: signed copies until the end of 2025.
pub const OLD_SEED: [u8; 32] = [0x01; 32];
/// The current key since 2026-01-01.
pub const NEW_SEED: [u8; 32] = [0x02; 32];

pub fn root() -> IssuerKey {
    IssuerKey::from_seed(KeyId::new(*b"ROOT"), ROOT_SEED)
}

pub fn old_key() -> IssuerKey {
    IssuerKey::from_seed(KeyId::new(*b"SH01"), OLD_SEED)
}

pub fn new_key() -> IssuerKey {
    IssuerKey::from_seed(KeyId::new(*b"SH02"), NEW_SEED)
}

/// The snapshot-signing key: listed, but for status snapshots only.
pub fn snapshot_key() -> IssuerKey {
    IssuerKey::from_seed(KeyId::new(*b"SN01"), SNAPSHOT_SEED)
}

pub const SNAPSHOT_SEED: [u8; 32] = [0x53; 32];

pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// The verifier's clock: a little after `Claims::example_usage()` was issued.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 10, 8, 0, 0).unwrap()
}

pub fn old_trusted() -> TrustedKey {
    TrustedKey::for_key(
        &old_key(),
        ISSUER,
        date("2024-01-01"),
        Some(date("2025-12-31")),
    )
}

pub fn new_trusted() -> TrustedKey {
    TrustedKey::for_key(&new_key(), ISSUER, date("2026-01-01"), None)
}

pub fn snapshot_trusted() -> TrustedKey {
    TrustedKey::for_key(&snapshot_key(), ISSUER, date("2024-01-01"), None)
        .with_role(KeyRole::SnapshotSigning)
}

/// Both copy-signing keys listed, as during and after a rotation, and the snapshot key; in
/// force until the end of 2026.
pub fn trust_list() -> TrustList {
    TrustList::new(
        vec![old_trusted(), new_trusted(), snapshot_trusted()],
        now(),
    )
    .expiring(Utc.with_ymd_and_hms(2026, 12, 31, 16, 0, 0).unwrap())
}

pub fn signed_trust_list() -> SignedTrustList {
    trust_list().sign(&root())
}

/// What an app holds: the list it opened from cached bytes with the pinned root key.
pub fn opened_trust_list() -> TrustList {
    signed_trust_list().open(&root().verifying_key()).unwrap()
}
