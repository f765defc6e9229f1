-- Idempotency keys of copy-issuing requests: a client that retries after a timeout with the
-- same `Idempotency-Key` gets the copy its first request made, not a second one. Written in
-- the transaction that issues the copy, so a key stands for a committed copy or for nothing.
CREATE TABLE idempotency_keys (
    -- who asked: `issuer:…` or `enterprise:<credit code>`; keys of different callers never meet
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    -- SHA-256 of the request (certificate and usage terms): a different request under the
    -- same key is refused
    request_digest TEXT NOT NULL,
    copy_id BIGINT REFERENCES copies (id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
