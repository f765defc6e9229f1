//! Sign → encode → extract → verify, and one crafted input for every way verification fails.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::*;
use coset::{CborSerializable, CoseSign1Builder, HeaderBuilder, iana};
use zizhi_shared::{
    Claims, CopyKind, IssuerKey, KeyId, PayloadError, QrText, SignedPayload, TrustList,
    verify_bytes, verify_text,
};

fn verdict(bytes: &[u8]) -> Result<Claims, &'static str> {
    verify_bytes(bytes, &opened_trust_list(), now())
        .map(|v| v.claims)
        .map_err(|e| e.code())
}

fn usage_bytes() -> Vec<u8> {
    Claims::example_usage().sign(&new_key()).into_bytes()
}

#[test]
fn usage_copy_roundtrips_through_the_qr_text() {
    let claims = Claims::example_usage();
    let text = QrText::encode(HOST, &claims.sign(&new_key()));
    assert!(text.starts_with("HTTPS://ZIZHI.JSGL.SH.GOV.CN/V/"));
    let v = verify_text(&text, &opened_trust_list(), now()).unwrap();
    assert_eq!(v.claims, claims);
    assert_eq!(v.kid, KeyId::new(*b"SH02"));
    assert_eq!(v.issuer, ISSUER);
}

#[test]
fn approval_copy_roundtrips_through_the_qr_text() {
    let claims = Claims::example_approval();
    assert_eq!(claims.kind, CopyKind::Approval);
    let text = QrText::encode(HOST, &claims.sign(&new_key()));
    let v = verify_text(&text, &opened_trust_list(), now()).unwrap();
    assert_eq!(v.claims, claims);
    assert_eq!(v.claims.usage, None);
}

#[test]
fn lower_case_and_bare_base32_texts_verify_the_same() {
    let payload = Claims::example_usage().sign(&new_key());
    let text = QrText::encode(HOST, &payload);
    let trust = opened_trust_list();
    let expected = verify_text(&text, &trust, now()).unwrap();
    for variant in [
        text.to_lowercase(),
        format!("  {text}/ \n"),
        QrText::base32(&payload),
        text.replacen("HTTPS", "http", 1),
    ] {
        assert_eq!(verify_text(&variant, &trust, now()).unwrap(), expected);
    }
}

#[test]
fn signing_truncates_the_issue_time_to_the_minute() {
    let mut claims = Claims::example_usage();
    claims.issued_at =
        Utc.with_ymd_and_hms(2026, 1, 10, 1, 30, 45).unwrap() + Duration::milliseconds(123);
    let v = verify_bytes(
        claims.sign(&new_key()).as_bytes(),
        &opened_trust_list(),
        now(),
    )
    .unwrap();
    assert_eq!(
        v.claims.issued_at,
        Utc.with_ymd_and_hms(2026, 1, 10, 1, 30, 0).unwrap()
    );
}

#[test]
fn kid_is_readable_without_verifying() {
    let payload = Claims::example_usage().sign(&old_key());
    assert_eq!(payload.kid().unwrap(), KeyId::new(*b"SH01"));
    assert_eq!(
        SignedPayload::from_bytes(vec![2, 0x84]).kid(),
        Err(PayloadError::UnknownFormatVersion(2))
    );
}

#[test]
fn text_of_another_site_or_kind_is_wrong_prefix() {
    let text = QrText::encode(HOST, &Claims::example_usage().sign(&new_key()));
    let other = text.replacen("/V/", "/X/", 1);
    let err = verify_text(&other, &opened_trust_list(), now()).unwrap_err();
    assert_eq!(err.code(), "wrong_prefix");
    assert_eq!(
        err.to_string(),
        "二维码内容不是本系统的证书验证码（前缀错误）"
    );
}

#[test]
fn text_with_a_character_outside_base32_is_bad_base32() {
    let mut text = QrText::encode(HOST, &Claims::example_usage().sign(&new_key()));
    text.pop();
    text.push('1');
    let err = verify_text(&text, &opened_trust_list(), now()).unwrap_err();
    assert_eq!(err.code(), "bad_base32");
}

#[test]
fn overlong_bytes_and_text_are_too_long() {
    assert_eq!(verdict(&vec![1; 1025]), Err("too_long"));
    let text = format!("HTTPS://{HOST}/V/{}", "A".repeat(2100));
    assert_eq!(
        verify_text(&text, &opened_trust_list(), now()).unwrap_err(),
        PayloadError::TooLong
    );
}

#[test]
fn cut_off_payloads_are_truncated() {
    let bytes = usage_bytes();
    assert_eq!(verdict(&[]), Err("truncated"));
    assert_eq!(verdict(&bytes[..1]), Err("truncated"));
    for cut in [2, bytes.len() / 2, bytes.len() - 1] {
        assert_eq!(verdict(&bytes[..cut]), Err("truncated"), "cut at {cut}");
    }
}

#[test]
fn bytes_after_the_cose_array_are_trailing_bytes() {
    let mut bytes = usage_bytes();
    bytes.push(0);
    assert_eq!(verdict(&bytes), Err("trailing_bytes"));
}

#[test]
fn another_format_version_byte_is_unknown_format_version() {
    let mut bytes = usage_bytes();
    bytes[0] = 2;
    assert_eq!(
        verify_bytes(&bytes, &opened_trust_list(), now()),
        Err(PayloadError::UnknownFormatVersion(2))
    );
}

/// Version byte plus a COSE_Sign1 built by hand with coset, signed by the current key.
fn hand_built(alg: iana::Algorithm, tagged: bool, unprotected_kid: bool) -> Vec<u8> {
    let key = new_key();
    let mut unprotected = HeaderBuilder::new();
    if unprotected_kid {
        unprotected = unprotected.key_id(b"SH02".to_vec());
    }
    let sign1 = CoseSign1Builder::new()
        .protected(
            HeaderBuilder::new()
                .algorithm(alg)
                .key_id(b"SH02".to_vec())
                .build(),
        )
        .unprotected(unprotected.build())
        .payload(Claims::example_usage().to_cbor())
        .create_signature(b"", |tbs| {
            use ed25519_dalek::{Signer, SigningKey};
            SigningKey::from_bytes(&key.seed())
                .sign(tbs)
                .to_bytes()
                .to_vec()
        })
        .build();
    let cose = if tagged {
        coset::TaggedCborSerializable::to_tagged_vec(sign1).unwrap()
    } else {
        sign1.to_vec().unwrap()
    };
    [&[1u8][..], &cose].concat()
}

#[test]
fn hand_built_envelope_equal_to_ours_verifies() {
    // Guards the malformed cases below: they differ from a valid envelope in one thing only.
    let bytes = hand_built(iana::Algorithm::Ed25519, false, false);
    assert_eq!(bytes, usage_bytes());
    assert!(verdict(&bytes).is_ok());
}

#[test]
fn the_deprecated_eddsa_label_still_verifies_and_is_what_sign_as_writes() {
    // RFC 9864: -19 is what we write; -8 is what copies printed before it say.
    let bytes = hand_built(iana::Algorithm::EdDSA, false, false);
    assert_eq!(
        bytes,
        Claims::example_usage()
            .sign_as(&new_key(), zizhi_shared::SignatureAlgorithm::EdDsa)
            .into_bytes()
    );
    assert!(verdict(&bytes).is_ok());
}

#[test]
fn structural_faults_are_malformed() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "wrong alg",
            hand_built(iana::Algorithm::ES256, false, false),
        ),
        ("tagged", hand_built(iana::Algorithm::Ed25519, true, false)),
        (
            "unprotected header",
            hand_built(iana::Algorithm::Ed25519, false, true),
        ),
        (
            "ECDSA label on an Ed25519 signature",
            hand_built(iana::Algorithm::ESP256, false, false),
        ),
        ("a CBOR map", vec![1, 0xa1, 0x01, 0x02]),
        ("a 3-item array", vec![1, 0x83, 0x40, 0xa0, 0x40]),
        ("a lone integer", vec![1, 0x00]),
        ("reserved CBOR byte", vec![1, 0xfc]),
        ("non-canonical array head", {
            let b = usage_bytes();
            [&[1u8, 0x98, 0x04][..], &b[2..]].concat()
        }),
    ];
    for (what, bytes) in cases {
        let err = verdict(&bytes).unwrap_err();
        assert_eq!(err, "malformed", "{what}");
    }
}

#[test]
fn key_id_missing_from_the_trust_list_is_unknown_key_id() {
    let stranger = IssuerKey::from_seed(KeyId::new(*b"SH09"), [0x09; 32]);
    let bytes = Claims::example_usage().sign(&stranger).into_bytes();
    let err = verify_bytes(&bytes, &opened_trust_list(), now()).unwrap_err();
    assert_eq!(err, PayloadError::UnknownKeyId("SH09".into()));
    assert!(err.to_string().contains("SH09"));
}

#[test]
fn copy_issued_outside_the_key_window_is_key_outside_validity() {
    // The retired key's window closed on 2025-12-31; the example was issued 2026-01-10.
    let bytes = Claims::example_usage().sign(&old_key()).into_bytes();
    assert_eq!(verdict(&bytes), Err("key_outside_validity"));

    // The current key's window opened on 2026-01-01.
    let mut early = Claims::example_usage();
    early.issued_at = Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 0).unwrap();
    assert_eq!(
        verdict(early.sign(&new_key()).as_bytes()),
        Err("key_outside_validity")
    );
    early.issued_at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    assert!(verdict(early.sign(&new_key()).as_bytes()).is_ok());
}

#[test]
fn flipped_signature_or_claims_byte_is_bad_signature() {
    let bytes = usage_bytes();
    let mut sig_flip = bytes.clone();
    *sig_flip.last_mut().unwrap() ^= 0x01;
    assert_eq!(verdict(&sig_flip), Err("bad_signature"));

    // Byte 60 lies inside the claims (the enterprise name), so the structure stays intact.
    let mut claim_flip = bytes;
    claim_flip[60] ^= 0x01;
    assert_eq!(verdict(&claim_flip), Err("bad_signature"));
}

#[test]
fn signature_by_another_key_under_the_same_kid_is_bad_signature() {
    let impostor = IssuerKey::from_seed(KeyId::new(*b"SH02"), [0x66; 32]);
    let bytes = Claims::example_usage().sign(&impostor).into_bytes();
    assert_eq!(verdict(&bytes), Err("bad_signature"));
}

#[test]
fn invalid_claims_signed_by_a_valid_key_are_invalid_claims() {
    let mut empty_purpose = Claims::example_usage();
    empty_purpose.usage.as_mut().unwrap().purpose = String::new();

    let mut approval_with_usage = Claims::example_usage();
    approval_with_usage.kind = CopyKind::Approval;

    let mut inverted = Claims::example_usage();
    let u = inverted.usage.as_mut().unwrap();
    u.to = u.from - Duration::days(1);

    let mut from_the_future = Claims::example_usage();
    from_the_future.issued_at = now() + Duration::days(1) + Duration::minutes(1);

    let mut before_1970 = Claims::example_usage();
    before_1970.usage.as_mut().unwrap().from = date("1969-12-31");

    for (what, claims) in [
        ("empty purpose", empty_purpose),
        ("approval with usage", approval_with_usage),
        ("inverted period", inverted),
        ("issued in the future", from_the_future),
        ("before 1970", before_1970),
    ] {
        let err = verify_bytes(
            claims.sign(&new_key()).as_bytes(),
            &opened_trust_list(),
            now(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid_claims", "{what}: {err}");
    }
}

#[test]
fn issue_time_up_to_a_day_ahead_of_the_clock_is_tolerated() {
    let mut claims = Claims::example_usage();
    claims.issued_at = now() + Duration::days(1);
    assert!(verdict(claims.sign(&new_key()).as_bytes()).is_ok());
}

#[test]
fn checks_run_in_the_documented_order() {
    // Unknown kid wins over a bad signature: the key is looked up first.
    let stranger = IssuerKey::from_seed(KeyId::new(*b"SH09"), [0x09; 32]);
    let mut bytes = Claims::example_usage().sign(&stranger).into_bytes();
    *bytes.last_mut().unwrap() ^= 1;
    assert_eq!(verdict(&bytes), Err("unknown_key_id"));

    // A bad signature wins over invalid claims: nothing unsigned is interpreted.
    let mut claims = Claims::example_usage();
    claims.enterprise_name = String::new();
    let mut bytes = claims.sign(&new_key()).into_bytes();
    *bytes.last_mut().unwrap() ^= 1;
    assert_eq!(verdict(&bytes), Err("bad_signature"));

    // Invalid claims win over the key window.
    let mut claims = Claims::example_usage();
    claims.enterprise_name = String::new();
    assert_eq!(
        verdict(claims.sign(&old_key()).as_bytes()),
        Err("invalid_claims")
    );
}

#[test]
fn copy_by_the_retired_key_verifies_while_that_key_is_listed() {
    let mut old_copy = Claims::example_usage();
    old_copy.issued_at = Utc.with_ymd_and_hms(2025, 6, 1, 2, 0, 0).unwrap();
    let old_bytes = old_copy.sign(&old_key()).into_bytes();
    let new_bytes = usage_bytes();

    let both = opened_trust_list();
    let v = verify_bytes(&old_bytes, &both, now()).unwrap();
    assert_eq!((v.kid, v.claims), (KeyId::new(*b"SH01"), old_copy));
    assert!(verify_bytes(&new_bytes, &both, now()).is_ok());

    let only_new = TrustList::new(vec![new_trusted()], now());
    assert_eq!(
        verify_bytes(&old_bytes, &only_new, now()),
        Err(PayloadError::UnknownKeyId("SH01".into()))
    );
    assert!(verify_bytes(&new_bytes, &only_new, now()).is_ok());
}

#[test]
fn trust_list_survives_sign_and_open_and_refuses_tampering() {
    let signed = signed_trust_list();
    assert_eq!(signed.root_kid().unwrap(), KeyId::new(*b"ROOT"));
    assert_eq!(opened_trust_list(), trust_list());

    // Swap the retired key's public key for an attacker's inside the signed bytes.
    let mut bytes = signed.as_bytes().to_vec();
    let old = old_key().public_key_bytes();
    let pos = bytes.windows(32).position(|w| w == old).unwrap();
    let attacker = IssuerKey::from_seed(KeyId::new(*b"SH01"), [0x66; 32]);
    bytes[pos..pos + 32].copy_from_slice(&attacker.public_key_bytes());
    let err = zizhi_shared::SignedTrustList::from_bytes(bytes)
        .open(&root().verifying_key())
        .unwrap_err();
    assert_eq!(err.code(), "trust_list_invalid");

    // A list signed by another root is refused too.
    let fake_root = IssuerKey::from_seed(KeyId::new(*b"ROOT"), [0x66; 32]);
    let err = trust_list()
        .sign(&fake_root)
        .open(&root().verifying_key())
        .unwrap_err();
    assert_eq!(err.code(), "trust_list_invalid");
}

#[test]
fn every_error_has_a_distinct_stable_code_and_a_chinese_message() {
    let all = [
        PayloadError::WrongPrefix,
        PayloadError::BadBase32,
        PayloadError::TooLong,
        PayloadError::Truncated,
        PayloadError::TrailingBytes,
        PayloadError::UnknownFormatVersion(9),
        PayloadError::Malformed("x".into()),
        PayloadError::UnknownKeyId("SH09".into()),
        PayloadError::KeyOutsideValidity,
        PayloadError::BadSignature,
        PayloadError::InvalidClaims("x".into()),
        PayloadError::TrustListInvalid("x".into()),
        PayloadError::StatusSnapshotInvalid("x".into()),
    ];
    let codes: std::collections::BTreeSet<_> = all.iter().map(PayloadError::code).collect();
    assert_eq!(codes.len(), all.len());
    for e in &all {
        let first = e.to_string().chars().next().unwrap();
        assert!(('\u{4e00}'..='\u{9fff}').contains(&first), "{e}");
    }
}
