//! zizhi-scan: reads the QR code of a printed certificate from a phone photo or camera frame.
//!
//! Plain Rust, no UI; builds for wasm32 (the scanner app) as well as natively (the
//! `zizhi-scan` command line, feature `cli`). The photo goes to grey, then through a fixed
//! list of attempts — a scale, a preprocessing, a decoder — until one reads a code that is
//! ours ([`zizhi_shared::QrText::extract`] accepts it). Other codes met on the way are
//! reported, not returned as ours.
//!
//! ```
//! use zizhi_scan::decode_luma;
//!
//! // A camera frame as 8-bit luma; a blank one has no code.
//! let frame = vec![255u8; 64 * 48];
//! let result = decode_luma(64, 48, &frame);
//! assert!(result.ours.is_none() && result.others.is_empty());
//! assert!(result.attempts > 0);
//! ```
//!
//! # The attempts, and why in this order
//!
//! Contrast-stretched at most 1000 px, then at full size, then local thresholds, local
//! contrast normalisation, a cut-out of the code enlarged, plain, inverted, and rqrr last
//! (feature `rqrr`, on by default; the app's wasm leaves it out).
//! The order comes from measuring every candidate attempt's yield and cost on synthetic phone
//! photos; the table is on [`pipeline::PIPELINE`], the benchmark in `scan/README.md`.
//!
//! For live camera frames, [`decode_frame`] runs only the cheap first attempts
//! ([`pipeline::QUICK`]); [`live::LiveScanner`] adds what consecutive frames give (an aligned
//! average of the located code, and whether it is too small to read). A located code that
//! no attempt reads is restored before the last attempts: super-resolved when it is far,
//! deconvolved when it is defocused ([`restore`]).
#![forbid(unsafe_code)]

mod engines;
pub mod grey;
pub mod live;
pub mod pipeline;
pub mod restore;

use zizhi_shared::QrText;

use crate::grey::Grey;
use crate::pipeline::{PIPELINE, QUICK, Step, Work};

/// What a scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanResult {
    /// The text of the first code that is ours (`HTTPS://…/V/<BASE32>`), as read.
    pub ours: Option<String>,
    /// Texts of other QR codes seen before ours was found (or in the whole photo when ours
    /// was not), each once, in the order met.
    pub others: Vec<String>,
    /// Attempts made (each a scale, a preprocessing and a decoder run).
    pub attempts: usize,
}

/// Decodes a decoded image (photo fallback, files).
pub fn decode(img: &image::DynamicImage) -> ScanResult {
    match to_grey(img) {
        Some(grey) => run(&grey, PIPELINE),
        None => ScanResult::default(),
    }
}

/// The photo's luma. 8-bit RGB and RGBA (what JPEG, PNG and canvases give) take an integer
/// path: `DynamicImage::to_luma8` goes through colour-space-aware float conversion, which on
/// a 3-megapixel photo costs as much as the first decode attempt.
pub fn to_grey(img: &image::DynamicImage) -> Option<Grey> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    match img {
        image::DynamicImage::ImageRgb8(rgb) => Grey::from_rgb(w, h, rgb.as_raw()),
        image::DynamicImage::ImageRgba8(rgba) => Grey::from_rgba(w, h, rgba.as_raw()),
        other => Grey::new(w, h, other.to_luma8().into_raw()),
    }
}

/// Decodes an 8-bit greyscale frame, row-major without padding. A buffer shorter than
/// `width × height` or an empty frame gives an empty result (no attempts).
pub fn decode_luma(width: u32, height: u32, luma: &[u8]) -> ScanResult {
    let len = (width as usize).saturating_mul(height as usize);
    match Grey::new(
        width as usize,
        height as usize,
        luma[..len.min(luma.len())].to_vec(),
    ) {
        Some(grey) => run(&grey, PIPELINE),
        None => ScanResult::default(),
    }
}

/// Decodes an RGBA camera frame such as a canvas's `ImageData` (alpha ignored) with the
/// cheap attempts only ([`pipeline::QUICK`]): call it on every frame until it finds a code.
pub fn decode_frame(width: u32, height: u32, rgba: &[u8]) -> ScanResult {
    match Grey::from_rgba(width as usize, height as usize, rgba) {
        Some(grey) => run(&grey, QUICK),
        None => ScanResult::default(),
    }
}

/// Decodes an RGBA frame such as a canvas's `ImageData` (alpha ignored), all attempts.
pub fn decode_rgba(width: u32, height: u32, rgba: &[u8]) -> ScanResult {
    match Grey::from_rgba(width as usize, height as usize, rgba) {
        Some(grey) => run(&grey, PIPELINE),
        None => ScanResult::default(),
    }
}

/// Runs `steps` in order on `grey`, stopping at the first code of ours.
pub fn run(grey: &Grey, steps: &[Step]) -> ScanResult {
    let mut result = ScanResult::default();
    let mut work = Work::new(grey);
    let mut done = Vec::new();
    for step in steps {
        let key = work.key(step);
        if done.contains(&key) {
            continue;
        }
        done.push(key);
        result.attempts += 1;
        for text in work.run(step) {
            if QrText::extract(&text).is_ok() {
                result.ours = Some(text);
                return result;
            }
            if !result.others.contains(&text) {
                result.others.push(text);
            }
        }
    }
    result
}
