//! The yardstick: how many signature checks one core does per second, on the bytes a typical
//! QR code carries ([`Claims::example_usage`], about 250 bytes signed).
//!
//! - `ed25519 verify_strict`: ed25519-dalek alone, over the exact COSE `Sig_structure` the
//!   payload signs, with the public key already decompressed.
//! - `zizhi verify_bytes`: what the server does before it touches the register: envelope
//!   parse and canonical re-encoding check, key lookup in the trust list, key decompression,
//!   `verify_strict`, claims decoding and validation.
//! - `zizhi verify_text`: the same from the base32 text, as `GET /api/v1/verify/{code}` does.
//! - `batch of N`: signatures per second when N different payloads are checked in one
//!   equation (`zizhi_shared::signatures_hold_together`, what the server does with first scans
//!   that arrive together), opened beforehand.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeDelta};
use clap::Args;
use coset::{CborSerializable, CoseSign1};
use ed25519_dalek::Signature;
use zizhi_shared::{Claims, IssuerKey, KeyId, QrText, TrustList, TrustedKey};

#[derive(Debug, Args)]
pub struct CryptoArgs {
    /// Seconds spent on each measurement.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Instead of timing: exactly this many `verify_strict` calls, then exit (for callgrind,
    /// which counts instructions: run with 0 and with N, and divide the difference by N).
    #[arg(long)]
    pub count: Option<u64>,
}

/// Operations per second on one thread.
#[derive(Debug, Clone)]
pub struct CryptoRates {
    pub ed25519_verify_strict: f64,
    pub verify_bytes: f64,
    pub verify_text: f64,
    /// (batch size, signatures per second checked in batches of that size).
    pub batches: Vec<(usize, f64)>,
    pub payload_bytes: usize,
    pub base32_chars: usize,
}

impl CryptoRates {
    pub fn print(&self) {
        println!(
            "raw crypto, one thread (payload {} bytes, base32 {} chars):",
            self.payload_bytes, self.base32_chars
        );
        for (name, rate) in [
            ("ed25519 verify_strict", self.ed25519_verify_strict),
            ("zizhi verify_bytes", self.verify_bytes),
            ("zizhi verify_text", self.verify_text),
        ] {
            println!(
                "  {name:<22} {rate:>10.0} /s  ({:.1} µs each)",
                1e6 / rate.max(f64::MIN_POSITIVE)
            );
        }
        for &(size, rate) in &self.batches {
            println!(
                "  batch of {size:<13} {rate:>10.0} /s  ({:.1} µs a signature, {:.2} × verify_strict)",
                1e6 / rate.max(f64::MIN_POSITIVE),
                self.ed25519_verify_strict / rate.max(f64::MIN_POSITIVE)
            );
        }
    }
}

/// Batch sizes measured.
const BATCH_SIZES: [usize; 5] = [4, 8, 16, 32, 64];

/// Runs `op` repeatedly on the calling thread for about `seconds` (after a short warm-up) and
/// returns calls per second. `op` must return true: a failed verification would measure the
/// wrong path.
fn rate(seconds: f64, mut op: impl FnMut() -> bool) -> f64 {
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(300) {
        assert!(op(), "verification failed during warm-up");
    }
    let budget = Duration::from_secs_f64(seconds.max(0.1));
    let start = Instant::now();
    let mut n: u64 = 0;
    loop {
        for _ in 0..128 {
            assert!(op(), "verification failed");
        }
        n += 128;
        let elapsed = start.elapsed();
        if elapsed >= budget {
            return n as f64 / elapsed.as_secs_f64();
        }
    }
}

/// What is measured: one example payload, its text, and the pieces `verify_strict` takes.
struct Example {
    now: chrono::DateTime<chrono::Utc>,
    trust: TrustList,
    bytes: Vec<u8>,
    text: String,
    tbs: Vec<u8>,
    sig: Signature,
    vk: ed25519_dalek::VerifyingKey,
}

fn example() -> Example {
    let key = IssuerKey::from_seed(KeyId::new(*b"SH01"), [7; 32]);
    let claims = Claims::example_usage();
    // Judge the example as if scanned the day after it was issued, whatever today is.
    let now = claims.issued_at + TimeDelta::days(1);
    let from = NaiveDate::from_ymd_opt(2020, 1, 1).expect("valid date");
    let trust = TrustList::new(
        vec![TrustedKey::for_key(
            &key,
            "上海市住房和城乡建设管理委员会",
            from,
            None,
        )],
        now,
    );
    let signed = claims.sign(&key);
    let bytes = signed.as_bytes().to_vec();
    let text = QrText::base32(&signed);

    // Byte 0 is the format version; the rest is the COSE_Sign1 whose Sig_structure was signed.
    let sign1 = CoseSign1::from_slice(&bytes[1..]).expect("payload is a COSE_Sign1");
    let tbs = sign1.tbs_data(&[]);
    let sig: [u8; 64] = sign1
        .signature
        .as_slice()
        .try_into()
        .expect("64-byte signature");
    let sig = Signature::from_bytes(&sig);
    let vk = key.verifying_key();
    assert!(
        vk.verify_strict(&tbs, &sig).is_ok(),
        "Sig_structure rebuilt"
    );
    Example {
        now,
        trust,
        bytes,
        text,
        tbs,
        sig,
        vk,
    }
}

/// Exactly `n` checks of the example's signature with `verify_strict`.
pub fn count_strict(n: u64) {
    let e = example();
    for _ in 0..n {
        assert!(
            black_box(&e.vk)
                .verify_strict(black_box(&e.tbs), black_box(&e.sig))
                .is_ok()
        );
    }
    println!("{n} verify_strict calls");
}

pub fn measure(seconds: f64) -> CryptoRates {
    let Example {
        now,
        trust,
        bytes,
        text,
        tbs,
        sig,
        vk,
    } = example();
    let ed25519_verify_strict = rate(seconds, || {
        black_box(&vk)
            .verify_strict(black_box(&tbs), black_box(&sig))
            .is_ok()
    });
    let verify_bytes = rate(seconds, || {
        zizhi_shared::verify_bytes(black_box(&bytes), black_box(&trust), now).is_ok()
    });
    let verify_text = rate(seconds, || {
        zizhi_shared::verify_text(black_box(&text), black_box(&trust), now).is_ok()
    });
    let batches = BATCH_SIZES
        .iter()
        .map(|&size| (size, batch_rate(seconds, size)))
        .collect();
    CryptoRates {
        ed25519_verify_strict,
        verify_bytes,
        verify_text,
        batches,
        payload_bytes: bytes.len(),
        base32_chars: text.len(),
    }
}

/// Signatures per second checked `size` at a time, each batch of `size` different payloads.
fn batch_rate(seconds: f64, size: usize) -> f64 {
    let key = IssuerKey::from_seed(KeyId::new(*b"SH01"), [7; 32]);
    let from = NaiveDate::from_ymd_opt(2020, 1, 1).expect("valid date");
    let base = Claims::example_usage();
    let trust = zizhi_shared::DecompressedTrustList::new(TrustList::new(
        vec![TrustedKey::for_key(
            &key,
            "上海市住房和城乡建设管理委员会",
            from,
            None,
        )],
        base.issued_at,
    ));
    let opened: Vec<zizhi_shared::OpenedPayload> = (0..size as u64)
        .map(|i| {
            let mut claims = base.clone();
            claims.copy_id += i;
            let signed = claims.sign(&key);
            zizhi_shared::open_payload(signed.as_bytes(), &trust).expect("opens")
        })
        .collect();
    let refs: Vec<&zizhi_shared::OpenedPayload> = opened.iter().collect();
    let batches_per_second = rate(seconds, || {
        zizhi_shared::signatures_hold_together(black_box(&refs))
    });
    batches_per_second * size as f64
}
