//! The app's `index.html` as served: the pinned root key and its id inserted as `<meta>` tags
//! (so a fresh install trusts this server's trust list and status snapshots without asking),
//! and the content security policy that lets exactly this page's inline scripts run.

use base64::Engine;
use sha2::{Digest, Sha256};

/// Inserts the root-key meta tags before the first `</head>`; `None` when there is none.
pub fn inject_root_key(html: &str, root_key: &[u8; 32], root_kid: &str) -> Option<String> {
    let at = find_ascii_ci(html, "</head>", 0)?;
    let meta = format!(
        "<meta name=\"zizhi-root-key\" content=\"{}\"><meta name=\"zizhi-root-kid\" content=\"{}\">",
        hex::encode(root_key),
        escape_attr(root_kid)
    );
    let mut out = String::with_capacity(html.len() + meta.len());
    out.push_str(&html[..at]);
    out.push_str(&meta);
    out.push_str(&html[at..]);
    Some(out)
}

/// The policy for the app and its files. wasm-bindgen's loader needs `'wasm-unsafe-eval'`
/// (never plain `'unsafe-eval'`); an inline bootstrap script (`import init from
/// './zizhi_app.js'`) is allowed by its hash, so no other inline script can run. The camera
/// stream is a `mediastream:`/`blob:` source; `connect-src` admits any HTTPS server because the
/// 设置 screen may point the app at another zizhi server, and plain HTTP on loopback only (a
/// server on the device itself), the same rule the 设置 screen applies.
pub fn content_security_policy(index_html: Option<&str>) -> String {
    let mut script = String::from("'self' 'wasm-unsafe-eval'");
    for hash in index_html.map(inline_script_hashes).unwrap_or_default() {
        script.push_str(&format!(" 'sha256-{hash}'"));
    }
    format!(
        "default-src 'self'; script-src {script}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; media-src 'self' blob: mediastream:; \
         connect-src 'self' https: http://127.0.0.1:* http://localhost:* blob: data:; \
         worker-src 'self'; manifest-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// base64 SHA-256 of the text of every `<script>` without a `src` attribute.
fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = find_ascii_ci(html, "<script", from) {
        let Some(tag_end) = html[open..].find('>').map(|i| open + i) else {
            break;
        };
        let tag = &html[open..tag_end];
        let body_start = tag_end + 1;
        let Some(close) = find_ascii_ci(html, "</script", body_start) else {
            break;
        };
        if !tag.to_ascii_lowercase().contains(" src=") {
            let body = &html[body_start..close];
            if !body.trim().is_empty() {
                out.push(
                    base64::engine::general_purpose::STANDARD
                        .encode(Sha256::digest(body.as_bytes())),
                );
            }
        }
        from = close + "</script".len();
    }
    out
}

/// Byte offset of `needle` (ASCII) in `hay` from `from`, ignoring ASCII case. The offset is a
/// char boundary because the needle starts with an ASCII byte.
fn find_ascii_ci(hay: &str, needle: &str, from: usize) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if from > h.len() || n.len() > h.len() - from {
        return None;
    }
    (from..=h.len() - n.len()).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_tags_go_just_before_the_first_head_end_tag_in_any_case() {
        let html = "<html><head><title>扫码</title></HEAD><body></head></body></html>";
        let out = inject_root_key(html, &[0xab; 32], "RT01").unwrap();
        let key = "ab".repeat(32);
        assert_eq!(
            out,
            format!(
                "<html><head><title>扫码</title><meta name=\"zizhi-root-key\" content=\"{key}\">\
                 <meta name=\"zizhi-root-kid\" content=\"RT01\"></HEAD><body></head></body></html>"
            )
        );
        assert_eq!(
            inject_root_key("<html><body></body></html>", &[0; 32], "RT01"),
            None
        );
    }

    #[test]
    fn only_inline_scripts_are_hashed_into_the_policy() {
        let boot = "import init from './zizhi_app.js'; init();";
        let html = format!(
            "<head><script src=\"x.js\"></script><SCRIPT type=\"module\">{boot}</SCRIPT>\
             <script> </script></head>"
        );
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(boot));
        assert_eq!(inline_script_hashes(&html), vec![expected.clone()]);
        let csp = content_security_policy(Some(&html));
        assert!(
            csp.contains(&format!(
                "script-src 'self' 'wasm-unsafe-eval' 'sha256-{expected}';"
            )),
            "{csp}"
        );
        assert!(!csp.contains("'unsafe-eval'"), "{csp}");
        assert!(content_security_policy(None).contains("script-src 'self' 'wasm-unsafe-eval';"));
    }

    #[test]
    fn searching_handles_multibyte_text_and_short_haystacks() {
        assert_eq!(find_ascii_ci("资质</head>", "</HEAD>", 0), Some(6));
        assert_eq!(find_ascii_ci("<he", "</head>", 0), None);
        assert_eq!(find_ascii_ci("abc", "a", 4), None);
    }
}
