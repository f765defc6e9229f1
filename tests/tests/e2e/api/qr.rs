//! The printed QR codes read back, byte for byte, with an independent decoder (zbar).

use zizhi_tests::{Backend, TestApp, TestEnv};

#[tokio::test]
async fn every_demo_qr_png_decodes_with_zbar_to_the_text_the_register_holds() {
    let env = TestEnv::new(Backend::Sqlite).await;
    env.prepare_demo_keys();
    let app = TestApp::start(env.settings()).await;
    let out = env.dir.path().join("demo");
    let summary = app.seed_demo(&out).await;
    for case in &summary.cases {
        let png = out.join(format!("{}.png", case.case));
        let decoded = std::process::Command::new("zbarimg")
            .args(["-q", "--raw"])
            .arg(&png)
            .output()
            .unwrap_or_else(|e| panic!("zbarimg (apt zbar-tools) is required for this test: {e}"));
        assert!(
            decoded.status.success(),
            "zbar could not read {}",
            png.display()
        );
        let text = String::from_utf8(decoded.stdout).unwrap();
        assert_eq!(text.trim_end(), case.qr_text, "{}", case.case);
        // The stored text is what verification accepts.
        let (s, _) = app.verify(text.trim_end()).await;
        assert_eq!(s, 200);
    }
    // Every copy in the register has both images.
    let files: Vec<_> = std::fs::read_dir(out.join("qr"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let pngs = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .count();
    let svgs = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        .count();
    assert_eq!(pngs, summary.copies);
    assert_eq!(svgs, summary.copies);
    app.stop().await;
    env.finish().await;
}
