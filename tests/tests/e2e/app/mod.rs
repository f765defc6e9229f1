//! The scanner app end to end: the real server (demo register, SQLite) serves the built app
//! at `/app/`; Debian's headless Chromium (`tests/peers/app_browser.js`, playwright-core)
//! opens it at 375×667 with its camera faked from a video of a printed demo certificate, and
//! the tests check what the inspector sees against what the server says.
//!
//! The app must be built first: `bash scripts/build-app.sh` (scripts/test.sh does it before
//! `cargo test`). Without `mobile/dist/index.html`, or without node, playwright-core,
//! chromium, ffmpeg, zbar or poppler, these tests fail saying what to run or install.
//! Screenshots go to `target/screenshots/app-*.png`.
//!
//! The browser tests take the test binary's Chromium lock
//! ([`zizhi_tests::one_chromium_at_a_time`]), so only one Chromium runs at a time, a page
//! test's included: on a 2-core machine two at once made each scan slow enough to look like a
//! failure.

mod assist;
mod camera;
mod footage;
mod foreign;
mod lying;
mod offline;
mod photo;
mod rare;
mod zoom;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use zizhi_server::demo::seed::DemoSummary;
pub use zizhi_tests::demo_case as case;
use zizhi_tests::{Backend, LinePeer, TestApp, TestEnv, screenshots_dir};

/// The demo cases the camera tests scan, one print each.
pub const CAMERA_CASES: &[&str] = &["current_usage", "approval", "revoked", "forged"];

/// The built app, `mobile/dist` of the workspace, as an absolute path.
pub fn app_dist() -> PathBuf {
    let dist = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../mobile/dist"));
    let index = dist.join("index.html");
    assert!(
        index.is_file(),
        "the app tests need the built web app at {}: run `bash scripts/build-app.sh` first \
         (scripts/test.sh does)",
        index.display()
    );
    dist.canonicalize().expect("mobile/dist")
}

/// A server with the demo register serving the built app; the demo's files (PDFs, QR PNGs)
/// under `<env>/demo`.
pub async fn demo_app() -> (TestEnv, TestApp, DemoSummary) {
    let dist = app_dist();
    zizhi_tests::demo_app(Backend::Sqlite, |mut settings| {
        settings.app_dir = dist;
        settings
    })
    .await
}

pub fn demo_dir(env: &TestEnv) -> PathBuf {
    env.dir.path().join("demo")
}

/// Footage of a demo case's print: `(page PNG, video, decoded text)`. The forged case is the
/// current usage copy's print with the forged code pasted over its own.
pub fn print_of(env: &TestEnv, summary: &DemoSummary, name: &str) -> PathBuf {
    let demo = demo_dir(env);
    let dir = env.dir.path().join("footage");
    std::fs::create_dir_all(&dir).expect("footage dir");
    let counterfeit = matches!(name, "forged" | "unknown_key");
    let pdf_case = if counterfeit { "current_usage" } else { name };
    let page = footage::rasterise(&demo.join(format!("{pdf_case}.pdf")), &dir, name);
    if counterfeit {
        let pasted = dir.join(format!("{name}-pasted.png"));
        footage::paste_code(&page, &demo.join(format!("{name}.png")), &pasted);
        footage::assert_readable(&pasted, &case(summary, name).qr_text);
        return pasted;
    }
    page
}

/// A camera video of a case's print, checked readable on its first and a middle frame.
pub fn video_of(env: &TestEnv, summary: &DemoSummary, name: &str) -> PathBuf {
    let page = print_of(env, summary, name);
    let video = page.with_file_name(format!("{name}.y4m"));
    footage::camera_video(&page, footage::Aim::Code, &video);
    for n in [0, 5] {
        let png = page.with_file_name(format!("{name}-frame{n}.png"));
        footage::frame(&video, n, &png);
        footage::assert_readable(&png, &case(summary, name).qr_text);
    }
    video
}

/// A camera video of a case's print aimed at its text, with no code in view (checked).
pub fn video_without_code(env: &TestEnv, summary: &DemoSummary, name: &str) -> PathBuf {
    let page = print_of(env, summary, name);
    let video = page.with_file_name(format!("{name}-text.y4m"));
    footage::camera_video(&page, footage::Aim::Text, &video);
    let png = page.with_file_name(format!("{name}-text-frame0.png"));
    footage::frame(&video, 0, &png);
    footage::assert_no_code(&png);
    video
}

/// A JPEG phone photo of a case's print, checked readable.
pub fn photo_of(env: &TestEnv, summary: &DemoSummary, name: &str) -> PathBuf {
    let page = print_of(env, summary, name);
    let photo = page.with_file_name(format!("{name}-photo.jpg"));
    footage::phone_photo(&page, &photo);
    footage::assert_readable(&photo, &case(summary, name).qr_text);
    photo
}

/// What the browser saw, one observation per step, found by step name.
pub struct Seen {
    pub steps: Vec<Value>,
    /// When the server was stopped at the browser's request.
    pub stopped_at: Option<DateTime<Utc>>,
}

impl Seen {
    pub fn named(&self, name: &str) -> &Value {
        self.steps
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no observation named {name}"))
    }

    /// The `close` observations: every page error and CSP refusal of the run.
    pub fn assert_no_page_errors(&self) {
        for v in self.steps.iter().filter(|v| v["op"] == "close") {
            assert_eq!(v["page_errors"], serde_json::json!([]), "{}: {v}", v["b"]);
            for line in v["console"].as_array().into_iter().flatten() {
                let line = line.as_str().unwrap_or_default();
                assert!(
                    !line.contains("Content Security Policy") && !line.contains("Refused to"),
                    "{}: the app's policy blocked something: {line}",
                    v["b"]
                );
            }
        }
    }
}

/// Runs the browser steps against `app`. A `stop_server` step stops the server (the `Option`
/// is then `None`) before the browser goes on.
pub async fn drive(app: &mut Option<TestApp>, steps: Vec<Value>) -> Seen {
    let _one_chromium = zizhi_tests::one_chromium_at_a_time().await;
    zizhi_tests::require_chromium();
    let base = app.as_ref().expect("a running server").url("");
    let input = serde_json::json!({
        "base": base.trim_end_matches('/'),
        "shots": screenshots_dir(),
        "steps": steps,
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/app_browser.js");
    let mut peer = LinePeer::spawn("node", script, &input).await;
    let mut seen = Vec::new();
    let mut stopped_at = None;
    let talk = async {
        while let Some(line) = peer.next_line().await {
            if line == "STOP" {
                if let Some(app) = app.take() {
                    app.stop().await;
                }
                stopped_at = Some(Utc::now());
                peer.send("STOPPED").await;
                continue;
            }
            let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
                panic!("{script} printed a line that is not JSON ({e}): {line}")
            });
            eprintln!("browser: {v}");
            seen.push(v);
        }
    };
    if tokio::time::timeout(Duration::from_secs(600), talk)
        .await
        .is_err()
    {
        let log = peer.kill().await;
        panic!("the browser steps took over 10 minutes; its log:\n{log}");
    }
    let log = peer.finish().await;
    eprintln!("browser log:\n{log}");
    Seen {
        steps: seen,
        stopped_at,
    }
}
