//! The OpenAPI document against the live server: schemathesis (PyPI), an independent fuzzer,
//! reads `/api/v1/openapi.json` and sends each operation generated requests, valid and
//! invalid, as each audience: no answer may be a 5xx, have a status, content type or body
//! the document does not list. The server has a database of its own with the demo register
//! seeded, so paths resolve, and the issuer calls it makes change nothing another test sees.
//! Each run has a fixed seed and a bound on the cases per operation: on two cores the test
//! takes about half a minute a backend.
//!
//! A missing schemathesis fails the test (`pip install schemathesis`, see `scripts/test.sh`).

use std::path::Path;
use std::time::Instant;

use zizhi_tests::{Backend, ISSUER_TOKEN, TestApp, demo_app, on_both_backends};

/// Test cases per operation and phase: the whole test stays within two minutes on two cores.
const MAX_EXAMPLES: &str = "25";
/// Fixed, so a failure in CI is reproduced by the same run locally.
const SEED: &str = "20261130";

/// One bounded schemathesis run over the operations tagged `tags`, with `token` (if any) as
/// the bearer; its whole output when it finds anything.
async fn schemathesis(app: &TestApp, dir: &Path, tags: &[&str], token: Option<&str>) {
    let mut cmd = tokio::process::Command::new("python3");
    cmd.args(["-m", "schemathesis.cli", "run"])
        .arg(app.url("/api/v1/openapi.json"))
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_schema_conformance",
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            SEED,
            "--request-timeout",
            "20",
            "--no-color",
            // Requests without the bearer would trip the guessing limit
            // (`ratelimit::limit_failed_authentication`, per address) and leave the rest of
            // the run answered 429; the router tests cover the missing token.
            "--generation-with-security-parameters",
            "false",
        ])
        // Its example database (`.hypothesis/`) goes in the test's temp dir.
        .current_dir(dir)
        .kill_on_drop(true);
    for tag in tags {
        cmd.args(["--include-tag", tag]);
    }
    if let Some(token) = token {
        cmd.args(["--header", &format!("Authorization: Bearer {token}")]);
    }
    let started = Instant::now();
    let out = cmd.output().await.unwrap_or_else(|e| {
        panic!("python3 is required for this test (schemathesis runs in it): {e}")
    });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("No module named"),
        "schemathesis is required for this test: pip install schemathesis (scripts/test.sh)\n{text}"
    );
    assert!(
        out.status.success(),
        "schemathesis found answers outside /api/v1/openapi.json for {tags:?}:\n{text}"
    );
    // A run that tested nothing would pass too: the selection must have matched.
    assert!(
        text.contains("Tested:") && !text.contains("Tested: 0"),
        "schemathesis tested no operation for {tags:?}:\n{text}"
    );
    eprintln!(
        "schemathesis {tags:?}: passed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document(backend: Backend) {
    let (env, app, _) = demo_app(backend, |s| s).await;
    let dir = env.dir.path();
    let credentials: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("demo/credentials.json")).expect("demo credentials"),
    )
    .expect("credentials are JSON");
    let enterprise = credentials[0]["token"]
        .as_str()
        .expect("an enterprise token");

    schemathesis(&app, dir, &["public"], None).await;
    // The copy files answer the issuer and the enterprise that owns the copy alike.
    schemathesis(&app, dir, &["issuer", "copy-files"], Some(ISSUER_TOKEN)).await;
    schemathesis(&app, dir, &["enterprise", "copy-files"], Some(enterprise)).await;
    app.stop().await;
    env.finish().await;
}
// On both: PostgreSQL refused a NUL in a search or a qualification's name with a 500 where
// SQLite stored it.
on_both_backends!(
    schemathesis_finds_no_server_error_and_no_answer_outside_the_document,
    super::schemathesis_finds_no_server_error_and_no_answer_outside_the_document
);
