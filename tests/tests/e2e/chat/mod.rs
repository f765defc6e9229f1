//! The official-account endpoint (`/wechat`) talked to as the platform would, by an
//! independent implementation of the protocol: the Python package wechatpy signs, encrypts
//! and builds each delivery and decrypts and checks our replies (`tests/peers/wechat_peer.py`).
//! Without python3 and wechatpy these tests fail, saying what to install.

mod protocol;
mod replies;
mod retries;

use secrecy::SecretString;
use serde_json::{Value, json};
use zizhi_server::demo::seed::DemoSummary;
use zizhi_server::settings::Settings;
use zizhi_tests::{Backend, TestApp, TestEnv};

pub const TOKEN: &str = "zizhi-chat-test-token";
pub const APP_ID: &str = "wx5c3f9a1e2b7d4c60";
/// 43 characters whose last one has non-zero spare bits, as the platform's keys often do.
pub const AES_KEY: &str = "TatW46LElSm591zxJ2R86J+atu2MQ3YoF8uCvZmJ3Ps";
pub const FOLLOWER: &str = "oZizhiTestFollower01";

/// Settings with the official account configured in safe mode (安全模式): token, AppID and
/// EncodingAESKey. Plaintext deliveries are then refused.
pub fn with_chat(mut s: Settings) -> Settings {
    s.chat.token = Some(SecretString::from(TOKEN));
    s.chat.app_id = Some(APP_ID.into());
    s.chat.encoding_aes_key = Some(SecretString::from(AES_KEY));
    s
}

/// Settings with the official account configured in plaintext mode (明文模式): the token
/// only, as an account whose platform configuration says 明文.
pub fn with_plain_chat(mut s: Settings) -> Settings {
    s.chat.token = Some(SecretString::from(TOKEN));
    s
}

/// A server with the demo register and the official account configured (safe mode).
pub async fn demo_app(backend: Backend) -> (TestEnv, TestApp, DemoSummary) {
    zizhi_tests::demo_app(backend, with_chat).await
}

/// A second server on `env` (its register, keys, Redis) whose official account is in
/// plaintext mode: a test of both modes talks to each in the mode it is configured for.
/// Its replies link to `safe`'s pages, as two instances behind one address would.
pub async fn plain_twin(env: &TestEnv, safe: &TestApp) -> TestApp {
    let mut s = with_plain_chat(env.settings());
    s.public_base_url = Some(safe.url(""));
    TestApp::start(s).await
}

/// [`peer`] with each step sent to the server configured for its mode: `aes` steps to
/// `safe`, plaintext steps to `plain`.
pub async fn peer_by_mode(safe: &TestApp, plain: &TestApp, mut steps: Vec<Value>) -> Vec<Value> {
    for step in &mut steps {
        if step["op"] == "post" && step["mode"] != "aes" {
            step["url"] = json!(plain.url("/wechat"));
        }
    }
    peer(safe, steps).await
}

/// A demo case's QR text.
pub fn case<'a>(summary: &'a DemoSummary, name: &str) -> &'a str {
    &zizhi_tests::demo_case(summary, name).qr_text
}

/// Runs the steps through the wechatpy peer against `app`'s `/wechat`; one result per step.
pub async fn peer(app: &TestApp, steps: Vec<Value>) -> Vec<Value> {
    let input = json!({
        "config": { "url": app.url("/wechat"), "token": TOKEN, "app_id": APP_ID, "aes_key": AES_KEY },
        "steps": steps,
    });
    // The peer blocks while it waits for our replies: keep it off the server's runtime thread.
    tokio::task::spawn_blocking(move || run_peer(&input))
        .await
        .expect("peer thread")
}

fn run_peer(input: &Value) -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/wechat_peer.py");
    zizhi_tests::run_json_peer("python3", script, input)
}

pub fn text(content: &str, msg_id: u64) -> Value {
    json!({ "type": "text", "content": content, "msg_id": msg_id })
}

pub fn scan(result: &str) -> Value {
    json!({ "type": "event", "event": "scancode_waitmsg", "key": "ZIZHI_SCAN",
            "scan_type": "qrcode", "scan_result": result })
}

pub fn post(mode: &str, message: Value) -> Value {
    json!({ "op": "post", "mode": mode, "message": message })
}

/// How many times a delivery was answered, from the request log: by its key, or by a key's
/// beginning ending in `:` (an event's key goes on with the digest of what it says).
pub async fn answered(app: &TestApp, dedupe_key: &str) -> i64 {
    use sqlx::Row;
    let pattern = match dedupe_key.strip_suffix(':') {
        Some(prefix) => format!(
            "{}:%",
            zizhi_tests::zizhi_server::store::like_fragment(prefix).trim_matches('%')
        ),
        None => zizhi_tests::zizhi_server::store::like_fragment(dedupe_key)
            .trim_matches('%')
            .to_owned(),
    };
    sqlx::query("SELECT COUNT(*) FROM chat_requests WHERE dedupe_key LIKE $1 ESCAPE '\\'")
        .bind(pattern)
        .fetch_one(app.server.state.store.pool())
        .await
        .expect("count chat requests")
        .get::<i64, _>(0)
}

/// A unique MsgId per call, so tests sharing a Redis never collide.
pub fn msg_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = (std::process::id() as u64) << 32;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .subsec_nanos() as u64;
    base | ((nanos & 0xffff) << 16) | NEXT.fetch_add(1, Ordering::Relaxed)
}
