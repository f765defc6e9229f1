//! The mobile H5 pages: opened in Debian's headless Chromium at a phone's 375×667 with
//! JavaScript off (`tests/peers/pages_browser.js`, playwright-core), and fetched over HTTP for
//! their weight, status codes, escaping and rate limit. Screenshots of every page go to
//! `target/screenshots/` (CI keeps them). Without node, playwright-core or chromium these tests
//! fail, saying what to install.

mod browser;
mod http;

use std::path::PathBuf;

use serde_json::Value;
use zizhi_server::demo::seed::DemoSummary;
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
    let env = TestEnv::new(backend).await;
    env.prepare_demo_keys();
    let app = TestApp::start(env.settings()).await;
    let summary = app.seed_demo(&env.dir.path().join("demo")).await;
    (env, app, summary)
}

pub fn case<'a>(summary: &'a DemoSummary, name: &str) -> &'a zizhi_server::demo::seed::DemoCase {
    summary
        .cases
        .iter()
        .find(|c| c.case == name)
        .unwrap_or_else(|| panic!("demo has no {name} case"))
}

/// The path a phone opens for a QR text: `/V/<BASE32>` exactly as printed.
pub fn qr_path(qr_text: &str) -> String {
    let code = qr_text.rsplit('/').next().expect("QR URL");
    format!("/V/{code}")
}

/// `target/screenshots/` of the workspace (or of `CARGO_TARGET_DIR`).
pub fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    target.join("screenshots")
}

/// Runs the browser steps against `app`; one observation per step.
pub async fn browse(app: &TestApp, steps: Vec<Value>) -> Vec<Value> {
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
    let chromium =
        std::env::var("ZIZHI_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "the page tests need Chromium at {chromium} (apt-get install chromium)"
    );
    zizhi_tests::run_json_peer("node", script, input)
}
