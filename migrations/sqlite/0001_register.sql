-- 企业 (enterprises), 资质 (qualifications), 证书及版本 (certificates and versions),
-- 批准件/使用件 (copies) and the append-only event log.

CREATE TABLE enterprises (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    credit_code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    legal_representative TEXT NOT NULL,
    registered_capital_wan TEXT NOT NULL,
    economic_nature TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX enterprises_name ON enterprises (name);

CREATE TABLE certificates (
    number TEXT PRIMARY KEY,
    enterprise_id INTEGER NOT NULL REFERENCES enterprises (id),
    category TEXT NOT NULL,
    approved_on TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    current_version INTEGER NOT NULL,
    -- active | revoked | cancelled (the last two once no qualification is left)
    state TEXT NOT NULL,
    UNIQUE (enterprise_id, category)
);

CREATE TABLE qualifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    certificate_number TEXT NOT NULL REFERENCES certificates (number),
    item TEXT NOT NULL,
    grade TEXT NOT NULL,
    -- active | suspended | revoked | cancelled
    status TEXT NOT NULL,
    granted_on TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    UNIQUE (certificate_number, item)
);

CREATE TABLE certificate_versions (
    certificate_number TEXT NOT NULL REFERENCES certificates (number),
    version INTEGER NOT NULL,
    record TEXT NOT NULL,
    qualification_ids TEXT NOT NULL,
    digest TEXT NOT NULL,
    change_kind TEXT NOT NULL,
    change_note TEXT NOT NULL,
    created_at TEXT NOT NULL,
    superseded_at TEXT,
    PRIMARY KEY (certificate_number, version)
);

CREATE TABLE copies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    certificate_number TEXT NOT NULL,
    certificate_version INTEGER NOT NULL,
    purpose TEXT,
    usage_from TEXT,
    usage_to TEXT,
    issued_at TEXT NOT NULL,
    key_id TEXT NOT NULL,
    qr_text TEXT NOT NULL,
    withdrawn_at TEXT,
    FOREIGN KEY (certificate_number, certificate_version)
        REFERENCES certificate_versions (certificate_number, version)
);
CREATE INDEX copies_certificate ON copies (certificate_number);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
