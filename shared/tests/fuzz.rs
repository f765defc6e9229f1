//! Property tests: no input makes verification panic, and no mutation of a valid code verifies
//! as a different set of claims.

mod common;

use common::*;
use proptest::prelude::*;
use std::sync::LazyLock;
use zizhi_shared::{Claims, QrText, TrustList, verify_bytes, verify_text};

static TRUST: LazyLock<TrustList> = LazyLock::new(opened_trust_list);
static CLAIMS: LazyLock<Claims> = LazyLock::new(Claims::example_usage);
static BYTES: LazyLock<Vec<u8>> = LazyLock::new(|| CLAIMS.sign(&new_key()).into_bytes());
static TEXT: LazyLock<String> = LazyLock::new(|| QrText::encode(HOST, &CLAIMS.sign(&new_key())));

#[derive(Debug, Clone)]
enum Edit {
    /// Replace the character at a position with a character from the QR alphanumeric set.
    Replace(usize, char),
    Remove(usize),
    Insert(usize, char),
    Truncate(usize),
    /// Flip the letter case of the characters in a range.
    Case(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let ch = prop::sample::select(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz $%*+-./:?#="
            .chars()
            .collect::<Vec<_>>(),
    );
    prop_oneof![
        (any::<usize>(), ch.clone()).prop_map(|(i, c)| Edit::Replace(i, c)),
        any::<usize>().prop_map(Edit::Remove),
        (any::<usize>(), ch).prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), 1usize..40).prop_map(|(i, n)| Edit::Case(i, n)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for e in edits {
        let n = chars.len().max(1);
        match *e {
            Edit::Replace(i, c) if !chars.is_empty() => chars[i % n] = c,
            Edit::Remove(i) if !chars.is_empty() => {
                chars.remove(i % n);
            }
            Edit::Insert(i, c) => chars.insert(i % (chars.len() + 1), c),
            Edit::Truncate(i) => chars.truncate(i % (chars.len() + 1)),
            Edit::Case(i, len) => {
                for c in chars.iter_mut().skip(i % n).take(len) {
                    *c = if c.is_ascii_uppercase() {
                        c.to_ascii_lowercase()
                    } else {
                        c.to_ascii_uppercase()
                    };
                }
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn mutated_qr_text_never_verifies_as_different_claims(
        edits in prop::collection::vec(edit(), 1..4)
    ) {
        let text = apply(&TEXT, &edits);
        if let Ok(v) = verify_text(&text, &TRUST, now()) {
            prop_assert_eq!(&v.claims, &*CLAIMS, "{}", text);
        }
    }

    #[test]
    fn mutated_payload_bytes_never_verify_as_different_claims(
        flips in prop::collection::vec((any::<usize>(), 1u8..=255), 0..4),
        cut in any::<usize>(),
        insert in prop::option::of((any::<usize>(), any::<u8>())),
    ) {
        let mut bytes = BYTES.clone();
        for (i, x) in flips {
            let n = bytes.len();
            bytes[i % n] ^= x;
        }
        if let Some((i, b)) = insert {
            bytes.insert(i % (bytes.len() + 1), b);
        }
        if cut % 4 == 0 {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        let result = verify_bytes(&bytes, &TRUST, now());
        if bytes != *BYTES {
            prop_assert!(result.is_err(), "a changed payload verified");
        } else {
            prop_assert_eq!(result.map(|v| v.claims), Ok(CLAIMS.clone()));
        }
    }

    #[test]
    fn random_strings_never_panic(text in ".{0,600}") {
        let _ = verify_text(&text, &TRUST, now());
        let _ = QrText::is_ours(&text);
    }

    #[test]
    fn random_url_shaped_strings_never_panic(tail in "[A-Za-z2-7=/?#:. -]{0,500}") {
        let _ = verify_text(&format!("https://{HOST}/V/{tail}"), &TRUST, now());
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1100)) {
        let _ = verify_bytes(&bytes, &TRUST, now());
        let mut versioned = bytes;
        versioned.insert(0, 1);
        let _ = verify_bytes(&versioned, &TRUST, now());
        let _ = zizhi_shared::SignedTrustList::from_bytes(versioned[1..].to_vec())
            .open(&root().verifying_key());
    }

    #[test]
    fn random_bytes_after_a_valid_envelope_head_never_panic(
        tail in prop::collection::vec(any::<u8>(), 0..400)
    ) {
        // Keeps the version byte, array head and protected header so the parser gets deep.
        let mut bytes = BYTES[..13].to_vec();
        bytes.extend(tail);
        let _ = verify_bytes(&bytes, &TRUST, now());
    }

    #[test]
    fn random_claims_maps_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Claims::from_cbor(&bytes);
        let _ = TrustList::from_cbor(&bytes);
    }
}

#[test]
fn deeply_nested_or_huge_length_cbor_is_refused_without_panic() {
    let mut nested = vec![1u8];
    nested.extend(std::iter::repeat_n(0x81, 1000));
    assert!(verify_bytes(&nested, &TRUST, now()).is_err());
    // An array claiming 2^64-1 items, a byte string claiming 2^32 bytes.
    for bytes in [
        vec![1u8, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        vec![1u8, 0x84, 0x5a, 0xff, 0xff, 0xff, 0xff, 0x00],
        vec![1u8, 0x9f, 0x9f, 0x9f, 0xff],
    ] {
        assert!(verify_bytes(&bytes, &TRUST, now()).is_err());
        assert!(Claims::from_cbor(&bytes[1..]).is_err());
    }
}
