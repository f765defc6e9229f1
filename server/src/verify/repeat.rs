//! Repeat scans (重复扫码): the same printed code is scanned again and again — at every gate,
//! by every inspector, by every bidder checking a rival. Two things about such a scan cannot
//! have changed since the last one, and are kept so they are not paid for again:
//!
//! - **The signature check.** It depends only on the payload's exact bytes and the keys it was
//!   checked with. Entries are found by those bytes themselves (never by copy number, which a
//!   forger chooses freely, nor by their SHA-256, which would cost a repeat scan a seventh of
//!   its instructions) and hold the keys they were checked with: after a key reload (a
//!   rotation, a key taken off the trust list) the check is made again.
//! - **The verdict's JSON.** It depends on the copy, the register's status of its certificate
//!   and the Beijing date (usage periods and validity count in days), and on the moment of the
//!   check, which is only written into `checked_at`. It is kept per payload together with the
//!   very status object it was judged from, and is reused only while the status cache still
//!   answers with that same object (`Arc::ptr_eq`: the status cache hands out a new one for
//!   every read of the register, and only after confirming the old one current) on the same
//!   day. Only verdicts on the register's live status are kept: an answer while the register
//!   cannot be read is judged afresh each time.
//!
//! First scans of payloads not seen before have their signatures checked together when they
//! arrive together (`batch`).
//!
//! The register's freshness rules are untouched: every scan still asks the status cache, which
//! still reads the event log after the request arrived, and still finds the issued copy.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use prometheus_client::metrics::counter::Counter;
use sha2::{Digest, Sha256};
use zizhi_shared::verdict::Verdict;
use zizhi_shared::{PayloadError, Verified};

use super::batch::SignatureBatches;
use crate::key_ring::LoadedKeys;
use crate::register::model::CertificateStatus;

/// Payloads remembered by default: a site's morning of scans. Each costs about 3 KB (the
/// payload, its claims and the verdict's JSON), so the default stays near 15 MB at most.
pub const DEFAULT_CAPACITY: u64 = 5_000;

/// Signature checks and verdict renderings of recently scanned payloads.
#[derive(Clone)]
pub struct RepeatScans {
    /// `None`: nothing is kept (a capacity of 0), every scan is checked and judged afresh.
    checked: Option<Arc<CheckedPayloads>>,
    batches: Arc<SignatureBatches>,
}

/// Checked payloads, found by their exact bytes.
type CheckedPayloads = quick_cache::sync::Cache<Box<[u8]>, Arc<Scanned>>;

/// A payload whose signature was checked, with what was last answered for it.
pub struct Scanned {
    /// [`payload_digest`] of the payload.
    pub digest: [u8; 32],
    /// The keys the signature was checked with.
    keys: Arc<LoadedKeys>,
    pub verified: Verified,
    /// The signature was proved in a batch, not by the single check (see `batch`).
    pub in_batch: bool,
    rendered: Mutex<Option<Arc<RenderedVerdict>>>,
}

/// A verdict's JSON, cut around the value of `checked_at`.
pub struct RenderedVerdict {
    /// The status object it was judged from; held, so no other can take its address.
    status: Arc<Option<CertificateStatus>>,
    day: NaiveDate,
    head: Vec<u8>,
    tail: Vec<u8>,
    /// The verdict's count in the metrics, bumped once per answer.
    pub counter: Counter,
}

/// SHA-256 of a payload's exact bytes: what a scanned payload is known by, here and in the
/// register's issued copies (`cache::CopyRead`).
pub fn payload_digest(payload: &[u8]) -> [u8; 32] {
    Sha256::digest(payload).into()
}

impl RepeatScans {
    pub fn new(capacity: u64, batches: SignatureBatches) -> RepeatScans {
        RepeatScans {
            checked: (capacity > 0).then(|| {
                let entries = usize::try_from(capacity).unwrap_or(usize::MAX);
                Arc::new(quick_cache::sync::Cache::new(entries))
            }),
            batches: Arc::new(batches),
        }
    }

    /// The payload's checked signature: remembered when these exact bytes were checked with
    /// these keys, checked now otherwise. Failures are never remembered.
    pub async fn verified(
        &self,
        payload: &[u8],
        keys: &Arc<LoadedKeys>,
        now: DateTime<Utc>,
    ) -> Result<Arc<Scanned>, PayloadError> {
        if let Some(s) = self.checked.as_ref().and_then(|c| c.get(payload))
            && Arc::ptr_eq(&s.keys, keys)
        {
            // The remaining check, "issued no later than now", stays passed as time goes on.
            return Ok(s);
        }
        let trust = keys.decompressed_trust_list();
        let opened = zizhi_shared::open_payload(payload, trust)?;
        let checked = self.batches.check(opened).await;
        if !checked.holds {
            return Err(PayloadError::BadSignature);
        }
        let verified = checked.payload.accept(trust.list(), now)?;
        let scanned = Arc::new(Scanned {
            digest: payload_digest(payload),
            keys: keys.clone(),
            verified,
            in_batch: checked.in_batch,
            rendered: Mutex::new(None),
        });
        if let Some(c) = &self.checked {
            c.insert(payload.into(), scanned.clone());
        }
        Ok(scanned)
    }
}

impl RepeatScans {
    /// Counts a scan as in progress (see `batch`) until the guard is dropped.
    pub fn scan_in_flight(&self) -> super::batch::ScanInFlight<'_> {
        self.batches.scan_in_flight()
    }

    /// Whether scans are remembered at all: when not, nothing rendered is kept either.
    pub fn remembers(&self) -> bool {
        self.checked.is_some()
    }
}

impl Scanned {
    /// The last verdict rendered for this payload, if it was judged from `status` on `day`.
    pub fn rendered(
        &self,
        status: &Arc<Option<CertificateStatus>>,
        day: NaiveDate,
    ) -> Option<Arc<RenderedVerdict>> {
        let r = self.lock().clone()?;
        (r.day == day && Arc::ptr_eq(&r.status, status)).then_some(r)
    }

    pub fn remember(&self, rendered: RenderedVerdict) {
        *self.lock() = Some(Arc::new(rendered));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<RenderedVerdict>>> {
        // Only a finished rendering is ever stored: a panic elsewhere leaves a usable value.
        self.rendered.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl RenderedVerdict {
    /// `json` is `verdict` serialised; `None` if its `checked_at` cannot be found in it.
    pub fn cut(
        verdict: &Verdict,
        json: &[u8],
        status: Arc<Option<CertificateStatus>>,
        counter: Counter,
    ) -> Option<RenderedVerdict> {
        let value = serde_json::to_vec(&verdict.checked_at).ok()?;
        // No string value can hold this: inside a JSON string every quote is escaped.
        let key = br#""checked_at":"#;
        let mut pattern = key.to_vec();
        pattern.extend_from_slice(&value);
        let at = memchr::memmem::find(json, &pattern)?;
        Some(RenderedVerdict {
            status,
            day: zizhi_shared::time::beijing_date(verdict.checked_at),
            head: json[..at + key.len()].to_vec(),
            tail: json[at + pattern.len()..].to_vec(),
            counter,
        })
    }

    /// The verdict's JSON as checked at `now` (on the same Beijing day).
    pub fn at(&self, now: DateTime<Utc>) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.head.len() + self.tail.len() + 40);
        out.extend_from_slice(&self.head);
        serde_json::to_writer(&mut out, &now).expect("an instant serialises");
        out.extend_from_slice(&self.tail);
        out
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use zizhi_shared::Claims;
    use zizhi_shared::trust::KeyRole;
    use zizhi_shared::verdict::StatusFacts;

    use super::*;
    use crate::key_ring::KeyRing;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
    }

    fn ring(dir: &tempfile::TempDir) -> KeyRing {
        KeyRing::load_or_create(
            dir.path(),
            "上海市住房和城乡建设管理委员会",
            now().date_naive() - Duration::days(400),
            now(),
        )
        .unwrap()
    }

    fn payload(keys: &LoadedKeys) -> Vec<u8> {
        let mut claims = Claims::example_usage();
        claims.issued_at = now() - Duration::days(1);
        let key = keys
            .signer(KeyRole::CopySigning, claims.issued_at.date_naive())
            .unwrap();
        claims.sign(key).as_bytes().to_vec()
    }

    fn scans(capacity: u64) -> RepeatScans {
        let sizes = prometheus_client::metrics::histogram::Histogram::new([1.0]);
        RepeatScans::new(capacity, SignatureBatches::new(1, sizes))
    }

    #[tokio::test]
    async fn a_remembered_rendering_is_the_fresh_one_with_the_new_time() {
        let dir = tempfile::tempdir().unwrap();
        let keys = ring(&dir).current();
        let scanned = scans(10)
            .verified(&payload(&keys), &keys, now())
            .await
            .unwrap();
        let status = Arc::new(None);
        let judge =
            |at| zizhi_shared::verdict::judge(&scanned.verified, StatusFacts::Live(None), at);
        let v = judge(now());
        let json = serde_json::to_vec(&v).unwrap();
        let r = RenderedVerdict::cut(&v, &json, status.clone(), Counter::default()).unwrap();
        assert_eq!(r.at(now()), json);
        let later = now() + Duration::minutes(7) + Duration::nanoseconds(1234);
        assert_eq!(r.at(later), serde_json::to_vec(&judge(later)).unwrap());

        scanned.remember(r);
        let today = zizhi_shared::time::beijing_date(now());
        assert!(scanned.rendered(&status, today).is_some());
        // Another status object, even an equal one, or another day: judged again.
        assert!(scanned.rendered(&Arc::new(None), today).is_none());
        assert!(
            scanned
                .rendered(&status, today.succ_opt().unwrap())
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_signature_is_remembered_for_its_exact_bytes_and_keys_only() {
        let dir = tempfile::tempdir().unwrap();
        let keys = ring(&dir).current();
        let payload = payload(&keys);
        let scans = scans(10);
        let first = scans.verified(&payload, &keys, now()).await.unwrap();
        let again = scans.verified(&payload, &keys, now()).await.unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second scan is not checked again"
        );

        // One flipped bit of the signature: checked, and refused, every time.
        let mut forged = payload.clone();
        *forged.last_mut().unwrap() ^= 1;
        for _ in 0..2 {
            assert_eq!(
                scans.verified(&forged, &keys, now()).await.err(),
                Some(PayloadError::BadSignature)
            );
        }

        // The same bytes under reloaded keys are checked again.
        let reloaded = KeyRing::load(dir.path()).unwrap().current();
        let checked_again = scans.verified(&payload, &reloaded, now()).await.unwrap();
        assert!(!Arc::ptr_eq(&first, &checked_again));
    }
}
