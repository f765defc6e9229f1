//! Attempts: which image (scale, preprocessing) goes to which decoder, and the machinery that
//! runs a list of them, sharing the derived images between attempts.

use std::collections::HashMap;

use crate::engines::{self, Binarize, Effort};
use crate::grey::Grey;
use crate::restore::{self, Plane};

/// Preprocessing before a decoder sees the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prep {
    /// The (possibly reduced) grey image as it is.
    Plain,
    /// Global contrast normalisation ([`Grey::stretched`]).
    Stretch,
    /// Local mean threshold ([`Grey::adaptive`]), window ~1/40 of the long side.
    Adaptive,
    /// Local contrast normalisation ([`Grey::normalized`]), window ~1/40 of the long side.
    Normalize,
    /// Local mean threshold with a small margin (3 %): follows faint codes under glare.
    AdaptiveLow,
    /// A 3×3 box blur: melts halftone dots of a b/w print into grey modules.
    Smooth,
    /// As `Region`, with finder patterns looked for on the stretched image and each cut-out
    /// stretched on its own: the cut-out's darkest and lightest percent are the code's ink
    /// and paper, whatever light falls elsewhere in the photo.
    RegionStretch,
    /// Stretched, then light and dark swapped: codes printed or displayed light on dark.
    Invert,
    /// Finder-pattern triples found at this scale, each cut out of the full-resolution image
    /// with its quiet zone and enlarged to about 6 px a module.
    Region,
    /// Super-resolution of a located code: the cut-out enlarged to about 6 px a module with
    /// Catmull–Rom interpolation (up to 5×), unsharp-masked, stretched
    /// ([`crate::restore`]). For codes at 1.5–3 px a module.
    RegionSharp,
    /// Deconvolution of a located code: the cut-out at full resolution, Richardson–Lucy for a
    /// disc of 1.5, 2.5, … px radius (tried in turn, never much wider than a module), then
    /// enlarged to about 6 px a module. For defocus.
    RegionDeblur,
}

/// Which decoder reads the prepared image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    /// rxing's port of zxing-cpp's QR reader, TryHarder; all codes on the image.
    Zxing,
    /// The same without TryHarder: finder patterns looked for on every few rows only.
    ZxingQuick,
    /// The same, then rxing's port of Java ZXing's reader when the first found nothing.
    /// Profiler only (feature `cli`).
    #[cfg(feature = "cli")]
    ZxingJava,
    /// rqrr (quirc); feature `rqrr`.
    #[cfg(feature = "rqrr")]
    Rqrr,
}

/// One attempt: reduce the photo until its long side is at most `max_side` pixels (0: full
/// resolution), prepare it, decode it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Step {
    pub max_side: u32,
    pub prep: Prep,
    pub engine: Engine,
}

const fn step(max_side: u32, prep: Prep, engine: Engine) -> Step {
    Step {
        max_side,
        prep,
        engine,
    }
}

/// Every attempt the profiler measures (`zizhi-scan --profile`); [`PIPELINE`] is picked from
/// these by measured yield and cost.
pub const CANDIDATES: &[Step] = &[
    step(0, Prep::Plain, Engine::Zxing),
    step(2400, Prep::Plain, Engine::Zxing),
    step(1600, Prep::Plain, Engine::Zxing),
    step(1200, Prep::Plain, Engine::Zxing),
    step(800, Prep::Plain, Engine::Zxing),
    step(600, Prep::Plain, Engine::Zxing),
    #[cfg(feature = "cli")]
    step(1600, Prep::Plain, Engine::ZxingJava),
    #[cfg(feature = "cli")]
    step(800, Prep::Plain, Engine::ZxingJava),
    step(0, Prep::Stretch, Engine::Zxing),
    step(1600, Prep::Stretch, Engine::Zxing),
    step(1200, Prep::Stretch, Engine::Zxing),
    step(1000, Prep::Stretch, Engine::Zxing),
    step(800, Prep::Stretch, Engine::Zxing),
    step(0, Prep::Stretch, Engine::ZxingQuick),
    step(1600, Prep::Stretch, Engine::ZxingQuick),
    step(1200, Prep::Stretch, Engine::ZxingQuick),
    step(800, Prep::Stretch, Engine::ZxingQuick),
    step(1600, Prep::Normalize, Engine::Zxing),
    step(1200, Prep::Normalize, Engine::Zxing),
    step(800, Prep::Normalize, Engine::Zxing),
    step(1600, Prep::AdaptiveLow, Engine::Zxing),
    step(800, Prep::AdaptiveLow, Engine::Zxing),
    step(0, Prep::Smooth, Engine::Zxing),
    step(1600, Prep::Smooth, Engine::Zxing),
    #[cfg(feature = "rqrr")]
    step(1600, Prep::Normalize, Engine::Rqrr),
    step(1600, Prep::Adaptive, Engine::Zxing),
    step(1200, Prep::Adaptive, Engine::Zxing),
    step(800, Prep::Adaptive, Engine::Zxing),
    step(1600, Prep::Invert, Engine::Zxing),
    step(1600, Prep::Region, Engine::Zxing),
    step(800, Prep::Region, Engine::Zxing),
    #[cfg(feature = "rqrr")]
    step(1600, Prep::Region, Engine::Rqrr),
    step(1600, Prep::RegionStretch, Engine::Zxing),
    step(800, Prep::RegionStretch, Engine::Zxing),
    #[cfg(feature = "rqrr")]
    step(1600, Prep::RegionStretch, Engine::Rqrr),
    #[cfg(feature = "rqrr")]
    step(1600, Prep::Plain, Engine::Rqrr),
    #[cfg(feature = "rqrr")]
    step(800, Prep::Plain, Engine::Rqrr),
    #[cfg(feature = "rqrr")]
    step(1600, Prep::Adaptive, Engine::Rqrr),
    #[cfg(feature = "rqrr")]
    step(1200, Prep::Adaptive, Engine::Rqrr),
    #[cfg(feature = "rqrr")]
    step(800, Prep::Adaptive, Engine::Rqrr),
    #[cfg(feature = "rqrr")]
    step(800, Prep::Stretch, Engine::Rqrr),
    step(0, Prep::RegionSharp, Engine::Zxing),
    step(1600, Prep::RegionSharp, Engine::Zxing),
    step(800, Prep::RegionSharp, Engine::Zxing),
    step(0, Prep::RegionStretch, Engine::Zxing),
    step(1600, Prep::RegionDeblur, Engine::Zxing),
    step(800, Prep::RegionDeblur, Engine::Zxing),
    step(0, Prep::RegionDeblur, Engine::Zxing),
    #[cfg(feature = "rqrr")]
    step(1600, Prep::RegionSharp, Engine::Rqrr),
];

/// The attempts [`crate::decode`] makes, in order.
///
/// Measured with `zizhi-scan --profile` on the 400 benchmark photos (`scan/bench/`, set 0):
/// every candidate alone on every photo, release build, 2 shared cores at load ~3. "alone" is
/// the share of photos the attempt reads by itself, "new" what it adds after the ones above
/// it (greedy: most new reads per millisecond spent on the photos still unread).
///
/// | attempt                  | alone | median ms | new | cumulative |
/// |--------------------------|------:|----------:|----:|-----------:|
/// | Zxing/Stretch@1000       | 59.0% |       4.8 | 236 |      59.0% |
/// | Zxing/Stretch@0 (full)   | 90.8% |      12.1 | 135 |      92.8% |
/// | Zxing/AdaptiveLow@800    | 47.5% |       5.8 |   7 |      94.5% |
/// | Zxing/AdaptiveLow@1600   | 76.5% |      12.2 |   5 |      95.8% |
/// | Zxing/Normalize@800      | 49.2% |      16.4 |   2 |      96.2% |
/// | Zxing/RegionStretch@1600 | 76.0% |      14.1 |   1 |      96.5% |
/// | Zxing/Plain@0            | 70.5% |       8.0 |   0 |      96.5% |
/// | Zxing/Normalize@1600     | 78.5% |     ~75   |  (3)|            |
///
/// What the measurements said:
/// - Contrast stretching is the single biggest win: the same reader at full size reads 70.5%
///   of the photos plain and 90.8% stretched (ZXing's binarizer skips 8×8 blocks with under
///   24 grey levels of contrast, which is what blur leaves of a faded or glared code).
/// - A reduced image first: at most 1000 px it reads 59% at a third of the full-size cost,
///   and the photos it misses go straight to full size. The greedy pick put a 1600 px attempt
///   second (+82), but replaying the per-photo costs without it gives the same total with a
///   lower mean time (17.5 against 18.9 ms), so it is left out.
/// - Without TryHarder the reader is no faster at the sizes that matter and reads less
///   (Stretch@0: 59.2% against 90.8%); Java ZXing's detector added nothing to zxing-cpp's.
/// - rqrr alone reads at most 39% (its row-wise threshold loses codes under glare, blur and
///   halftone) and read no photo that an rxing attempt missed; it stays as the last attempt,
///   an independent decoder for failures the synthetic set does not model, paid for only
///   when everything else failed. The app's wasm builds without it (feature `rqrr`): its
///   Galois field tables alone are 128 KB, and without it both benchmark sets read the same.
/// - The number in brackets comes from an earlier run (heavier load, times ~1.7× higher); the
///   inverted attempt reads nothing here (every printed code is dark on light) and is kept
///   for light-on-dark codes on screens.
pub const PIPELINE: &[Step] = &[
    step(1000, Prep::Stretch, Engine::Zxing),
    step(0, Prep::Stretch, Engine::Zxing),
    step(800, Prep::AdaptiveLow, Engine::Zxing),
    step(1600, Prep::AdaptiveLow, Engine::Zxing),
    step(800, Prep::Normalize, Engine::Zxing),
    step(1600, Prep::RegionStretch, Engine::Zxing),
    step(0, Prep::Plain, Engine::Zxing),
    step(1600, Prep::Normalize, Engine::Zxing),
    step(1600, Prep::Invert, Engine::Zxing),
    step(0, Prep::RegionSharp, Engine::Zxing),
    step(1600, Prep::RegionDeblur, Engine::Zxing),
    step(0, Prep::RegionDeblur, Engine::Zxing),
    #[cfg(feature = "rqrr")]
    step(1600, Prep::RegionStretch, Engine::Rqrr),
];

/// The first attempts of [`PIPELINE`], for live camera frames: most frames hold no code (the
/// phone is still moving), and the next frame comes in tens of milliseconds, so a frame gets
/// the cheap attempts that read 94.5% of the benchmark photos and a photo (the app's "choose
/// a photo" fallback) gets everything.
pub const QUICK: &[Step] = &[
    step(1000, Prep::Stretch, Engine::Zxing),
    step(0, Prep::Stretch, Engine::Zxing),
    step(800, Prep::AdaptiveLow, Engine::Zxing),
];

/// The integer reduction factor that brings the long side to at most `max_side`.
fn factor(grey: &Grey, max_side: u32) -> usize {
    if max_side == 0 {
        return 1;
    }
    grey.long_side().div_ceil(max_side as usize).max(1)
}

/// Derived images of one photo, made on first use and shared by later attempts.
pub struct Work<'a> {
    full: &'a Grey,
    shrunk: HashMap<usize, Grey>,
    prepared: HashMap<(usize, Prep), Vec<Grey>>,
    /// Located codes per reduction, found on the stretched image: shared by the region
    /// attempts, since the finder search on a 12 MP photo costs as much as a decode.
    located: HashMap<usize, Vec<Region>>,
}

impl<'a> Work<'a> {
    pub fn new(full: &'a Grey) -> Work<'a> {
        Work {
            full,
            shrunk: HashMap::new(),
            prepared: HashMap::new(),
            located: HashMap::new(),
        }
    }

    /// What `step` decodes on this photo, identified so that two steps that would do the same
    /// work (say `max_side` 1600 and 2400 on a 1280-pixel frame) run once.
    pub fn key(&self, step: &Step) -> (usize, Prep, Engine) {
        (factor(self.full, step.max_side), step.prep, step.engine)
    }

    fn shrunk(&mut self, f: usize) -> &Grey {
        if f == 1 {
            return self.full;
        }
        let full = self.full;
        self.shrunk.entry(f).or_insert_with(|| full.shrink(f))
    }

    fn prepared(&mut self, f: usize, prep: Prep) -> &[Grey] {
        if !self.prepared.contains_key(&(f, prep)) {
            let base = self.shrunk(f).clone();
            let images = match prep {
                Prep::Plain => vec![base],
                Prep::Stretch => vec![base.stretched()],
                Prep::Adaptive => {
                    let radius = (base.long_side() / 80).clamp(6, 40);
                    vec![base.adaptive(radius, 12)]
                }
                Prep::Normalize => {
                    let radius = (base.long_side() / 80).clamp(6, 40);
                    vec![base.normalized(radius, 6.0)]
                }
                Prep::AdaptiveLow => {
                    let radius = (base.long_side() / 80).clamp(6, 40);
                    vec![base.adaptive(radius, 3)]
                }
                Prep::Smooth => vec![base.box3()],
                Prep::Invert => vec![base.stretched().inverted()],
                Prep::Region => self
                    .regions(&base, f)
                    .into_iter()
                    .map(|r| r.bilinear(self.full))
                    .collect(),
                Prep::RegionStretch => self
                    .located(f)
                    .iter()
                    .map(|r| r.bilinear(self.full).stretched())
                    .collect(),
                Prep::RegionSharp => self.located(f).iter().map(|r| r.sharp(self.full)).collect(),
                // Made one at a time in `run`: most photos stop at the first radius.
                Prep::RegionDeblur => Vec::new(),
            };
            self.prepared.insert((f, prep), images);
        }
        &self.prepared[&(f, prep)]
    }

    /// [`Work::regions`] on the stretched image reduced by `f`, found once.
    fn located(&mut self, f: usize) -> Vec<Region> {
        if !self.located.contains_key(&f) {
            let base = self.shrunk(f).stretched();
            let mut regions = self.regions(&base, f);
            if regions.is_empty() && f == 1 {
                // A code at 1.5–2 px a module, blurred by the lens: its finder patterns'
                // rings run together until sharpened. Paid only on a photo where nothing
                // was located at full size, after every cheaper attempt failed.
                let full = self.full;
                let plane = Plane::crop(full, 0, 0, full.width, full.height);
                regions = self.regions(&restore::to_grey(&plane.sharpened(1.5, 1.5)), 1);
            }
            self.located.insert(f, regions);
        }
        self.located[&f].clone()
    }

    /// Finder-pattern triples found on `base` (reduced by `f`), as rectangles of the
    /// full-resolution photo.
    fn regions(&self, base: &Grey, f: usize) -> Vec<Region> {
        engines::candidates(base, 3)
            .into_iter()
            .filter_map(|c| {
                let s = f as f32;
                let (x0, y0) = ((c.x0 * s).max(0.0), (c.y0 * s).max(0.0));
                let (x1, y1) = (
                    (c.x1 * s).min(self.full.width as f32),
                    (c.y1 * s).min(self.full.height as f32),
                );
                let module = (c.module * s).max(0.5);
                // A region as large as the photo would only repeat the full-size attempt.
                let side = (x1 - x0).max(y1 - y0) * (6.0 / module).clamp(1.0, 4.0);
                (x1 > x0 && y1 > y0 && side < 3000.0).then_some(Region {
                    x0: x0 as usize,
                    y0: y0 as usize,
                    x1: x1 as usize,
                    y1: y1 as usize,
                    module,
                })
            })
            .collect()
    }

    /// Runs one attempt; the texts of every code it read.
    pub fn run(&mut self, step: &Step) -> Vec<String> {
        let f = factor(self.full, step.max_side);
        if step.prep == Prep::RegionDeblur {
            return self.deblur(f, step.engine);
        }
        let binarize = if matches!(step.prep, Prep::Adaptive | Prep::AdaptiveLow) {
            Binarize::Global
        } else {
            Binarize::Hybrid
        };
        let images = self.prepared(f, step.prep);
        let mut texts = Vec::new();
        for image in images {
            texts.extend(read(step.engine, image, binarize));
        }
        texts
    }

    /// [`Prep::RegionDeblur`]: each located code deconvolved for growing disc radii until one
    /// reads. Radii beyond about a module are not tried: a disc that wide leaves no module
    /// contrast to restore, and each radius costs two disc blurs an iteration.
    fn deblur(&mut self, f: usize, engine: Engine) -> Vec<String> {
        for region in self.located(f) {
            // Deconvolve at about 3 px a module: enough to keep every module apart, and the
            // cost of a disc blur grows with the pixel count times the radius.
            let k = ((region.module / 3.0) as usize).max(1);
            let plane =
                Plane::crop(self.full, region.x0, region.y0, region.x1, region.y1).shrunk(k);
            let module = region.module / k as f32;
            // A far code (under 2.5 px a module) is deconvolved for the lens and sensor blur
            // of about a pixel and enlarged the most; a defocused one for wider discs.
            let scale = (6.0 / module).clamp(1.0, 5.0);
            let mut tried = Vec::new();
            for radius in [1.0f32, 1.5, 2.5, 3.5, 4.5, 5.5] {
                if radius < 1.5 && module >= 2.5 {
                    continue;
                }
                let r = (radius / k as f32 * 2.0).round() / 2.0;
                if r < 1.0 || tried.contains(&r) {
                    continue;
                }
                if r > 1.2 * module + 0.5 {
                    break;
                }
                tried.push(r);
                let restored = plane.richardson_lucy(r, 10).enlarged(scale);
                let image = restore::to_grey(&restored);
                let texts = read(engine, &image, Binarize::Hybrid);
                if !texts.is_empty() {
                    return texts;
                }
            }
        }
        Vec::new()
    }
}

/// What `engine` reads on `image`.
fn read(engine: Engine, image: &Grey, binarize: Binarize) -> Vec<String> {
    match engine {
        Engine::Zxing => engines::rxing(image, binarize, Effort::HardCpp),
        Engine::ZxingQuick => engines::rxing(image, binarize, Effort::Quick),
        #[cfg(feature = "cli")]
        Engine::ZxingJava => engines::rxing(image, binarize, Effort::Hard),
        #[cfg(feature = "rqrr")]
        Engine::Rqrr => engines::rqrr(image),
    }
}

/// A located code: a rectangle of the full-resolution photo around a finder-pattern triple,
/// with its quiet zone, and the module size there.
#[derive(Debug, Clone)]
struct Region {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
    module: f32,
}

impl Region {
    /// Aim at ~6 px a module; never shrink, never more than 4× (cost grows with the square).
    fn bilinear(&self, full: &Grey) -> Grey {
        let scale = (6.0 / self.module).clamp(1.0, 4.0);
        full.crop_scaled(self.x0, self.y0, self.x1, self.y1, scale)
    }

    /// Super-resolved: cubic enlargement to ~6 px a module (up to 5×: a 1.5 px module is the
    /// case this is for), then unsharp masking over about one original pixel, which undoes
    /// part of the lens and sensor blur that spread each module over its neighbours.
    fn sharp(&self, full: &Grey) -> Grey {
        let scale = (6.0 / self.module).clamp(1.0, 5.0);
        let plane = restore::crop_cubic(full, self.x0, self.y0, self.x1, self.y1, scale);
        restore::to_grey(&plane.sharpened(scale.max(1.5), 0.8))
    }
}
