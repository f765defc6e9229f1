//! The claims a certificate copy's QR code carries, and their compact CBOR form.
//!
//! # Claim table
//!
//! The claims are one CBOR map with small unsigned integer keys (CWT style), in ascending key
//! order, every item in its shortest form (RFC 8949 §4.2.1 core deterministic encoding):
//!
//! | key | claim | CBOR | notes |
//! |----:|-------|------|-------|
//! | 1 | copy id | uint | the server's id of this copy |
//! | 2 | certificate number | tstr | `D231000037` |
//! | 3 | certificate version | uint | ≥ 1 |
//! | 4 | kind | uint | 0 批准件 approval, 1 使用件 usage |
//! | 5 | enterprise name | tstr or bstr | see *text claims* below |
//! | 6 | credit code | tstr | 18 characters, checksum verified |
//! | 7 | purpose | tstr or bstr | usage copies only |
//! | 8 | usage from | uint | days since 1970-01-01, usage copies only |
//! | 9 | usage to | uint | days since 1970-01-01, inclusive, usage copies only |
//! | 10 | issued at | uint | whole minutes since 1970-01-01T00:00Z |
//! | 11 | record digest | bstr (8) | [`Certificate::record_digest`](crate::Certificate::record_digest) |
//!
//! Keys 7, 8 and 9 are present together on a usage copy and absent on an approval copy. Any
//! other key, a duplicate, a key out of order or a longer-than-needed encoding is refused.
//!
//! **Text claims** (5 and 7) are written in whichever is shorter: a text string in UTF-8, or a
//! byte string holding the text in UTF-16BE (UTF-8 on a tie). Chinese characters take three
//! bytes in UTF-8 and two in UTF-16, so a typical name plus purpose (20 + 20 characters)
//! shrinks by 40 bytes, which measured as one QR version less (13 → 12 at level M).
//!
//! Other encodings measured and not taken: packing the credit code into a base-31 integer of
//! its first 17 characters saves 7 bytes (about 11 QR characters) but changes no QR version
//! for the typical copies, so the readable text stays.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use ciborium::Value;
use serde::{Deserialize, Serialize};

use crate::cose::SignatureAlgorithm;
use crate::domain::{
    CertificateNumber, CopyKind, CreditCode, MAX_PURPOSE_CHARS, RECORD_DIGEST_LEN, RecordDigest,
    UsageTerms,
};
use crate::keys::IssuerKey;
use crate::payload::{PayloadError, SignedPayload};

/// Longest enterprise name accepted, as in [`Enterprise::validate`](crate::Enterprise::validate).
pub const MAX_NAME_CHARS: usize = 60;

/// Claim keys of the CBOR map; see the module documentation for the table.
pub mod key {
    pub const COPY_ID: u64 = 1;
    pub const CERTIFICATE_NUMBER: u64 = 2;
    pub const CERTIFICATE_VERSION: u64 = 3;
    pub const KIND: u64 = 4;
    pub const ENTERPRISE_NAME: u64 = 5;
    pub const CREDIT_CODE: u64 = 6;
    pub const PURPOSE: u64 = 7;
    pub const USAGE_FROM: u64 = 8;
    pub const USAGE_TO: u64 = 9;
    pub const ISSUED_AT: u64 = 10;
    pub const RECORD_DIGEST: u64 = 11;
}

/// What a signed certificate copy asserts. The QR code carries exactly these fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Claims {
    pub copy_id: u64,
    pub certificate_number: CertificateNumber,
    pub certificate_version: u32,
    pub kind: CopyKind,
    pub enterprise_name: String,
    pub credit_code: CreditCode,
    /// Present exactly on usage copies.
    pub usage: Option<UsageTerms>,
    /// Carried at one-minute precision: [`Claims::sign`] drops seconds and below.
    pub issued_at: DateTime<Utc>,
    #[serde(with = "hex_digest")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9a-f]{16}$"))]
    pub record_digest: RecordDigest,
}

fn invalid(reason: impl Into<String>) -> PayloadError {
    PayloadError::InvalidClaims(reason.into())
}

fn epoch_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

impl Claims {
    /// A typical usage copy: a 20-character enterprise name, a 20-character purpose, every
    /// claim present. Used by docs, tests and benches as the size yardstick.
    pub fn example_usage() -> Claims {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default();
        Claims {
            copy_id: 1_048_577,
            certificate_number: "D231000037".parse().expect("valid example number"),
            certificate_version: 3,
            kind: CopyKind::Usage,
            enterprise_name: "上海浦江城市建设发展工程集团股份有限公司".to_owned(),
            credit_code: "91310115MA1H7Q2B3H"
                .parse()
                .expect("valid example credit code"),
            usage: Some(UsageTerms {
                purpose: "上海市浦东新区张江科学城道路改建工程投标".to_owned(),
                from: d(2026, 1, 10),
                to: d(2026, 3, 31),
            }),
            issued_at: Utc
                .with_ymd_and_hms(2026, 1, 10, 1, 30, 0)
                .single()
                .unwrap_or_default(),
            record_digest: [0x5a, 0x1f, 0x3c, 0x97, 0x0e, 0xd2, 0x44, 0xb8],
        }
    }

    /// [`Claims::example_usage`] as its approval copy (批准件): no purpose, no period.
    pub fn example_approval() -> Claims {
        Claims {
            copy_id: 1_048_576,
            kind: CopyKind::Approval,
            usage: None,
            ..Claims::example_usage()
        }
    }

    /// Checks the rules a verifier relies on. Signing does not call this (so tests can sign
    /// bad claims); the server must before it signs, and verification always does.
    pub fn validate(&self) -> Result<(), PayloadError> {
        if self.certificate_version < 1 {
            return Err(invalid("证书版本号应从 1 开始"));
        }
        check_text("企业名称", &self.enterprise_name, MAX_NAME_CHARS)?;
        match (self.kind, &self.usage) {
            (CopyKind::Usage, Some(u)) => {
                check_text("用途", &u.purpose, MAX_PURPOSE_CHARS)?;
                if u.to < u.from {
                    return Err(invalid("使用期限结束日期早于开始日期"));
                }
                if u.from < epoch_day() {
                    return Err(invalid("使用期限早于 1970-01-01"));
                }
            }
            (CopyKind::Usage, None) => return Err(invalid("使用件缺少用途和使用期限")),
            (CopyKind::Approval, Some(_)) => return Err(invalid("批准件不应带有用途和使用期限")),
            (CopyKind::Approval, None) => {}
        }
        if self.issued_at.timestamp() < 0 {
            return Err(invalid("签发时间早于 1970-01-01"));
        }
        Ok(())
    }

    /// Signs the claims with an issuer key. `issued_at` is truncated to the whole minute, as
    /// the payload carries minutes only; the verifier hands back the truncated time.
    pub fn sign(&self, key: &IssuerKey) -> SignedPayload {
        self.sign_as(key, SignatureAlgorithm::Ed25519)
    }

    /// [`Claims::sign`] with the algorithm label chosen: `EdDsa` (-8) reproduces copies
    /// printed before RFC 9864, for tests and vectors; issuing always uses [`Claims::sign`].
    pub fn sign_as(&self, key: &IssuerKey, alg: SignatureAlgorithm) -> SignedPayload {
        SignedPayload::seal(key, alg, self.to_cbor())
    }

    /// The claims' canonical CBOR map (the COSE payload). See the module docs for the table.
    pub fn to_cbor(&self) -> Vec<u8> {
        let int = |n: i64| Value::Integer(n.into());
        let uint = |n: u64| Value::Integer(n.into());
        let mut map: Vec<(Value, Value)> = vec![
            (uint(key::COPY_ID), uint(self.copy_id)),
            (
                uint(key::CERTIFICATE_NUMBER),
                Value::Text(self.certificate_number.as_str().to_owned()),
            ),
            (
                uint(key::CERTIFICATE_VERSION),
                uint(self.certificate_version.into()),
            ),
            (
                uint(key::KIND),
                uint(match self.kind {
                    CopyKind::Approval => 0,
                    CopyKind::Usage => 1,
                }),
            ),
            (
                uint(key::ENTERPRISE_NAME),
                compact_text(&self.enterprise_name),
            ),
            (
                uint(key::CREDIT_CODE),
                Value::Text(self.credit_code.as_str().to_owned()),
            ),
        ];
        if let Some(u) = &self.usage {
            // Negative day counts cannot decode, so pre-1970 dates are signed but never verify.
            let days = |d: NaiveDate| (d - epoch_day()).num_days();
            map.push((uint(key::PURPOSE), compact_text(&u.purpose)));
            map.push((uint(key::USAGE_FROM), int(days(u.from))));
            map.push((uint(key::USAGE_TO), int(days(u.to))));
        }
        map.push((
            uint(key::ISSUED_AT),
            int(self.issued_at.timestamp().div_euclid(60)),
        ));
        map.push((
            uint(key::RECORD_DIGEST),
            Value::Bytes(self.record_digest.to_vec()),
        ));
        let mut out = Vec::with_capacity(160);
        ciborium::ser::into_writer(&Value::Map(map), &mut out)
            .expect("encoding a CBOR value into memory cannot fail");
        out
    }

    /// Decodes a claims map strictly (canonical form only) and validates the result.
    pub fn from_cbor(bytes: &[u8]) -> Result<Claims, PayloadError> {
        let claims = decode(bytes)?;
        if claims.to_cbor() != bytes {
            return Err(invalid("声明不是规范编码"));
        }
        claims.validate()?;
        Ok(claims)
    }
}

/// Rejects empty, over-long and control-character text: the verifier shows these fields to an
/// inspector, and a hidden direction override or line break could make them read differently.
fn check_text(field: &str, value: &str, max: usize) -> Result<(), PayloadError> {
    if value.trim().is_empty() {
        return Err(invalid(format!("{field}不能为空")));
    }
    if value.chars().count() > max {
        return Err(invalid(format!("{field}过长（最多 {max} 个字符）")));
    }
    if value.chars().any(|c| {
        c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }) {
        return Err(invalid(format!("{field}含有控制字符")));
    }
    Ok(())
}

/// UTF-16BE in a byte string when that is shorter than UTF-8, see the module docs.
fn compact_text(s: &str) -> Value {
    let utf16_len = s.encode_utf16().count() * 2;
    if utf16_len < s.len() {
        Value::Bytes(s.encode_utf16().flat_map(u16::to_be_bytes).collect())
    } else {
        Value::Text(s.to_owned())
    }
}

fn decode(bytes: &[u8]) -> Result<Claims, PayloadError> {
    // Room for any one item of a payload (longer ones would be read in pieces): the default
    // buffer is 4 KB, cleared on every call.
    let mut scratch = [0u8; crate::payload::MAX_PAYLOAD_BYTES];
    let value: Value = ciborium::de::from_reader_with_buffer(bytes, &mut scratch)
        .map_err(|e| invalid(format!("声明不是有效的 CBOR ({e})")))?;
    // Bytes after the map are caught by the canonical re-encoding check in `from_cbor`.
    let Value::Map(entries) = value else {
        return Err(invalid("声明应为 CBOR 映射"));
    };
    let mut fields: [Option<Value>; 12] = Default::default();
    let mut last = 0u64;
    for (k, v) in entries {
        let k = match k {
            Value::Integer(i) => u64::try_from(i).ok(),
            _ => None,
        }
        .ok_or_else(|| invalid("声明键应为无符号整数"))?;
        if k <= last {
            return Err(invalid("声明键重复或未按升序排列"));
        }
        last = k;
        let slot = fields
            .get_mut(k as usize)
            .filter(|_| k >= 1)
            .ok_or_else(|| invalid(format!("未知的声明键 {k}")))?;
        *slot = Some(v);
    }
    let mut take = |k: u64, name: &str| {
        fields[k as usize]
            .take()
            .ok_or_else(|| invalid(format!("缺少声明: {name}")))
    };

    let copy_id = as_uint(take(key::COPY_ID, "副本编号")?, "副本编号")?;
    let certificate_number = as_text(take(key::CERTIFICATE_NUMBER, "证书编号")?, "证书编号")?
        .parse::<CertificateNumber>()
        .map_err(|e| invalid(e.to_string()))?;
    let certificate_version = u32::try_from(as_uint(
        take(key::CERTIFICATE_VERSION, "证书版本")?,
        "证书版本",
    )?)
    .map_err(|_| invalid("证书版本超出范围"))?;
    let kind = match as_uint(take(key::KIND, "副本类型")?, "副本类型")? {
        0 => CopyKind::Approval,
        1 => CopyKind::Usage,
        other => return Err(invalid(format!("未知的副本类型 {other}"))),
    };
    let enterprise_name = as_compact_text(take(key::ENTERPRISE_NAME, "企业名称")?, "企业名称")?;
    let credit_code = as_text(
        take(key::CREDIT_CODE, "统一社会信用代码")?,
        "统一社会信用代码",
    )?
    .parse::<CreditCode>()
    .map_err(|e| invalid(e.to_string()))?;
    let purpose = fields[key::PURPOSE as usize].take();
    let from = fields[key::USAGE_FROM as usize].take();
    let to = fields[key::USAGE_TO as usize].take();
    let usage = match (purpose, from, to) {
        (None, None, None) => None,
        (Some(p), Some(f), Some(t)) => Some(UsageTerms {
            purpose: as_compact_text(p, "用途")?,
            from: as_day(f, "使用期限开始日期")?,
            to: as_day(t, "使用期限结束日期")?,
        }),
        _ => return Err(invalid("用途与使用期限应同时出现")),
    };
    let mut take = |k: u64, name: &str| {
        fields[k as usize]
            .take()
            .ok_or_else(|| invalid(format!("缺少声明: {name}")))
    };
    let minutes = as_uint(take(key::ISSUED_AT, "签发时间")?, "签发时间")?;
    let issued_at = i64::try_from(minutes)
        .ok()
        .and_then(|m| m.checked_mul(60))
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or_else(|| invalid("签发时间超出范围"))?;
    let record_digest = match take(key::RECORD_DIGEST, "记录摘要")? {
        Value::Bytes(b) => RecordDigest::try_from(b.as_slice()).ok(),
        _ => None,
    }
    .ok_or_else(|| invalid(format!("记录摘要应为 {RECORD_DIGEST_LEN} 字节")))?;

    Ok(Claims {
        copy_id,
        certificate_number,
        certificate_version,
        kind,
        enterprise_name,
        credit_code,
        usage,
        issued_at,
        record_digest,
    })
}

fn as_uint(v: Value, name: &str) -> Result<u64, PayloadError> {
    match v {
        Value::Integer(i) => u64::try_from(i).ok(),
        _ => None,
    }
    .ok_or_else(|| invalid(format!("{name}应为无符号整数")))
}

fn as_text(v: Value, name: &str) -> Result<String, PayloadError> {
    match v {
        Value::Text(s) => Ok(s),
        _ => Err(invalid(format!("{name}应为文本"))),
    }
}

fn as_compact_text(v: Value, name: &str) -> Result<String, PayloadError> {
    match v {
        Value::Text(s) => Ok(s),
        Value::Bytes(b) if b.len() % 2 == 0 => {
            let units = b.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .map_err(|_| invalid(format!("{name}不是有效的 UTF-16")))
        }
        _ => Err(invalid(format!("{name}应为文本或 UTF-16 字节串"))),
    }
}

fn as_day(v: Value, name: &str) -> Result<NaiveDate, PayloadError> {
    let days = as_uint(v, name)?;
    epoch_day()
        .checked_add_days(chrono::Days::new(days))
        .ok_or_else(|| invalid(format!("{name}超出范围")))
}

/// The record digest as lowercase hex in JSON, as the server API shows it.
mod hex_digest {
    use data_encoding::{HEXLOWER, HEXLOWER_PERMISSIVE};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::domain::RecordDigest;

    pub fn serialize<S: Serializer>(d: &RecordDigest, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&HEXLOWER.encode(d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RecordDigest, D::Error> {
        let s = String::deserialize(d)?;
        let bytes = HEXLOWER_PERMISSIVE
            .decode(s.as_bytes())
            .map_err(D::Error::custom)?;
        RecordDigest::try_from(bytes.as_slice())
            .map_err(|_| D::Error::custom("record_digest must be 16 hex digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_usage_has_twenty_character_name_and_purpose_and_is_valid() {
        let c = Claims::example_usage();
        assert_eq!(c.enterprise_name.chars().count(), 20);
        assert_eq!(c.usage.as_ref().unwrap().purpose.chars().count(), 20);
        assert_eq!(c.issued_at.timestamp() % 60, 0);
        c.validate().unwrap();
        Claims::example_approval().validate().unwrap();
    }

    #[test]
    fn claims_survive_a_cbor_roundtrip() {
        for c in [Claims::example_usage(), Claims::example_approval()] {
            assert_eq!(Claims::from_cbor(&c.to_cbor()).unwrap(), c);
        }
    }

    #[test]
    fn chinese_text_is_carried_as_utf16_and_ascii_as_utf8() {
        assert!(matches!(compact_text("上海建工"), Value::Bytes(b) if b.len() == 8));
        assert!(matches!(compact_text("ABC"), Value::Text(_)));
        // A tie keeps the readable UTF-8 form.
        assert!(matches!(compact_text("上A"), Value::Text(_)));
    }

    #[test]
    fn the_longer_text_form_is_refused_as_non_canonical() {
        let mut c = Claims::example_usage();
        c.enterprise_name = "ABCD".into();
        let canonical = c.to_cbor();
        // Swap the name's UTF-8 text for its (longer) UTF-16 byte string.
        let utf8 = [0x64, b'A', b'B', b'C', b'D'];
        let utf16 = [0x48, 0, b'A', 0, b'B', 0, b'C', 0, b'D'];
        let pos = canonical.windows(5).position(|w| w == utf8).unwrap();
        let mut swapped = canonical[..pos].to_vec();
        swapped.extend_from_slice(&utf16);
        swapped.extend_from_slice(&canonical[pos + 5..]);
        assert_eq!(decode(&swapped).unwrap(), c);
        assert!(matches!(
            Claims::from_cbor(&swapped),
            Err(PayloadError::InvalidClaims(_))
        ));
    }

    #[test]
    fn unknown_and_duplicate_claim_keys_are_refused() {
        let c = Claims::example_approval();
        let mut bytes = c.to_cbor();
        // Bump the map's entry count and append key 12 => 0.
        bytes[0] += 1;
        bytes.extend_from_slice(&[0x0c, 0x00]);
        let err = Claims::from_cbor(&bytes).unwrap_err();
        assert!(err.to_string().contains("12"), "{err}");

        let mut bytes = c.to_cbor();
        bytes[0] += 1;
        bytes.extend_from_slice(&[0x0b, 0x00]);
        assert!(Claims::from_cbor(&bytes).is_err());
    }

    #[test]
    fn validation_names_each_broken_rule() {
        let base = Claims::example_usage();
        type Mutation = Box<dyn Fn(&mut Claims)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("版本", Box::new(|c| c.certificate_version = 0)),
            (
                "企业名称不能为空",
                Box::new(|c| c.enterprise_name = " ".into()),
            ),
            (
                "企业名称过长",
                Box::new(|c| c.enterprise_name = "名".repeat(61)),
            ),
            ("控制字符", Box::new(|c| c.enterprise_name.push('\u{202e}'))),
            ("缺少", Box::new(|c| c.usage = None)),
            ("批准件", Box::new(|c| c.kind = CopyKind::Approval)),
            (
                "用途过长",
                Box::new(|c| c.usage.as_mut().unwrap().purpose = "途".repeat(31)),
            ),
            (
                "用途不能为空",
                Box::new(|c| c.usage.as_mut().unwrap().purpose = String::new()),
            ),
            (
                "结束日期",
                Box::new(|c| {
                    let u = c.usage.as_mut().unwrap();
                    u.to = u.from.pred_opt().unwrap();
                }),
            ),
        ];
        for (expect, mutate) in cases {
            let mut c = base.clone();
            mutate(&mut c);
            let err = c.validate().unwrap_err();
            assert_eq!(err.code(), "invalid_claims");
            assert!(err.to_string().contains(expect), "{expect}: {err}");
        }
    }

    #[test]
    fn json_form_uses_hex_digest_iso_dates_and_rfc3339_time() {
        let c = Claims::example_usage();
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["record_digest"], "5a1f3c970ed244b8");
        assert_eq!(json["usage"]["from"], "2026-01-10");
        assert_eq!(json["issued_at"], "2026-01-10T01:30:00Z");
        assert_eq!(json["kind"], "usage");
        assert_eq!(serde_json::from_value::<Claims>(json).unwrap(), c);
    }
}
