//! Key rotation across a fleet: instances pick up a newly installed trust list at their own
//! pace, and while some run the old list and some the new, no fresh copy from any of them is
//! refused by any other.

use std::path::Path;

use chrono::{Duration, Utc};
use zizhi_server::key_ring::{
    KeyRing, RootKeyFile, TrustListChange, offline_root_dir, sign_next_trust_list,
};
use zizhi_shared::KeyId;
use zizhi_shared::trust::KeyRole;
use zizhi_tests::{
    Backend, TestApp, TestEnv, enterprise_with_certificate, on_both_backends, usage_copy,
};

const ISSUER: &str = "上海市住房和城乡建设管理委员会";

/// Copies an instance's data directory as an operator provisions the next instance (keys
/// keep their modes).
fn copy_dir(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

async fn a_mixed_fleet_during_a_rotation_accepts_every_fresh_copy(backend: Backend) {
    let env = TestEnv::new(backend).await;
    let a = TestApp::start(env.settings()).await;
    let (_, number) =
        enterprise_with_certificate(&a, "上海徐汇建设工程有限公司", "91310104MA1FL0412").await;
    // Instance B: same register, its own copy of the data directory.
    let b_dir = env.dir.path().join("data-b");
    copy_dir(&env.data_dir(), &b_dir);
    let mut b_settings = env.settings();
    b_settings.data_dir = b_dir.clone();
    let b = TestApp::start(b_settings).await;

    // The rotation, prepared ahead: SH02 from tomorrow, SH01 still valid through tomorrow.
    let tomorrow = Utc::now().date_naive() + Duration::days(1);
    let request = KeyRing::new_online_key(
        &env.data_dir(),
        "SH02",
        KeyRole::CopySigning,
        tomorrow,
        ISSUER,
    )
    .unwrap();
    let root = RootKeyFile::read(&offline_root_dir(&env.data_dir()).join("RT01.root.key")).unwrap();
    let current = a.server.state.keys.current().trust_list().clone();
    let old_signed = a.server.state.keys.current().signed_trust_list().clone();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let next = sign_next_trust_list(
        &root,
        Some(&current),
        &TrustListChange {
            add: vec![request],
            retire: vec![(KeyId::new(*b"SH01"), tomorrow)],
            valid_until: Utc::now() + Duration::days(200),
        },
        Utc::now(),
    )
    .unwrap();
    // Only A has it so far; B still runs the old list.
    KeyRing::install(&env.data_dir(), &next).unwrap();
    assert!(a.server.state.keys.reload().unwrap());
    assert!(!b.server.state.keys.reload().unwrap());
    let (_, listed_a) = a.get("/.well-known/zizhi/trust-list").await;
    let (_, listed_b) = b.get("/.well-known/zizhi/trust-list").await;
    assert_eq!(listed_a["keys"].as_array().unwrap().len(), 3, "{listed_a}");
    assert_eq!(listed_b["keys"].as_array().unwrap().len(), 2, "{listed_b}");

    // Fresh copies from both instances: each verifies on both, signed by SH01 (SH02 is not in
    // force before tomorrow, whichever list an instance holds).
    let from_a = usage_copy(&a, &number, "徐汇区某学校项目投标").await;
    let from_b = usage_copy(&b, &number, "徐汇区某医院项目投标").await;
    for copy in [&from_a, &from_b] {
        assert_eq!(copy["key_id"], "SH01", "{copy}");
        for instance in [&a, &b] {
            let (s, v) = instance.verify(copy["qr_text"].as_str().unwrap()).await;
            assert_eq!(s, 200, "{v}");
            assert_eq!(v["signature"], "valid", "{v}");
            assert_eq!(v["summary"]["level"], "valid", "{v}");
        }
    }
    // Tomorrow, on A's list, SH02 signs and SH01's window still covers the day.
    let keys = a.server.state.keys.current();
    assert_eq!(
        keys.signer(KeyRole::CopySigning, tomorrow).unwrap().kid(),
        KeyId::new(*b"SH02")
    );
    assert!(
        keys.trust_list()
            .find(&KeyId::new(*b"SH01"))
            .unwrap()
            .covers(tomorrow)
    );

    // B gets the list; an older one copied in afterwards is not taken.
    std::fs::copy(
        zizhi_server::key_ring::trust_list_path(&env.data_dir()),
        zizhi_server::key_ring::trust_list_path(&b_dir),
    )
    .unwrap();
    assert!(b.server.state.keys.reload().unwrap());
    std::fs::write(
        zizhi_server::key_ring::trust_list_path(&b_dir),
        old_signed.as_bytes(),
    )
    .unwrap();
    let refused = b.server.state.keys.reload().unwrap_err().to_string();
    assert!(refused.contains("早于在用的"), "{refused}");
    let (_, listed_b) = b.get("/.well-known/zizhi/trust-list").await;
    assert_eq!(listed_b["keys"].as_array().unwrap().len(), 3, "{listed_b}");
    b.stop().await;
    a.stop().await;
    env.finish().await;
}
on_both_backends!(
    a_mixed_fleet_during_a_rotation_accepts_every_fresh_copy,
    super::a_mixed_fleet_during_a_rotation_accepts_every_fresh_copy
);

/// Runs the real `zizhi` binary with the data directory given, as an operator would.
fn zizhi(data_dir: &Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zizhi-under-test"))
        .args(args)
        .env("ZIZHI_DATA_DIR", data_dir)
        .env("ZIZHI_ISSUER_NAME", ISSUER)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/cli.db?mode=rwc", data_dir.display()),
        )
        .env_remove("REDIS_URL")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_rotation_procedure_runs_from_the_command_line_and_refuses_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, shown) = zizhi(&data, &["keys", "show"]);
    assert!(ok, "{shown}");
    assert!(shown.contains("SH01") && shown.contains("SN01"), "{shown}");
    let root = offline_root_dir(&data).join("RT01.root.key");
    assert!(
        root.is_file(),
        "first start leaves the root for offline storage"
    );

    let tomorrow = (Utc::now().date_naive() + Duration::days(1)).to_string();
    let today = Utc::now().date_naive().to_string();
    let until = (Utc::now().date_naive() + Duration::days(300)).to_string();
    let request = dir.path().join("SH02.request.json");
    let next = dir.path().join("next.cose");
    let (ok, out) = zizhi(
        &data,
        &[
            "keys",
            "new",
            "--kid",
            "SH02",
            "--role",
            "copy_signing",
            "--from",
            &tomorrow,
            "--out",
            request.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let current = zizhi_server::key_ring::trust_list_path(&data);
    let sign = |retire: &str| {
        zizhi(
            &data,
            &[
                "trust",
                "sign",
                "--root",
                root.to_str().unwrap(),
                "--current",
                current.to_str().unwrap(),
                "--add",
                request.to_str().unwrap(),
                "--retire",
                retire,
                "--valid-until",
                &until,
                "--out",
                next.to_str().unwrap(),
            ],
        )
    };
    // Closing SH01 today, before SH02 starts tomorrow, would leave tomorrow's copies unsigned.
    let (ok, out) = sign(&format!("SH01={today}"));
    assert!(!ok, "a gap was signed: {out}");
    let (ok, out) = sign(&format!("SH01={tomorrow}"));
    assert!(ok, "{out}");
    let (ok, out) = zizhi(&data, &["trust", "install", next.to_str().unwrap()]);
    assert!(ok, "{out}");
    let (ok, shown) = zizhi(&data, &["keys", "show"]);
    assert!(ok && shown.contains("SH02"), "{shown}");
    // Installing the same list again: not newer, refused.
    let (ok, out) = zizhi(&data, &["trust", "install", next.to_str().unwrap()]);
    assert!(!ok, "{out}");
}
