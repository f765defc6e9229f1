//! 受理记录: one row per message answered (retries excluded), for the issuer's statistics.
//! No message text and no OpenID are stored.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::store::{Store, StoreError};

/// A follower's pseudonym: the first 8 bytes of SHA-256 over the OpenID, in hex. Enough to
/// count repeat users and key retries, useless to find the person.
pub fn follower_digest(open_id: &str) -> String {
    let d = Sha256::digest(open_id.as_bytes());
    hex::encode(&d[..8])
}

pub struct Entry<'a> {
    pub received_at: DateTime<Utc>,
    pub dedupe_key: &'a str,
    pub follower: &'a str,
    pub kind: &'a str,
    pub subject: Option<&'a str>,
    pub outcome: &'a str,
    pub elapsed_ms: i64,
}

pub async fn record(store: &Store, e: &Entry<'_>) -> Result<(), StoreError> {
    store.record_chat_request(e).await
}
