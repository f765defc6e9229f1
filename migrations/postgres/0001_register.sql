-- 企业 (enterprises), 资质 (qualifications), 证书及版本 (certificates and versions),
-- 批准件/使用件 (copies) and the append-only event log.

CREATE TABLE enterprises (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    category TEXT NOT NULL,
    approved_on TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    current_version BIGINT NOT NULL,
    state TEXT NOT NULL,
    UNIQUE (enterprise_id, category)
);

CREATE TABLE qualifications (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    certificate_number TEXT NOT NULL REFERENCES certificates (number),
    item TEXT NOT NULL,
    grade TEXT NOT NULL,
    status TEXT NOT NULL,
    granted_on TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    UNIQUE (certificate_number, item)
);

CREATE TABLE certificate_versions (
    certificate_number TEXT NOT NULL REFERENCES certificates (number),
    version BIGINT NOT NULL,
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
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    certificate_number TEXT NOT NULL,
    certificate_version BIGINT NOT NULL,
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
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);

CREATE FUNCTION events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
