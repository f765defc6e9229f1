-- 企业数字证书 (enterprise signing credentials, the role of the guide's 法人一证通) and the
-- signed PDF of each usage copy.
--
-- The enterprise's private key is stored only encrypted with its password (PKCS#8 PBES2,
-- scrypt + AES-256-CBC): the server can sign as the enterprise only while the enterprise
-- supplies the password, as the guide requires for every usage copy. The API token is stored
-- as its SHA-256 (it is 32 random bytes, so no slow hash is needed).

CREATE TABLE enterprise_credentials (
    enterprise_id BIGINT PRIMARY KEY REFERENCES enterprises (id),
    token_sha256 TEXT NOT NULL UNIQUE,
    certificate_pem TEXT NOT NULL,
    encrypted_key_pem TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- A usage copy's PDF carries the enterprise's signature, made once with its password, so it
-- is kept; approval copies are rendered again on request from the current version.
CREATE TABLE copy_documents (
    copy_id BIGINT PRIMARY KEY REFERENCES copies (id),
    pdf BYTEA NOT NULL,
    png BYTEA,
    sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL
);
