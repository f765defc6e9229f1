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
