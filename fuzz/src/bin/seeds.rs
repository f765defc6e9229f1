//! Writes the seed corpora, real inputs made with the project's own code:
//! `cargo run --release --features seeds --bin seeds` in `fuzz/` (then `cargo fuzz cmin`).
//!
//! Each seed is what the component meets in service: QR texts of signed usage and approval
//! copies, verify request bodies, the platform's chat XML plain and in safe mode, the signed
//! trust list and status snapshots (full and delta), and a rendered QR code as PNG, JPEG and
//! raw camera luma.

use std::fs;
use std::path::Path;

use chrono::Duration;
use zizhi_fuzz::chat_crypto::SafeMode;
use zizhi_fuzz::chat_message::envelope_xml;
use zizhi_fuzz::{APP_ID, ENCODING_AES_KEY, issuer, now, root, snapshot_signer, trust_list};
use zizhi_shared::snapshot::{StatusSnapshot, VersionEntry};
use zizhi_shared::verdict::CertificateState;
use zizhi_shared::{Claims, IssuerKey, KeyId, QrText, TrustList, TrustedKey};

fn write(target: &str, name: &str, bytes: impl AsRef<[u8]>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    fs::create_dir_all(&dir).expect("corpus directory");
    fs::write(dir.join(format!("seed-{name}")), bytes).expect("seed written");
}

fn main() {
    let usage = Claims::example_usage();
    let approval = Claims::example_approval();
    let usage_text = QrText::encode("zz.example.cn", &usage.sign(issuer()));
    let approval_text = QrText::encode("http://127.0.0.1:8080/", &approval.sign(issuer()));
    let forger = IssuerKey::from_seed(KeyId::new(*b"FZ01"), [6; 32]);
    let forged_text = QrText::encode("zz.example.cn", &usage.sign(&forger));
    zizhi_shared::verify_text(&usage_text, trust_list(), now()).expect("the seed verifies");

    // QR text and payload.
    write("qr_text", "usage", &usage_text);
    write("qr_text", "approval", &approval_text);
    write("qr_text", "forged", &forged_text);
    write(
        "qr_text",
        "bare-lower",
        usage_text
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase(),
    );
    write("qr_text", "payload", usage.sign(issuer()).as_bytes());
    write("qr_text", "claims-usage", usage.to_cbor());
    write("qr_text", "claims-approval", approval.to_cbor());

    // Verify request bodies: first byte 0 raw text, 2 JSON.
    write(
        "verify_request",
        "text",
        [&[0u8][..], usage_text.as_bytes()].concat(),
    );
    let json = serde_json::json!({ "text": approval_text }).to_string();
    write(
        "verify_request",
        "json",
        [&[2u8][..], json.as_bytes()].concat(),
    );

    // Chat: the platform's messages as it sends them, plain and in safe mode.
    let text_msg = format!(
        "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>\
         <FromUserName><![CDATA[o6_bmjrPTlm6_2sgVt7hMZOPfL2M]]></FromUserName>\
         <CreateTime>1764489600</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[{usage_text}]]></Content><MsgId>24602712345678901</MsgId></xml>"
    );
    let scan_event = format!(
        "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>\
         <FromUserName><![CDATA[o6_bmjrPTlm6_2sgVt7hMZOPfL2M]]></FromUserName>\
         <CreateTime>1764489600</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[scancode_waitmsg]]></Event><EventKey><![CDATA[ZIZHI_SCAN]]></EventKey>\
         <ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>\
         <ScanResult><![CDATA[{approval_text}]]></ScanResult></ScanCodeInfo></xml>"
    );
    let click = "<xml><ToUserName>gh_0123456789ab</ToUserName><FromUserName>oU1</FromUserName>\
                 <CreateTime>1764489600</CreateTime><MsgType>event</MsgType>\
                 <Event>CLICK</Event><EventKey>ZIZHI_HELP</EventKey></xml>";
    let image = "<xml><ToUserName>gh_1</ToUserName><FromUserName>oU1</FromUserName>\
                 <CreateTime>1764489600</CreateTime><MsgType>image</MsgType>\
                 <PicUrl>http://mmbiz.qpic.cn/x</PicUrl><MediaId>m</MediaId>\
                 <MsgId>1</MsgId></xml>";
    let safe = SafeMode::new(ENCODING_AES_KEY, APP_ID).expect("a valid key");
    for (name, xml) in [
        ("text", text_msg.as_str()),
        ("scan", scan_event.as_str()),
        ("click", click),
        ("image", image),
    ] {
        write("chat_xml", name, xml);
        let encrypt = safe.encrypt(xml);
        write("chat_xml", &format!("{name}-encrypt"), &encrypt);
        let envelope = envelope_xml(&encrypt, "0123456789abcdef", "1764489600", "1320562132");
        write("chat_xml", &format!("{name}-envelope"), envelope);
    }

    // Trust lists: the targets' own, and one with a retired key.
    let list = trust_list();
    write("trust_list", "signed", list.sign(root()).as_bytes());
    write("trust_list", "cbor", list.to_cbor());
    let old = IssuerKey::from_seed(KeyId::new(*b"SH01"), [1; 32]);
    let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day).expect("a date");
    let rotated = TrustList::new(
        vec![
            TrustedKey::for_key(
                &old,
                "上海市住房和城乡建设管理委员会",
                d(2024, 1, 1),
                Some(d(2025, 12, 31)),
            ),
            list.keys[0].clone(),
        ],
        now(),
    );
    write(
        "trust_list",
        "rotated-signed",
        rotated.sign(root()).as_bytes(),
    );
    write("trust_list", "rotated-cbor", rotated.to_cbor());

    // Status snapshots: a full one and a delta after it.
    let entry = |number: &str, version, state, at| VersionEntry {
        certificate_number: number.parse().expect("a certificate number"),
        version,
        state,
        at,
    };
    let t = now();
    let full = StatusSnapshot::new(
        t,
        0,
        40,
        vec![3, 17, 1_048_577],
        vec![
            entry(
                "D231000037",
                1,
                CertificateState::Superseded,
                t - Duration::days(30),
            ),
            entry(
                "D231000037",
                2,
                CertificateState::Revoked,
                t - Duration::days(3),
            ),
            entry(
                "A131000002",
                1,
                CertificateState::Expired,
                t - Duration::days(1),
            ),
        ],
    );
    let delta = StatusSnapshot::new(
        t + Duration::hours(1),
        40,
        42,
        vec![1_048_578],
        vec![entry(
            "D231000037",
            2,
            CertificateState::Current,
            t + Duration::hours(1),
        )],
    );
    for (name, s) in [("full", &full), ("delta", &delta)] {
        write(
            "status_snapshot",
            &format!("{name}-signed"),
            s.sign(snapshot_signer()).as_bytes(),
        );
        write("status_snapshot", &format!("{name}-cbor"), s.to_cbor());
    }

    // The image path: the approval copy's code (the smaller one) at 2 px a module.
    let png = zizhi_shared::render::png(&approval_text, 2).expect("a QR code");
    let img = image::load_from_memory(&png).expect("our PNG").to_luma8();
    assert_eq!(
        zizhi_scan::decode(&image::DynamicImage::ImageLuma8(img.clone()))
            .ours
            .as_deref(),
        Some(approval_text.as_str()),
        "the seed image reads"
    );
    write("scan_image", "png", [&[0u8][..], &png].concat());
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
        .encode_image(&img)
        .expect("JPEG");
    write("scan_image", "jpeg", [&[0u8][..], &jpeg].concat());
    let (w, h) = img.dimensions();
    assert!(
        w <= 256 && h <= 320,
        "{w}×{h} fits the raw frame's size limits"
    );
    write(
        "scan_image",
        "luma",
        [&[1u8, (w - 1) as u8][..], img.as_raw()].concat(),
    );
}
