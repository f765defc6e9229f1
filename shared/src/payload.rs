//! The signed payload a QR code carries, and its verification.
//!
//! Bytes: one format-version byte `0x01`, then an untagged COSE_Sign1 (RFC 9052):
//! `[protected: bstr {1: -8 (EdDSA), 4: kid (4 bytes)}, unprotected: {}, payload: bstr
//! (claims, see [`crate::claims`]), signature: bstr (64)]`, signed with Ed25519 over the
//! standard `Sig_structure` `["Signature1", protected, h'', payload]`.
//!
//! The version byte sits outside COSE so a later format can change the envelope itself; the
//! CBOR tag 18 is left out because the version byte already says what follows (one byte less).

use chrono::{DateTime, Duration, Utc};

use crate::claims::Claims;
use crate::cose::{self, Fault};
use crate::keys::{IssuerKey, KeyId};
use crate::text::QrText;
use crate::trust::{DecompressedTrustList, KeyRole, TrustList, TrustedKey};

/// The only format version this crate writes and reads.
pub const FORMAT_VERSION: u8 = 0x01;
/// Longest payload accepted; real ones are 180–350 bytes.
pub const MAX_PAYLOAD_BYTES: usize = 1024;
/// Longest scanned text accepted, counted in characters.
pub const MAX_TEXT_CHARS: usize = 2048;
/// How far a copy's issue time may lie ahead of the verifier's clock (clock skew).
pub const MAX_CLOCK_SKEW: Duration = Duration::days(1);

/// Why a scanned code was refused. `code()` is the stable machine-readable name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    #[error("二维码内容不是本系统的证书验证码（前缀错误）")]
    WrongPrefix,
    #[error("证书验证码已损坏（不是有效的 Base32 编码）")]
    BadBase32,
    #[error("证书验证码过长")]
    TooLong,
    #[error("证书验证码不完整（数据被截断）")]
    Truncated,
    #[error("证书验证码末尾有多余数据")]
    TrailingBytes,
    #[error("不支持的证书验证码格式版本 {0}")]
    UnknownFormatVersion(u8),
    #[error("证书验证码结构错误: {0}")]
    Malformed(String),
    #[error("未知的签发密钥 {0}：可能是伪造的证书，或本机信任列表需要更新")]
    UnknownKeyId(String),
    #[error("签发时间不在该签发密钥的有效期内")]
    KeyOutsideValidity,
    #[error("签名无效：证书内容被篡改或为伪造")]
    BadSignature,
    #[error("证书内容无效: {0}")]
    InvalidClaims(String),
    #[error("信任列表无效: {0}")]
    TrustListInvalid(String),
    #[error("状态快照无效: {0}")]
    StatusSnapshotInvalid(String),
}

impl PayloadError {
    /// Stable machine-readable code for APIs and test vectors.
    pub fn code(&self) -> &'static str {
        match self {
            PayloadError::WrongPrefix => "wrong_prefix",
            PayloadError::BadBase32 => "bad_base32",
            PayloadError::TooLong => "too_long",
            PayloadError::Truncated => "truncated",
            PayloadError::TrailingBytes => "trailing_bytes",
            PayloadError::UnknownFormatVersion(_) => "unknown_format_version",
            PayloadError::Malformed(_) => "malformed",
            PayloadError::UnknownKeyId(_) => "unknown_key_id",
            PayloadError::KeyOutsideValidity => "key_outside_validity",
            PayloadError::BadSignature => "bad_signature",
            PayloadError::InvalidClaims(_) => "invalid_claims",
            PayloadError::TrustListInvalid(_) => "trust_list_invalid",
            PayloadError::StatusSnapshotInvalid(_) => "status_snapshot_invalid",
        }
    }
}

/// The bytes of a signed certificate-copy payload (before base32).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignedPayload(Vec<u8>);

impl SignedPayload {
    pub(crate) fn seal(
        key: &IssuerKey,
        alg: cose::SignatureAlgorithm,
        claims_cbor: Vec<u8>,
    ) -> SignedPayload {
        let cose = cose::seal_as(key, alg, None, &[], claims_cbor);
        let mut bytes = Vec::with_capacity(1 + cose.len());
        bytes.push(FORMAT_VERSION);
        bytes.extend_from_slice(&cose);
        SignedPayload(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// Wraps bytes without any check; [`verify_bytes`] does the checking.
    pub fn from_bytes(bytes: Vec<u8>) -> SignedPayload {
        SignedPayload(bytes)
    }

    /// The key id named in the envelope, read without verifying anything else.
    pub fn kid(&self) -> Result<KeyId, PayloadError> {
        Ok(open_envelope(&self.0)?.kid)
    }
}

/// A payload whose signature checked out against the trust list.
///
/// This says the copy is genuine and what it was issued for; only the server can say whether
/// the certificate is still current today.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verified {
    pub claims: Claims,
    pub kid: KeyId,
    /// The trust list's name for the key's holder, e.g. 上海市住房和城乡建设管理委员会.
    pub issuer: String,
}

fn open_envelope(bytes: &[u8]) -> Result<cose::Envelope, PayloadError> {
    if bytes.len() > MAX_PAYLOAD_BYTES {
        return Err(PayloadError::TooLong);
    }
    let (&version, rest) = bytes.split_first().ok_or(PayloadError::Truncated)?;
    if version != FORMAT_VERSION {
        return Err(PayloadError::UnknownFormatVersion(version));
    }
    cose::open(rest, None).map_err(|f| match f {
        Fault::Truncated => PayloadError::Truncated,
        Fault::Trailing => PayloadError::TrailingBytes,
        Fault::Malformed(why) => PayloadError::Malformed(why),
    })
}

/// Verifies payload bytes offline against a trust list.
///
/// Checks, in order: size, format version, COSE structure, key id known, Ed25519 signature,
/// claims decode and validate, issue time inside the key's validity window (UTC dates,
/// inclusive), issue time not more than [`MAX_CLOCK_SKEW`] after `now`. A copy signed by a
/// retired key keeps verifying while that key stays in the list, since its window still
/// covers the copy's issue time.
pub fn verify_bytes(
    bytes: &[u8],
    trust: &TrustList,
    now: DateTime<Utc>,
) -> Result<Verified, PayloadError> {
    verify_with(bytes, trust, now, |_, trusted| trusted.verifying_key())
}

/// [`verify_bytes`] against a list whose keys were decompressed beforehand.
pub fn verify_bytes_decompressed(
    bytes: &[u8],
    trust: &DecompressedTrustList,
    now: DateTime<Utc>,
) -> Result<Verified, PayloadError> {
    verify_with(bytes, trust.list(), now, |i, _| trust.key(i))
}

/// The checks of [`verify_bytes`]; `key` gives the listed key at an index decompressed.
fn verify_with(
    bytes: &[u8],
    trust: &TrustList,
    now: DateTime<Utc>,
    key: impl FnOnce(usize, &TrustedKey) -> Result<ed25519_dalek::VerifyingKey, PayloadError>,
) -> Result<Verified, PayloadError> {
    let opened = open_with(bytes, trust, key)?;
    if !opened.signature_holds() {
        return Err(PayloadError::BadSignature);
    }
    opened.accept(trust, now)
}

/// A payload opened and matched to its listed copy-signing key, its signature not checked
/// yet: what a server holds while it gathers scans to check their signatures together
/// ([`signatures_hold_together`]). [`verify_bytes`] is [`open_payload`], then
/// [`OpenedPayload::signature_holds`], then [`OpenedPayload::accept`].
pub struct OpenedPayload {
    envelope: cose::Envelope,
    /// The key's place in the trust list it was opened with.
    index: usize,
    key: ed25519_dalek::VerifyingKey,
    /// What the signature covers, and the signature (see `Envelope::signed_parts`).
    signed: Option<(Vec<u8>, ed25519_dalek::Signature)>,
}

/// The first checks of [`verify_bytes_decompressed`]: size, format version, COSE structure,
/// key id listed for copies.
pub fn open_payload(
    bytes: &[u8],
    trust: &DecompressedTrustList,
) -> Result<OpenedPayload, PayloadError> {
    open_with(bytes, trust.list(), |i, _| trust.key(i))
}

fn open_with(
    bytes: &[u8],
    trust: &TrustList,
    key: impl FnOnce(usize, &TrustedKey) -> Result<ed25519_dalek::VerifyingKey, PayloadError>,
) -> Result<OpenedPayload, PayloadError> {
    let envelope = open_envelope(bytes)?;
    // A key listed for snapshots is no copy-signing key: to a copy it is as unknown as one
    // the list never named.
    let index = trust
        .position_for(&envelope.kid, KeyRole::CopySigning)
        .ok_or_else(|| PayloadError::UnknownKeyId(envelope.kid.to_string()))?;
    let key = key(index, &trust.keys[index])?;
    let signed = envelope.signed_parts(&[]);
    Ok(OpenedPayload {
        envelope,
        index,
        key,
        signed,
    })
}

impl OpenedPayload {
    /// The Ed25519 check on its own (`verify_strict`: no small-order key or `R`, canonical
    /// `s`, the cofactorless equation).
    pub fn signature_holds(&self) -> bool {
        self.signed
            .as_ref()
            .is_some_and(|(tbs, sig)| self.key.verify_strict(tbs, sig).is_ok())
    }

    /// The checks after the signature's: claims decode and validate, issue time inside the
    /// key's validity, not ahead of `now`. Call only once the signature held; `trust` is the
    /// list the payload was opened with.
    pub fn accept(self, trust: &TrustList, now: DateTime<Utc>) -> Result<Verified, PayloadError> {
        let trusted = trust.keys.get(self.index).ok_or_else(|| {
            PayloadError::TrustListInvalid(format!("信任列表没有第 {} 个密钥", self.index))
        })?;
        let claims = Claims::from_cbor(self.envelope.payload())?;
        if !trusted.covers(claims.issued_at.date_naive()) {
            return Err(PayloadError::KeyOutsideValidity);
        }
        if claims.issued_at > now + MAX_CLOCK_SKEW {
            return Err(PayloadError::InvalidClaims(
                "签发时间晚于当前时间（请检查本机时钟）".into(),
            ));
        }
        Ok(Verified {
            claims,
            kid: self.envelope.kid,
            issuer: trusted.issuer.clone(),
        })
    }
}

/// Checks several payloads' signatures in one equation (ed25519-dalek's batch verification,
/// about half the work per signature for a few dozen): true only if every one holds. False
/// says only that at least one does not; check each on its own then.
///
/// A batch that holds proves each message was signed with its key, not that each signature
/// is in the one form [`OpenedPayload::signature_holds`] accepts: whoever holds a private key
/// can add a small-order component to `R` that a batch misses with probability 1/8. Such a
/// payload was still signed by that key; a caller that reports more than "signed by the key"
/// (an answer without the register's word on these exact bytes) checks it on its own.
#[cfg(feature = "batch")]
pub fn signatures_hold_together(payloads: &[&OpenedPayload]) -> bool {
    let mut messages = Vec::with_capacity(payloads.len());
    let mut signatures = Vec::with_capacity(payloads.len());
    let mut keys = Vec::with_capacity(payloads.len());
    for p in payloads {
        // A small-order key is refused by the single check and missed by the batch one.
        let Some((tbs, sig)) = &p.signed else {
            return false;
        };
        if p.key.is_weak() {
            return false;
        }
        messages.push(tbs.as_slice());
        signatures.push(*sig);
        keys.push(p.key);
    }
    ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
}

/// [`QrText::extract`] then [`verify_bytes`]: what a scanner does with a QR code's text.
pub fn verify_text(
    text: &str,
    trust: &TrustList,
    now: DateTime<Utc>,
) -> Result<Verified, PayloadError> {
    verify_bytes(&QrText::extract(text)?, trust, now)
}
