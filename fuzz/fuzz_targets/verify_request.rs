//! The body of `POST /api/v1/verify` (raw text, or `{"text": …}` as JSON), through to the
//! verdict the server would answer before it reads the register.
//!
//! The first byte picks the content type (as a client may send any), the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zizhi_fuzz::verify_request::request_text;
use zizhi_fuzz::{check_verified, now, trust_list};
use zizhi_shared::verdict::Verdict;
use zizhi_shared::{QrText, verify_bytes};

const CONTENT_TYPES: [Option<&str>; 4] = [
    None,
    Some("text/plain"),
    Some("application/json"),
    Some("application/json; charset=utf-8"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(pick) % CONTENT_TYPES.len()];
    let is_json = content_type.is_some_and(|c| c.starts_with("application/json"));
    let text = match request_text(content_type, body) {
        Ok(text) => text,
        Err(e) => {
            assert!(matches!(e.code, "malformed_json" | "malformed_text"));
            assert_eq!(e.code == "malformed_json", is_json);
            return;
        }
    };
    if is_json {
        // The text survives being sent again as JSON.
        let again = serde_json::to_vec(&serde_json::json!({ "text": text })).expect("JSON");
        assert_eq!(request_text(content_type, &again).as_ref(), Ok(&text));
    } else {
        assert_eq!(text.as_bytes(), body);
    }

    // What `verify::service::verify` does before it reads the register.
    let checked = QrText::extract(&text)
        .and_then(|payload| verify_bytes(&payload, trust_list(), now()).map(|v| (v, payload)));
    match checked {
        Ok((v, payload)) => check_verified(&payload, &v),
        Err(e) => {
            let _ = Verdict::rejected(&e, now());
        }
    }
});
