//! The `zizhi-scan` command line: output format and exit codes.

use std::path::PathBuf;
use std::process::Command;

use zizhi_shared::{Claims, IssuerKey, KeyId, QrText};

fn dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("zizhi-scan-cli");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn our_text() -> String {
    let key = IssuerKey::from_seed(KeyId::new(*b"SH01"), [7; 32]);
    QrText::encode("ZZ.EXAMPLE.CN", &Claims::example_approval().sign(&key))
}

/// A file with our code and a blank file, named after the test (tests run in parallel);
/// paths as strings.
fn files(test: &str) -> (String, String) {
    let dir = dir();
    let code = dir.join(format!("{test}-code.png"));
    std::fs::write(&code, zizhi_shared::render::png(&our_text(), 4).unwrap()).unwrap();
    let blank = dir.join(format!("{test}-blank.png"));
    image::GrayImage::from_pixel(200, 200, image::Luma([255]))
        .save(&blank)
        .unwrap();
    (
        code.to_string_lossy().into_owned(),
        blank.to_string_lossy().into_owned(),
    )
}

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zizhi-scan"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn every_file_decoded_prints_ok_lines_and_exits_0() {
    let (code, _) = files("ok");
    let (status, stdout) = run(&[&code, &code]);
    let line = format!("{code}\tOK\t{}\n", our_text());
    assert_eq!(stdout, line.repeat(2));
    assert_eq!(status, 0);
}

#[test]
fn a_file_without_a_code_prints_none_and_exits_1() {
    let (code, blank) = files("none");
    let (status, stdout) = run(&[&blank, &code]);
    assert_eq!(
        stdout,
        format!("{blank}\tNONE\n{code}\tOK\t{}\n", our_text())
    );
    assert_eq!(status, 1);
}

#[test]
fn an_unreadable_file_prints_none_and_exits_1() {
    let missing = dir().join("missing.jpg").to_string_lossy().into_owned();
    let (status, stdout) = run(&[&missing]);
    assert_eq!(stdout, format!("{missing}\tNONE\n"));
    assert_eq!(status, 1);
}

#[test]
fn no_files_is_a_usage_error() {
    assert_eq!(run(&[]).0, 2);
    assert_eq!(run(&["--bogus", "x.png"]).0, 2);
}

#[test]
fn timings_go_to_stderr_and_leave_stdout_alone() {
    let (code, _) = files("timings");
    let out = Command::new(env!("CARGO_BIN_EXE_zizhi-scan"))
        .args(["--timings", &code])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{code}\tOK\t{}\n", our_text())
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    let fields: Vec<&str> = stderr.trim_end().split('\t').collect();
    assert_eq!(fields.len(), 3, "{stderr}");
    assert_eq!(fields[0], code);
    assert!(fields[1].parse::<f64>().is_ok() && fields[2].parse::<usize>().is_ok());
}
