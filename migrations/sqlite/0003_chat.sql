-- 公众号受理记录 (official-account requests): one row per chat message or event answered,
-- platform retries excluded, for usage statistics and to show each delivery is processed once.
-- No message text and no OpenID are kept: `follower` is a truncated SHA-256 of the OpenID.

CREATE TABLE chat_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    -- msg:<MsgId> for messages, evt:<follower>:<CreateTime> for events
    dedupe_key TEXT NOT NULL,
    follower TEXT NOT NULL,
    -- text_number | text_credit_code | text_qr | text_name | text_help | scan | click | subscribe | other
    kind TEXT NOT NULL,
    -- the certificate number or credit code asked about, when there is one
    subject TEXT,
    -- valid | caution | invalid | found | not_found | help | refused | rate_limited | error
    outcome TEXT NOT NULL,
    elapsed_ms BIGINT NOT NULL
);
CREATE INDEX chat_requests_dedupe_key ON chat_requests (dedupe_key);
CREATE INDEX chat_requests_received_at ON chat_requests (received_at);
