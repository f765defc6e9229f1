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

/// A parsed envelope whose signature has not been checked yet.
pub(crate) struct Envelope {
    pub kid: KeyId,
    sign1: CoseSign1,
}

pub(crate) fn protected_header(kid: KeyId, content_type: Option<&str>) -> Header {
    let mut b = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(kid.as_bytes().to_vec());
    if let Some(ct) = content_type {
        b = b.content_type(ct.to_owned());
    }
    b.build()
}

/// Signs `payload` and returns the untagged COSE_Sign1 bytes.
pub(crate) fn seal(
    key: &IssuerKey,
    content_type: Option<&str>,
    aad: &[u8],
    payload: Vec<u8>,
) -> Vec<u8> {
    let sign1 = CoseSign1Builder::new()
        .protected(protected_header(key.kid(), content_type))
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
    if header.alg
        != Some(coset::RegisteredLabelWithPrivate::Assigned(
            iana::Algorithm::EdDSA,
        ))
    {
        return Err(Fault::Malformed("签名算法不是 EdDSA".into()));
    }
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
    if *header != protected_header(kid, content_type) {
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
    let canonical = canonical_bytes(&sign1, kid, content_type);
    if canonical.as_deref() != Some(bytes) {
        return Err(Fault::Malformed("非规范的 CBOR 编码".into()));
    }
    Ok(Envelope { kid, sign1 })
}

/// Opens a document the root key signs (trust list, status snapshot; told apart by content
/// type), checking the signature when `root` is given. Faults come back as the reason in
/// words, for the caller's own `…Invalid` error.
pub(crate) fn open_root_signed(
    bytes: &[u8],
    content_type: &str,
    root: Option<&VerifyingKey>,
) -> Result<Envelope, String> {
    let envelope = open(bytes, Some(content_type)).map_err(|f| match f {
        Fault::Truncated => "数据被截断".to_owned(),
        Fault::Trailing => "末尾有多余数据".to_owned(),
        Fault::Malformed(why) => why,
    })?;
    match root {
        Some(key) if !envelope.verify(key, &[]) => Err("根密钥签名无效".into()),
        _ => Ok(envelope),
    }
}

/// What [`seal`] would have written for this envelope's content.
fn canonical_bytes(sign1: &CoseSign1, kid: KeyId, content_type: Option<&str>) -> Option<Vec<u8>> {
    let canonical = CoseSign1 {
        protected: ProtectedHeader {
            original_data: None,
            header: protected_header(kid, content_type),
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
        let Ok(sig) = <[u8; 64]>::try_from(self.sign1.signature.as_slice()) else {
            return false;
        };
        let tbs = self.sign1.tbs_data(aad);
        key.verify_strict(&tbs, &Signature::from_bytes(&sig))
            .is_ok()
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
