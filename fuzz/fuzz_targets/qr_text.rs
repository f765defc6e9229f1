//! The QR text a scanner reads, and the payload bytes it carries: recognise, decode, verify.
//!
//! Every input is tried three ways: as scanned text (`verify_text`), as payload bytes
//! (`verify_bytes`) and as the claims CBOR inside a payload (`Claims::from_cbor`), since the
//! fuzzer cannot forge a signature to reach the claims decoder through the first two.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zizhi_fuzz::{check_verified, issuer, now, trust_list};
use zizhi_shared::verdict::Verdict;
use zizhi_shared::{Claims, QrText, SignedPayload, verify_bytes, verify_text};

fuzz_target!(|data: &[u8]| {
    let trust = trust_list();
    if let Ok(text) = std::str::from_utf8(data) {
        let extracted = QrText::extract(text);
        assert_eq!(QrText::is_ours(text), extracted.is_ok());
        if let Ok(bytes) = &extracted {
            // What was read is exactly what a code for these bytes carries.
            let payload = SignedPayload::from_bytes(bytes.clone());
            let again = QrText::extract(&QrText::encode("zz.example.cn", &payload));
            assert_eq!(again.as_ref(), Ok(bytes));
            assert_eq!(
                QrText::extract(&QrText::base32(&payload)).as_ref(),
                Ok(bytes)
            );
        }
        match verify_text(text, trust, now()) {
            Ok(v) => check_verified(extracted.as_deref().expect("verified, so read"), &v),
            Err(e) => {
                assert!(!e.code().is_empty());
                let _ = Verdict::rejected(&e, now());
            }
        }
    }

    match verify_bytes(data, trust, now()) {
        Ok(v) => check_verified(data, &v),
        Err(e) => {
            let _ = Verdict::rejected(&e, now());
        }
    }
    let _ = SignedPayload::from_bytes(data.to_vec()).kid();

    if let Ok(claims) = Claims::from_cbor(data) {
        // One encoding per claims: the decoder takes only what the encoder writes.
        assert_eq!(claims.to_cbor(), data);
        claims.validate().expect("decoded claims are valid");
        // Signed by the trusted key, the claims verify to themselves.
        let signed = claims.sign(issuer());
        let text = QrText::encode("zz.example.cn", &signed);
        let at = claims.issued_at.max(now());
        if trust.keys[0].covers(claims.issued_at.date_naive()) {
            let v = verify_text(&text, trust, at).expect("signed claims verify");
            assert_eq!(v.claims, claims);
        }
    }
});
