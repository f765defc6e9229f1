//! The COSE_Sign1 envelope shared by payloads and trust lists: one Ed25519 signer, an
//! untagged `[protected, {}, payload, signature]` array, and strict parsing.
//!
//! Strict means the bytes must be exactly what [`seal`] would produce for the header and
//! payload they carry: anything else (indefinite lengths, over-long integer heads, extra
//! header parameters, a nil payload) is refused. A signed object then has exactly one
//! encoding, so scanners, caches and logs can compare codes byte for byte.

use ciborium::Value;
use coset::iana;
use coset::{
    CborSerializable, CoseError, CoseSign1, CoseSign1Builder, Header, HeaderBuilder,
    ProtectedHeader,
};
use ed25519_dalek::{Signature, VerifyingKey};

use crate::keys::{IssuerKey, KeyId};

/// Why bytes are not a well-formed envelope; callers map this onto their own error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    Truncated,
    Trailing,
    Malformed(String),
}

/// The COSE algorithm identifier an Ed25519 signature is labelled with.
///
/// RFC 9864 (2025) deprecates the polymorphic `EdDSA` (-8) in favour of the fully specified
/// `Ed25519` (-19). Everything signed now says -19; verifiers accept both, because copies
/// printed before the change say -8 and stay in circulation for their whole period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureAlgorithm {
    /// -19, fully specified (RFC 9864); what every new signature carries.
    #[default]
    Ed25519,
    /// -8, the polymorphic identifier of RFC 9053, read for copies signed before RFC 9864.
    EdDsa,
}

impl SignatureAlgorithm {
    fn iana(self) -> iana::Algorithm {
        match self {
            SignatureAlgorithm::Ed25519 => iana::Algorithm::Ed25519,
            SignatureAlgorithm::EdDsa => iana::Algorithm::EdDSA,
        }
    }

    fn from_header(header: &Header) -> Option<SignatureAlgorithm> {
        use coset::RegisteredLabelWithPrivate::Assigned;
        match header.alg {
            Some(Assigned(iana::Algorithm::Ed25519)) => Some(SignatureAlgorithm::Ed25519),
            Some(Assigned(iana::Algorithm::EdDSA)) => Some(SignatureAlgorithm::EdDsa),
            _ => None,
        }
    }
}

/// A parsed envelope whose signature has not been checked yet.
pub(crate) struct Envelope {
    pub kid: KeyId,
    sign1: CoseSign1,
}

pub(crate) fn protected_header(
    kid: KeyId,
    content_type: Option<&str>,
    alg: SignatureAlgorithm,
) -> Header {
    let mut b = HeaderBuilder::new()
        .algorithm(alg.iana())
        .key_id(kid.as_bytes().to_vec());
    if let Some(ct) = content_type {
        b = b.content_type(ct.to_owned());
    }
    b.build()
}

/// Signs `payload` and returns the untagged COSE_Sign1 bytes, labelled `Ed25519` (-19).
pub(crate) fn seal(
    key: &IssuerKey,
    content_type: Option<&str>,
    aad: &[u8],
    payload: Vec<u8>,
) -> Vec<u8> {
    seal_as(key, SignatureAlgorithm::Ed25519, content_type, aad, payload)
}

/// [`seal`] with the algorithm label chosen; -8 only to reproduce what older signers wrote.
pub(crate) fn seal_as(
    key: &IssuerKey,
    alg: SignatureAlgorithm,
    content_type: Option<&str>,
    aad: &[u8],
    payload: Vec<u8>,
) -> Vec<u8> {
    let sign1 = CoseSign1Builder::new()
        .protected(protected_header(key.kid(), content_type, alg))
        .payload(payload)
        .create_signature(aad, |tbs| key.sign_raw(tbs).to_vec())
        .build();
    // Encoding into a Vec has no failure path for these plain values (no I/O, no
    // out-of-range integers), so a failure here would be a bug in coset.
    sign1
        .to_vec()
        .expect("encoding a COSE_Sign1 into memory cannot fail")
}

/// Parses an envelope and checks its shape; does not verify the signature.
pub(crate) fn open(bytes: &[u8], content_type: Option<&str>) -> Result<Envelope, Fault> {
    let sign1 = CoseSign1::from_slice(bytes).map_err(|e| match e {
        CoseError::DecodeFailed(ciborium::de::Error::Io(_)) => Fault::Truncated,
        CoseError::ExtraneousData => Fault::Trailing,
        other => Fault::Malformed(format!("COSE_Sign1 解析失败 ({other})")),
    })?;
    let header = &sign1.protected.header;
    let alg = SignatureAlgorithm::from_header(header)
        .ok_or_else(|| Fault::Malformed("签名算法不是 Ed25519".into()))?;
    let kid = KeyId::from_slice(&header.key_id)
        .ok_or_else(|| Fault::Malformed("密钥标识应为 4 位字母或数字".into()))?;
    // Said apart from other header faults: a status snapshot offered where a trust list is
    // expected (or the reverse) is the likely mix-up, and the message should name it.
    let expected_type = content_type.map(|ct| coset::ContentType::Text(ct.to_owned()));
    if header.content_type != expected_type {
        return Err(Fault::Malformed(match content_type {
            Some(ct) => format!("内容类型应为 {ct}"),
            None => "不应带有内容类型".into(),
        }));
    }
    if *header != protected_header(kid, content_type, alg) {
        return Err(Fault::Malformed("受保护头部含有多余或错误的参数".into()));
    }
    if !sign1.unprotected.is_empty() {
        return Err(Fault::Malformed("非受保护头部应为空".into()));
    }
    if sign1.payload.is_none() {
        return Err(Fault::Malformed("缺少载荷".into()));
    }
    if sign1.signature.len() != 64 {
        return Err(Fault::Malformed("签名长度应为 64 字节".into()));
    }
    let canonical = canonical_bytes(&sign1, kid, content_type, alg);
    if canonical.as_deref() != Some(bytes) {
        return Err(Fault::Malformed("非规范的 CBOR 编码".into()));
    }
    Ok(Envelope { kid, sign1 })
}

/// Opens a signed document (trust list: root key; status snapshot: snapshot-signing key;
/// told apart by content type), checking the signature when `signer` is given. Faults come
/// back as the reason in words, for the caller's own `…Invalid` error.
pub(crate) fn open_signed_document(
    bytes: &[u8],
    content_type: &str,
    signer: Option<&VerifyingKey>,
) -> Result<Envelope, String> {
    let envelope = open(bytes, Some(content_type)).map_err(|f| match f {
        Fault::Truncated => "数据被截断".to_owned(),
        Fault::Trailing => "末尾有多余数据".to_owned(),
        Fault::Malformed(why) => why,
    })?;
    match signer {
        Some(key) if !envelope.verify(key, &[]) => Err("签名无效".into()),
        _ => Ok(envelope),
    }
}

/// What [`seal`] would have written for this envelope's content.
fn canonical_bytes(
    sign1: &CoseSign1,
    kid: KeyId,
    content_type: Option<&str>,
    alg: SignatureAlgorithm,
) -> Option<Vec<u8>> {
    let canonical = CoseSign1 {
        protected: ProtectedHeader {
            original_data: None,
            header: protected_header(kid, content_type, alg),
        },
        unprotected: Header::default(),
        payload: sign1.payload.clone(),
        signature: sign1.signature.clone(),
    };
    canonical.to_vec().ok()
}

impl Envelope {
    /// `verify_strict` refuses small-order keys and non-canonical signatures, so one message
    /// cannot carry two valid signatures under one key.
    pub(crate) fn verify(&self, key: &VerifyingKey, aad: &[u8]) -> bool {
        self.signed_parts(aad)
            .is_some_and(|(tbs, sig)| key.verify_strict(&tbs, &sig).is_ok())
    }

    /// What the signature covers (the `Sig_structure`) and the signature; `None` when the
    /// signature is not 64 bytes long, which no key can have made.
    pub(crate) fn signed_parts(&self, aad: &[u8]) -> Option<(Vec<u8>, Signature)> {
        let sig = <[u8; 64]>::try_from(self.sign1.signature.as_slice()).ok()?;
        Some((self.sign1.tbs_data(aad), Signature::from_bytes(&sig)))
    }

    pub(crate) fn payload(&self) -> &[u8] {
        self.sign1.payload.as_deref().unwrap_or_default()
    }
}

/// The payload map of a root-signed document (trust list, status snapshot): unsigned keys
/// 1..=max into slots (index = key); unknown and repeated keys are refused.
pub(crate) fn fields(value: Value, max: usize) -> Result<Vec<Option<Value>>, String> {
    let Value::Map(entries) = value else {
        return Err("应为 CBOR 映射".into());
    };
    let mut slots = vec![None; max + 1];
    for (k, v) in entries {
        let k = match k {
            Value::Integer(i) => usize::try_from(i).ok(),
            _ => None,
        }
        .filter(|k| (1..=max).contains(k))
        .ok_or("未知的字段键")?;
        if slots[k].replace(v).is_some() {
            return Err("字段键重复".into());
        }
    }
    Ok(slots)
}
