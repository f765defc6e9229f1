//! How big the printed QR code gets. The design bound is version 13 at level M for a typical
//! usage copy (20-character name and purpose); smaller versions scan better from phones, so the
//! measured versions are pinned too and a change must be deliberate.
//! Run with `--nocapture` to read the numbers.
#![cfg(feature = "render")]

mod common;

use common::*;
use zizhi_shared::render::{qr_code, qr_version};
use zizhi_shared::{Claims, QrText};

fn measure(label: &str, claims: &Claims) -> (i16, usize) {
    let payload = claims.sign(&new_key());
    let text = QrText::encode(HOST, &payload);
    let version = qr_version(&text).unwrap();
    let modules = qr_code(&text).unwrap().width();
    println!(
        "{label}: claims {} B, payload {} B, text {} chars, QR version {version}-M ({modules}×{modules} modules)",
        claims.to_cbor().len(),
        payload.as_bytes().len(),
        text.len(),
    );
    (version, text.len())
}

#[test]
fn typical_usage_copy_fits_version_13_at_level_m() {
    let (version, len) = measure(
        "usage copy (20-char name, 20-char purpose)",
        &Claims::example_usage(),
    );
    assert!(version <= 13, "version {version}, {len} chars");
    assert_eq!(version, 12, "measured size changed: {len} chars");
}

#[test]
fn approval_copy_is_smaller_still() {
    let (version, _) = measure("approval copy (20-char name)", &Claims::example_approval());
    assert_eq!(version, 11);
}

#[test]
fn longest_allowed_texts_still_make_a_code() {
    let mut claims = Claims::example_usage();
    claims.enterprise_name = "建".repeat(zizhi_shared::claims::MAX_NAME_CHARS);
    claims.usage.as_mut().unwrap().purpose = "标".repeat(zizhi_shared::MAX_PURPOSE_CHARS);
    claims.copy_id = u64::MAX;
    claims.validate().unwrap();
    let (version, _) = measure("worst case (60-char name, 30-char purpose)", &claims);
    assert!(version <= 20, "version {version}");
}

/// Names of 生僻字 from the supplementary planes take 4 bytes a character in UTF-8 and in
/// UTF-16 (a surrogate pair) against 2 for a BMP hanzi in UTF-16, so they cost more than the
/// same number of common characters; these pin what they reach.
#[test]
fn supplementary_plane_names_stay_within_the_design_bound() {
    let mut claims = Claims::example_usage();
    // 20 characters, 4 of them outside the BMP, as the vector valid_usage_supplementary.
    claims.enterprise_name =
        "上海喆堃\u{20000}\u{2C317}建设\u{2B5AF}\u{30EDE}发展工程集团有限公司".to_owned();
    assert_eq!(claims.enterprise_name.chars().count(), 20);
    claims.validate().unwrap();
    let (version, _) = measure("usage copy, 20-char name with 4 supplementary", &claims);
    assert_eq!(version, 12);

    // Every character of a 20-character name and a 20-character purpose supplementary: twice
    // the bytes of BMP hanzi, so past the typical bound (13), as the longest names are; no
    // real name is all 生僻字, and the printed code grows to stay scannable (0.55 mm modules).
    let rare: String = (0..20)
        .map(|i| char::from_u32(0x20000 + i * 7).unwrap())
        .collect();
    claims.enterprise_name = rare.clone();
    claims.usage.as_mut().unwrap().purpose = rare;
    claims.validate().unwrap();
    let (version, len) = measure("usage copy, 20 + 20 supplementary characters", &claims);
    assert_eq!(version, 15, "measured size changed: {len} chars");

    // The worst case the register allows: 60 + 30 supplementary characters.
    let name: String = (0..60)
        .map(|i| char::from_u32(0x20000 + i * 7).unwrap())
        .collect();
    let purpose: String = (0..30)
        .map(|i| char::from_u32(0x2A700 + i * 3).unwrap())
        .collect();
    claims.enterprise_name = name;
    claims.usage.as_mut().unwrap().purpose = purpose;
    claims.copy_id = u64::MAX;
    claims.validate().unwrap();
    let (version, _) = measure("worst case, 60 + 30 supplementary characters", &claims);
    assert!(version <= 20, "version {version}");
}

/// The QR versions the supplementary-plane test vectors state in their descriptions.
#[test]
fn supplementary_plane_vectors_reach_the_versions_they_state() {
    for (file, version) in [
        ("valid_usage_supplementary.json", 12),
        ("valid_approval_all_supplementary.json", 11),
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/vectors")
            .join(file);
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let text = v["qr_text"].as_str().unwrap();
        assert_eq!(qr_version(text).unwrap(), version, "{file}");
        assert!(
            v["description"]
                .as_str()
                .unwrap()
                .contains(&format!("QR version {version}-M")),
            "{file}"
        );
    }
}
