//! Codes that are not ours, in whatever character set their bytes are: the app says
//! "不是资质证书二维码" and carries on. The app's wasm decodes byte-mode text with the
//! browser's `TextDecoder` (`mobile/encoding`, in encoding_rs's place), and a decoder panic
//! would abort the whole app (`panic = "abort"`), so each character set rxing picks a decoder
//! for is shown to it, between photos without any code, and a genuine certificate after them
//! must still be verified.

use image::{GrayImage, Luma};
use qrcode::bits::Bits;
use qrcode::{Color, EcLevel, QrCode, Version};
use serde_json::json;

use super::{demo_app, drive, photo_of, video_without_code};

const FOREIGN: &str = "不是资质证书二维码";
const NO_CODE: &str = "未识别到二维码";

/// `bytes` as one byte-mode segment (no ECI: rxing guesses the character set, as for most
/// codes in the wild), level M, drawn 8 px a module with the quiet zone.
fn byte_mode_code(bytes: &[u8], path: &std::path::Path) {
    let code = (1..=40)
        .find_map(|v| {
            let mut bits = Bits::new(Version::Normal(v));
            bits.push_byte_data(bytes).ok()?;
            bits.push_terminator(EcLevel::M).ok()?;
            QrCode::with_bits(bits, EcLevel::M).ok()
        })
        .expect("fits a QR code");
    let (w, px, quiet) = (code.width() as u32, 8, 4);
    let side = (w + 2 * quiet) * px;
    let colors = code.to_colors();
    let img = GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = ((x / px).wrapping_sub(quiet), (y / px).wrapping_sub(quiet));
        let dark = mx < w && my < w && colors[(my * w + mx) as usize] == Color::Dark;
        Luma([if dark { 0 } else { 255 }])
    });
    img.save(path).expect("write the code");
}

#[tokio::test]
async fn foreign_codes_in_any_character_set_are_named_foreign_and_the_app_carries_on() {
    let (env, app, summary) = demo_app().await;
    let dir = env.dir.path().join("foreign");
    std::fs::create_dir_all(&dir).expect("foreign dir");
    let blank = dir.join("blank.png");
    GrayImage::from_pixel(400, 300, Luma([235]))
        .save(&blank)
        .expect("blank photo");
    let texts = [
        (
            "utf8",
            encoding_rs::UTF_8,
            "建筑工程施工总承包 一级 https://example.cn/证书/1",
        ),
        (
            "gbk",
            encoding_rs::GBK,
            "上海市建设工程安全质量监督总站 资质证书查询",
        ),
        (
            "shift_jis",
            encoding_rs::SHIFT_JIS,
            "建設業許可証明書 東京都知事許可",
        ),
        ("big5", encoding_rs::BIG5, "營造業登記證書 臺北市政府"),
        ("euc_kr", encoding_rs::EUC_KR, "건설업 등록증 서울특별시"),
    ];
    let mut steps = vec![
        json!({ "op": "launch", "b": "phone",
                "video": video_without_code(&env, &summary, "current_usage") }),
        json!({ "op": "open", "b": "phone", "name": "open" }),
    ];
    for (name, encoding, text) in texts {
        let (bytes, _, unmappable) = encoding.encode(text);
        assert!(!unmappable, "{name}: {text}");
        let path = dir.join(format!("{name}.png"));
        byte_mode_code(&bytes, &path);
        // The native pipeline reads it, and not as ours: the code itself is sound.
        let found = zizhi_scan::decode(&image::open(&path).expect("the code"));
        assert!(
            found.ours.is_none() && !found.others.is_empty(),
            "{name}: {found:?}"
        );
        steps.push(json!({ "op": "photo", "b": "phone", "file": blank,
                           "name": format!("blank-{name}"), "status": NO_CODE }));
        steps.push(json!({ "op": "photo", "b": "phone", "file": path,
                           "name": name, "status": FOREIGN }));
    }
    steps.push(json!({ "op": "photo", "b": "phone",
                       "file": photo_of(&env, &summary, "current_usage") }));
    steps.push(json!({ "op": "result", "b": "phone", "name": "genuine", "source": "live" }));
    steps.push(json!({ "op": "close", "b": "phone" }));
    let mut app = Some(app);
    let seen = drive(&mut app, steps).await;

    for (name, _, _) in texts {
        let blank = seen.named(&format!("blank-{name}"));
        assert_eq!(blank["status_seen"], true, "{blank}");
        let r = seen.named(name);
        assert_eq!(r["status_seen"], true, "{name}: not named foreign: {r}");
        assert_eq!(r["result_shown"], false, "{name}: {r}");
    }
    let genuine = seen.named("genuine");
    assert_eq!(
        genuine["found"], true,
        "the app stopped verifying: {genuine}"
    );
    assert_eq!(genuine["level"], "valid", "{genuine}");
    seen.assert_no_page_errors();
}
