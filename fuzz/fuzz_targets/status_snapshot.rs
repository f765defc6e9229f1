//! The signed status snapshot as the app takes it (`zizhi_app::status::accept_snapshot`):
//! opened with the trust list's snapshot-signing key and applied to the device's cache, full or delta; and the
//! snapshot's CBOR decoder behind the signature, with what applying it must do to a cache.
#![no_main]

use chrono::Duration;
use libfuzzer_sys::fuzz_target;
use zizhi_app::status::{SnapshotStep, accept_snapshot};
use zizhi_fuzz::{now, published, snapshot_signer, trust_list};
use zizhi_shared::snapshot::{SignedStatusSnapshot, StatusCache, StatusSnapshot};
use zizhi_shared::verdict::CertificateState;

/// The cache a device holds before the sync: an empty full snapshot at seq 1, a day old.
fn cache() -> StatusCache {
    let full = StatusSnapshot::new(now() - Duration::days(1), 0, 1, vec![], vec![]);
    StatusCache::from_full(full).expect("a valid full snapshot")
}

fuzz_target!(|data: &[u8]| {
    // The input as the signed bytes of a published snapshot, on a first and a later sync.
    let json = published(data);
    let held = cache();
    for before in [None, Some(&held)] {
        let step = accept_snapshot(&json, trust_list(), before);
        if let Ok(SnapshotStep::Applied(next)) = &step {
            let opened = SignedStatusSnapshot::from_bytes(data.to_vec())
                .open(trust_list())
                .expect("applied, so opened");
            assert_eq!(
                opened.sign(snapshot_signer()).as_bytes(),
                data,
                "only the listed snapshot key signs"
            );
            if let Some(held) = before {
                assert!(
                    next.as_of >= held.as_of,
                    "an older snapshot replaced the cache"
                );
            }
        }
    }
    let _ = SignedStatusSnapshot::from_bytes(data.to_vec()).kid();

    // The input as the snapshot's CBOR.
    let Ok(s) = StatusSnapshot::from_cbor(data) else {
        return;
    };
    assert_eq!(s.to_cbor(), data, "one encoding per snapshot");
    s.validate().expect("a decoded snapshot is valid");
    let signed = s.sign(snapshot_signer());
    assert_eq!(signed.open(trust_list()).as_ref(), Ok(&s));

    // Applied to a cache it fits, the cache says what the snapshot says.
    let mut cache = if s.is_full() {
        StatusCache::from_full(s.clone()).expect("a valid full snapshot builds a cache")
    } else {
        let mut c =
            StatusCache::from_full(StatusSnapshot::new(s.issued_at, 0, s.since, vec![], vec![]))
                .expect("an empty full snapshot");
        c.apply(s.clone()).expect("a delta applies where it starts");
        c
    };
    assert_eq!((cache.seq, cache.as_of), (s.seq, s.issued_at));
    for &id in &s.withdrawn_copies {
        assert!(cache.copy_withdrawn(id));
    }
    for e in &s.versions {
        let held = cache.version_state(&e.certificate_number, e.version);
        if e.state == CertificateState::Current {
            assert_eq!(held, None);
        } else {
            assert_eq!(held, Some((e.state, e.at)));
        }
    }
    // The device stores the cache as JSON and reads it back the same.
    let json = serde_json::to_string(&cache).expect("JSON");
    assert_eq!(
        serde_json::from_str::<StatusCache>(&json).ok().as_ref(),
        Some(&cache)
    );
    // A replay of an older snapshot is refused and leaves the cache alone.
    if let Some(earlier) = s.issued_at.checked_sub_signed(Duration::seconds(1)) {
        let before = cache.clone();
        let old = StatusSnapshot {
            issued_at: earlier,
            ..s
        };
        assert!(cache.apply(old).is_err());
        assert_eq!(cache, before);
    }
});
