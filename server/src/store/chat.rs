//! 受理记录 of the chat channel: one row per message answered.

use super::{Store, StoreError, instant};
use crate::chat::log::Entry;

impl Store {
    pub async fn record_chat_request(&self, e: &Entry<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO chat_requests
                 (received_at, dedupe_key, follower, kind, subject, outcome, elapsed_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(instant(e.received_at))
        .bind(e.dedupe_key)
        .bind(e.follower)
        .bind(e.kind)
        .bind(e.subject)
        .bind(e.outcome)
        .bind(e.elapsed_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
