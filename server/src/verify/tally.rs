//! 核验次数, counted where verification happens and written in batches: a scan must not wait
//! for a database write, nor fail because one failed, so each instance adds to a small
//! in-memory table and a writer task adds it to the register every few seconds (and once
//! more at shutdown). Only (copy, day) is counted: nothing says who scanned.
//!
//! What is not yet written is this instance's alone; the portal adds it to the stored counts
//! it shows, so the enterprise sees a scan at once on the instance that served it, and on the
//! others within [`WRITE_EVERY`] and the few seconds a write is spread over.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::watch;

use crate::store::{COUNTS_PER_UPSERT, Store, StoreError, VerificationDay};

/// How often each instance writes its counts.
pub const WRITE_EVERY: Duration = Duration::from_secs(5);

/// The writer spreads one write's statements over this much time. Written back to back, a
/// busy instance's tens of thousands of pairs took the database most of a core for a few
/// hundred milliseconds every [`WRITE_EVERY`], and the scans answered in that moment waited
/// for it: under the cold load that second's p99 was twice the others'.
const SPREAD_OVER: Duration = Duration::from_millis(2_500);

/// Most (copy, day) pairs held unwritten. Reached only while the database is down for long
/// under many distinct scans; beyond it new pairs are dropped (and counted in the log), so
/// an outage cannot grow memory without bound.
const MAX_PENDING: usize = 100_000;

/// Verifications of issued copies not yet written to the register. Cheap to clone.
#[derive(Clone, Default)]
pub struct VerificationTally {
    /// Counts stay here until the statement that adds them has committed, so a write that
    /// fails or is cut short leaves them for the next, and [`VerificationTally::days`] sees
    /// them throughout.
    pending: Arc<Mutex<HashMap<(i64, NaiveDate), u64>>>,
    /// One write at a time: two would both add what is pending.
    writing: Arc<tokio::sync::Mutex<()>>,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for VerificationTally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationTally").finish_non_exhaustive()
    }
}

/// The task that writes an instance's counts (`VerificationTally::spawn_writer`).
#[derive(Debug)]
pub struct TallyWriter {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl TallyWriter {
    /// Lets a write in progress finish, without its pauses, and ends the task. Stopped, not
    /// aborted: an abort between a statement's commit and taking its counts off
    /// `pending` would count them twice.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the verification count writer failed");
        }
    }
}

impl VerificationTally {
    /// Counts one verification of a copy the register issued, on today's Beijing date.
    pub fn record(&self, copy_id: u64, now: DateTime<Utc>) {
        let Ok(copy_id) = i64::try_from(copy_id) else {
            return;
        };
        let day = zizhi_shared::time::beijing_date(now);
        let mut pending = self.lock();
        let full = pending.len() >= MAX_PENDING;
        match pending.get_mut(&(copy_id, day)) {
            Some(n) => *n += 1,
            None if full => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                pending.insert((copy_id, day), 1);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(i64, NaiveDate), u64>> {
        // A panic while holding the lock leaves plain counts behind: still usable.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes what is pending, at once. Returns how many (copy, day) pairs were added.
    pub async fn write(&self, store: &Store) -> Result<usize, StoreError> {
        self.write_spread(store, Duration::ZERO, None).await
    }

    /// Writes what is pending a statement at a time, each statement its own transaction and
    /// its counts taken off `pending` once it commits, with pauses that spread the
    /// statements over `over` (none once `stop` says so). When the database cannot be reached
    /// the rest waits for the next write: nothing is lost, nothing counted twice. A statement
    /// the database refuses is dropped and logged, so it cannot block every count after it.
    async fn write_spread(
        &self,
        store: &Store,
        over: Duration,
        mut stop: Option<&mut watch::Receiver<bool>>,
    ) -> Result<usize, StoreError> {
        let _one_at_a_time = self.writing.lock().await;
        let mut batch: Vec<(i64, NaiveDate, u64)> =
            self.lock().iter().map(|(&(c, d), &n)| (c, d, n)).collect();
        // Key order: instances adding to the same rows lock them in the same order.
        batch.sort_unstable_by_key(|&(c, d, _)| (c, d));
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "verification counts dropped while the register could not be written"
            );
        }
        let statements = batch.len().div_ceil(COUNTS_PER_UPSERT);
        let pause = over / u32::try_from(statements.max(1)).unwrap_or(u32::MAX);
        let mut written = 0;
        let mut refused = None;
        for (i, chunk) in batch.chunks(COUNTS_PER_UPSERT).enumerate() {
            if i > 0 {
                pause_unless_stopped(pause, stop.as_deref_mut()).await;
            }
            match store.add_verification_counts(chunk).await {
                Ok(()) => written += chunk.len(),
                Err(e @ (StoreError::Unavailable(_) | StoreError::Conflict { .. })) => {
                    return Err(e);
                }
                Err(e) => {
                    tracing::error!(error = %e, pairs = chunk.len(), "verification counts refused by the database; dropped");
                    refused = Some(e);
                }
            }
            self.take_off(chunk);
        }
        refused.map_or(Ok(written), Err)
    }

    /// Takes written (or refused) counts off `pending`, leaving what was counted meanwhile.
    fn take_off(&self, chunk: &[(i64, NaiveDate, u64)]) {
        let mut pending = self.lock();
        for &(c, d, n) in chunk {
            if let Entry::Occupied(mut left) = pending.entry((c, d)) {
                *left.get_mut() = left.get().saturating_sub(n);
                if *left.get() == 0 {
                    left.remove();
                }
            }
        }
    }

    /// Writes every [`WRITE_EVERY`], spread over [`SPREAD_OVER`], until stopped.
    pub fn spawn_writer(&self, store: Store) -> TallyWriter {
        let tally = self.clone();
        let (stop_tx, mut stop) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(WRITE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    // Told to stop, or the writer's owner is gone.
                    _ = stop.changed() => return,
                }
                if let Err(e) = tally
                    .write_spread(&store, SPREAD_OVER, Some(&mut stop))
                    .await
                {
                    tracing::warn!(error = %e, "verification counts kept for the next write");
                }
                if *stop.borrow() {
                    return;
                }
            }
        });
        TallyWriter {
            stop: stop_tx,
            task,
        }
    }

    /// Stored counts of these copies plus this instance's unwritten ones, each copy's days
    /// newest first.
    pub async fn days(
        &self,
        store: &Store,
        copy_ids: &[i64],
    ) -> Result<BTreeMap<i64, Vec<VerificationDay>>, StoreError> {
        let mut out = store.verification_days(copy_ids).await?;
        let pending = self.lock();
        for (&(copy, day), &n) in pending.iter() {
            if !copy_ids.contains(&copy) {
                continue;
            }
            let days = out.entry(copy).or_default();
            match days.iter_mut().find(|d| d.day == day) {
                Some(d) => d.count += n,
                None => days.push(VerificationDay { day, count: n }),
            }
        }
        drop(pending);
        for days in out.values_mut() {
            days.sort_by_key(|d| std::cmp::Reverse(d.day));
        }
        Ok(out)
    }
}

/// Sleeps `pause`, cut short when `stop` says so (or its sender is gone); no pause at all
/// once it has.
async fn pause_unless_stopped(pause: Duration, stop: Option<&mut watch::Receiver<bool>>) {
    if pause.is_zero() {
        return;
    }
    match stop {
        Some(stop) if *stop.borrow() => {}
        Some(stop) => {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
        }
        None => tokio::time::sleep(pause).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestApp;

    fn pending(t: &VerificationTally) -> u64 {
        t.lock().values().sum()
    }

    #[tokio::test]
    async fn counts_wait_for_a_database_that_cannot_be_reached_and_are_never_doubled() {
        let app = TestApp::new().await;
        let tally = VerificationTally::default();
        let now = Utc::now();
        tally.record(7, now);
        tally.record(7, now);
        tally.record(8, now);
        assert_eq!(tally.lock().len(), 2);
        // The database goes away: the write fails and every count is still there.
        app.state.store.close().await;
        let e = tally.write(&app.state.store).await.unwrap_err();
        assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
        assert_eq!(pending(&tally), 3);
        tally.record(7, now);
        assert_eq!(pending(&tally), 4, "added to what waits");
    }

    #[tokio::test]
    async fn a_batch_the_database_refuses_is_dropped_instead_of_blocking_the_next() {
        let app = TestApp::new().await;
        let tally = VerificationTally::default();
        // No copy 424242 in an empty register: the foreign key refuses the row.
        tally.record(424_242, Utc::now());
        assert!(tally.write(&app.state.store).await.is_err());
        assert_eq!(pending(&tally), 0);
        assert_eq!(tally.write(&app.state.store).await.unwrap(), 0);
    }

    /// The demo register (whose keys must date from its history's start), its copies' ids.
    async fn demo_register(
        dir: &tempfile::TempDir,
    ) -> (crate::app::AppState, crate::settings::Settings, Vec<i64>) {
        let settings = crate::testing::settings(dir);
        let now = Utc::now();
        crate::key_ring::KeyRing::load_or_create(
            &settings.data_dir,
            &settings.issuer_name,
            crate::demo::seed::history_start(now),
            now,
        )
        .unwrap();
        let state = crate::app::AppState::build(settings.clone()).await.unwrap();
        crate::demo::seed::seed(&state, &dir.path().join("demo"))
            .await
            .unwrap();
        let copies: Vec<i64> = sqlx::query_scalar("SELECT id FROM copies ORDER BY id")
            .fetch_all(state.store.pool())
            .await
            .unwrap();
        (state, settings, copies)
    }

    async fn stored_total(store: &Store) -> u64 {
        let n: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(count), 0) FROM copy_verifications")
            .fetch_one(store.pool())
            .await
            .unwrap();
        u64::try_from(n).unwrap()
    }

    /// Every demo copy scanned on `days` days, once a day: more pairs than one statement
    /// takes.
    fn scan_on_many_days(tally: &VerificationTally, copies: &[i64], days: i64) -> u64 {
        let first = Utc::now() - chrono::Duration::days(days);
        for d in 0..days {
            for &c in copies {
                tally.record(c as u64, first + chrono::Duration::days(d));
            }
        }
        let pairs = copies.len() * days as usize;
        assert!(pairs > COUNTS_PER_UPSERT, "{pairs} pairs fit one statement");
        pairs as u64
    }

    /// A spread write of what is pending, in a task of its own.
    fn spawn_write(
        tally: &VerificationTally,
        store: &Store,
        over: Duration,
        stop: Option<watch::Receiver<bool>>,
    ) -> tokio::task::JoinHandle<Result<usize, StoreError>> {
        let (tally, store) = (tally.clone(), store.clone());
        tokio::spawn(async move {
            let mut stop = stop;
            tally.write_spread(&store, over, stop.as_mut()).await
        })
    }

    /// Waits until the write's first statement has committed (pending fell below `total`).
    async fn first_statement_committed(tally: &VerificationTally, total: u64) {
        while pending(tally) == total {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[tokio::test]
    async fn scans_counted_during_a_spread_write_are_kept_and_nothing_is_doubled() {
        let dir = tempfile::tempdir().unwrap();
        let (state, _, copies) = demo_register(&dir).await;
        let tally = VerificationTally::default();
        let before = scan_on_many_days(&tally, &copies, 40);
        let writing = spawn_write(&tally, &state.store, Duration::from_millis(400), None);
        // Once the first statement has committed, pairs of the batch are counted again: the
        // first copy's (written already), the last copy's (in the last statement), and
        // today's, which the batch does not hold.
        first_statement_committed(&tally, before).await;
        let yesterday = Utc::now() - chrono::Duration::days(1);
        let (first, last) = (copies[0] as u64, *copies.last().unwrap() as u64);
        let mut during = 0;
        while !writing.is_finished() {
            tally.record(first, yesterday);
            tally.record(last, yesterday);
            tally.record(last, Utc::now());
            during += 3;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(writing.await.unwrap().unwrap() as u64, before);
        assert!(during > 0);
        assert_eq!(stored_total(&state.store).await, before);
        assert_eq!(
            pending(&tally),
            during,
            "every scan made during the write waits"
        );
        tally.write(&state.store).await.unwrap();
        assert_eq!(stored_total(&state.store).await, before + during);
        assert_eq!(pending(&tally), 0);
    }

    #[tokio::test]
    async fn a_database_lost_in_the_middle_of_a_write_loses_and_doubles_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (state, settings, copies) = demo_register(&dir).await;
        let tally = VerificationTally::default();
        let total = scan_on_many_days(&tally, &copies, 40);
        let writing = spawn_write(&tally, &state.store, Duration::from_millis(1_500), None);
        // The database goes away after the first statement and before the last.
        first_statement_committed(&tally, total).await;
        state.store.close().await;
        let e = writing.await.unwrap().unwrap_err();
        assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
        let waiting = pending(&tally);
        assert!(waiting > 0 && waiting < total, "{waiting} of {total}");
        // Back again: the next write adds exactly what did not commit.
        let store = Store::connect(&settings.database_url).await.unwrap();
        assert_eq!(stored_total(&store).await, total - waiting);
        tally.write(&store).await.unwrap();
        assert_eq!(stored_total(&store).await, total);
        assert_eq!(pending(&tally), 0);
    }

    #[tokio::test]
    async fn told_to_stop_in_the_middle_of_a_spread_write_it_writes_the_rest_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let (state, _, copies) = demo_register(&dir).await;
        let tally = VerificationTally::default();
        let total = scan_on_many_days(&tally, &copies, 40);
        let (stop_tx, stop) = watch::channel(false);
        // Spread over a minute: only the stop can make it quick.
        let writing = spawn_write(&tally, &state.store, Duration::from_secs(60), Some(stop));
        first_statement_committed(&tally, total).await;
        let told = std::time::Instant::now();
        stop_tx.send(true).unwrap();
        assert_eq!(writing.await.unwrap().unwrap() as u64, total);
        assert!(
            told.elapsed() < Duration::from_secs(10),
            "{:?}",
            told.elapsed()
        );
        assert_eq!(pending(&tally), 0);
        assert_eq!(stored_total(&state.store).await, total);
    }

    #[tokio::test]
    async fn a_batch_larger_than_one_statement_adds_every_pair_once_however_often_written() {
        let dir = tempfile::tempdir().unwrap();
        let (state, _, copies) = demo_register(&dir).await;
        // Every copy on 20 days: more pairs than one statement takes, so the batch spans
        // statements; each pair given twice, as a caller may.
        let first = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let days: Vec<NaiveDate> = (0..20).map(|d| first + chrono::Days::new(d)).collect();
        let mut batch = Vec::new();
        for &c in &copies {
            for (i, &d) in days.iter().enumerate() {
                batch.push((c, d, i as u64 + 1));
                batch.push((c, d, 1));
            }
        }
        assert!(
            batch.len() / 2 > crate::store::COUNTS_PER_UPSERT,
            "{} pairs fit one statement",
            batch.len() / 2
        );
        let store = &state.store;
        store.add_verification_counts(&batch).await.unwrap();
        store.add_verification_counts(&batch[..2]).await.unwrap();
        let stored = store.verification_days(&copies).await.unwrap();
        assert_eq!(stored.len(), copies.len());
        for (n, &c) in copies.iter().enumerate() {
            let mut expected: Vec<VerificationDay> = days
                .iter()
                .enumerate()
                .map(|(i, &day)| {
                    // The second write added the first pair twice more.
                    let again = if n == 0 && i == 0 { 2 } else { 0 };
                    VerificationDay {
                        day,
                        count: i as u64 + 2 + again,
                    }
                })
                .collect();
            expected.reverse();
            assert_eq!(stored[&c], expected, "copy {c}");
        }
    }

    #[tokio::test]
    async fn past_the_bound_new_pairs_are_dropped_and_known_ones_still_count() {
        let tally = VerificationTally::default();
        let now = Utc::now();
        {
            let mut p = tally.lock();
            let day = zizhi_shared::time::beijing_date(now);
            for i in 0..MAX_PENDING as i64 {
                p.insert((i, day), 1);
            }
        }
        tally.record(1, now);
        tally.record(u64::try_from(MAX_PENDING).unwrap() + 1, now);
        assert_eq!(tally.lock().len(), MAX_PENDING);
        assert_eq!(pending(&tally), MAX_PENDING as u64 + 1);
        assert_eq!(tally.dropped.load(Ordering::Relaxed), 1);
    }
}
