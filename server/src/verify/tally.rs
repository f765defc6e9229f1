//! 核验次数, counted where verification happens and written in batches: a scan must not wait
//! for a database write, nor fail because one failed, so each instance adds to a small
//! in-memory table and a writer task adds it to the register every few seconds (and once
//! more at shutdown). Only (copy, day) is counted: nothing says who scanned.
//!
//! What is not yet written is this instance's alone; the portal adds it to the stored counts
//! it shows, so the enterprise sees a scan at once on the instance that served it, and on the
//! others within [`WRITE_EVERY`].

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use crate::store::{Store, StoreError, VerificationDay};

/// How often each instance writes its counts.
pub const WRITE_EVERY: Duration = Duration::from_secs(5);

/// Most (copy, day) pairs held unwritten. Reached only while the database is down for long
/// under many distinct scans; beyond it new pairs are dropped (and counted in the log), so
/// an outage cannot grow memory without bound.
const MAX_PENDING: usize = 100_000;

/// Verifications of issued copies not yet written to the register. Cheap to clone.
#[derive(Clone, Default)]
pub struct VerificationTally {
    pending: Arc<Mutex<HashMap<(i64, NaiveDate), u64>>>,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for VerificationTally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationTally").finish_non_exhaustive()
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

    /// Writes what is pending. When the database cannot be reached the counts are put back
    /// for the next write (nothing is lost, nothing counted twice: the batch is one
    /// transaction). A batch the database refuses is dropped and logged, so it cannot block
    /// every count after it.
    pub async fn write(&self, store: &Store) -> Result<usize, StoreError> {
        let batch: Vec<(i64, NaiveDate, u64)> = {
            let mut pending = self.lock();
            pending.drain().map(|((c, d), n)| (c, d, n)).collect()
        };
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "verification counts dropped while the register could not be written"
            );
        }
        match store.add_verification_counts(&batch).await {
            Ok(()) => Ok(batch.len()),
            Err(e @ (StoreError::Unavailable(_) | StoreError::Conflict { .. })) => {
                let mut pending = self.lock();
                for (c, d, n) in batch {
                    *pending.entry((c, d)).or_default() += n;
                }
                Err(e)
            }
            Err(e) => {
                tracing::error!(error = %e, pairs = batch.len(), "verification counts refused by the database; dropped");
                Err(e)
            }
        }
    }

    /// Writes every [`WRITE_EVERY`] until aborted.
    pub fn spawn_writer(&self, store: Store) -> tokio::task::JoinHandle<()> {
        let tally = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(WRITE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if let Err(e) = tally.write(&store).await {
                    tracing::warn!(error = %e, "verification counts kept for the next write");
                }
            }
        })
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

    #[tokio::test]
    async fn a_batch_larger_than_one_statement_adds_every_pair_once_however_often_written() {
        // The demo register, whose keys must date from its history's start.
        let dir = tempfile::tempdir().unwrap();
        let settings = crate::testing::settings(&dir);
        let now = Utc::now();
        crate::key_ring::KeyRing::load_or_create(
            &settings.data_dir,
            &settings.issuer_name,
            crate::demo::seed::history_start(now),
            now,
        )
        .unwrap();
        let state = crate::app::AppState::build(settings).await.unwrap();
        crate::demo::seed::seed(&state, &dir.path().join("demo"))
            .await
            .unwrap();
        let copies: Vec<i64> = sqlx::query_scalar("SELECT id FROM copies ORDER BY id")
            .fetch_all(state.store.pool())
            .await
            .unwrap();
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
