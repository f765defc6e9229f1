//! The answer to a code whose signature did not check out, on the server or on a device.

use chrono::{DateTime, Utc};

use super::judge::warn;
use super::{Level, SignatureVerdict, Summary, Verdict, WarningCode};
use crate::payload::PayloadError;

impl Verdict {
    /// A code whose signature did not check out: nothing it says is shown as fact and no
    /// status is consulted. `None` for a code that is not a certificate code at all (wrong
    /// prefix, damaged base32…): the error itself is the answer then.
    pub fn rejected(err: &PayloadError, checked_at: DateTime<Utc>) -> Option<Verdict> {
        let (signature, code, message) = match err {
            PayloadError::BadSignature => (
                SignatureVerdict::Invalid,
                WarningCode::BadSignature,
                "签名无效：二维码内容被伪造或篡改，请勿采信此证书",
            ),
            PayloadError::UnknownKeyId(_) => (
                SignatureVerdict::UnknownKey,
                WarningCode::UnknownKeyId,
                "签名密钥不属于发证机关：二维码可能是伪造的，请勿采信此证书",
            ),
            PayloadError::KeyOutsideValidity => (
                SignatureVerdict::KeyExpired,
                WarningCode::KeyOutsideValidity,
                "签名密钥不在有效期内：请勿采信此证书",
            ),
            _ => return None,
        };
        Some(Verdict {
            signature,
            key_id: None,
            issuer: None,
            claims: None,
            certificate_state: None,
            current_certificate: None,
            qualifications: Vec::new(),
            changes_since_printed: Vec::new(),
            warnings: vec![warn(code, err.to_string())],
            summary: Summary {
                level: Level::Invalid,
                title: Level::Invalid.title().into(),
                message: message.into(),
            },
            checked_at,
            status_as_of: None,
        })
    }

    /// [`Verdict::rejected`] against a device's cached trust list, which may only be behind
    /// a new issuer key: an unknown key says so.
    pub fn rejected_by_device(err: &PayloadError, checked_at: DateTime<Utc>) -> Option<Verdict> {
        let mut v = Verdict::rejected(err, checked_at)?;
        if matches!(err, PayloadError::UnknownKeyId(_)) {
            v.summary
                .message
                .push_str("（如本机信任列表较旧，请联网更新后重试）");
        }
        Some(v)
    }
}
