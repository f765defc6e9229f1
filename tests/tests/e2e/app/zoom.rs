//! A code too small to read: the app must say "请靠近一些" and enlarge the code itself — the
//! camera's `zoom` where the camera has one, else a 3840×2160 stream and a crop of it read at
//! full resolution — and then read it.
//!
//! The footage is a phone's 4K sensor ([`footage::sensor_video`]); Chromium's fake camera
//! gives the page the 1280×720 the app asks for, and the whole 4K when asked for more. The
//! code on the print is a worn one ([`dotted_code`]): at the 2.4 px a module of the 720p
//! frame the app's scanner locates it by its solid finder patterns but cannot read its faded
//! dots (checked before a browser sees it), at full resolution it reads. A clean print does
//! not serve: the scanner finds finder patterns only from about 1.4 px a module at 720p,
//! where its aligned-average restoring already reads the code on the same frame.
//!
//! Two phones film it: one whose camera zooms (`app_browser.js` gives the fake camera a zoom
//! cropped from the 4K sensor, as a phone's digital zoom is) and one without, which must
//! fall back to the crop. Each records what the app asked of the camera and showed
//! (`data-zoom` on the scan status); the time from the scan screen being up to the verdict
//! is printed for mobile/README.md.

use image::imageops::FilterType;
use image::{GrayImage, Luma};
use qrcode::{Color, EcLevel, QrCode};
use serde_json::{Value, json};
use zizhi_scan::live::LiveScanner;

use super::footage::{self, SENSOR};
use super::{case, demo_app, drive, print_of};

/// The page's scale in the sensor footage: 4.5 px a module on the print, 7.2 at 4K, 2.4 in
/// the 720p frame (under the 2.6 at which the app calls a code too small, and enough for its
/// scanner to find the finder patterns among faded dots: at 2 it does not).
const SCALE: f64 = 1.6;

/// The frame the app asks for.
const PAGE_FRAME: (u32, u32) = (1280, 720);

/// `text` as a code whose dark modules are dots 0.3 of a module across, its finder patterns
/// solid (a worn or economy print): in few pixels a module the dots fade to a grey no decoder
/// reads while the finders keep their contrast, so the code is located but not read; in more
/// pixels a module the dots come back. 20 px a module with the quiet zone.
fn dotted_code(text: &str, path: &std::path::Path) {
    let code = QrCode::with_error_correction_level(text, EcLevel::M).expect("fits a QR code");
    let (w, px, quiet) = (code.width() as u32, 20, 4);
    let side = (w + 2 * quiet) * px;
    let colors = code.to_colors();
    let finder = |mx: u32, my: u32| {
        (mx < 7 || mx >= w - 7) && (my < 7 || my >= w - 7) && !(mx >= w - 7 && my >= w - 7)
    };
    let img = GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = ((x / px).wrapping_sub(quiet), (y / px).wrapping_sub(quiet));
        let dark = mx < w && my < w && colors[(my * w + mx) as usize] == Color::Dark;
        // The dot: the middle 6 px of the module's 20.
        let (ix, iy) = (x % px, y % px);
        let in_dot = (7..13).contains(&ix) && (7..13).contains(&iy);
        Luma([if dark && (in_dot || finder(mx, my)) {
            0
        } else {
            255
        }])
    });
    img.save(path).expect("write the code");
}

#[tokio::test]
async fn a_code_too_small_to_read_makes_the_app_zoom_or_crop_and_say_come_closer() {
    let (env, app, summary) = demo_app().await;
    let name = "current_usage";
    let expected = case(&summary, name).qr_text.clone();
    let print = print_of(&env, &summary, name);
    let dots = print.with_file_name(format!("{name}-dots.png"));
    dotted_code(&expected, &dots);
    let page = print.with_file_name(format!("{name}-dotted.png"));
    footage::paste_code(&print, &dots, &page);
    let video = page.with_file_name(format!("{name}-sensor.y4m"));
    footage::sensor_video(&page, SCALE, &video);
    check_footage(&video, &expected);

    let mut steps = Vec::new();
    for (label, zoom) in [("zoom", json!(4)), ("crop", Value::Null)] {
        steps.extend([
            json!({ "op": "launch", "b": label, "video": video, "watch": true, "zoom": zoom }),
            json!({ "op": "open", "b": label, "name": format!("open-{label}") }),
            json!({ "op": "result", "b": label, "name": label, "source": "live",
                    "shot": format!("app-result-far-{label}") }),
            json!({ "op": "camera_log", "b": label, "name": format!("camera-{label}") }),
            json!({ "op": "close", "b": label }),
        ]);
    }
    let mut app = Some(app);
    let seen = drive(&mut app, steps).await;
    for label in ["zoom", "crop"] {
        let opened = seen.named(&format!("open-{label}"));
        assert_eq!(opened["mounted"], true, "{label}: {opened}");
        let r = seen.named(label);
        let log = &seen.named(&format!("camera-{label}"))["log"];
        eprintln!("time to first decode (far, {label}): {} ms", r["ms"]);
        eprintln!("camera ({label}): {log}");
        assert_eq!(
            r["found"], true,
            "{label}: no result from the camera: {r}\n{log}"
        );
        assert_eq!(r["title"], "真实有效", "{label}: {r}");

        let said_closer = log["statuses"].as_array().into_iter().flatten().any(|s| {
            s["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("请靠近一些"))
        });
        assert!(said_closer, "{label}: never asked to come closer: {log}");
        let marks = log["zooms"].as_array().cloned().unwrap_or_default();
        let asked = log["constraints"].as_array().cloned().unwrap_or_default();
        let zoomed = |c: &Value| c["constraints"]["advanced"][0]["zoom"].as_f64();
        let bigger = |c: &Value| c["constraints"]["width"]["ideal"] == json!(SENSOR.0);
        if label == "crop" {
            // Chromium's fake camera itself, not a stand-in: 720p of the 4K file, then 4K.
            let stream = &log["streams"][0];
            assert_eq!(
                [&stream["width"], &stream["height"]],
                [&json!(PAGE_FRAME.0), &json!(PAGE_FRAME.1)],
                "crop: {log}"
            );
            assert!(!asked.iter().any(|c| zoomed(c).is_some()), "crop: {log}");
            assert!(
                asked.iter().any(bigger),
                "crop: no larger stream asked for: {log}"
            );
            let sizes = log["video_sizes"].as_array().cloned().unwrap_or_default();
            assert!(
                sizes
                    .iter()
                    .any(|s| s["size"] == json!([SENSOR.0, SENSOR.1])),
                "crop: the larger stream never came: {log}"
            );
            assert!(
                marks.iter().any(|m| m["zoom"] == "crop"),
                "crop: no data-zoom=crop: {log}"
            );
        } else {
            assert!(
                asked.iter().filter_map(zoomed).any(|z| z > 1.0),
                "zoom: the camera's zoom was not used: {log}"
            );
            assert!(
                !asked.iter().any(bigger),
                "zoom: the fallback, not the zoom: {log}"
            );
            assert!(
                marks
                    .iter()
                    .filter_map(|m| m["zoom"].as_str()?.parse::<f64>().ok())
                    .any(|z| z > 1.0),
                "zoom: no data-zoom with the factor: {log}"
            );
        }
    }
    seen.assert_no_page_errors();
    if let Some(app) = app {
        app.stop().await;
    }
    env.finish().await;
}

/// The footage is what the test says: frame 0 at the page's 720p holds a code the app's live
/// scanner locates, too small, and does not read; the region around the code at full
/// resolution reads with zbar and the app's pipeline.
fn check_footage(video: &std::path::Path, expected: &str) {
    let png = video.with_extension("frame0.png");
    footage::frame(video, 0, &png);
    let full = image::open(&png).expect("frame 0");
    assert_eq!((full.width(), full.height()), SENSOR);
    // The code's centre is 60 px right of and 40 px below the frame's (sensor_video); 900 px
    // leaves room for the turn.
    let (cx, cy) = (SENSOR.0 / 2 + 60, SENSOR.1 / 2 + 40);
    let crop = full.crop_imm(cx - 450, cy - 450, 900, 900);
    let crop_png = video.with_extension("frame0-code.png");
    crop.save(&crop_png).expect("crop");
    footage::assert_readable(&crop_png, expected);

    let small = full.resize_exact(PAGE_FRAME.0, PAGE_FRAME.1, FilterType::Triangle);
    let small_png = video.with_extension("frame0-720p.png");
    small.save(&small_png).expect("720p frame");
    let rgba = small.to_rgba8();
    let scan = LiveScanner::new().scan_rgba(PAGE_FRAME.0, PAGE_FRAME.1, rgba.as_raw());
    assert_eq!(scan.result.ours, None, "{}", small_png.display());
    let at = scan
        .located
        .unwrap_or_else(|| panic!("no code located at 720p: {}", small_png.display()));
    assert!(at.too_small(), "{at:?}: {}", small_png.display());
    eprintln!(
        "frame 0 at 720p: located, {:.2} px a module, not read",
        at.module
    );
}
