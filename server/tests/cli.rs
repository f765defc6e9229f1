//! The `zizhi` binary as a user runs it: keygen, demo, issue, verify offline.

use std::path::Path;
use std::process::{Command, Output};

fn zizhi(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zizhi"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("ZIZHI_PUBLIC_HOST", "ZIZHI.JSGL.SH.GOV.CN")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run zizhi")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn demo_then_offline_verify_tells_genuine_from_forged() {
    let dir = tempfile::tempdir().unwrap();
    let out = zizhi(dir.path(), &["demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("current_usage"));
    assert!(
        dir.path().join("data/zizhi.db").exists(),
        "SQLite file created on first start"
    );
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("demo/cases.json")).unwrap())
            .unwrap();
    let text = |name: &str| {
        cases["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["case"] == name)
            .unwrap()["qr_text"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let qr_files = std::fs::read_dir(dir.path().join("demo/qr"))
        .unwrap()
        .count();
    assert!(
        qr_files >= 2 * 40,
        "PNG and SVG for every copy, found {qr_files}"
    );

    // Offline against the local keys.
    let ok = zizhi(dir.path(), &["verify", &text("current_usage")]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(stdout(&ok).contains("签名有效"), "{}", stdout(&ok));
    assert!(stdout(&ok).contains("本使用件仅用于"));

    // Offline against a trust-list file and a pinned root key.
    let export = zizhi(
        dir.path(),
        &["trust", "export", "--out", "data/trust-list.json"],
    );
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let line = stdout(&export);
    let root_hex = line
        .split("public ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .expect("the export prints the root public key")
        .to_owned();
    let pinned = zizhi(
        dir.path(),
        &[
            "verify",
            "--trust-list",
            "data/trust-list.json",
            "--root-key",
            &root_hex,
            &text("current_usage"),
        ],
    );
    assert!(
        pinned.status.success(),
        "{}",
        String::from_utf8_lossy(&pinned.stderr)
    );
    let mut other_root = hex::decode(&root_hex).unwrap();
    other_root[0] ^= 1;
    let refused = zizhi(
        dir.path(),
        &[
            "verify",
            "--trust-list",
            "data/trust-list.json",
            "--root-key",
            &hex::encode(other_root),
            &text("current_usage"),
        ],
    );
    assert_eq!(
        refused.status.code(),
        Some(2),
        "a trust list that the pinned root did not sign is refused"
    );
    let forged = zizhi(dir.path(), &["verify", "--json", &text("forged")]);
    assert_eq!(forged.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&forged.stdout).unwrap();
    assert_eq!(v["offline"]["error"], "bad_signature");
    assert_eq!(v["offline"]["signature"], "invalid");

    let garbage = zizhi(dir.path(), &["verify", "not a certificate"]);
    assert_eq!(garbage.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&garbage.stderr).contains("wrong_prefix"));

    let wrong_root = zizhi(
        dir.path(),
        &[
            "verify",
            "--root-key",
            &"00".repeat(32),
            &text("current_usage"),
        ],
    );
    assert_eq!(
        wrong_root.status.code(),
        Some(2),
        "a mismatching pinned root is an error"
    );
}

#[test]
fn issue_writes_the_qr_code_and_refuses_bad_periods() {
    let dir = tempfile::tempdir().unwrap();
    assert!(zizhi(dir.path(), &["demo"]).status.success());
    let today = chrono::Utc::now().date_naive();
    let to = today + chrono::Duration::days(30);
    let out = zizhi(
        dir.path(),
        &[
            "issue",
            "usage",
            "D231098583",
            "--purpose",
            "浦东新区某道路工程投标",
            "--from",
            &today.to_string(),
            "--to",
            &to.to_string(),
            "--png",
            "copy.png",
            "--svg",
            "copy.svg",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copy: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(copy["kind"], "usage");
    assert!(
        std::fs::read(dir.path().join("copy.png"))
            .unwrap()
            .starts_with(b"\x89PNG")
    );
    assert!(
        std::fs::read_to_string(dir.path().join("copy.svg"))
            .unwrap()
            .contains("<svg")
    );
    let v = zizhi(dir.path(), &["verify", copy["qr_text"].as_str().unwrap()]);
    assert!(v.status.success());

    let bad = zizhi(
        dir.path(),
        &[
            "issue",
            "usage",
            "D231098583",
            "--purpose",
            "投标",
            "--from",
            &to.to_string(),
            "--to",
            &today.to_string(),
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("使用期限结束日期早于开始日期"));
}
