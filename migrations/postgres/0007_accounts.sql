-- 网上办事账户: the people who sign in to the enterprise portal (`/portal/`) and the issuer
-- console (`/console/`) with passkeys (WebAuthn), their server-side sessions, the one-time
-- links that let them in the first time, and the record of who approved each usage copy.
--
-- Secrets are stored only as SHA-256 digests (session ids, link tokens, API tokens: each is
-- 32 random bytes, so no slow hash is needed); a passkey row holds only the public key and
-- its signature counter.

CREATE TABLE accounts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- `enterprise_admin` (the portal), `clerk` or `approver` (the console)
    role TEXT NOT NULL,
    enterprise_id BIGINT REFERENCES enterprises (id),
    login_name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    -- the WebAuthn user handle (a random UUID, never the login name)
    user_handle TEXT NOT NULL UNIQUE,
    disabled_at TEXT,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX accounts_enterprise ON accounts (enterprise_id);

CREATE TABLE passkeys (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    -- base64url, unique across accounts: a key registered to one account cannot join another
    credential_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- webauthn-rs `Passkey` as JSON: public key, algorithm, counter
    passkey TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT
);
CREATE INDEX passkeys_account ON passkeys (account_id);

-- One-time links: `invitation` (72 h; registers the first key and sets the signing password)
-- and `demo_login` (24 h, demo mode only).
CREATE TABLE account_links (
    token_sha256 TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    kind TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);

CREATE TABLE web_sessions (
    id_sha256 TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    csrf_token TEXT NOT NULL,
    -- `passkey`, `link` (a one-time link) or `invitation`
    signed_in_with TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX web_sessions_account ON web_sessions (account_id);

-- A WebAuthn ceremony in progress: the challenge state webauthn-rs needs to finish it and what
-- finishing it authorises (`binding`, JSON). Taken (deleted) by the request that finishes it,
-- so an assertion can be used once.
CREATE TABLE ceremonies (
    id_sha256 TEXT PRIMARY KEY,
    account_id BIGINT REFERENCES accounts (id),
    kind TEXT NOT NULL,
    binding TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- Who approved a usage copy: the account, and the assertion its key made over a challenge
-- bound to this copy's certificate, purpose and period (or `password` in demo mode for an
-- account without a key).
CREATE TABLE usage_approvals (
    copy_id BIGINT PRIMARY KEY REFERENCES copies (id),
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    method TEXT NOT NULL,
    credential_id TEXT,
    assertion TEXT,
    approved_at TEXT NOT NULL
);

-- 作废: why a usage copy was withdrawn, as the enterprise or the issuer gave it.
ALTER TABLE copies ADD COLUMN withdraw_reason TEXT;

-- API tokens for an enterprise's own systems (账户 → 接口令牌), besides the enrolment token.
CREATE TABLE api_tokens (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    name TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_by BIGINT NOT NULL REFERENCES accounts (id),
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX api_tokens_enterprise ON api_tokens (enterprise_id);

-- 变更申请: a clerk records a change to a qualification with its legal basis (依据); another
-- person, an approver, approves (the change is made in the same transaction) or rejects it.
CREATE TABLE change_requests (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    qualification_id BIGINT NOT NULL REFERENCES qualifications (id),
    -- upgrade, downgrade, suspend, reinstate, revoke, cancel
    action TEXT NOT NULL,
    new_grade TEXT,
    basis TEXT NOT NULL,
    requested_by BIGINT NOT NULL REFERENCES accounts (id),
    requested_at TEXT NOT NULL,
    -- approved or rejected, once decided
    decision TEXT,
    decided_by BIGINT REFERENCES accounts (id),
    decided_at TEXT
);
