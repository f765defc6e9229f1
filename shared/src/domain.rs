//! The register's vocabulary: enterprises, qualifications, certificates and their copies.
//!
//! These types are shared by the issuer, the server and the app, so every check that makes a
//! value valid (credit-code checksum, certificate-number shape, non-empty names) lives here,
//! at construction, and serde deserialisation goes through the same checks.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Why a domain value was refused. `code()` is the stable machine-readable name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DomainError {
    #[error("统一社会信用代码格式错误或校验位不符: {0}")]
    InvalidCreditCode(String),
    #[error("证书编号格式错误（应为一个大写字母加九位数字，如 D231000037）: {0}")]
    InvalidCertificateNumber(String),
    #[error("未知的资质类别: {0}")]
    UnknownCategory(String),
    #[error("字段 {field} 不能为空")]
    Empty { field: &'static str },
    #[error("字段 {field} 过长（最多 {max} 个字符）")]
    TooLong { field: &'static str, max: usize },
    #[error("字段 {field} 含有控制字符（换行、制表符、NUL 等）")]
    ControlCharacter { field: &'static str },
    #[error("字段 {field} 含有不能登记的字符“{character}”（U+{code:04X}，{reason}）", code = u32::from(*character), reason = why.reason_zh())]
    UnusableCharacter {
        field: &'static str,
        character: char,
        why: crate::legal_text::Unusable,
    },
    #[error("使用期限结束日期早于开始日期")]
    PeriodEndsBeforeStart,
    #[error("注册资本不能为负数")]
    NegativeCapital,
}

impl DomainError {
    /// Stable machine-readable code for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::InvalidCreditCode(_) => "invalid_credit_code",
            DomainError::InvalidCertificateNumber(_) => "invalid_certificate_number",
            DomainError::UnknownCategory(_) => "unknown_category",
            DomainError::Empty { .. } => "empty_field",
            DomainError::TooLong { .. } => "field_too_long",
            DomainError::ControlCharacter { .. } => "control_character",
            DomainError::UnusableCharacter { .. } => "unusable_character",
            DomainError::PeriodEndsBeforeStart => "period_ends_before_start",
            DomainError::NegativeCapital => "negative_capital",
        }
    }
}

/// Checks that a text field is present, bounded and one line of characters the register
/// accepts ([`crate::legal_text`]); returns it trimmed and in the register's normal form.
/// Control characters get their own error because they are the common mistake (a pasted line
/// break), and PostgreSQL's text cannot even store a NUL.
pub fn bounded_text(
    field: &'static str,
    value: &str,
    max_chars: usize,
) -> Result<String, DomainError> {
    let v = crate::legal_text::normalize(value.trim());
    if v.is_empty() {
        return Err(DomainError::Empty { field });
    }
    if v.chars().count() > max_chars {
        return Err(DomainError::TooLong {
            field,
            max: max_chars,
        });
    }
    if v.chars().any(char::is_control) {
        return Err(DomainError::ControlCharacter { field });
    }
    if let Some((character, why)) = crate::legal_text::first_unusable(&v) {
        return Err(DomainError::UnusableCharacter {
            field,
            character,
            why,
        });
    }
    Ok(v)
}

/// 统一社会信用代码 (GB 32100-2015): 18 characters whose last one is a checksum.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = "91310112632714976P"))]
pub struct CreditCode(String);

const CREDIT_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

impl CreditCode {
    /// The checksum character for the first 17 characters, or `None` if one is outside the
    /// code's alphabet. Used by the demo generator to make codes that pass real validators.
    pub fn check_char(first17: &str) -> Option<char> {
        if first17.len() != 17 {
            return None;
        }
        let mut sum = 0u32;
        for (b, w) in first17.bytes().zip(CREDIT_WEIGHTS) {
            let v = CREDIT_ALPHABET.iter().position(|&c| c == b)? as u32;
            sum += v * w;
        }
        let c = (31 - sum % 31) % 31;
        Some(CREDIT_ALPHABET[c as usize] as char)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CreditCode {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_uppercase();
        let ok = s.len() == 18
            && s.is_ascii()
            && CreditCode::check_char(&s[..17]).is_some_and(|c| s.as_bytes()[17] == c as u8);
        if ok {
            Ok(CreditCode(s))
        } else {
            Err(DomainError::InvalidCreditCode(truncate_for_error(&s)))
        }
    }
}

impl TryFrom<String> for CreditCode {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<CreditCode> for String {
    fn from(c: CreditCode) -> String {
        c.0
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// 证书编号: one capital letter naming the category family, then nine digits (`D231000037`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = "D231098583"))]
pub struct CertificateNumber(String);

impl CertificateNumber {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CertificateNumber {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() == 10 && b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_digit) {
            Ok(CertificateNumber(s))
        } else {
            Err(DomainError::InvalidCertificateNumber(truncate_for_error(
                &s,
            )))
        }
    }
}

impl TryFrom<String> for CertificateNumber {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<CertificateNumber> for String {
    fn from(c: CertificateNumber) -> String {
        c.0
    }
}

impl fmt::Display for CertificateNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn truncate_for_error(s: &str) -> String {
    s.chars().take(40).collect()
}

/// 资质类别: the seven certificate categories the commission issues.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Category {
    /// 工程勘察
    Survey,
    /// 工程设计
    Design,
    /// 建筑业企业
    Construction,
    /// 工程监理
    Supervision,
    /// 招标代理机构
    TenderAgency,
    /// 造价咨询企业
    CostConsulting,
    /// 工程检测机构
    Testing,
}

impl Category {
    pub const ALL: &[Category] = <Category as strum::VariantArray>::VARIANTS;

    /// The stable code used in APIs and storage (the serde name).
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// 类别名称, as printed on the certificate.
    pub fn name_zh(self) -> &'static str {
        match self {
            Category::Survey => "工程勘察",
            Category::Design => "工程设计",
            Category::Construction => "建筑业企业",
            Category::Supervision => "工程监理",
            Category::TenderAgency => "招标代理机构",
            Category::CostConsulting => "造价咨询企业",
            Category::Testing => "工程检测机构",
        }
    }

    /// Region A's title, e.g. 建筑业企业资质证书.
    pub fn certificate_title(self) -> String {
        format!("{}资质证书", self.name_zh())
    }

    /// The letter that opens certificate numbers of this category.
    pub fn number_prefix(self) -> char {
        match self {
            Category::Survey => 'B',
            Category::Design => 'A',
            Category::Construction => 'D',
            Category::Supervision => 'E',
            Category::TenderAgency => 'G',
            Category::CostConsulting => 'F',
            Category::Testing => 'J',
        }
    }
}

impl FromStr for Category {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .iter()
            .copied()
            .find(|c| c.code() == s || c.name_zh() == s)
            .ok_or_else(|| DomainError::UnknownCategory(truncate_for_error(s)))
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name_zh())
    }
}

/// 企业: the enterprise block (region B) of a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Enterprise {
    /// 企业名称
    pub name: String,
    /// 统一社会信用代码
    pub credit_code: CreditCode,
    /// 注册地址
    pub address: String,
    /// 法定代表人
    pub legal_representative: String,
    /// 注册资本, in 万元 (ten thousand yuan), kept as a decimal string to avoid float drift
    /// (e.g. "10000" or "5000.5").
    pub registered_capital_wan: String,
    /// 经济性质, e.g. 有限责任公司（自然人投资或控股）
    pub economic_nature: String,
}

impl Enterprise {
    /// The enterprise with every text field trimmed and in the register's normal form
    /// ([`crate::legal_text::normalize`]), once all are valid: what an entry stores.
    pub fn normalized(self) -> Result<Enterprise, DomainError> {
        let e = Enterprise {
            name: bounded_text("name", &self.name, 60)?,
            credit_code: self.credit_code,
            address: bounded_text("address", &self.address, 120)?,
            legal_representative: bounded_text(
                "legal_representative",
                &self.legal_representative,
                30,
            )?,
            registered_capital_wan: self.registered_capital_wan.trim().to_owned(),
            economic_nature: bounded_text("economic_nature", &self.economic_nature, 60)?,
        };
        e.validate()?;
        Ok(e)
    }

    /// The fields a certificate prints as text, for the printer's check at entry.
    pub fn printed_texts(&self) -> [&str; 5] {
        [
            &self.name,
            &self.address,
            &self.legal_representative,
            &self.registered_capital_wan,
            &self.economic_nature,
        ]
    }

    /// Checks every field; the server calls this on each create and edit.
    pub fn validate(&self) -> Result<(), DomainError> {
        bounded_text("name", &self.name, 60)?;
        bounded_text("address", &self.address, 120)?;
        bounded_text("legal_representative", &self.legal_representative, 30)?;
        bounded_text("economic_nature", &self.economic_nature, 60)?;
        let cap = bounded_text("registered_capital_wan", &self.registered_capital_wan, 20)?;
        let ok_number = cap.parse::<f64>().is_ok_and(f64::is_finite)
            && cap
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-');
        if !ok_number {
            return Err(DomainError::Empty {
                field: "registered_capital_wan",
            });
        }
        if cap.starts_with('-') {
            return Err(DomainError::NegativeCapital);
        }
        Ok(())
    }
}

/// 资质: one qualification item and its grade, e.g. 建筑工程施工总承包 二级.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Qualification {
    pub category: Category,
    /// 资质项目, e.g. 建筑工程施工总承包
    pub item: String,
    /// 等级, e.g. 二级 / 甲级 / 不分等级
    pub grade: String,
}

impl Qualification {
    pub fn validate(&self) -> Result<(), DomainError> {
        bounded_text("item", &self.item, 40)?;
        bounded_text("grade", &self.grade, 10)?;
        Ok(())
    }

    /// The line printed in region C, e.g. 建筑工程施工总承包二级.
    pub fn display_zh(&self) -> String {
        qualification_name(&self.item, &self.grade)
    }
}

/// A qualification as people read it, wherever it comes from (the printed certificate, the
/// register, a verdict): 建筑工程施工总承包二级, or 工程招标代理（不分等级）.
pub fn qualification_name(item: &str, grade: &str) -> String {
    if grade == "不分等级" {
        format!("{item}（不分等级）")
    } else {
        format!("{item}{grade}")
    }
}

/// 资质证书: one version of an enterprise's certificate in one category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Certificate {
    pub number: CertificateNumber,
    /// Starts at 1; every change to content or qualifications issues the next one.
    pub version: u32,
    pub category: Category,
    pub enterprise: Enterprise,
    /// 批准日期 (the approval announcement date; validity counts from it)
    pub approved_on: NaiveDate,
    /// 有效期至
    pub valid_until: NaiveDate,
    /// 发证机关
    pub issuer: String,
    /// 资质类别及等级, in printing order
    pub qualifications: Vec<Qualification>,
}

/// Length of [`RecordDigest`]: 8 bytes is plenty to tell "the printed content is the current
/// one" (the digest sits inside an issuer signature, so collisions cannot be forged) and every
/// byte costs QR modules.
pub const RECORD_DIGEST_LEN: usize = 8;

/// Truncated SHA-256 over the canonical form of a certificate record.
pub type RecordDigest = [u8; RECORD_DIGEST_LEN];

impl Certificate {
    /// The digest a copy carries so a verifier can tell whether the printed content is still
    /// what the register holds. Covers everything printed on the certificate except the
    /// version counter, so a new version with identical content still matches.
    pub fn record_digest(&self) -> RecordDigest {
        let mut h = Sha256::new();
        let mut field = |s: &str| {
            h.update((s.len() as u32).to_be_bytes());
            h.update(s.as_bytes());
        };
        field("zizhi-record-v1");
        field(self.number.as_str());
        field(self.category.code());
        let e = &self.enterprise;
        for s in [
            e.name.as_str(),
            e.credit_code.as_str(),
            &e.address,
            &e.legal_representative,
            &e.registered_capital_wan,
            &e.economic_nature,
        ] {
            field(s);
        }
        field(&self.approved_on.to_string());
        field(&self.valid_until.to_string());
        field(&self.issuer);
        for q in &self.qualifications {
            field(q.category.code());
            field(&q.item);
            field(&q.grade);
        }
        let full = h.finalize();
        let mut out = [0u8; RECORD_DIGEST_LEN];
        out.copy_from_slice(&full[..RECORD_DIGEST_LEN]);
        out
    }
}

/// Which kind of copy a payload stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CopyKind {
    /// 批准件
    Approval,
    /// 使用件
    Usage,
}

impl CopyKind {
    pub fn code(self) -> &'static str {
        self.into()
    }
    pub fn name_zh(self) -> &'static str {
        match self {
            CopyKind::Approval => "批准件",
            CopyKind::Usage => "使用件",
        }
    }
}

/// A usage copy's purpose and period (region D).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageTerms {
    /// 用途, e.g. XX改造项目投标
    pub purpose: String,
    /// 使用期限 from (inclusive)
    pub from: NaiveDate,
    /// 使用期限 to (inclusive)
    pub to: NaiveDate,
}

/// Longest purpose accepted; also bounds the QR size.
pub const MAX_PURPOSE_CHARS: usize = 30;

impl UsageTerms {
    pub fn new(purpose: &str, from: NaiveDate, to: NaiveDate) -> Result<Self, DomainError> {
        let purpose = bounded_text("purpose", purpose, MAX_PURPOSE_CHARS)?;
        if to < from {
            return Err(DomainError::PeriodEndsBeforeStart);
        }
        Ok(UsageTerms { purpose, from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fields_refuse_control_characters() {
        for bad in ["上海\u{0}公司", "上海\n公司", "上海\t公司"] {
            assert_eq!(
                bounded_text("name", bad, 60),
                Err(DomainError::ControlCharacter { field: "name" }),
                "{bad:?}"
            );
        }
        assert_eq!(
            bounded_text("name", " 上海公司\n", 60).as_deref(),
            Ok("上海公司")
        );
    }

    #[test]
    fn credit_code_checksum_accepts_real_codes_and_rejects_a_changed_character() {
        // Published codes of real companies (Tencent, Alibaba, Huawei, Shanghai Construction).
        for ok in [
            "91440300708461136T",
            "91330100716105852F",
            "914403001922038216",
            "91310000132149237G",
        ] {
            assert!(ok.parse::<CreditCode>().is_ok(), "{ok}");
        }
        assert_eq!(
            "91310000132149237g".parse::<CreditCode>().unwrap().as_str(),
            "91310000132149237G"
        );
        for bad in [
            "91310000132149238G", // one digit changed
            "9131000013214923IG", // I is outside the alphabet
            "91310000132149237",
            "",
            "91310000132149237GG",
            "９1310000132149237G",
        ] {
            assert!(bad.parse::<CreditCode>().is_err(), "{bad}");
        }
    }

    #[test]
    fn certificate_number_has_one_letter_and_nine_digits() {
        assert!("D231000037".parse::<CertificateNumber>().is_ok());
        assert_eq!(
            "d231000037".parse::<CertificateNumber>().unwrap().as_str(),
            "D231000037"
        );
        for bad in ["D23100003", "DD31000037", "2310000371", "D23100003７", ""] {
            assert!(bad.parse::<CertificateNumber>().is_err(), "{bad}");
        }
    }

    #[test]
    fn usage_period_that_ends_before_it_starts_is_refused() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            UsageTerms::new("投标", d("2026-02-01"), d("2026-01-31")),
            Err(DomainError::PeriodEndsBeforeStart)
        );
        assert!(UsageTerms::new("  ", d("2026-01-01"), d("2026-01-31")).is_err());
    }
}
