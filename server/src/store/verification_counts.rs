//! 核验次数: per usage copy and day, how many times it was verified (never by whom). Each
//! instance adds its counts in batches (`crate::verify::tally`); the rows only ever grow.

use std::collections::BTreeMap;

use chrono::NaiveDate;

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

impl Store {
    /// Adds counts to the stored ones, all in one transaction: a batch is written whole or
    /// not at all, so the writer may retry it without counting anything twice.
    pub async fn add_verification_counts(
        &self,
        counts: &[(i64, NaiveDate, u64)],
    ) -> Result<(), StoreError> {
        if counts.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for (copy_id, day, count) in counts {
            sqlx::query(
                "INSERT INTO copy_verifications (copy_id, day, count) VALUES ($1, $2, $3)
                 ON CONFLICT (copy_id, day)
                 DO UPDATE SET count = copy_verifications.count + excluded.count",
            )
            .bind(copy_id)
            .bind(day.to_string())
            .bind(i64::try_from(*count).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
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
