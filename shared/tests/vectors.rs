//! Test vectors in `tests/vectors/*.json` for other implementations of the verifier (see the
//! README there). Ed25519 signatures are deterministic, so regenerating gives the same files;
//! the test fails if the code and the files drift apart.
//!
//! Regenerate after a deliberate format change:
//! `cargo test -p zizhi-shared --test vectors -- --ignored regenerate_vectors`

mod common;

use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use common::*;
use data_encoding::HEXLOWER;
use serde::{Deserialize, Serialize};
use zizhi_shared::{
    Claims, IssuerKey, KeyId, QrText, SignatureAlgorithm, SignedPayload, SignedTrustList,
    TrustList, verify_text,
};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    kid: KeyId,
    /// Ed25519 secret key (RFC 8032 seed), hex.
    seed: String,
    public_key: String,
}

impl KeyFile {
    fn of(key: &IssuerKey) -> KeyFile {
        KeyFile {
            kid: key.kid(),
            seed: HEXLOWER.encode(&key.seed()),
            public_key: HEXLOWER.encode(&key.public_key_bytes()),
        }
    }

    fn key(&self) -> IssuerKey {
        let seed = HEXLOWER.decode(self.seed.as_bytes()).unwrap();
        IssuerKey::from_seed(self.kid, seed.try_into().unwrap())
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    description: String,
    /// The verifier's clock.
    now: DateTime<Utc>,
    root_key: KeyFile,
    /// The key that signed `payload`; not necessarily one the trust list trusts.
    signing_key: KeyFile,
    trust_list: TrustList,
    signed_trust_list: String,
    claims: Claims,
    claims_cbor: String,
    /// The bytes inside `qr_text`, hex.
    payload: String,
    qr_text: String,
    /// `valid`, or the error code verification must give.
    expected: String,
}

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn case(
    description: &str,
    signer: &IssuerKey,
    claims: Claims,
    tamper: impl FnOnce(Vec<u8>) -> Vec<u8>,
    text: impl FnOnce(&SignedPayload) -> String,
    expected: &str,
) -> Vector {
    case_as(
        SignatureAlgorithm::Ed25519,
        description,
        signer,
        claims,
        tamper,
        text,
        expected,
    )
}

/// A case whose payload carries the algorithm label `alg` (-19 `Ed25519` or -8 `EdDSA`).
fn case_as(
    alg: SignatureAlgorithm,
    description: &str,
    signer: &IssuerKey,
    claims: Claims,
    tamper: impl FnOnce(Vec<u8>) -> Vec<u8>,
    text: impl FnOnce(&SignedPayload) -> String,
    expected: &str,
) -> Vector {
    let payload = SignedPayload::from_bytes(tamper(claims.sign_as(signer, alg).into_bytes()));
    Vector {
        description: description.to_owned(),
        now: now(),
        root_key: KeyFile::of(&root()),
        signing_key: KeyFile::of(signer),
        trust_list: trust_list(),
        signed_trust_list: HEXLOWER.encode(signed_trust_list().as_bytes()),
        claims_cbor: HEXLOWER.encode(&claims.to_cbor()),
        claims,
        payload: HEXLOWER.encode(payload.as_bytes()),
        qr_text: text(&payload),
        expected: expected.to_owned(),
    }
}

fn generate() -> Vec<(&'static str, Vector)> {
    let same = |b: Vec<u8>| b;
    let qr = |p: &SignedPayload| QrText::encode(HOST, p);
    let mut old_copy = Claims::example_usage();
    old_copy.copy_id = 524_301;
    old_copy.issued_at = Utc.with_ymd_and_hms(2025, 6, 1, 2, 0, 0).unwrap();
    old_copy.usage.as_mut().unwrap().from = date("2025-06-01");
    old_copy.usage.as_mut().unwrap().to = date("2025-08-31");
    let rare = supplementary_usage();
    let mut rare_approval = Claims::example_approval();
    rare_approval.enterprise_name = ALL_SUPPLEMENTARY_NAME.to_owned();
    vec![
        (
            "valid_usage",
            case(
                "使用件 (usage copy) signed by the current key SH02: verifies.",
                &new_key(),
                Claims::example_usage(),
                same,
                qr,
                "valid",
            ),
        ),
        (
            "valid_approval",
            case(
                "批准件 (approval copy) signed by the current key SH02: verifies; no keys 7-9.",
                &new_key(),
                Claims::example_approval(),
                same,
                qr,
                "valid",
            ),
        ),
        (
            "bad_signature",
            case(
                "Signed by an impostor key that also calls itself SH02: the signature does not \
                 verify under the listed SH02 public key.",
                &IssuerKey::from_seed(KeyId::new(*b"SH02"), [0x66; 32]),
                Claims::example_usage(),
                same,
                qr,
                "bad_signature",
            ),
        ),
        (
            "unknown_key",
            case(
                "Signed by key SH09, which the trust list does not contain.",
                &IssuerKey::from_seed(KeyId::new(*b"SH09"), [0x09; 32]),
                Claims::example_usage(),
                same,
                qr,
                "unknown_key_id",
            ),
        ),
        (
            "key_outside_validity",
            case(
                "Signed by the retired key SH01 (valid 2024-01-01..2025-12-31) but issued \
                 2026-01-10: outside the key's window.",
                &old_key(),
                Claims::example_usage(),
                same,
                qr,
                "key_outside_validity",
            ),
        ),
        (
            "trailing_bytes",
            case(
                "The valid usage payload with one extra 0x00 byte after the COSE array.",
                &new_key(),
                Claims::example_usage(),
                |mut b| {
                    b.push(0);
                    b
                },
                qr,
                "trailing_bytes",
            ),
        ),
        (
            "wrong_prefix",
            case(
                "The valid usage payload behind another URL path (/X/ instead of /V/).",
                &new_key(),
                Claims::example_usage(),
                same,
                |p| QrText::encode(HOST, p).replacen("/V/", "/X/", 1),
                "wrong_prefix",
            ),
        ),
        (
            "old_key_rotation",
            case_as(
                SignatureAlgorithm::EdDsa,
                "Issued 2025-06-01 by the retired key SH01, still listed with its window: \
                 verifies after the rotation to SH02. Printed before RFC 9864, its protected \
                 header says alg -8 (EdDSA), which verifiers still accept.",
                &old_key(),
                old_copy,
                same,
                qr,
                "valid",
            ),
        ),
        (
            "valid_usage_alg_eddsa",
            case_as(
                SignatureAlgorithm::EdDsa,
                "The usage copy of valid_usage with alg -8 (EdDSA, deprecated by RFC 9864) \
                 in its protected header instead of -19 (Ed25519): verifies.",
                &new_key(),
                Claims::example_usage(),
                same,
                qr,
                "valid",
            ),
        ),
        (
            "snapshot_key_signs_copy",
            case(
                "Signed by SN01, which the trust list names for status snapshots only: a key \
                 listed for another role is no copy-signing key.",
                &snapshot_key(),
                Claims::example_usage(),
                same,
                qr,
                "unknown_key_id",
            ),
        ),
        (
            "valid_usage_supplementary",
            case(
                "使用件 whose enterprise name and purpose hold characters of CJK Extensions B, \
                 C, E and G (U+20000 𠀀, U+2C317 𬌗, U+2B5AF 𫖯, U+30EDE 𰻞) beside BMP ones: \
                 claims 5 and 7 are UTF-16BE byte strings, each supplementary character a \
                 surrogate pair (e.g. U+20000 = D840 DC00). Verifies; QR version 12-M.",
                &new_key(),
                rare,
                same,
                qr,
                "valid",
            ),
        ),
        (
            "valid_approval_all_supplementary",
            case(
                "批准件 whose enterprise name is only supplementary-plane characters (CJK \
                 Extensions B-H): 4 bytes each in UTF-8 and in UTF-16, so on the tie claim 5 \
                 is a UTF-8 text string. Verifies; QR version 11-M.",
                &new_key(),
                rare_approval,
                same,
                qr,
                "valid",
            ),
        ),
    ]
}

/// An enterprise name of supplementary-plane characters only (Extensions B, C, D, E, F, G,
/// H), 12 characters.
const ALL_SUPPLEMENTARY_NAME: &str = "\u{20000}\u{2A6A5}\u{2B5AF}\u{2B7E6}\u{2C317}\u{2CEB0}\u{2CEB1}\u{30000}\u{30EDE}\u{31350}\u{20001}\u{20002}";

/// The typical usage copy with 生僻字 from the supplementary planes in name and purpose.
fn supplementary_usage() -> Claims {
    let mut c = Claims::example_usage();
    c.copy_id = 1_048_580;
    c.enterprise_name = "上海喆堃\u{20000}\u{2C317}建设工程有限公司".to_owned();
    c.usage.as_mut().unwrap().purpose =
        "赵孟\u{2B5AF}故居旁\u{30EDE}\u{30EDE}面馆装修工程投标".to_owned();
    c
}

fn render(v: &Vector) -> String {
    serde_json::to_string_pretty(v).unwrap() + "\n"
}

#[test]
fn vector_files_match_what_the_code_generates() {
    for (name, vector) in generate() {
        let path = vectors_dir().join(format!("{name}.json"));
        let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run the ignored regenerate_vectors",
                path.display()
            )
        });
        assert!(
            on_disk == render(&vector),
            "{name}.json differs from the generated vector; if the change is deliberate run \
             `cargo test -p zizhi-shared --test vectors -- --ignored regenerate_vectors`"
        );
    }
}

/// Reads each file the way another implementation would: from its own fields alone.
#[test]
fn vector_files_verify_to_their_expected_verdict() {
    let mut seen = 0;
    for entry in std::fs::read_dir(vectors_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let v: Vector = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let name = path.display();

        for k in [&v.root_key, &v.signing_key] {
            assert_eq!(
                HEXLOWER.encode(&k.key().public_key_bytes()),
                k.public_key,
                "{name}"
            );
        }
        let signed =
            SignedTrustList::from_bytes(HEXLOWER.decode(v.signed_trust_list.as_bytes()).unwrap());
        let trust = signed.open(&v.root_key.key().verifying_key()).unwrap();
        assert_eq!(trust, v.trust_list, "{name}");
        assert_eq!(
            HEXLOWER.encode(&v.claims.to_cbor()),
            v.claims_cbor,
            "{name}"
        );
        if v.expected != "wrong_prefix" {
            let extracted = QrText::extract(&v.qr_text).unwrap();
            assert_eq!(HEXLOWER.encode(&extracted), v.payload, "{name}");
        }

        match verify_text(&v.qr_text, &trust, v.now) {
            Ok(verified) => {
                assert_eq!(v.expected, "valid", "{name}");
                assert_eq!(verified.claims, v.claims, "{name}");
                assert_eq!(verified.kid, v.signing_key.kid, "{name}");
            }
            Err(e) => assert_eq!(e.code(), v.expected, "{name}: {e}"),
        }
        seen += 1;
    }
    assert_eq!(seen, generate().len());
}

#[test]
#[ignore = "writes tests/vectors/*.json; run after a deliberate format change"]
fn regenerate_vectors() {
    std::fs::create_dir_all(vectors_dir()).unwrap();
    for (name, vector) in generate() {
        std::fs::write(vectors_dir().join(format!("{name}.json")), render(&vector)).unwrap();
    }
}
