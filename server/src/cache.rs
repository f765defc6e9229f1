//! Live-status cache (实时状态缓存) in front of the register: in this process, and in Redis
//! when configured so a status one instance read serves every instance.
//!
//! Whether a cached status is still the register's is decided by the database alone, never by
//! Redis or by timing. Every change commits with its event-log entry, which names the
//! certificate it touches (`store::Touches`), and events commit in id order. A status is
//! stored with the last event it reflects (read in the same snapshot). Before any cached
//! answer the instance reads the events after the last one it has seen — in a read that
//! started after the request arrived — and so knows every change committed before the
//! request; a status older than a change to its certificate is never served. One such read
//! serves all requests waiting at that moment, so its cost does not grow with traffic. On
//! SQLite, when the file's commit count (`PRAGMA data_version`, read on the request's thread)
//! is what it was just before the last good read started, nothing was committed since and
//! that read stands for a new one.
//!
//! Nothing is ever invalidated in Redis, so nothing is lost when Redis is down, restarts
//! empty or misses a write: an entry there is only a copy of what the database said as of an
//! event, checked here like any other. When the database cannot be read, the last status
//! confirmed (by such a read) is served as of the time it was confirmed, for a bounded time,
//! and after that nothing: the verdict then says the status cannot be read now.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use zizhi_shared::CertificateNumber;

use crate::metrics::Metrics;
use crate::register::model::CertificateStatus;
use crate::shared_redis::SharedRedis;
use crate::store::{CHANGES_EVERYTHING, Store, StoreError};

/// How often, at most, a failing database is tried again by the event-log read; requests in
/// between answer from what is known at once.
const RETRY_FAILED_DATABASE: Duration = Duration::from_millis(250);

/// Times a reader lets the other runnable tasks go first before it reads (see `read`).
const READ_YIELDS: usize = 3;

/// The live statuses one instance keeps, by the size of their JSON (in memory they take
/// about twice that): the 2,000–4,000 certificates of the busiest sites. Beyond it, a status
/// comes from Redis (or the database). 16 MB cost 20 MB more of peak memory on a register of
/// a million copies and bought no measurable throughput.
const LOCAL_STATUS_JSON_BYTES: u64 = 8 * 1024 * 1024;

/// About how many statuses fit in `LOCAL_STATUS_JSON_BYTES` (a typical status is 2–4 KB of
/// JSON); only sizes the cache's table.
const LOCAL_STATUS_ESTIMATED_ENTRIES: usize = 4_000;

/// Issued copies whose payload digest is kept: 200,000 take about 12 MB.
const ISSUED_COPIES: usize = 200_000;

/// Copies of a certificate read along with the first one scanned (see `read_issued`).
const NEWEST_COPIES_READ: i64 = 256;

/// Certificates whose newest copies were read, remembered so that a scan of an older copy
/// does not read them again: about a busy day's worth of certificates.
const NEWEST_COPIES_CERTIFICATES: usize = 50_000;

/// Events read per round trip when catching up.
const CHANGES_PAGE: i64 = 1000;

/// What the cache can say about a certificate's status.
#[derive(Debug, Clone)]
pub enum StatusRead {
    /// The register's status now: read from the database, or cached and confirmed current
    /// by an event-log read that started after the request arrived. `None`: no such
    /// certificate.
    Current(Arc<Option<CertificateStatus>>),
    /// The database cannot be read now; this was the register's status at `as_of`.
    AsOf {
        status: Arc<Option<CertificateStatus>>,
        as_of: DateTime<Utc>,
    },
    /// The database cannot be read now and no recently confirmed status is known.
    Unavailable,
}

/// 证书件登记: whether the register issued a copy, and with which signed payload.
#[derive(Debug, Clone)]
pub enum CopyRead {
    /// The SHA-256 of the signed payload bytes the register issued under that copy number
    /// (`verify::repeat::payload_digest`): kept instead of the bytes, a tenth of the memory.
    Issued([u8; 32]),
    NotIssued,
    /// The database cannot be read now.
    Unavailable,
}

/// Tunables, from `settings.resilience`.
#[derive(Debug, Clone, Copy)]
pub struct CacheTimes {
    /// How long an entry lives after it is stored.
    pub ttl: Duration,
    /// Time allowed for a read of the register before the answer is "unavailable".
    pub read_budget: Duration,
    /// How long after its confirmation a status may be served while the database is down.
    pub serve_confirmed_for: Duration,
}

#[derive(Clone)]
pub struct LiveStatusCache(Arc<Inner>);

struct Inner {
    times: CacheTimes,
    clock: RegisterClock,
    /// quick_cache rather than moka here: an entry costs about a tenth of the memory, and a
    /// hit is read on every scan.
    local: quick_cache::sync::Cache<CertificateNumber, Entry, StatusJsonWeight>,
    shared: Option<SharedRedis>,
    metrics: Arc<Metrics>,
    /// Copies known to be issued, with their signed payload's digest. Only what the register
    /// issued is kept (a copy row never changes what was signed, so this never goes stale);
    /// "not issued" is asked again every time, as a copy of that number may be issued later.
    issued: quick_cache::sync::Cache<u64, [u8; 32]>,
    /// Certificates whose newest copies are in `issued` (or were, before eviction), and when
    /// they were read: after `times.ttl` they are read again, for the copies issued since.
    newest_copies_read: quick_cache::sync::Cache<CertificateNumber, Instant>,
}

/// A status and the last event it reflects.
#[derive(Clone, Serialize, Deserialize)]
struct Entry {
    as_of_event: i64,
    status: Arc<Option<CertificateStatus>>,
    /// Its size as JSON, what the local cache is bounded by.
    #[serde(skip)]
    weight: u32,
    /// When this instance stored it; it is dropped `times.ttl` later.
    #[serde(skip, default = "Instant::now")]
    stored_at: Instant,
}

/// Weighs a local status by its size as JSON.
#[derive(Clone)]
struct StatusJsonWeight;

impl quick_cache::Weighter<CertificateNumber, Entry> for StatusJsonWeight {
    fn weight(&self, _: &CertificateNumber, e: &Entry) -> u64 {
        u64::from(e.weight).max(1)
    }
}

impl LiveStatusCache {
    pub fn new(
        times: CacheTimes,
        redis: Option<SharedRedis>,
        metrics: Arc<Metrics>,
    ) -> LiveStatusCache {
        LiveStatusCache(Arc::new(Inner {
            clock: RegisterClock::new(times.ttl, metrics.event_log_reads.clone()),
            // By size, not count: a register of tens of thousands of certificates must not grow
            // an instance past its memory budget (statuses vary a lot in size).
            local: quick_cache::sync::Cache::with_weighter(
                LOCAL_STATUS_ESTIMATED_ENTRIES,
                LOCAL_STATUS_JSON_BYTES,
                StatusJsonWeight,
            ),
            shared: redis,
            times,
            metrics,
            issued: quick_cache::sync::Cache::new(ISSUED_COPIES),
            newest_copies_read: quick_cache::sync::Cache::new(NEWEST_COPIES_CERTIFICATES),
        }))
    }

    /// The certificate's status: from the cache when no committed change made it stale, from
    /// the store otherwise; when the store cannot answer, the last confirmed status or
    /// nothing. `Err` only for failures other than the database being unreachable.
    pub async fn status(
        &self,
        store: &Store,
        number: &CertificateNumber,
    ) -> Result<StatusRead, StoreError> {
        let me = &self.0;
        let budget = me.times.read_budget;
        if me.clock.catch_up(store, budget).await.is_err() {
            me.metrics.database_unavailable.inc();
            return Ok(self.last_confirmed(number).await);
        }
        if let Some(status) = self.cached(number).await {
            return Ok(StatusRead::Current(status));
        }
        me.metrics.cache_result("miss");
        let read =
            match tokio::time::timeout(budget, store.certificate_status_at_event(number)).await {
                Ok(Ok(read)) => read,
                Ok(Err(StoreError::Unavailable(e))) => {
                    tracing::warn!(error = %e, "status read failed: register unavailable");
                    return Ok(self.last_confirmed(number).await);
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    tracing::warn!(?budget, "status read timed out: register unavailable");
                    return Ok(self.last_confirmed(number).await);
                }
            };
        let mut entry = Entry {
            as_of_event: read.as_of_event,
            status: Arc::new(read.status),
            weight: 0,
            stored_at: Instant::now(),
        };
        if me.clock.still_current(number, entry.as_of_event) {
            let bytes = serde_json::to_vec(&entry).expect("a status serialises");
            entry.weight = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            me.local.insert(number.clone(), entry.clone());
            if let Some(redis) = &me.shared {
                let key = redis.key("status", number);
                let ttl = me.times.ttl.as_secs().max(1);
                // A copy for other instances; if it is lost, they read the database.
                let _ = redis
                    .call(|mut c| async move { c.set_ex::<_, _, ()>(key, bytes, ttl).await })
                    .await;
            }
        }
        Ok(StatusRead::Current(entry.status))
    }

    /// Whether the register issued copy `id` as a copy of certificate `number`, and as what.
    /// A copy of that number issued under another certificate is read as issued with its own
    /// payload, which then differs from the scanned one.
    pub async fn issued_copy(
        &self,
        store: &Store,
        id: u64,
        number: &CertificateNumber,
    ) -> Result<CopyRead, StoreError> {
        let me = &self.0;
        if let Some(digest) = me.issued.get(&id) {
            return Ok(CopyRead::Issued(digest));
        }
        match tokio::time::timeout(me.times.read_budget, self.read_issued(store, id, number)).await
        {
            Ok(Ok(Some(digest))) => Ok(CopyRead::Issued(digest)),
            Ok(Ok(None)) => Ok(CopyRead::NotIssued),
            Ok(Err(StoreError::Unavailable(_))) | Err(_) => {
                me.metrics.database_unavailable.inc();
                Ok(CopyRead::Unavailable)
            }
            Ok(Err(e)) => Err(e),
        }
    }

    /// Reads copy `id` from the register. The first read for a certificate takes its newest
    /// copies along: a site's inspectors scan many copies of one certificate, and one read of
    /// a few hundred rows costs less than a round trip per copy.
    async fn read_issued(
        &self,
        store: &Store,
        id: u64,
        number: &CertificateNumber,
    ) -> Result<Option<[u8; 32]>, StoreError> {
        let me = &self.0;
        let read_at = me.newest_copies_read.get(number);
        if read_at.is_none_or(|at| at.elapsed() >= me.times.ttl) {
            // Marked first, so the certificate's other first scans at this moment go on to
            // read their own copy rather than all reading the same rows.
            me.newest_copies_read.insert(number.clone(), Instant::now());
            let newest = match store.newest_copies_of(number, NEWEST_COPIES_READ).await {
                Ok(newest) => newest,
                Err(e) => {
                    me.newest_copies_read.remove(number);
                    return Err(e);
                }
            };
            let mut found = None;
            for copy in newest {
                let copy_id = u64::try_from(copy.id)
                    .map_err(|_| StoreError::Corrupt(format!("copy id {}", copy.id)))?;
                let digest = issued_digest(copy_id, &copy.qr_text)?;
                me.issued.insert(copy_id, digest);
                if copy_id == id {
                    found = Some(digest);
                }
            }
            if found.is_some() {
                return Ok(found);
            }
        }
        let Some(text) = store.issued_copy_text(id).await? else {
            return Ok(None);
        };
        let digest = issued_digest(id, &text)?;
        me.issued.insert(id, digest);
        Ok(Some(digest))
    }

    /// The status only when it is the register's now; the database being down is an error
    /// (for pages that show a certificate, not a verdict).
    pub async fn current_status(
        &self,
        store: &Store,
        number: &CertificateNumber,
    ) -> Result<Arc<Option<CertificateStatus>>, StoreError> {
        match self.status(store, number).await? {
            StatusRead::Current(s) => Ok(s),
            StatusRead::AsOf { .. } | StatusRead::Unavailable => {
                Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut))
            }
        }
    }

    /// A cached status no committed change has made stale, as far as this instance has read
    /// the event log.
    async fn cached(&self, number: &CertificateNumber) -> Option<Arc<Option<CertificateStatus>>> {
        let me = &self.0;
        if let Some(e) = me.local.get(number) {
            if e.stored_at.elapsed() < me.times.ttl && me.clock.still_current(number, e.as_of_event)
            {
                me.metrics.cache_result("local_hit");
                return Some(e.status);
            }
            me.local.remove(number);
        }
        let redis = me.shared.as_ref()?;
        let key = redis.key("status", number);
        let bytes: Option<Vec<u8>> = redis
            .call(|mut c| async move { c.get(key).await })
            .await
            .ok()
            .flatten();
        let bytes = bytes?;
        let mut e: Entry = serde_json::from_slice(&bytes).ok()?;
        e.weight = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        if !me.clock.still_current(number, e.as_of_event) {
            return None;
        }
        me.metrics.cache_result("shared_hit");
        me.local.insert(number.clone(), e.clone());
        Some(e.status)
    }

    /// While the database cannot be read: the status as last confirmed, if that was recent.
    async fn last_confirmed(&self, number: &CertificateNumber) -> StatusRead {
        let me = &self.0;
        if let Some(as_of) = me.clock.confirmed_at()
            && Utc::now() - as_of
                <= chrono::Duration::from_std(me.times.serve_confirmed_for).unwrap_or_default()
            && let Some(status) = self.cached(number).await
        {
            me.metrics.cache_result("served_as_of");
            return StatusRead::AsOf { status, as_of };
        }
        me.metrics.cache_result("unavailable");
        StatusRead::Unavailable
    }
}

/// The digest the register's copy `id` is known by (`CopyRead::Issued`), decoded once here
/// rather than on every scan of the copy.
fn issued_digest(id: u64, qr_text: &str) -> Result<[u8; 32], StoreError> {
    let payload = zizhi_shared::QrText::extract(qr_text)
        .map_err(|e| StoreError::Corrupt(format!("copy {id}'s QR text: {e}")))?;
    Ok(crate::verify::repeat::payload_digest(&payload))
}

/// How far this instance has read the register's event log, and which certificates changed.
///
/// A request needs a read of the log that started after it arrived. Reads are numbered as
/// they start; one request at a time reads, and every request that was waiting for a read
/// then takes its outcome from the numbers below, without queueing for the reader's lock
/// (a queue would hand the lock from request to request at the scheduler's pace).
struct RegisterClock {
    /// Reads started so far, counting the commit-count checks that stand for one.
    reads_started: AtomicU64,
    /// Number of the last read that succeeded, stored once its changes are recorded.
    last_good_read: AtomicU64,
    /// Number of the last read that failed.
    last_failed_read: AtomicU64,
    /// Woken whenever a read ends.
    read_ended: tokio::sync::Notify,
    /// Reads started, for the metrics.
    reads: prometheus_client::metrics::counter::Counter,
    /// Callers in `catch_up` now: a reader alone has nobody to gather.
    callers: AtomicUsize,
    reader: tokio::sync::Mutex<ReaderState>,
    changes: std::sync::Mutex<Changes>,
    /// When the last good read started (Unix milliseconds; 0: never): everything committed
    /// before then is known. Outside the mutex so an outage answer never waits for a read.
    confirmed_at_ms: AtomicI64,
}

#[derive(Default)]
struct ReaderState {
    /// The last event seen; `None` before the first read.
    seen: Option<i64>,
    /// After a failure, no new read before this.
    retry_at: Option<Instant>,
    /// The store's commit count (SQLite) sampled before the last good read started; `None`
    /// without one, and after a failed read until one succeeds.
    commits_before_read: Option<i64>,
}

/// The latest change to each certificate, remembered for as long as an entry made before it
/// could live; forgetting one raises `floor`, below which no entry is trusted.
struct Changes {
    floor: i64,
    latest: HashMap<CertificateNumber, i64>,
    /// (when recorded, event id, certificate) in id order, to forget the oldest first.
    log: VecDeque<(Instant, i64, CertificateNumber)>,
    remember: Duration,
}

/// The reader's lock. However its holder ends, even as a request dropped mid-read, the lock is
/// released and then everyone waiting looks again.
struct ReaderTurn<'a> {
    st: Option<tokio::sync::MutexGuard<'a, ReaderState>>,
    ended: &'a tokio::sync::Notify,
}

impl Drop for ReaderTurn<'_> {
    fn drop(&mut self) {
        self.st.take();
        self.ended.notify_waiters();
    }
}

/// One caller of `RegisterClock::catch_up`, counted while it lives.
struct Caller<'a>(&'a AtomicUsize);

impl<'a> Caller<'a> {
    fn new(callers: &'a AtomicUsize) -> Caller<'a> {
        callers.fetch_add(1, Ordering::Relaxed);
        Caller(callers)
    }
}

impl Drop for Caller<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The register could not be read in time.
#[derive(Debug)]
struct RegisterUnreadable;

impl RegisterClock {
    fn new(ttl: Duration, reads: prometheus_client::metrics::counter::Counter) -> RegisterClock {
        RegisterClock {
            reads,
            callers: AtomicUsize::new(0),
            reads_started: AtomicU64::new(0),
            last_good_read: AtomicU64::new(0),
            last_failed_read: AtomicU64::new(0),
            read_ended: tokio::sync::Notify::new(),
            reader: tokio::sync::Mutex::new(ReaderState::default()),
            confirmed_at_ms: AtomicI64::new(0),
            changes: std::sync::Mutex::new(Changes {
                floor: i64::MAX,
                latest: HashMap::new(),
                log: VecDeque::new(),
                // An entry lives `ttl` in either cache; twice that leaves room for an entry
                // written to Redis late by a slow reader.
                remember: ttl * 2,
            }),
        }
    }

    /// Makes sure every change committed before this call is known, with one read of the
    /// event log that started after the call (shared with other callers waiting then).
    async fn catch_up(&self, store: &Store, budget: Duration) -> Result<(), RegisterUnreadable> {
        let _caller = Caller::new(&self.callers);
        let arrived_after = self.reads_started.load(Ordering::Acquire);
        loop {
            // Registered before the checks, so a read ending between them still wakes us.
            let ended = self.read_ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if self.last_good_read.load(Ordering::Acquire) > arrived_after {
                return Ok(());
            }
            if self.last_failed_read.load(Ordering::Acquire) > arrived_after {
                return Err(RegisterUnreadable);
            }
            match self.reader.try_lock() {
                Ok(st) => {
                    let mut turn = ReaderTurn {
                        st: Some(st),
                        ended: &self.read_ended,
                    };
                    let st = turn.st.as_mut().expect("held until dropped");
                    return self.read(st, store, budget).await;
                }
                // A read is under way; it may have started before this call, so wait for it
                // to end and look again.
                Err(_) => ended.await,
            }
        }
    }

    /// One read of the event log, by the holder of the reader's lock.
    async fn read(
        &self,
        st: &mut ReaderState,
        store: &Store,
        budget: Duration,
    ) -> Result<(), RegisterUnreadable> {
        if st.retry_at.is_some_and(|t| Instant::now() < t) {
            return Err(RegisterUnreadable);
        }
        // SQLite: a commit count equal to the one sampled before the last good read started
        // means nothing was committed since, so that read knew every change committed before
        // this one would start: it stands for one, at the cost of a few µs on this thread.
        // Numbered before the sample, so it answers every caller that arrived before. (Asked
        // here, by the reader alone, not by every caller: one sample answers all who wait.)
        let number = self.reads_started.fetch_add(1, Ordering::AcqRel) + 1;
        let sampled = Utc::now();
        let commits = store.commit_count();
        if commits.is_some() && commits == st.commits_before_read {
            self.confirmed_at_ms
                .fetch_max(sampled.timestamp_millis(), Ordering::AcqRel);
            self.last_good_read.store(number, Ordering::Release);
            return Ok(());
        }
        // Under load (others are waiting for a read too), let every request already runnable
        // reach its wait first, so this one read answers for all of them (several times fewer
        // reads). Alone, read at once.
        let number = if self.callers.load(Ordering::Relaxed) > 1 {
            for _ in 0..READ_YIELDS {
                tokio::task::yield_now().await;
            }
            // Renumbered, so it also answers those who arrived while it yielded.
            self.reads_started.fetch_add(1, Ordering::AcqRel) + 1
        } else {
            number
        };
        self.reads.inc();
        let started = Utc::now();
        match tokio::time::timeout(budget, self.read_changes(store, st.seen)).await {
            Ok(Ok(seen)) => {
                st.seen = Some(seen);
                st.retry_at = None;
                // Sampled before the read started: a commit the read missed changes it.
                st.commits_before_read = commits;
                self.confirmed_at_ms
                    .store(started.timestamp_millis(), Ordering::Release);
                self.last_good_read.store(number, Ordering::Release);
                Ok(())
            }
            failed => {
                match failed {
                    Ok(Err(e)) => tracing::warn!(error = %e, "event log unreadable"),
                    _ => tracing::warn!(?budget, "event log read timed out"),
                }
                st.retry_at = Some(Instant::now() + RETRY_FAILED_DATABASE);
                // Until a read succeeds again, nothing stands in for one.
                st.commits_before_read = None;
                self.last_failed_read.store(number, Ordering::Release);
                Err(RegisterUnreadable)
            }
        }
    }

    /// Reads the events after `seen` and records whose status they changed; returns the
    /// last event id now seen.
    async fn read_changes(&self, store: &Store, seen: Option<i64>) -> Result<i64, StoreError> {
        let Some(mut seen) = seen else {
            // First read: entries made before this instance followed the log are not trusted.
            let last = store.last_event_id().await?;
            self.changes.lock().expect("not poisoned").floor = last;
            return Ok(last);
        };
        for _ in 0..10 {
            let page = store.status_changes(seen, CHANGES_PAGE).await?;
            let full = page.len() as i64 == CHANGES_PAGE;
            if let Some(last) = page.last() {
                seen = last.id;
            }
            self.changes.lock().expect("not poisoned").record(&page);
            if !full {
                return Ok(seen);
            }
        }
        // Far behind: trust nothing older than now rather than read on.
        let last = store.last_event_id().await?;
        let mut changes = self.changes.lock().expect("not poisoned");
        changes.floor = changes.floor.max(last);
        Ok(last)
    }

    /// Whether a status as of `as_of_event` reflects every change to `number` seen so far.
    fn still_current(&self, number: &CertificateNumber, as_of_event: i64) -> bool {
        let changes = self.changes.lock().expect("not poisoned");
        as_of_event >= changes.floor
            && changes
                .latest
                .get(number)
                .is_none_or(|&changed| as_of_event >= changed)
    }

    fn confirmed_at(&self) -> Option<DateTime<Utc>> {
        match self.confirmed_at_ms.load(Ordering::Acquire) {
            0 => None,
            ms => DateTime::from_timestamp_millis(ms),
        }
    }
}

impl Changes {
    fn record(&mut self, page: &[crate::store::StatusChange]) {
        let now = Instant::now();
        for change in page {
            match change.touches.as_deref() {
                None => {}
                Some(CHANGES_EVERYTHING) => self.floor = self.floor.max(change.id),
                Some(n) => match n.parse::<CertificateNumber>() {
                    Ok(n) => {
                        self.latest.insert(n.clone(), change.id);
                        self.log.push_back((now, change.id, n));
                    }
                    // Unreadable: it may be anyone's.
                    Err(_) => self.floor = self.floor.max(change.id),
                },
            }
        }
        while let Some((at, id, _)) = self.log.front()
            && now.duration_since(*at) > self.remember
        {
            let (_, id, n) = (*at, *id, self.log.pop_front().expect("front exists").2);
            self.floor = self.floor.max(id);
            if self.latest.get(&n) == Some(&id) {
                self.latest.remove(&n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StatusChange;

    fn n(s: &str) -> CertificateNumber {
        s.parse().expect("a certificate number")
    }

    fn change(id: i64, touches: Option<&str>) -> StatusChange {
        StatusChange {
            id,
            touches: touches.map(str::to_owned),
        }
    }

    fn clock_at(floor: i64) -> RegisterClock {
        let clock = RegisterClock::new(Duration::from_secs(60), Default::default());
        clock.changes.lock().unwrap().floor = floor;
        clock
    }

    const A: &str = "D131000001";
    const B: &str = "D131000002";

    #[test]
    fn a_status_older_than_a_change_to_its_certificate_is_not_current() {
        let clock = clock_at(10);
        assert!(clock.still_current(&n(A), 10));
        clock.changes.lock().unwrap().record(&[change(11, Some(A))]);
        assert!(!clock.still_current(&n(A), 10));
        assert!(clock.still_current(&n(A), 11));
        // Another certificate's change leaves this one alone.
        assert!(clock.still_current(&n(B), 10));
    }

    #[test]
    fn statuses_from_before_the_instance_followed_the_log_are_not_trusted() {
        let clock = clock_at(10);
        assert!(!clock.still_current(&n(A), 9));
        // Before the first read nothing at all is trusted.
        assert!(
            !RegisterClock::new(Duration::from_secs(60), Default::default())
                .still_current(&n(A), 0)
        );
    }

    #[test]
    fn a_change_to_everything_or_to_an_unreadable_number_makes_every_older_status_stale() {
        let clock = clock_at(10);
        clock
            .changes
            .lock()
            .unwrap()
            .record(&[change(12, Some("*"))]);
        assert!(!clock.still_current(&n(A), 11));
        assert!(clock.still_current(&n(B), 12));
        clock
            .changes
            .lock()
            .unwrap()
            .record(&[change(13, Some("not a number"))]);
        assert!(!clock.still_current(&n(B), 12));
        // An event that touches nobody changes nothing.
        clock.changes.lock().unwrap().record(&[change(14, None)]);
        assert!(clock.still_current(&n(B), 13));
    }

    #[test]
    fn forgetting_a_change_raises_the_floor_instead_of_reviving_older_statuses() {
        let clock = RegisterClock::new(Duration::from_millis(1), Default::default());
        clock.changes.lock().unwrap().floor = 10;
        clock.changes.lock().unwrap().record(&[change(11, Some(A))]);
        std::thread::sleep(Duration::from_millis(5));
        clock.changes.lock().unwrap().record(&[]);
        let changes = clock.changes.lock().unwrap();
        assert!(changes.latest.is_empty(), "the change was forgotten");
        assert_eq!(changes.floor, 11);
        drop(changes);
        assert!(!clock.still_current(&n(A), 10));
        assert!(
            !clock.still_current(&n(B), 10),
            "older statuses are all dropped"
        );
        assert!(clock.still_current(&n(A), 11));
    }

    /// Appends an event touching `number` through `store`'s own connections.
    async fn change_certificate(store: &Store, number: &CertificateNumber) {
        let mut tx = store.begin().await.unwrap();
        crate::store::append_event(
            &mut tx,
            Utc::now(),
            "test",
            "test_change",
            number.as_str(),
            crate::store::Touches::Certificate(number),
            &serde_json::json!({}),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    #[tokio::test]
    async fn on_sqlite_an_unchanged_commit_count_stands_for_a_read_and_any_commit_forces_one() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/z.db", dir.path().display());
        let store = Store::connect(&url).await.unwrap();
        // Another pool on the same file: its commits come from other connections, as another
        // process's would.
        let other = Store::connect(&url).await.unwrap();
        assert!(store.commit_count().is_some(), "a file has a commit count");
        let reads = prometheus_client::metrics::counter::Counter::<u64>::default();
        let clock = RegisterClock::new(Duration::from_secs(60), reads.clone());
        let budget = Duration::from_secs(5);

        clock.catch_up(&store, budget).await.unwrap();
        let as_of = store.last_event_id().await.unwrap();
        assert_eq!(reads.get(), 1);
        for _ in 0..5 {
            clock.catch_up(&store, budget).await.unwrap();
        }
        assert_eq!(reads.get(), 1, "nothing committed: no event-log read");
        assert!(clock.still_current(&n(A), as_of));

        for writer in [&other, &store] {
            let before = reads.get();
            let as_of = store.last_event_id().await.unwrap();
            change_certificate(writer, &n(A)).await;
            clock.catch_up(&store, budget).await.unwrap();
            assert_eq!(reads.get(), before + 1, "a commit is read");
            assert!(
                !clock.still_current(&n(A), as_of),
                "the change is seen on the next check"
            );
            assert!(clock.still_current(&n(B), as_of));
        }
        other.close().await;
        store.close().await;
    }

    #[tokio::test]
    async fn after_a_failed_read_only_a_full_read_answers_again() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/z.db", dir.path().display());
        let store = Store::connect(&url).await.unwrap();
        let other = Store::connect(&url).await.unwrap();
        let reads = prometheus_client::metrics::counter::Counter::<u64>::default();
        let clock = RegisterClock::new(Duration::from_secs(60), reads.clone());
        let budget = Duration::from_secs(5);
        clock.catch_up(&store, budget).await.unwrap();
        // A change committed elsewhere, and this instance's pool gone: the commit count still
        // reads, the event log does not.
        change_certificate(&other, &n(A)).await;
        store.close().await;
        assert!(store.commit_count().is_some());
        assert!(clock.catch_up(&store, budget).await.is_err());
        assert_eq!(reads.get(), 2);
        // Inside the retry pause nothing is read.
        assert!(clock.catch_up(&store, budget).await.is_err());
        assert_eq!(reads.get(), 2);
        tokio::time::sleep(RETRY_FAILED_DATABASE).await;
        assert!(clock.catch_up(&store, budget).await.is_err());
        assert_eq!(reads.get(), 3, "tried again with a full read");
        other.close().await;
    }
}
