//! The text inside the QR code: `HTTPS://<HOST>/V/<BASE32>`.
//!
//! All upper case, so the whole code fits QR alphanumeric mode (5.5 bits a character instead
//! of 8), and still a URL, so any phone camera or chat scanner opens the result page while the
//! scanner app recognises the prefix and verifies offline first. Base32 is RFC 4648 without
//! padding; its alphabet (A–Z, 2–7) lies inside the QR alphanumeric set.

use data_encoding::BASE32_NOPAD;

use crate::payload::{MAX_PAYLOAD_BYTES, MAX_TEXT_CHARS, PayloadError, SignedPayload};

/// Encoding and recognising the QR text of a signed payload.
pub struct QrText;

impl QrText {
    /// The URL path before the base32 payload.
    pub const PATH: &'static str = "/V/";

    /// `HTTPS://<HOST>/V/<BASE32>`. The host is upper-cased (hosts are case-insensitive) and
    /// may be given with or without an `http(s)://` scheme or a trailing `/`.
    pub fn encode(host: &str, payload: &SignedPayload) -> String {
        let host = host.trim();
        let host = strip_prefix_ignore_case(host, "https://")
            .or_else(|| strip_prefix_ignore_case(host, "http://"))
            .unwrap_or(host)
            .trim_end_matches('/');
        let b32 = QrText::base32(payload);
        let mut out = String::with_capacity(8 + host.len() + QrText::PATH.len() + b32.len());
        out.push_str("HTTPS://");
        out.push_str(&host.to_ascii_uppercase());
        out.push_str(QrText::PATH);
        out.push_str(&b32);
        out
    }

    /// The payload alone in RFC 4648 base32, upper case, no padding.
    pub fn base32(payload: &SignedPayload) -> String {
        BASE32_NOPAD.encode(payload.as_bytes())
    }

    /// The payload bytes from a scanned or typed text.
    ///
    /// Accepts any letter case and surrounding whitespace, either the full URL (`http` or
    /// `https`, any host, path `/V/`, an optional trailing `/`, no query or fragment) or the
    /// bare base32. Text that is a URL of another path or scheme, or plainly some other kind of
    /// text, gives [`PayloadError::WrongPrefix`]; text that looks like ours but cannot be
    /// base32 (bad characters, impossible length, non-zero padding bits) gives
    /// [`PayloadError::BadBase32`].
    pub fn extract(text: &str) -> Result<Vec<u8>, PayloadError> {
        let text = text.trim();
        // Checked in bytes first so a huge input is refused before it is walked char by char.
        if text.len() > MAX_TEXT_CHARS && text.chars().count() > MAX_TEXT_CHARS {
            return Err(PayloadError::TooLong);
        }
        // Printed codes are upper case already: only typed or lower-cased text is copied.
        // The scans below are byte scans without early exits (or memchr's), which the compiler
        // turns into vector code: a server reads this on every request.
        let has_lower = text
            .bytes()
            .fold(false, |seen, b| seen | b.is_ascii_lowercase());
        let upper: std::borrow::Cow<'_, str> = if has_lower {
            text.to_ascii_uppercase().into()
        } else {
            text.into()
        };
        let b32 = match memchr::memmem::find(upper.as_bytes(), b"://") {
            Some(at) => url_payload(&upper[..at], &upper[at + 3..])?,
            None => bare_payload(&upper)?,
        };
        if b32.is_empty() {
            return Err(PayloadError::BadBase32);
        }
        let bytes = BASE32_NOPAD
            .decode(b32.as_bytes())
            .map_err(|_| PayloadError::BadBase32)?;
        // A bare code near the text limit can hold more than any payload may: refused here,
        // so whatever is extracted also fits a full URL under the text limit (found by the
        // `qr_text` fuzz target: re-encoded behind a host it came out too long).
        if bytes.len() > MAX_PAYLOAD_BYTES {
            return Err(PayloadError::TooLong);
        }
        Ok(bytes)
    }

    /// Whether [`QrText::extract`] finds payload bytes in the text (the signature is not
    /// checked): the scanner app's test for "one of ours, verify it offline".
    pub fn is_ours(text: &str) -> bool {
        QrText::extract(text).is_ok()
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// `scheme` and `rest` are already upper case; `rest` is what follows `://`.
fn url_payload<'a>(scheme: &str, rest: &'a str) -> Result<&'a str, PayloadError> {
    if scheme != "HTTPS" && scheme != "HTTP" {
        return Err(PayloadError::WrongPrefix);
    }
    let slash = memchr::memchr(b'/', rest.as_bytes()).ok_or(PayloadError::WrongPrefix)?;
    let host = &rest[..slash];
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
    if !host_ok {
        return Err(PayloadError::WrongPrefix);
    }
    let tail = rest[slash..]
        .strip_prefix(QrText::PATH)
        .ok_or(PayloadError::WrongPrefix)?;
    if memchr::memchr2(b'?', b'#', tail.as_bytes()).is_some() {
        return Err(PayloadError::WrongPrefix);
    }
    Ok(tail.strip_suffix('/').unwrap_or(tail))
}

/// Bare text counts as ours only if it could be a base32 string at all, so that an arbitrary
/// QR code (a Wi-Fi login, a phone number, a sentence) reads as "not ours" rather than
/// "damaged".
fn bare_payload(upper: &str) -> Result<&str, PayloadError> {
    if memchr::memchr2(b':', b'/', upper.as_bytes()).is_some() {
        return Err(PayloadError::WrongPrefix);
    }
    let base32_like = upper
        .bytes()
        .fold(true, |ok, b| ok & (b.is_ascii_alphanumeric() | (b == b'=')));
    if upper.is_empty() || !base32_like {
        return Err(PayloadError::WrongPrefix);
    }
    Ok(upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> SignedPayload {
        SignedPayload::from_bytes(vec![1, 2, 3, 4, 5, 6, 7])
    }

    #[test]
    fn encode_writes_an_upper_case_url_with_unpadded_base32() {
        let text = QrText::encode("zz.example.cn", &payload());
        assert_eq!(text, "HTTPS://ZZ.EXAMPLE.CN/V/AEBAGBAFAYDQ");
        assert_eq!(QrText::encode("https://zz.example.cn/", &payload()), text);
    }

    #[test]
    fn extract_accepts_any_case_whitespace_scheme_host_and_trailing_slash() {
        let bytes = payload().into_bytes();
        for text in [
            "HTTPS://ZZ.EXAMPLE.CN/V/AEBAGBAFAYDQ",
            "  https://zz.example.cn/v/aebagbafaydq/\n",
            "http://localhost:8080/V/AEBAGBAFAYDQ",
            "AEBAGBAFAYDQ",
            "\taebagbafaydq ",
        ] {
            assert_eq!(QrText::extract(text).unwrap(), bytes, "{text}");
            assert!(QrText::is_ours(text));
        }
    }

    #[test]
    fn extract_calls_other_urls_and_texts_wrong_prefix() {
        for text in [
            "HTTPS://ZZ.EXAMPLE.CN/X/AEBAGBAFAYDQ",
            "HTTPS://ZZ.EXAMPLE.CN/V/AEBAGBAFAYDQ?X=1",
            "HTTPS://ZZ.EXAMPLE.CN/V/AEBAGBAFAYDQ#TOP",
            "HTTPS://ZZ.EXAMPLE.CN",
            "HTTPS:///V/AEBAGBAFAYDQ",
            "HTTPS://USER@ZZ.EXAMPLE.CN/V/AEBAGBAFAYDQ",
            "FTP://ZZ.EXAMPLE.CN/V/AEBAGBAFAYDQ",
            "WIFI:S:HOME;T:WPA;P:SECRET;;",
            "TEL:+862112345678",
            "HELLO WORLD",
            "上海市住房和城乡建设管理委员会",
            "",
            "   ",
        ] {
            assert_eq!(
                QrText::extract(text),
                Err(PayloadError::WrongPrefix),
                "{text}"
            );
            assert!(!QrText::is_ours(text));
        }
    }

    #[test]
    fn extract_calls_damaged_base32_bad_base32() {
        for text in [
            "HTTPS://ZZ.EXAMPLE.CN/V/AEBAGBAFAYD0",  // 0 is not base32
            "HTTPS://ZZ.EXAMPLE.CN/V/AEBAGBAFAYD",   // 11 characters cannot end a group
            "HTTPS://ZZ.EXAMPLE.CN/V/AEBAGBAFAYDR",  // non-zero padding bits
            "HTTPS://ZZ.EXAMPLE.CN/V/AEBAG BAFAYDQ", // inner space
            "HTTPS://ZZ.EXAMPLE.CN/V/",
            "AEBAGBAFAYD1",
            "AEBAGBAFAYDQ====",
        ] {
            assert_eq!(
                QrText::extract(text),
                Err(PayloadError::BadBase32),
                "{text}"
            );
        }
    }

    #[test]
    fn extract_refuses_overlong_text_before_decoding() {
        let text = "A".repeat(MAX_TEXT_CHARS + 8);
        assert_eq!(QrText::extract(&text), Err(PayloadError::TooLong));
        let wide = "上".repeat(MAX_TEXT_CHARS);
        assert_eq!(QrText::extract(&wide), Err(PayloadError::WrongPrefix));
    }

    #[test]
    fn a_bare_code_holding_more_than_a_payload_may_is_too_long() {
        let bytes = vec![0x5a; MAX_PAYLOAD_BYTES + 1];
        let bare = BASE32_NOPAD.encode(&bytes);
        assert!(bare.len() < MAX_TEXT_CHARS, "under the text limit");
        assert_eq!(QrText::extract(&bare), Err(PayloadError::TooLong));
        let fits = BASE32_NOPAD.encode(&bytes[1..]);
        assert_eq!(
            QrText::extract(&fits).map(|b| b.len()),
            Ok(MAX_PAYLOAD_BYTES)
        );
    }

    /// The rules read plainly, char by char, as `extract` was first written: the byte scans
    /// that replaced it must give the same answer for any text.
    fn extract_model(text: &str) -> Result<Vec<u8>, PayloadError> {
        let text = text.trim();
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(PayloadError::TooLong);
        }
        let upper = text.to_ascii_uppercase();
        let b32 = match upper.find("://") {
            Some(at) => {
                let (scheme, rest) = (&upper[..at], &upper[at + 3..]);
                if scheme != "HTTPS" && scheme != "HTTP" {
                    return Err(PayloadError::WrongPrefix);
                }
                let slash = rest.find('/').ok_or(PayloadError::WrongPrefix)?;
                let host = &rest[..slash];
                if host.is_empty()
                    || !host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c))
                {
                    return Err(PayloadError::WrongPrefix);
                }
                let tail = rest[slash..]
                    .strip_prefix("/V/")
                    .ok_or(PayloadError::WrongPrefix)?;
                if tail.contains(['?', '#']) {
                    return Err(PayloadError::WrongPrefix);
                }
                tail.strip_suffix('/').unwrap_or(tail)
            }
            None => {
                if upper.contains([':', '/'])
                    || upper.is_empty()
                    || !upper.chars().all(|c| c.is_ascii_alphanumeric() || c == '=')
                {
                    return Err(PayloadError::WrongPrefix);
                }
                &upper
            }
        };
        if b32.is_empty() {
            return Err(PayloadError::BadBase32);
        }
        let bytes = BASE32_NOPAD
            .decode(b32.as_bytes())
            .map_err(|_| PayloadError::BadBase32)?;
        if bytes.len() > MAX_PAYLOAD_BYTES {
            return Err(PayloadError::TooLong);
        }
        Ok(bytes)
    }

    proptest::proptest! {
        #[test]
        fn extract_answers_as_the_plain_reading_of_its_rules(
            text in proptest::prop_oneof![
                // Our URLs and bare codes, in any case, damaged anywhere.
                "[ \\t]{0,2}(?i:(https?|ftp)://[a-z0-9.:@-]{0,12}/[vx]/)?[a-z2-7=0-9 ]{0,60}[/?#]?[ \\n]{0,2}",
                // Anything at all, CJK and other scripts included.
                "\\PC{0,40}",
                // Whatever mixes the two.
                "[hH:/vV上a-zA-Z2-7?#= ]{0,50}",
            ]
        ) {
            proptest::prop_assert_eq!(QrText::extract(&text), extract_model(&text));
        }
    }
}
