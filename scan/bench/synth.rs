//! Synthetic phone photos of printed certificates, for the robustness benchmark
//! (`bench/generate.rs`) and the pipeline tests.
//!
//! The model, in the order light travels:
//! 1. **Page** (A4, millimetres): a certificate-like layout — title, lines of pseudo-glyphs,
//!    a decorative border, a red seal and the QR code in region E — described procedurally,
//!    so it can be sampled at any resolution.
//! 2. **Print**: a laser print with solid black, or a b/w print whose inks go through an
//!    ordered halftone screen at 300 or 600 dpi (toner saving, colour printed in grey).
//! 3. **Paper shape and camera**: a pinhole camera looks at the page plane, tilted about any
//!    in-page axis and rolled about the optical axis; the paper may curl or carry a crease
//!    (a height field along the page normal). Each photo pixel casts a ray, intersected with
//!    the (bent) page, supersampled.
//! 4. **Light and sensor**: illumination gradient, vignetting, a shadow edge, specular glare,
//!    exposure (low contrast), lens defocus and motion blur, sensor noise, sRGB gamma, and
//!    finally JPEG at the caller's quality.
//!
//! Everything is driven by [`Rng`], a SplitMix64 generator, so a seed names an image exactly.
// Shared by the generator example and the integration tests; each uses a different part.
#![allow(dead_code)]

use std::f64::consts::PI;

use image::{Rgb, RgbImage};

/// SplitMix64: tiny, fast, good enough for picking parameters, and the same everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next_u64() % items.len() as u64) as usize]
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * PI * v).cos()
    }
}

/// A QR module matrix, `true` = dark.
#[derive(Debug, Clone)]
pub struct Qr {
    pub size: usize,
    pub dark: Vec<bool>,
}

impl Qr {
    pub fn from_code(code: &qrcode::QrCode) -> Qr {
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        Qr {
            size: code.width(),
            dark,
        }
    }

    fn at(&self, x: i64, y: i64) -> bool {
        let n = self.size as i64;
        (0..n).contains(&x) && (0..n).contains(&y) && self.dark[(y * n + x) as usize]
    }
}

/// How the page was printed.
#[derive(Debug, Clone, Copy)]
pub enum Print {
    /// Solid black toner; `absorb` is how much light the black absorbs (0.9 for fresh toner,
    /// 0.4 for a faded or grey print).
    Laser { absorb: f64 },
    /// A b/w printer: every ink becomes a grey level scaled by `ink` (toner saving), then an
    /// ordered halftone screen at `dpi`; `clustered` picks a clustered-dot screen (laser) over
    /// a dispersed Bayer matrix (inkjet-like).
    Halftone { ink: f64, dpi: f64, clustered: bool },
}

/// Paper shape as a height field along the page normal, in millimetres.
#[derive(Debug, Clone, Copy)]
pub enum Bend {
    Flat,
    /// A sinusoidal curl across the page.
    Curl {
        amp_mm: f64,
        wavelength_mm: f64,
        angle: f64,
        phase: f64,
    },
    /// A fold line through `at` (page mm) at `angle`: the paper rises by `slope` per mm away
    /// from it on one side only, as a creased sheet lying half-flat does.
    Crease {
        at: (f64, f64),
        angle: f64,
        slope: f64,
    },
}

/// The printed page.
#[derive(Debug, Clone)]
pub struct Page {
    pub qr: Qr,
    /// Printed module size in mm (0.55 mm in the house layout).
    pub module_mm: f64,
    /// Top-left corner of the module grid (not of the quiet zone), page mm.
    pub qr_at: (f64, f64),
    /// Colour certificate (blue border, red seal) or plain black-and-white.
    pub colour: bool,
    pub print: Print,
    /// Paper reflectance per channel (slightly warm white).
    pub paper: [f64; 3],
    /// Picks the pseudo-glyphs.
    pub text_seed: u64,
}

pub const A4: (f64, f64) = (210.0, 297.0);

impl Page {
    /// The house layout: QR code of region E at the bottom right, quiet zone inside the page.
    pub fn certificate(qr: Qr, module_mm: f64, colour: bool, print: Print, seed: u64) -> Page {
        let side = qr.size as f64 * module_mm;
        Page {
            qr_at: (A4.0 - 28.0 - side, A4.1 - 34.0 - side),
            qr,
            module_mm,
            colour,
            print,
            paper: [0.93, 0.92, 0.89],
            text_seed: seed,
        }
    }

    /// Centre of the QR code in page mm.
    pub fn qr_centre(&self) -> (f64, f64) {
        let half = self.qr.size as f64 * self.module_mm / 2.0;
        (self.qr_at.0 + half, self.qr_at.1 + half)
    }

    /// Ink coverage at a page point: (black, red, blue), each 0..1, before printing.
    fn ink(&self, x: f64, y: f64) -> [f64; 3] {
        let (qx, qy) = self.qr_at;
        let side = self.qr.size as f64 * self.module_mm;
        let quiet = 4.0 * self.module_mm;
        if x >= qx - quiet && x < qx + side + quiet && y >= qy - quiet && y < qy + side + quiet {
            let mx = ((x - qx) / self.module_mm).floor() as i64;
            let my = ((y - qy) / self.module_mm).floor() as i64;
            return [f64::from(u8::from(self.qr.at(mx, my))), 0.0, 0.0];
        }
        // Decorative double border, 9 and 11 mm in from the edge.
        let edge = x.min(y).min(A4.0 - x).min(A4.1 - y);
        if (8.4..9.6).contains(&edge) || (10.8..11.2).contains(&edge) {
            return if self.colour {
                [0.0, 0.0, 0.85]
            } else {
                [0.8, 0.0, 0.0]
            };
        }
        // Seal (region F): a red ring with a star and a ring of glyphs.
        let (sx, sy, sr) = (62.0, 246.0, 21.0);
        let d = ((x - sx).powi(2) + (y - sy).powi(2)).sqrt();
        if d < sr {
            let red = if (sr - 1.4..sr).contains(&d) || star(x - sx, y - sy, 7.0) {
                0.9
            } else if (sr - 8.0..sr - 3.0).contains(&d) {
                let a = (y - sy).atan2(x - sx) + PI;
                let cell = (a / (2.0 * PI) * 28.0).floor();
                let u = (a / (2.0 * PI) * 28.0).fract();
                let v = (d - (sr - 8.0)) / 5.0;
                glyph(self.text_seed ^ 0xC0FFEE, cell as u64, u, v) * 0.9
            } else {
                0.0
            };
            if red > 0.0 {
                return if self.colour {
                    [0.0, red, 0.0]
                } else {
                    [red * 0.7, 0.0, 0.0]
                };
            }
        }
        [self.text(x, y), 0.0, 0.0]
    }

    /// Lines of pseudo-glyphs: a title, the body (regions B–D) and the issuer lines (F).
    fn text(&self, x: f64, y: f64) -> f64 {
        let lines: &[(f64, f64, f64, f64)] = &[
            // (top, height, left, right)
            (24.0, 10.0, 55.0, 155.0),
            (48.0, 4.5, 24.0, 186.0),
            (58.0, 4.5, 24.0, 170.0),
            (68.0, 4.5, 24.0, 150.0),
            (78.0, 4.5, 24.0, 186.0),
            (92.0, 4.5, 24.0, 120.0),
            (102.0, 4.5, 24.0, 186.0),
            (112.0, 4.5, 24.0, 160.0),
            (122.0, 4.5, 24.0, 186.0),
            (132.0, 4.5, 24.0, 140.0),
            (146.0, 4.5, 24.0, 186.0),
            (156.0, 4.5, 24.0, 175.0),
            (166.0, 4.5, 24.0, 100.0),
            (235.0, 4.5, 24.0, self.qr_at.0 - 14.0),
            (245.0, 4.5, 24.0, self.qr_at.0 - 14.0),
            (255.0, 4.5, 24.0, self.qr_at.0 - 30.0),
        ];
        for (i, &(top, h, left, right)) in lines.iter().enumerate() {
            if y >= top && y < top + h && x >= left && x < right {
                let pitch = h * 1.12;
                let cell = ((x - left) / pitch).floor();
                let u = ((x - left) - cell * pitch) / h;
                if u >= 1.0 {
                    return 0.0;
                }
                let v = (y - top) / h;
                return glyph(self.text_seed ^ (i as u64) << 20, cell as u64, u, v);
            }
        }
        0.0
    }

    /// Light reflected by the printed page at a point, per channel, 0..1.
    pub fn reflectance(&self, x: f64, y: f64) -> [f64; 3] {
        let [k, r, b] = self.ink(x, y);
        match self.print {
            Print::Laser { absorb } => {
                let p = self.paper;
                // Black absorbs everything; red ink absorbs green and blue; blue ink red/green.
                [
                    p[0] * (1.0 - absorb * k) * (1.0 - 0.75 * b),
                    p[1] * (1.0 - absorb * k) * (1.0 - 0.8 * r) * (1.0 - 0.55 * b),
                    p[2] * (1.0 - absorb * k) * (1.0 - 0.75 * r),
                ]
            }
            Print::Halftone {
                ink,
                dpi,
                clustered,
            } => {
                let grey = (k + 0.55 * r + 0.6 * b).min(1.0) * ink;
                let dots = dpi / 25.4;
                let (i, j) = ((x * dots).floor() as i64, (y * dots).floor() as i64);
                let threshold = if clustered {
                    clustered_threshold(i, j)
                } else {
                    bayer_threshold(i, j)
                };
                let on = if grey > threshold { 0.92 } else { 0.0 };
                self.paper.map(|p| p * (1.0 - on))
            }
        }
    }

    fn height(&self, bend: &Bend, x: f64, y: f64) -> f64 {
        match *bend {
            Bend::Flat => 0.0,
            Bend::Curl {
                amp_mm,
                wavelength_mm,
                angle,
                phase,
            } => {
                let s = x * angle.cos() + y * angle.sin();
                amp_mm * (2.0 * PI * s / wavelength_mm + phase).sin()
            }
            Bend::Crease { at, angle, slope } => {
                let s = (x - at.0) * -angle.sin() + (y - at.1) * angle.cos();
                s.max(0.0) * slope
            }
        }
    }
}

/// A five-pointed star of radius `r` around the origin.
fn star(x: f64, y: f64, r: f64) -> bool {
    let d = (x * x + y * y).sqrt();
    if d >= r {
        return false;
    }
    let a = y.atan2(x) + PI / 2.0;
    let sector = (a / (2.0 * PI / 5.0)).rem_euclid(1.0) - 0.5;
    d < r * (0.38 + 0.62 * (1.0 - 2.0 * sector.abs()).powi(2))
}

/// A pseudo CJK glyph: strokes on a 3×3 frame picked by a hash of (seed, cell); `u, v` in the
/// cell's unit square. Enough to give a page the edge density of real text.
fn glyph(seed: u64, cell: u64, u: f64, v: f64) -> f64 {
    let mut rng = Rng::new(seed.wrapping_mul(31).wrapping_add(cell));
    let mask = rng.next_u64();
    let t = 0.08;
    let mut hit = false;
    for (bit, pos) in [0.12, 0.5, 0.88].iter().enumerate() {
        if mask >> bit & 1 == 1 || bit == 1 && mask >> 9 & 1 == 1 {
            hit |= (v - pos).abs() < t && (0.08..0.92).contains(&u);
        }
        if mask >> (bit + 3) & 1 == 1 {
            hit |= (u - pos).abs() < t && (0.06..0.94).contains(&v);
        }
    }
    if mask >> 6 & 1 == 1 {
        hit |= (u - v).abs() < t * 1.2;
    }
    if mask >> 7 & 1 == 1 {
        hit |= (u + v - 1.0).abs() < t * 1.2 && u < 0.5;
    }
    f64::from(u8::from(hit))
}

fn bayer_threshold(i: i64, j: i64) -> f64 {
    const B: [[u8; 4]; 4] = [[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]];
    (f64::from(B[j.rem_euclid(4) as usize][i.rem_euclid(4) as usize]) + 0.5) / 16.0
}

/// A 45° clustered-dot screen: dots grow from cell centres.
fn clustered_threshold(i: i64, j: i64) -> f64 {
    let period = 6.0;
    let (u, v) = ((i + j) as f64 / period, (i - j) as f64 / period);
    let (du, dv) = (u - u.round(), v - v.round());
    // Distance from the dot centre, 0..~0.7, mapped to a threshold 0..1.
    ((du * du + dv * dv).sqrt() / 0.71).min(0.999)
}

/// Where the camera is and what the sensor does.
#[derive(Debug, Clone)]
pub struct Shot {
    pub width: u32,
    pub height: u32,
    /// Focal length in pixels (0.72 × the long side is a phone's main camera).
    pub focal: f64,
    /// Pixels a module at the code centre, before foreshortening.
    pub px_per_module: f64,
    /// Where the code centre lands in the photo.
    pub centre: (f64, f64),
    pub roll_deg: f64,
    pub tilt_deg: f64,
    pub tilt_axis_deg: f64,
    pub bend: Bend,
    /// Subsamples a pixel side (2 → 4 rays a pixel).
    pub supersample: u32,
    pub light: Light,
    /// Gaussian defocus in pixels.
    pub blur_sigma: f64,
    /// Lens defocus as a real lens makes it: a uniform disc of this radius in pixels (0:
    /// none). Unlike a Gaussian, its spectrum has zeros, so fine detail comes out with
    /// contrast reversed, not just faded.
    pub disc_radius: f64,
    /// Motion blur: length in pixels and direction.
    pub motion: Option<(f64, f64)>,
    /// Sensor noise, in 8-bit steps.
    pub noise: f64,
}

/// Illumination and exposure.
#[derive(Debug, Clone, Copy)]
pub struct Light {
    pub level: f64,
    /// Linear gradient across the frame: strength and direction.
    pub gradient: (f64, f64),
    pub vignette: f64,
    /// A shadow edge (the phone or a hand): darkness, position along the normal (fraction of
    /// the frame), direction, softness in pixels.
    pub shadow: Option<(f64, f64, f64, f64)>,
    /// Specular glare: centre (px), radius (px), strength 0..1.
    pub glare: Option<((f64, f64), f64, f64)>,
    /// Exposure: output = black + gain × input (low contrast lifts black and lowers gain).
    pub black: f64,
    pub gain: f64,
    /// Colour cast per channel.
    pub tint: [f64; 3],
}

impl Default for Light {
    fn default() -> Light {
        Light {
            level: 1.0,
            gradient: (0.0, 0.0),
            vignette: 0.0,
            shadow: None,
            glare: None,
            black: 0.0,
            gain: 1.0,
            tint: [1.0, 1.0, 1.0],
        }
    }
}

impl Shot {
    /// A frontal, sharp shot of the code at `px_per_module` centred in a `width`×`height`
    /// frame: the starting point the callers vary.
    pub fn frontal(width: u32, height: u32, px_per_module: f64) -> Shot {
        Shot {
            width,
            height,
            focal: 0.72 * f64::from(width.max(height)),
            px_per_module,
            centre: (f64::from(width) / 2.0, f64::from(height) / 2.0),
            roll_deg: 0.0,
            tilt_deg: 0.0,
            tilt_axis_deg: 0.0,
            bend: Bend::Flat,
            supersample: 2,
            light: Light::default(),
            blur_sigma: 0.0,
            disc_radius: 0.0,
            motion: None,
            noise: 0.0,
        }
    }
}

/// Rotation matrix (rows) for a tilt about an in-page axis followed by a roll about the
/// optical axis.
fn rotation(roll: f64, tilt: f64, axis: f64) -> [[f64; 3]; 3] {
    let (ax, ay) = (axis.cos(), axis.sin());
    let (c, s) = (tilt.cos(), tilt.sin());
    // Rodrigues about (ax, ay, 0).
    let t = [
        [c + ax * ax * (1.0 - c), ax * ay * (1.0 - c), ay * s],
        [ay * ax * (1.0 - c), c + ay * ay * (1.0 - c), -ax * s],
        [-ay * s, ax * s, c],
    ];
    let (cr, sr) = (roll.cos(), roll.sin());
    let z = [[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]];
    let mut m = [[0.0; 3]; 3];
    for (i, row) in m.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            *cell = (0..3).map(|k| z[i][k] * t[k][j]).sum();
        }
    }
    m
}

/// The photo of `page` taken as `shot` describes, as linear-light RGB in 0..1 before noise
/// and gamma; see [`finish`].
pub fn expose(page: &Page, shot: &Shot) -> Vec<[f32; 3]> {
    let (w, h) = (shot.width as usize, shot.height as usize);
    let r = rotation(
        shot.roll_deg.to_radians(),
        shot.tilt_deg.to_radians(),
        shot.tilt_axis_deg.to_radians(),
    );
    let col = |j: usize| [r[0][j], r[1][j], r[2][j]];
    let (r1, r2, n) = (col(0), col(1), col(2));
    let dot = |a: [f64; 3], b: [f64; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    let (ppx, ppy) = (w as f64 / 2.0, h as f64 / 2.0);
    let f = shot.focal;
    let z = f * page.module_mm / shot.px_per_module;
    let t = [
        (shot.centre.0 - ppx) * z / f,
        (shot.centre.1 - ppy) * z / f,
        z,
    ];
    let (qcx, qcy) = page.qr_centre();
    let nt = dot(n, t);
    let ss = shot.supersample.max(1);
    let inv = 1.0 / f64::from(ss * ss);
    // A dark, slightly textured desk around the page.
    let desk = |x: f64, y: f64| {
        let v = 0.18 + 0.04 * ((x * 0.013).sin() * (y * 0.021).cos());
        [v * 1.1, v, v * 0.85]
    };
    let mut out = vec![[0f32; 3]; w * h];
    std::thread::scope(|scope| {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let rows_per = h.div_ceil(threads).max(1);
        for (chunk_index, chunk) in out.chunks_mut(rows_per * w).enumerate() {
            let desk = &desk;
            scope.spawn(move || {
                for (k, px) in chunk.iter_mut().enumerate() {
                    let (x, y) = (k % w, chunk_index * rows_per + k / w);
                    let mut acc = [0.0; 3];
                    for sy in 0..ss {
                        for sx in 0..ss {
                            let fx = x as f64 + (f64::from(sx) + 0.5) / f64::from(ss);
                            let fy = y as f64 + (f64::from(sy) + 0.5) / f64::from(ss);
                            let d = [(fx - ppx) / f, (fy - ppy) / f, 1.0];
                            let nd = dot(n, d);
                            let mut sample = desk(fx, fy);
                            if nd.abs() > 1e-9 {
                                // Intersect the ray with the page plane lifted by the paper's
                                // height at the previous estimate; three rounds converge for
                                // gentle bends.
                                let mut lift = 0.0;
                                let mut hit = None;
                                for _ in 0..3 {
                                    let s = (nt + lift) / nd;
                                    if s <= 0.0 {
                                        hit = None;
                                        break;
                                    }
                                    let rel = [s * d[0] - t[0], s * d[1] - t[1], s * d[2] - t[2]];
                                    let (px_, py_) = (dot(r1, rel) + qcx, dot(r2, rel) + qcy);
                                    hit = Some((px_, py_));
                                    if matches!(shot.bend, Bend::Flat) {
                                        break;
                                    }
                                    lift = page.height(&shot.bend, px_, py_);
                                }
                                if let Some((u, v)) = hit
                                    && (0.0..A4.0).contains(&u)
                                    && (0.0..A4.1).contains(&v)
                                {
                                    sample = page.reflectance(u, v);
                                }
                            }
                            for c in 0..3 {
                                acc[c] += sample[c];
                            }
                        }
                    }
                    *px = acc.map(|a| (a * inv) as f32);
                }
            });
        }
    });
    out
}

/// Light, blur, noise and gamma: the linear image from [`expose`] becomes an 8-bit photo.
pub fn finish(mut img: Vec<[f32; 3]>, shot: &Shot, rng: &mut Rng) -> RgbImage {
    let (w, h) = (shot.width as usize, shot.height as usize);
    let l = &shot.light;
    let diag = ((w * w + h * h) as f64).sqrt();
    for (k, px) in img.iter_mut().enumerate() {
        let (x, y) = ((k % w) as f64, (k / w) as f64);
        let (cx, cy) = (x - w as f64 / 2.0, y - h as f64 / 2.0);
        let along = (cx * l.gradient.1.cos() + cy * l.gradient.1.sin()) / diag;
        let r2 = (cx * cx + cy * cy) / (diag * diag / 4.0);
        let mut light = l.level * (1.0 + l.gradient.0 * along) * (1.0 - l.vignette * r2);
        if let Some((dark, pos, dir, soft)) = l.shadow {
            let s = (x - w as f64 * pos) * dir.cos() + (y - h as f64 * pos) * dir.sin();
            light *= 1.0 - dark / (1.0 + (-s / soft).exp());
        }
        let glare = l.glare.map_or(0.0, |((gx, gy), radius, strength)| {
            let d2 = (x - gx).powi(2) + (y - gy).powi(2);
            strength * (-d2 / (2.0 * radius * radius)).exp()
        });
        for (channel, tint) in px.iter_mut().zip(l.tint) {
            let v = f64::from(*channel) * light * tint;
            // Glare is light reflected off the paper surface: it adds to dark and light alike.
            let v = v + glare * (1.2 - v).max(0.0);
            *channel = (l.black + l.gain * v) as f32;
        }
    }
    if shot.blur_sigma > 0.05 {
        gaussian(&mut img, w, h, shot.blur_sigma);
    }
    if shot.disc_radius > 0.3 {
        disc(&mut img, w, h, shot.disc_radius);
    }
    if let Some((len, angle)) = shot.motion {
        motion(&mut img, w, h, len, angle);
    }
    // Gamma through a table: powf per channel and pixel dominated the run time.
    const STEPS: usize = 4096;
    let gamma: Vec<f32> = (0..=STEPS)
        .map(|i| ((i as f64 / STEPS as f64).powf(1.0 / 2.2) * 255.0) as f32)
        .collect();
    let mut out = RgbImage::new(shot.width, shot.height);
    for (k, px) in img.iter().enumerate() {
        let mut rgb = [0u8; 3];
        for c in 0..3 {
            let v = gamma[(px[c].clamp(0.0, 1.0) * STEPS as f32) as usize];
            // Irwin–Hall: the sum of four uniforms, centred and scaled to unit variance, is
            // close enough to a normal for sensor noise and far cheaper than Box–Muller.
            let n = (rng.unit() + rng.unit() + rng.unit() + rng.unit() - 2.0) * 3f64.sqrt();
            rgb[c] = (f64::from(v) + shot.noise * n).round().clamp(0.0, 255.0) as u8;
        }
        out.put_pixel((k % w) as u32, (k / w) as u32, Rgb(rgb));
    }
    out
}

fn gaussian(img: &mut [[f32; 3]], w: usize, h: usize, sigma: f64) {
    let radius = (sigma * 3.0).ceil() as i64;
    let mut kernel: Vec<f32> = (-radius..=radius)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp() as f32)
        .collect();
    let sum: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|k| *k /= sum);
    let mut tmp = vec![[0f32; 3]; w * h];
    for y in 0..h {
        for x in 0..w {
            let mut acc = [0f32; 3];
            for (i, k) in kernel.iter().enumerate() {
                let sx = (x as i64 + i as i64 - radius).clamp(0, w as i64 - 1) as usize;
                let p = img[y * w + sx];
                for c in 0..3 {
                    acc[c] += k * p[c];
                }
            }
            tmp[y * w + x] = acc;
        }
    }
    for y in 0..h {
        for x in 0..w {
            let mut acc = [0f32; 3];
            for (i, k) in kernel.iter().enumerate() {
                let sy = (y as i64 + i as i64 - radius).clamp(0, h as i64 - 1) as usize;
                let p = tmp[sy * w + x];
                for c in 0..3 {
                    acc[c] += k * p[c];
                }
            }
            img[y * w + x] = acc;
        }
    }
}

/// Averages over a disc of radius `r` pixels (edges clamped): one horizontal span a row of
/// the disc, each span a difference of a row's prefix sums, so the cost grows with the
/// radius, not its square. The rim rows are weighted by how much of them the disc covers.
fn disc(img: &mut [[f32; 3]], w: usize, h: usize, r: f64) {
    let reach = r.ceil() as i64;
    // (row offset, half-width, weight) per row of the disc.
    let rows: Vec<(i64, i64, f64)> = (-reach..=reach)
        .filter_map(|dy| {
            let half = (r * r - (dy * dy) as f64).max(0.0).sqrt();
            let weight = (r + 0.5 - (dy.abs() as f64)).clamp(0.0, 1.0);
            (weight > 0.0).then(|| (dy, half.round() as i64, weight))
        })
        .collect();
    let total: f64 = rows
        .iter()
        .map(|&(_, half, wt)| (2 * half + 1) as f64 * wt)
        .sum();
    // Prefix sums per row and channel (f64: a 4000-pixel row of f32 would lose the low bits).
    let mut prefix = vec![[0f64; 3]; (w + 1) * h];
    for y in 0..h {
        for x in 0..w {
            let p = img[y * w + x];
            let before = prefix[y * (w + 1) + x];
            prefix[y * (w + 1) + x + 1] = [0, 1, 2].map(|c| before[c] + f64::from(p[c]));
        }
    }
    let (wi, hi) = (w as i64, h as i64);
    for y in 0..hi {
        for x in 0..wi {
            let mut acc = [0f64; 3];
            for &(dy, half, weight) in &rows {
                let sy = (y + dy).clamp(0, hi - 1) as usize;
                let row = &prefix[sy * (w + 1)..(sy + 1) * (w + 1)];
                let (a, b) = (x - half, x + half);
                // Inside the image: one difference; clamped ends repeat the edge pixel.
                let (ca, cb) = (a.clamp(0, wi - 1), b.clamp(0, wi - 1));
                let inner = [0, 1, 2].map(|c| row[cb as usize + 1][c] - row[ca as usize][c]);
                let first = [0, 1, 2].map(|c| row[1][c] - row[0][c]);
                let last = [0, 1, 2].map(|c| row[w][c] - row[w - 1][c]);
                let (left, right) = ((-a).max(0) as f64, (b - (wi - 1)).max(0) as f64);
                for c in 0..3 {
                    acc[c] += weight * (inner[c] + left * first[c] + right * last[c]);
                }
            }
            img[(y as usize) * w + x as usize] = acc.map(|a| (a / total) as f32);
        }
    }
}

/// Averages along a line of `len` pixels (nearest-pixel taps, one a pixel).
fn motion(img: &mut [[f32; 3]], w: usize, h: usize, len: f64, angle: f64) {
    let taps = len.round().max(1.0) as i64;
    let (dx, dy) = (angle.cos(), angle.sin());
    let src = img.to_vec();
    for y in 0..h {
        for x in 0..w {
            let mut acc = [0f32; 3];
            for t in 0..taps {
                let o = t as f64 - (taps - 1) as f64 / 2.0;
                let sx = (x as f64 + o * dx).round().clamp(0.0, w as f64 - 1.0) as usize;
                let sy = (y as f64 + o * dy).round().clamp(0.0, h as f64 - 1.0) as usize;
                let p = src[sy * w + sx];
                for c in 0..3 {
                    acc[c] += p[c];
                }
            }
            img[y * w + x] = acc.map(|a| a / taps as f32);
        }
    }
}

/// [`expose`] then [`finish`].
pub fn photograph(page: &Page, shot: &Shot, rng: &mut Rng) -> RgbImage {
    finish(expose(page, shot), shot, rng)
}

/// A quick frontal photo of a bare code: `qr` printed as it is (no certificate around it) at
/// `px_per_module` in a `width`×`height` frame, rolled by `roll_deg`, blurred by `blur`.
/// What the unit tests start from.
pub fn simple_photo(
    qr: Qr,
    width: u32,
    height: u32,
    px_per_module: f64,
    roll_deg: f64,
    blur: f64,
) -> RgbImage {
    let page = Page::certificate(qr, 0.6, false, Print::Laser { absorb: 0.92 }, 1);
    let mut shot = Shot::frontal(width, height, px_per_module);
    shot.roll_deg = roll_deg;
    shot.blur_sigma = blur;
    shot.noise = 1.0;
    photograph(&page, &shot, &mut Rng::new(7))
}
