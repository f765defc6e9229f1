//! Addresses of the H5 pages, as the pages link to each other and as chat replies and the CLI
//! point to them.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use zizhi_shared::{CertificateNumber, QrText, SignedPayload};

use crate::settings::Settings;

/// Where the H5 pages live, as chat replies link to them: the configured public base URL,
/// else the address the server listens on.
pub fn base_url(settings: &Settings) -> String {
    match &settings.public_base_url {
        Some(u) if !u.trim().is_empty() => u.trim().trim_end_matches('/').to_owned(),
        _ => format!("http://{}", settings.bind),
    }
}

/// The verdict page of a scanned text, or `None` when the text holds no payload.
pub fn verdict_url(base: &str, scanned: &str) -> Option<String> {
    let bytes = QrText::extract(scanned).ok()?;
    Some(format!(
        "{base}/v/{}",
        QrText::base32(&SignedPayload::from_bytes(bytes))
    ))
}

pub fn certificate_url(base: &str, number: &CertificateNumber) -> String {
    format!("{base}/c/{number}")
}

pub fn search_url(base: &str, q: &str, page: u32) -> String {
    if page <= 1 {
        format!("{base}/search?q={}", encode_component(q))
    } else {
        format!("{base}/search?q={}&page={page}", encode_component(q))
    }
}

/// Everything but RFC 3986's unreserved characters, as a query value needs.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a query value.
pub fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_use_the_configured_base_and_encode_the_query() {
        let mut s = Settings::default();
        assert_eq!(base_url(&s), "http://127.0.0.1:8080");
        s.public_base_url = Some(" https://zizhi.example.cn/ ".into());
        assert_eq!(base_url(&s), "https://zizhi.example.cn");
        assert_eq!(
            search_url("https://h", "建设 & co", 2),
            "https://h/search?q=%E5%BB%BA%E8%AE%BE%20%26%20co&page=2"
        );
        assert_eq!(search_url("", "a-b_c.d~", 1), "/search?q=a-b_c.d~");
    }

    #[test]
    fn the_verdict_link_carries_the_payload_in_upper_case_base32() {
        assert_eq!(
            verdict_url("https://h", "https://zz.example.cn/v/aebagbafaydq/").as_deref(),
            Some("https://h/v/AEBAGBAFAYDQ")
        );
        assert_eq!(verdict_url("https://h", "hello world"), None);
    }
}
