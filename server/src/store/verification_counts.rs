//! 核验次数: per usage copy and day, how many times it was verified (never by whom). Each
//! instance adds its counts in batches (`crate::verify::tally`); the rows only ever grow.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::events::values_placeholders;
use super::{Store, StoreError, parse_field};

/// Verifications of one copy on one day (Beijing date).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerificationDay {
    pub day: NaiveDate,
    pub count: u64,
}

#[derive(sqlx::FromRow)]
struct CountRow {
    copy_id: i64,
    day: String,
    count: i64,
}

/// Rows per multi-row upsert of counts: 3 parameters each, well under SQLite's 32,766 and
/// PostgreSQL's 65,535.
pub const COUNTS_PER_UPSERT: usize = 1_000;

impl Store {
    /// Adds counts to the stored ones, all in one transaction: a batch is written whole or
    /// not at all, so the writer may retry it without counting anything twice.
    ///
    /// Many rows a statement: a busy instance has tens of thousands of (copy, day) pairs to
    /// add every few seconds, and a statement each cost the database a round trip each.
    pub async fn add_verification_counts(
        &self,
        counts: &[(i64, NaiveDate, u64)],
    ) -> Result<(), StoreError> {
        // One row per (copy, day), in key order: a statement may not update one row twice,
        // and instances adding to the same rows lock them in the same order.
        let mut merged: BTreeMap<(i64, NaiveDate), u64> = BTreeMap::new();
        for &(copy_id, day, count) in counts {
            let n = merged.entry((copy_id, day)).or_default();
            *n = n.saturating_add(count);
        }
        if merged.is_empty() {
            return Ok(());
        }
        let rows: Vec<((i64, NaiveDate), u64)> = merged.into_iter().collect();
        let mut tx = self.begin().await?;
        for chunk in rows.chunks(COUNTS_PER_UPSERT) {
            let sql = format!(
                "INSERT INTO copy_verifications (copy_id, day, count) VALUES {}
                 ON CONFLICT (copy_id, day)
                 DO UPDATE SET count = copy_verifications.count + excluded.count",
                values_placeholders(chunk.len(), 3)
            );
            let mut q = sqlx::query(&sql);
            for ((copy_id, day), count) in chunk {
                q = q
                    .bind(*copy_id)
                    .bind(day.to_string())
                    .bind(i64::try_from(*count).unwrap_or(i64::MAX));
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The stored counts of these copies, each copy's days newest first.
    pub async fn verification_days(
        &self,
        copy_ids: &[i64],
    ) -> Result<BTreeMap<i64, Vec<VerificationDay>>, StoreError> {
        let mut out: BTreeMap<i64, Vec<VerificationDay>> = BTreeMap::new();
        // One query per page of copies (the list shows ten): bound parameters, no IN-list
        // built from text.
        for id in copy_ids {
            let rows = sqlx::query_as::<_, CountRow>(
                "SELECT copy_id, day, count FROM copy_verifications
                 WHERE copy_id = $1 ORDER BY day DESC",
            )
            .bind(id)
            .fetch_all(self.pool())
            .await?;
            for r in rows {
                out.entry(r.copy_id).or_default().push(VerificationDay {
                    day: parse_field("day", &r.day)?,
                    count: u64::try_from(r.count).unwrap_or(0),
                });
            }
        }
        Ok(out)
    }
}
