//! Generates the robustness benchmark: synthetic phone photos of printed certificates whose
//! QR codes carry real signed payloads (version 11–12, level M), in twelve categories.
//!
//! ```sh
//! cargo run --release -p zizhi-scan --example generate -- scan/bench/out [PER_CATEGORY [SET]]
//! ```
//!
//! `SET` (default 0) picks another family of seeds: set 1 is a held-out set for checking that
//! a change to the pipeline helps photos it was not measured on; set 2 is the never-tuned
//! set (nothing in the pipeline was chosen or looked at on it, only its final table).
//! `CATEGORIES` (comma-separated) limits the run to some categories; seeds stay the same.
//!
//! Writes `OUT/<category>/<nnn>.jpg` and `OUT/truth.tsv` (`file<TAB>category<TAB>text`).
//! Deterministic: the same arguments give the same files byte for byte.
//!
//! Every photo starts from a base that is an ordinary phone shot (a few degrees of tilt and
//! roll, mild defocus, sensor noise, JPEG 75–92); each category then pushes one factor to its
//! hard end, and `mixed` combines several at moderate strength.

#[path = "synth.rs"]
mod synth;

use std::f64::consts::PI;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use image::codecs::jpeg::JpegEncoder;
use synth::{Bend, Light, Page, Print, Qr, Rng, Shot};
use zizhi_shared::{Claims, IssuerKey, KeyId, QrText};

/// The benchmark's categories, in report order.
const CATEGORIES: &[&str] = &[
    "perspective",
    "rotation",
    "small",
    "blur",
    "light",
    "lowcontrast",
    "jpeg",
    "dither",
    "warp",
    "mixed",
    "distance",
    "defocus",
];

/// A host of a realistic length: with it the example payloads land at QR version 11–12.
const HOSTS: &[&str] = &["ZZ.ZJW.SH.GOV.CN", "ZIZHI.ZJW.SHANGHAI.GOV.CN"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "scan/bench/out".into()));
    let per: usize = args.next().map_or(Ok(40), |s| s.parse())?;
    let set: u64 = args.next().map_or(Ok(0), |s| s.parse())?;
    let only: Option<Vec<String>> = args
        .next()
        .map(|s| s.split(',').map(str::to_owned).collect());
    let mut truth = String::new();
    for (ci, category) in CATEGORIES.iter().enumerate() {
        if only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|c| c == category))
        {
            continue;
        }
        std::fs::create_dir_all(out.join(category))?;
        for i in 0..per {
            let seed = set << 48 | (ci as u64) << 32 | i as u64;
            let (text, version) = payload(seed)?;
            let mut rng = Rng::new(seed);
            let (page, shot, quality) = scene(category, text_qr(&text)?, &mut rng);
            let photo = synth::photograph(&page, &shot, &mut rng);
            let rel = format!("{category}/{i:03}.jpg");
            write_jpeg(&out.join(&rel), &photo, quality)?;
            writeln!(truth, "{rel}\t{category}\t{text}")?;
            eprintln!(
                "{rel}: V{version} {}x{} {:.1} px/module, tilt {:.0}°, roll {:.0}°, blur {:.1}, disc {:.1}, q{quality}",
                shot.width,
                shot.height,
                shot.px_per_module,
                shot.tilt_deg,
                shot.roll_deg,
                shot.blur_sigma,
                shot.disc_radius
            );
        }
    }
    std::fs::write(out.join("truth.tsv"), truth)?;
    Ok(())
}

/// A signed example payload (usage or approval copy) under a per-image key, so every image
/// carries different bits at the same real size.
fn payload(seed: u64) -> Result<(String, i16), Box<dyn std::error::Error>> {
    let mut key_seed = [0u8; 32];
    key_seed[..8].copy_from_slice(&seed.to_le_bytes());
    let key = IssuerKey::from_seed(KeyId::new(*b"SH01"), key_seed);
    let mut rng = Rng::new(seed ^ 0xA11CE);
    let claims = if rng.chance(0.6) {
        Claims::example_usage()
    } else {
        Claims::example_approval()
    };
    let host: &&str = rng.pick(HOSTS);
    let text = QrText::encode(host, &claims.sign(&key));
    let version = zizhi_shared::render::qr_version(&text)?;
    Ok((text, version))
}

fn text_qr(text: &str) -> Result<Qr, zizhi_shared::render::RenderError> {
    Ok(Qr::from_code(&zizhi_shared::render::qr_code(text)?))
}

/// Page, camera and JPEG quality for one image of `category`.
fn scene(category: &str, qr: Qr, rng: &mut Rng) -> (Page, Shot, u8) {
    let colour = rng.chance(0.5);
    let module_mm = rng.range(0.52, 0.62);
    let mut print = Print::Laser {
        absorb: rng.range(0.86, 0.95),
    };
    let (mut w, mut h) = *rng.pick(&[(1280, 960), (1600, 1200), (2016, 1512), (2560, 1920)]);
    let mut ppm = rng.range(3.0, 7.0);
    let mut roll = rng.range(-25.0, 25.0);
    let mut tilt = rng.range(0.0, 12.0);
    let mut bend = Bend::Flat;
    let mut blur = rng.range(0.4, 0.9);
    let mut disc = 0.0;
    let mut motion = None;
    let mut noise = rng.range(1.0, 3.0);
    let mut quality = rng.range(75.0, 92.0);
    let mut light = Light {
        level: rng.range(0.8, 1.05),
        gradient: (rng.range(0.0, 0.3), rng.range(0.0, 2.0 * PI)),
        vignette: rng.range(0.0, 0.3),
        tint: [rng.range(0.95, 1.05), 1.0, rng.range(0.88, 1.02)],
        ..Light::default()
    };

    // `mixed` draws two or three of the other factors at moderate strength.
    let factors: Vec<&str> = if category == "mixed" {
        let mut all = vec![
            "perspective",
            "blur",
            "light",
            "lowcontrast",
            "jpeg",
            "dither",
            "warp",
        ];
        let n = 2 + usize::from(rng.chance(0.5));
        (0..n)
            .map(|_| all.remove((rng.next_u64() % all.len() as u64) as usize))
            .collect()
    } else {
        vec![category]
    };
    let strength = if category == "mixed" { 0.6 } else { 1.0 };
    let lerp = |rng: &mut Rng, lo: f64, hi: f64| lo + (hi - lo) * rng.unit() * strength;

    for factor in factors {
        match factor {
            "perspective" => tilt = 10.0 + lerp(rng, 0.0, 25.0),
            "rotation" => roll = rng.range(0.0, 360.0),
            "small" => {
                (w, h) = *rng.pick(&[(3264, 2448), (4032, 3024)]);
                ppm = rng.range(2.2, 3.4);
            }
            "blur" => {
                ppm = rng.range(4.0, 8.0);
                blur = ppm * lerp(rng, 0.18, 0.42);
                if rng.chance(0.4) {
                    motion = Some((ppm * lerp(rng, 0.4, 1.2), rng.range(0.0, PI)));
                }
            }
            "light" => {
                light.gradient = (lerp(rng, 0.4, 0.9), rng.range(0.0, 2.0 * PI));
                if rng.chance(0.6) {
                    light.shadow = Some((
                        lerp(rng, 0.3, 0.7),
                        rng.range(0.35, 0.65),
                        rng.range(0.0, 2.0 * PI),
                        rng.range(5.0, 60.0),
                    ));
                }
                if rng.chance(0.7) {
                    // Over or near the code: the inspector's phone light reflects off it.
                    let side = 73.0 * ppm;
                    let at = (rng.range(-0.6, 0.6) * side, rng.range(-0.6, 0.6) * side);
                    light.glare = Some((at, side * rng.range(0.15, 0.5), lerp(rng, 0.4, 0.95)));
                }
            }
            "lowcontrast" => {
                print = Print::Laser {
                    absorb: rng.range(0.35, 0.6),
                };
                light.black = lerp(rng, 0.1, 0.3);
                light.gain = 1.0 - lerp(rng, 0.3, 0.55);
                light.level *= rng.range(0.6, 1.0);
                noise = rng.range(2.0, 4.0);
            }
            "jpeg" => {
                quality = 60.0 - lerp(rng, 0.0, 30.0);
                ppm = rng.range(2.8, 5.0);
            }
            "dither" => {
                print = Print::Halftone {
                    ink: 1.0 - lerp(rng, 0.15, 0.55),
                    dpi: *rng.pick(&[300.0, 600.0]),
                    clustered: rng.chance(0.5),
                };
                ppm = rng.range(3.0, 6.0);
            }
            "warp" => {
                bend = if rng.chance(0.5) {
                    Bend::Curl {
                        amp_mm: lerp(rng, 2.0, 8.0),
                        wavelength_mm: rng.range(60.0, 200.0),
                        angle: rng.range(0.0, PI),
                        phase: rng.range(0.0, 2.0 * PI),
                    }
                } else {
                    Bend::Crease {
                        // Through the code area (a sheet folded in four creases near it).
                        at: (
                            A4_QR_CENTRE.0 + rng.range(-15.0, 15.0),
                            A4_QR_CENTRE.1 + rng.range(-15.0, 15.0),
                        ),
                        angle: rng.range(0.0, PI),
                        slope: lerp(rng, 0.1, 0.35),
                    }
                };
                tilt = rng.range(5.0, 20.0);
            }
            "distance" => {
                // The whole sheet from a few steps away: a large photo, the code a small
                // part of it.
                (w, h) = *rng.pick(&[(3264, 2448), (4032, 3024)]);
                ppm = rng.range(1.5, 4.0);
            }
            "defocus" => {
                // The camera focused on something nearer or farther: a disc, sometimes a
                // Gaussian, of 1–6 px, never much wider than a module (beyond that the code
                // is gone for any decoder).
                ppm = rng.range(3.5, 8.0);
                let radius = rng.range(1.0, 6.0f64.min(0.85 * ppm));
                if rng.chance(0.7) {
                    disc = radius;
                    blur = rng.range(0.3, 0.6);
                } else {
                    blur = 0.6 * radius;
                }
            }
            _ => unreachable!("unknown category {factor}"),
        }
    }

    let mut page = Page::certificate(qr, module_mm, colour, print, rng.next_u64());
    page.paper = [
        rng.range(0.88, 0.96),
        rng.range(0.88, 0.95),
        rng.range(0.84, 0.93),
    ];
    if rng.chance(0.5) {
        std::mem::swap(&mut w, &mut h);
    }
    // Keep the whole code (with room for tilt) inside the frame.
    let extent = (page.qr.size as f64 + 8.0) * ppm;
    let fit = 0.8 * f64::from(w.min(h)) / extent;
    if fit < 1.0 {
        ppm *= fit;
    }
    let extent = (page.qr.size as f64 + 8.0) * ppm * 0.75;
    let centre = (
        rng.range(extent, f64::from(w) - extent),
        rng.range(extent, f64::from(h) - extent),
    );
    if let Some((at, r, s)) = light.glare {
        light.glare = Some(((centre.0 + at.0, centre.1 + at.1), r, s));
    }
    let shot = Shot {
        width: w,
        height: h,
        focal: rng.range(0.72, 1.0) * f64::from(w.max(h)),
        px_per_module: ppm,
        centre,
        roll_deg: roll,
        tilt_deg: tilt,
        tilt_axis_deg: rng.range(0.0, 360.0),
        bend,
        supersample: if matches!(print, Print::Halftone { .. }) {
            3
        } else {
            2
        },
        light,
        blur_sigma: blur,
        disc_radius: disc,
        motion,
        noise,
    };
    (page, shot, quality.round() as u8)
}

/// Centre of the code on the house layout for a V11–12 code at ~0.57 mm a module; the crease
/// only needs to pass near it.
const A4_QR_CENTRE: (f64, f64) = (163.0, 245.0);

fn write_jpeg(path: &Path, img: &image::RgbImage, quality: u8) -> image::ImageResult<()> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    JpegEncoder::new_with_quality(file, quality).encode_image(img)
}
