//! The mobile H5 pages: opened in Debian's headless Chromium at a phone's 375×667 with
//! JavaScript off (`tests/peers/pages_browser.js`, playwright-core), and fetched over HTTP for
//! their weight, status codes, escaping and rate limit. Screenshots of every page go to
//! `target/screenshots/` (CI keeps them). Without node, playwright-core or chromium these tests
//! fail, saying what to install.

mod browser;
mod http;

use serde_json::Value;
use zizhi_server::demo::seed::DemoSummary;
pub use zizhi_tests::demo_case as case;
pub use zizhi_tests::screenshots_dir;
use zizhi_tests::{Backend, TestApp, TestEnv};

pub const CASES: &[&str] = &[
    "current_usage",
    "approval",
    "superseded",
    "revoked",
    "cancelled",
    "expired_period",
    "not_started",
    "withdrawn",
    "expired_certificate",
    "forged",
    "unknown_key",
];

pub async fn demo_app(backend: Backend) -> (TestEnv, TestApp, DemoSummary) {
    zizhi_tests::demo_app(backend, |settings| settings).await
}

/// The path a phone opens for a QR text: `/V/<BASE32>` exactly as printed.
pub fn qr_path(qr_text: &str) -> String {
    let code = qr_text.rsplit('/').next().expect("QR URL");
    format!("/V/{code}")
}

/// Runs the browser steps against `app`; one observation per step. Holds the test binary's
/// Chromium lock meanwhile (see [`zizhi_tests::one_chromium_at_a_time`]).
pub async fn browse(app: &TestApp, steps: Vec<Value>) -> Vec<Value> {
    let _one_chromium = zizhi_tests::one_chromium_at_a_time().await;
    let input = serde_json::json!({
        "base": app.url(""),
        "shots": screenshots_dir(),
        "steps": steps,
    });
    tokio::task::spawn_blocking(move || run_browser(&input))
        .await
        .expect("browser thread")
}

fn run_browser(input: &Value) -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/pages_browser.js");
    zizhi_tests::require_chromium();
    zizhi_tests::run_json_peer("node", script, input)
}
