//! Property tests of the status snapshot: any snapshot survives signing and opening, a delta
//! applies as a hand merge says, and no byte string opens or panics.

use chrono::{DateTime, Duration, NaiveDate};
use proptest::prelude::*;
use zizhi_shared::trust::KeyRole;
use zizhi_shared::{
    CertificateState, IssuerKey, KeyId, PayloadError, SignedStatusSnapshot, StatusCache,
    StatusSnapshot, TrustList, TrustedKey, VersionEntry,
};

fn signer() -> IssuerKey {
    IssuerKey::from_seed(KeyId::new(*b"SN01"), [5; 32])
}

/// The snapshot key, in force since 1970 so any generated issue time is inside its window.
fn trust() -> TrustList {
    let listed = TrustedKey::for_key(&signer(), "发证机关", NaiveDate::default(), None)
        .with_role(KeyRole::SnapshotSigning);
    TrustList::new(vec![listed], DateTime::UNIX_EPOCH)
}

fn open(s: &StatusSnapshot) -> Result<StatusSnapshot, PayloadError> {
    s.sign(&signer()).open(&trust())
}

fn arb_entry() -> impl Strategy<Value = VersionEntry> {
    (
        prop::sample::select(vec!['A', 'B', 'D', 'E', 'Z']),
        0u32..1_000_000_000,
        1u32..=u32::MAX,
        prop::sample::select(vec![
            CertificateState::Current,
            CertificateState::Superseded,
            CertificateState::Suspended,
            CertificateState::Revoked,
            CertificateState::Cancelled,
            CertificateState::Expired,
        ]),
        0i64..4_000_000_000,
    )
        .prop_map(|(letter, digits, version, state, secs)| VersionEntry {
            certificate_number: format!("{letter}{digits:09}").parse().unwrap(),
            version,
            state,
            at: DateTime::from_timestamp(secs, 0).unwrap(),
        })
}

fn arb_snapshot() -> impl Strategy<Value = StatusSnapshot> {
    (
        0i64..4_000_000_000,
        any::<bool>(),
        any::<u64>(),
        prop::collection::vec(any::<u64>(), 0..20),
        prop::collection::vec(arb_entry(), 0..20),
    )
        .prop_map(|(secs, full, seq, copies, mut versions)| {
            let since = if full { 0 } else { seq / 2 + 1 }.min(seq);
            if since == 0 {
                versions.retain(|e| e.state != CertificateState::Current);
            }
            StatusSnapshot::new(
                DateTime::from_timestamp(secs, 0).unwrap(),
                since,
                seq,
                copies,
                versions,
            )
        })
}

proptest! {
    #[test]
    fn any_snapshot_round_trips_through_its_signed_form(s in arb_snapshot()) {
        prop_assert_eq!(open(&s).unwrap(), s);
    }

    #[test]
    fn applying_a_delta_equals_merging_by_hand(
        base in arb_snapshot(),
        delta in arb_snapshot(),
    ) {
        // The base as a full snapshot: no current entries.
        let kept = base.versions.into_iter().filter(|e| e.state != CertificateState::Current);
        let base = StatusSnapshot::new(
            base.issued_at, 0, base.seq, base.withdrawn_copies, kept.collect(),
        );
        let mut cache = StatusCache::from_full(base.clone()).unwrap();
        let delta = StatusSnapshot {
            issued_at: base.issued_at + Duration::seconds(1),
            since: base.seq.max(1),
            seq: base.seq.max(1).saturating_add(delta.seq % 5),
            ..delta
        };
        if base.seq == 0 {
            // A cache at 0 takes no delta: since 0 means full.
            prop_assert!(cache.apply(delta).is_err());
            return Ok(());
        }
        cache.apply(delta.clone()).unwrap();
        for id in base.withdrawn_copies.iter().chain(&delta.withdrawn_copies) {
            prop_assert!(cache.copy_withdrawn(*id));
        }
        for e in &delta.versions {
            let got = cache.version_state(&e.certificate_number, e.version);
            if e.state == CertificateState::Current {
                prop_assert_eq!(got, None);
            } else {
                prop_assert_eq!(got, Some((e.state, e.at)));
            }
        }
        for e in &base.versions {
            let replaced = delta.versions.iter().any(|d| {
                d.certificate_number == e.certificate_number && d.version == e.version
            });
            if !replaced {
                prop_assert_eq!(
                    cache.version_state(&e.certificate_number, e.version),
                    Some((e.state, e.at))
                );
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_open_and_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let opened = SignedStatusSnapshot::from_bytes(bytes).open(&trust());
        prop_assert!(opened.is_err());
    }
}
