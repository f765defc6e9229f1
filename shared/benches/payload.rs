//! Costs of the payload path for `Claims::example_usage()`: sign, verify, encode, decode.

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use zizhi_shared::{
    Claims, IssuerKey, KeyId, QrText, TrustList, TrustedKey, verify_bytes, verify_text,
};

fn payload(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2026, 1, 10, 8, 0, 0).unwrap();
    let key = IssuerKey::from_seed(KeyId::new(*b"SH02"), [2; 32]);
    let trust = TrustList::new(
        vec![TrustedKey::for_key(
            &key,
            "上海市住房和城乡建设管理委员会",
            now.date_naive(),
            None,
        )],
        now,
    );
    let claims = Claims::example_usage();
    let signed = claims.sign(&key);
    let text = QrText::encode("ZIZHI.JSGL.SH.GOV.CN", &signed);
    let bytes = signed.as_bytes().to_vec();

    c.bench_function("sign", |b| b.iter(|| black_box(&claims).sign(&key)));
    c.bench_function("verify_bytes", |b| {
        b.iter(|| verify_bytes(black_box(&bytes), &trust, now).unwrap())
    });
    c.bench_function("encode (claims to QR text)", |b| {
        b.iter(|| QrText::encode("ZIZHI.JSGL.SH.GOV.CN", &black_box(&claims).sign(&key)))
    });
    c.bench_function("decode (QR text to bytes)", |b| {
        b.iter(|| QrText::extract(black_box(&text)).unwrap())
    });
    c.bench_function("verify_text", |b| {
        b.iter(|| verify_text(black_box(&text), &trust, now).unwrap())
    });
    // Reference points: the bare signature check, and decompressing the public key, which
    // verify_bytes does on every call.
    let message = [0u8; 200];
    let signature = ed25519_dalek::Signer::sign(
        &ed25519_dalek::SigningKey::from_bytes(&key.seed()),
        &message,
    );
    let vk = key.verifying_key();
    c.bench_function("reference: ed25519 verify_strict alone", |b| {
        b.iter(|| vk.verify_strict(black_box(&message), &signature).unwrap())
    });
    let pk = key.public_key_bytes();
    c.bench_function("reference: public key decompression", |b| {
        b.iter(|| ed25519_dalek::VerifyingKey::from_bytes(black_box(&pk)).unwrap())
    });
    c.bench_function("claims to_cbor", |b| {
        b.iter(|| black_box(&claims).to_cbor())
    });
}

criterion_group!(benches, payload);
criterion_main!(benches);
