//! The image decode path: an image file (what the `zizhi-scan` command line reads) or a raw
//! frame (what the app hands over from the camera or a chosen photo), through to the QR text.
//!
//! The first byte picks which; sizes are bounded (64 KiB of input, 320 px a side) so one run
//! stays in milliseconds. A real photo's cost is the benchmark's business (`scan/README.md`).
#![no_main]

use std::io::Cursor;

use image::{ImageReader, Limits};
use libfuzzer_sys::fuzz_target;
use zizhi_scan::grey::Grey;
use zizhi_scan::live::LiveScanner;
use zizhi_scan::pipeline::PIPELINE;
use zizhi_scan::{ScanResult, decode, decode_luma};
use zizhi_shared::QrText;

const MAX_INPUT: usize = 64 * 1024;
const MAX_SIDE: u32 = 320;

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        // An image file, decoded under limits as a server or CLI reading untrusted files must.
        let Ok(reader) = ImageReader::new(Cursor::new(rest)).with_guessed_format() else {
            return;
        };
        let mut reader = reader;
        let mut limits = Limits::default();
        limits.max_image_width = Some(MAX_SIDE);
        limits.max_image_height = Some(MAX_SIDE);
        limits.max_alloc = Some(4 << 20);
        reader.limits(limits);
        if let Ok(img) = reader.decode() {
            check(&decode(&img), PIPELINE.len());
        }
    } else {
        // A raw luma frame: the next byte gives the width, the rest the rows.
        let Some((&w, px)) = rest.split_first() else {
            return;
        };
        let width = u32::from(w) + 1;
        let height = (px.len() as u32 / width).min(MAX_SIDE);
        check(&decode_luma(width, height, px), PIPELINE.len());
        // Two frames of the live scanner: the single-frame attempts, then the aligned average.
        if let Some(frame) = Grey::new(width as usize, height as usize, px.to_vec()) {
            let mut live = LiveScanner::new();
            for _ in 0..2 {
                let scan = live.scan(&frame);
                check(&scan.result, usize::MAX);
                if let Some(l) = scan.located {
                    assert!(l.x0.is_finite() && l.y1.is_finite() && l.module.is_finite());
                }
            }
        }
    }
});

fn check(r: &ScanResult, max_attempts: usize) {
    assert!(r.attempts <= max_attempts, "{} attempts", r.attempts);
    if let Some(text) = &r.ours {
        assert!(QrText::is_ours(text));
    }
    for (i, other) in r.others.iter().enumerate() {
        assert!(!QrText::is_ours(other), "ours reported as another code");
        assert!(!r.others[..i].contains(other), "a code reported twice");
    }
}
