//! Signature checks of scans that arrive together, made in one equation (批量验签).
//!
//! Under load, many first scans wait for their signature check at the same moment. Checked
//! together (`zizhi_shared::signatures_hold_together`, ed25519-dalek's batch verification)
//! they cost about half as much each as checked one by one. Nothing waits on a timer: when
//! other scans are in progress, the first scan to arrive lets the other runnable tasks go
//! first a few times, then checks whatever gathered meanwhile, its own included. A scan with
//! none in progress beside it is checked at once on its own, as before; a batch that fails is
//! checked one by one, so a forged scan never costs a genuine one its answer.
//!
//! A batch proves each message was signed by its key; it does not prove the signature is in
//! the one canonical form the single check demands (see `signatures_hold_together`). Such a
//! difference can only come from a private key's holder, and the register's word on the exact
//! bytes settles it (`service::examine` checks on its own whatever the register did not
//! issue or cannot be asked about).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::oneshot;
use zizhi_shared::OpenedPayload;

/// Times the first scan lets the other runnable tasks go first before checking, so the scans
/// that arrived with it join its batch. The same idea as the event-log read's gathering.
const GATHER_YIELDS: usize = 3;

/// Most signatures in one equation: the batch's gain flattens out beyond a few dozen, while
/// its time (about 20 µs a signature here) is added to every answer in it.
pub const DEFAULT_MAX_BATCH: usize = 32;

/// The outcome of one payload's signature check.
pub struct SignatureChecked {
    pub payload: OpenedPayload,
    pub holds: bool,
    /// Proved in a batch, not by the single check (see the module's note).
    pub in_batch: bool,
}

/// Scans waiting for their signature check, and whether one of them is gathering the others.
pub struct SignatureBatches {
    max: usize,
    pending: Mutex<Pending>,
    sizes: Histogram,
    /// Scans being examined now, at any stage (`scan_in_flight`): with none but itself, a
    /// scan has nobody to gather.
    in_flight: AtomicUsize,
}

/// One scan being examined, counted while it lives.
pub struct ScanInFlight<'a>(&'a SignatureBatches);

impl Drop for ScanInFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Pending {
    waiting: Vec<Waiting>,
    gathering: bool,
}

struct Waiting {
    payload: OpenedPayload,
    reply: oneshot::Sender<SignatureChecked>,
}

impl SignatureBatches {
    /// `max` signatures at most in one equation; 1 checks each on its own. `sizes` counts the
    /// batches by size.
    pub fn new(max: usize, sizes: Histogram) -> SignatureBatches {
        SignatureBatches {
            max: max.max(1),
            pending: Mutex::new(Pending::default()),
            sizes,
            in_flight: AtomicUsize::new(0),
        }
    }

    /// Counts a scan as in progress until the guard is dropped.
    pub fn scan_in_flight(&self) -> ScanInFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        ScanInFlight(self)
    }

    pub async fn check(&self, payload: OpenedPayload) -> SignatureChecked {
        if self.max == 1 {
            return check_alone(payload);
        }
        let (reply, answer) = oneshot::channel();
        let gather = {
            let mut pending = self.lock();
            pending.waiting.push(Waiting { payload, reply });
            !std::mem::replace(&mut pending.gathering, true)
        };
        if gather {
            // Checks on drop, so the scans that joined are answered even if this request is
            // dropped while it waits (its client gone).
            let turn = Gathering(self);
            if self.in_flight.load(Ordering::Relaxed) > 1 {
                for _ in 0..GATHER_YIELDS {
                    tokio::task::yield_now().await;
                }
            }
            drop(turn);
        }
        // Every waiting scan is taken by the gatherer that was gathering when it arrived, or
        // by itself; the gatherer answers all it took before it returns or is dropped.
        answer.await.expect("a taken scan is always answered")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        // Only pushes and takes happen under the lock: a panic cannot leave it half-done.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes every waiting scan (later ones start a new gathering) and answers them.
    fn check_waiting(&self) {
        let taken = {
            let mut pending = self.lock();
            pending.gathering = false;
            std::mem::take(&mut pending.waiting)
        };
        let mut taken = taken.into_iter().peekable();
        while taken.peek().is_some() {
            let batch: Vec<Waiting> = taken.by_ref().take(self.max).collect();
            self.sizes.observe(batch.len() as f64);
            check_batch(batch);
        }
    }
}

/// The gatherer's turn: ends with the waiting scans checked.
struct Gathering<'a>(&'a SignatureBatches);

impl Drop for Gathering<'_> {
    fn drop(&mut self) {
        self.0.check_waiting();
    }
}

fn check_batch(batch: Vec<Waiting>) {
    let together = batch.len() > 1 && {
        let payloads: Vec<&OpenedPayload> = batch.iter().map(|w| &w.payload).collect();
        zizhi_shared::signatures_hold_together(&payloads)
    };
    for w in batch {
        let checked = if together {
            SignatureChecked {
                payload: w.payload,
                holds: true,
                in_batch: true,
            }
        } else {
            check_alone(w.payload)
        };
        // Its request may be gone; nothing else waits for the answer.
        let _ = w.reply.send(checked);
    }
}

fn check_alone(payload: OpenedPayload) -> SignatureChecked {
    SignatureChecked {
        holds: payload.signature_holds(),
        payload,
        in_batch: false,
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use prometheus_client::metrics::histogram::exponential_buckets;
    use zizhi_shared::{
        Claims, DecompressedTrustList, IssuerKey, KeyId, OpenedPayload, TrustList, TrustedKey,
    };

    use std::sync::Arc;

    use super::*;

    fn trust(key: &IssuerKey) -> DecompressedTrustList {
        let from = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        DecompressedTrustList::new(TrustList::new(
            vec![TrustedKey::for_key(
                key,
                "上海市住房和城乡建设管理委员会",
                from,
                None,
            )],
            Claims::example_usage().issued_at,
        ))
    }

    /// `n` payloads of different copies; the ones in `forged` with a flipped signature bit.
    fn payloads(n: u64, forged: &[u64]) -> Vec<OpenedPayload> {
        let key = IssuerKey::from_seed(KeyId::new(*b"SH01"), [7; 32]);
        let trust = trust(&key);
        (0..n)
            .map(|i| {
                let mut claims = Claims::example_usage();
                claims.copy_id += i;
                let mut bytes = claims.sign(&key).into_bytes();
                if forged.contains(&i) {
                    *bytes.last_mut().unwrap() ^= 1;
                }
                zizhi_shared::open_payload(&bytes, &trust).unwrap()
            })
            .collect()
    }

    fn batches(max: usize) -> (Arc<SignatureBatches>, Histogram) {
        let sizes = Histogram::new(exponential_buckets(1.0, 2.0, 7));
        (Arc::new(SignatureBatches::new(max, sizes.clone())), sizes)
    }

    /// (checks made, signatures in them), from the histogram's OpenMetrics text.
    fn made(sizes: &Histogram) -> (u64, f64) {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register("sizes", "", sizes.clone());
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().parse::<f64>().unwrap())
                .unwrap()
        };
        (value("sizes_count ") as u64, value("sizes_sum "))
    }

    /// Checks every payload in a task of its own, all of them counted in progress.
    async fn check_all(
        batches: &Arc<SignatureBatches>,
        payloads: Vec<OpenedPayload>,
    ) -> Vec<SignatureChecked> {
        let _in_flight: Vec<_> = payloads.iter().map(|_| batches.scan_in_flight()).collect();
        let tasks: Vec<_> = payloads
            .into_iter()
            .map(|p| {
                let b = batches.clone();
                tokio::spawn(async move { b.check(p).await })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn scans_arriving_together_are_checked_together_and_a_forged_one_alone() {
        let (b, sizes) = batches(DEFAULT_MAX_BATCH);
        let checked = check_all(&b, payloads(12, &[])).await;
        assert!(checked.iter().all(|c| c.holds && c.in_batch));
        let (checks, signatures) = made(&sizes);
        assert_eq!(signatures, 12.0);
        assert!(
            checks < 12,
            "{checks} checks for 12 scans: none were gathered"
        );

        // One forged scan among genuine ones: the batch fails, each is checked on its own,
        // and only the forged one is refused.
        let checked = check_all(&b, payloads(12, &[5])).await;
        for (i, c) in checked.iter().enumerate() {
            assert_eq!(c.holds, i != 5, "scan {i}");
            assert!(!c.in_batch, "scan {i}: a failed batch proves nothing");
        }
    }

    #[tokio::test]
    async fn a_scan_alone_is_checked_at_once_on_its_own() {
        let (b, sizes) = batches(DEFAULT_MAX_BATCH);
        let _in_flight = b.scan_in_flight();
        let mut p = payloads(2, &[]);
        let first = p.pop().unwrap();
        // Polled once: with nobody else in progress it must not wait.
        let mut check = std::pin::pin!(b.check(first));
        let checked = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(std::future::Future::poll(check.as_mut(), cx))
        })
        .await;
        assert!(matches!(checked, std::task::Poll::Ready(ref c) if c.holds && !c.in_batch));
        assert_eq!(made(&sizes), (1, 1.0));
    }

    #[tokio::test]
    async fn a_lone_scan_and_a_batch_of_one_are_checked_on_their_own() {
        for max in [1, DEFAULT_MAX_BATCH] {
            let (b, _) = batches(max);
            let mut p = payloads(2, &[1]);
            let forged = b.check(p.pop().unwrap()).await;
            let genuine = b.check(p.pop().unwrap()).await;
            assert!(genuine.holds && !genuine.in_batch, "max {max}");
            assert!(!forged.holds && !forged.in_batch, "max {max}");
        }
    }

    #[tokio::test]
    async fn no_batch_is_larger_than_the_most_allowed() {
        let (b, sizes) = batches(4);
        let checked = check_all(&b, payloads(20, &[])).await;
        assert!(checked.iter().all(|c| c.holds));
        let (checks, signatures) = made(&sizes);
        assert_eq!(signatures, 20.0);
        assert!(checks >= 5, "{checks} checks of at most 4 for 20 scans");
    }

    #[tokio::test]
    async fn scans_that_joined_a_dropped_gatherer_are_still_answered() {
        use std::future::Future;
        use std::task::Poll;

        let (b, _) = batches(DEFAULT_MAX_BATCH);
        let mut p = payloads(3, &[]);
        let _in_flight: Vec<_> = p.iter().map(|_| b.scan_in_flight()).collect();
        // The first scan starts gathering and lets the others go first...
        let mut gatherer = Box::pin(b.check(p.pop().unwrap()));
        let polled = std::future::poll_fn(|cx| Poll::Ready(gatherer.as_mut().poll(cx))).await;
        assert!(polled.is_pending());
        let joined: Vec<_> = p
            .into_iter()
            .map(|p| {
                let b = b.clone();
                tokio::spawn(async move { b.check(p).await })
            })
            .collect();
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
        assert_eq!(b.lock().waiting.len(), 3, "the others joined it");
        // ...and its request is dropped (its client went away) before it checks.
        drop(gatherer);
        for j in joined {
            let c = tokio::time::timeout(std::time::Duration::from_secs(10), j)
                .await
                .expect("answered")
                .unwrap();
            assert!(c.holds && c.in_batch);
        }
    }
}
