//! The body of `POST /api/v1/verify`: the scanned text itself, or `{"text": "…"}` when sent
//! as JSON. Free of the web framework and the server's state, so the fuzz target
//! `fuzz/fuzz_targets/verify_request.rs` compiles this very file without building the server.

use serde::Deserialize;

/// The scanned text, when sent as JSON.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyRequest {
    text: String,
}

/// Why a body holds no text: the API error's stable code and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    pub code: &'static str,
    pub message: String,
}

/// The scanned text in a verify request body; `content_type` is the request's header value.
pub fn request_text(content_type: Option<&str>, body: &[u8]) -> Result<String, BodyError> {
    if content_type.is_some_and(|v| v.starts_with("application/json")) {
        serde_json::from_slice::<VerifyRequest>(body)
            .map(|r| r.text)
            .map_err(|e| BodyError {
                code: "malformed_json",
                message: format!("请求体不是有效的 JSON：{e}"),
            })
    } else {
        String::from_utf8(body.to_vec()).map_err(|_| BodyError {
            code: "malformed_text",
            message: "请求体不是 UTF-8 文本".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_the_text_itself_or_its_json_text_field() {
        assert_eq!(
            request_text(None, b"HTTPS://H/V/AB").unwrap(),
            "HTTPS://H/V/AB"
        );
        let json = br#"{"text":"HTTPS://H/V/AB"}"#;
        assert_eq!(
            request_text(Some("application/json; charset=utf-8"), json).unwrap(),
            "HTTPS://H/V/AB"
        );
        // Without the JSON content type, the JSON is the text.
        assert_eq!(
            request_text(Some("text/plain"), json).unwrap().as_bytes(),
            json
        );
    }

    #[test]
    fn bodies_without_text_are_refused_with_stable_codes() {
        let refused = |ct, body: &[u8]| request_text(ct, body).unwrap_err().code;
        assert_eq!(refused(None, b"\xff\xfe"), "malformed_text");
        assert_eq!(
            refused(Some("application/json"), b"HTTPS://H/V/AB"),
            "malformed_json"
        );
        assert_eq!(
            refused(Some("application/json"), br#"{"text":"A","x":1}"#),
            "malformed_json"
        );
    }
}
