//! The two decoders behind one shape: a greyscale image in, the texts of the codes read out.
//!
//! - `rxing`'s `QrReader` is its port of zxing-cpp's QR detector (concentric finder patterns,
//!   alignment-pattern based sampling); it reads all codes on the image in one pass.
//! - `rxing`'s `QRCodeReader` is the older port of Java ZXing's detector; it finds some codes
//!   the other misses (it estimates the module size differently). Only the profiler tries it
//!   (feature `cli`): no pipeline uses it, and the app's wasm is smaller without it.
//! - `rqrr` (quirc's algorithm, feature `rqrr`) has its own row-wise thresholding and a
//!   flood-fill capstone finder; fed a pre-binarised image it reads codes neither ZXing
//!   detector locates.
//!
//! Decoder errors (not found, checksum) are all the same to the pipeline: nothing read.

use std::collections::HashSet;

use rxing::common::{GlobalHistogramBinarizer, HybridBinarizer};
use rxing::multi::MultipleBarcodeReader;
#[cfg(feature = "cli")]
use rxing::qrcode::QRCodeReader;
use rxing::qrcode::cpp_port::QrReader;
use rxing::qrcode::cpp_port::detector::{FindFinderPatterns, GenerateFinderPatternSets};
use rxing::{
    BarcodeFormat, Binarizer, BinaryBitmap, DecodeHintValue, DecodeHints, Luma8LuminanceSource,
};

use crate::grey::Grey;

/// How rxing turns grey into black and white.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Binarize {
    /// ZXing's 8×8-block local threshold: the right default for photos.
    Hybrid,
    /// One histogram threshold: for images already binarised by our own adaptive step.
    Global,
}

fn hints(try_harder: bool) -> DecodeHints {
    DecodeHints::default()
        .with(DecodeHintValue::TryHarder(try_harder))
        .with(DecodeHintValue::PossibleFormats(HashSet::from([
            BarcodeFormat::QR_CODE,
        ])))
}

fn source(grey: &Grey) -> Option<Luma8LuminanceSource> {
    Luma8LuminanceSource::new(grey.data.clone(), grey.width as u32, grey.height as u32).ok()
}

/// How hard rxing looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effort {
    /// Finder patterns searched on every few rows only (ZXing's default).
    Quick,
    /// TryHarder: every row; also `QRCodeReader` when `QrReader` found nothing.
    #[cfg(feature = "cli")]
    Hard,
    /// TryHarder, `QrReader` only.
    HardCpp,
}

/// Every code `QrReader` reads, then `QRCodeReader` if that found nothing.
pub fn rxing(grey: &Grey, binarize: Binarize, effort: Effort) -> Vec<String> {
    let Some(src) = source(grey) else {
        return Vec::new();
    };
    match binarize {
        Binarize::Hybrid => read(BinaryBitmap::new(HybridBinarizer::new(src)), effort),
        Binarize::Global => read(
            BinaryBitmap::new(GlobalHistogramBinarizer::new(src)),
            effort,
        ),
    }
}

fn read<B: Binarizer>(mut bitmap: BinaryBitmap<B>, effort: Effort) -> Vec<String> {
    let hints = hints(effort != Effort::Quick);
    let texts: Vec<String> = QrReader
        .decode_multiple_with_hints(&mut bitmap, &hints)
        .map(|results| results.iter().map(|r| r.getText().to_owned()).collect())
        .unwrap_or_default();
    #[cfg(feature = "cli")]
    if texts.is_empty() && effort == Effort::Hard {
        use rxing::Reader;
        return QRCodeReader
            .decode_with_hints(&mut bitmap, &hints)
            .map(|r| vec![r.getText().to_owned()])
            .unwrap_or_default();
    }
    texts
}

/// Every code rqrr reads.
#[cfg(feature = "rqrr")]
pub fn rqrr(grey: &Grey) -> Vec<String> {
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(grey.width, grey.height, |x, y| {
            grey.data[y * grey.width + x]
        });
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .collect()
}

/// A place where three finder patterns make a plausible code: the square around them in
/// image pixels, and the module size there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
    pub module: f32,
    /// Centres of the top-left, top-right and bottom-left finder patterns: three points fix
    /// an affine map, which is how consecutive camera frames are aligned.
    pub finders: [(f32, f32); 3],
}

/// Where codes may be: finder-pattern triples found by zxing-cpp's detector on ZXing's
/// binarisation, at most `max` of them, best first. Used to cut a small code out of a large
/// photo and enlarge it before decoding again.
pub fn candidates(grey: &Grey, max: usize) -> Vec<Candidate> {
    let Some(src) = source(grey) else {
        return Vec::new();
    };
    let bitmap = BinaryBitmap::new(HybridBinarizer::new(src));
    let matrix = bitmap.get_black_matrix();
    let mut patterns = FindFinderPatterns(matrix, true, 0);
    GenerateFinderPatternSets(&mut patterns)
        .into_iter()
        .take(max)
        .map(|set| {
            let (tl, tr, bl) = (set.tl.p, set.tr.p, set.bl.p);
            // The fourth corner completes the parallelogram; perspective moves it a little,
            // which the margin absorbs.
            let br = (tr.x + bl.x - tl.x, tr.y + bl.y - tl.y);
            let xs = [tl.x, tr.x, bl.x, br.0];
            let ys = [tl.y, tr.y, bl.y, br.1];
            let module = (set.tl.size + set.tr.size + set.bl.size) as f32 / 3.0 / 7.0;
            // Finder centres sit 3.5 modules in from the code's edge; add the 4-module quiet
            // zone and slack for perspective.
            let margin = module.max(1.0) * 12.0;
            Candidate {
                x0: xs.iter().copied().fold(f32::MAX, f32::min) - margin,
                y0: ys.iter().copied().fold(f32::MAX, f32::min) - margin,
                x1: xs.iter().copied().fold(f32::MIN, f32::max) + margin,
                y1: ys.iter().copied().fold(f32::MIN, f32::max) + margin,
                module,
                finders: [(tl.x, tl.y), (tr.x, tr.y), (bl.x, bl.y)],
            }
        })
        .collect()
}
