//! The decode pipeline on generated photos: each case a property a phone scan relies on.

#[path = "../bench/synth.rs"]
mod synth;

use image::{DynamicImage, GenericImage, GrayImage, Luma, RgbImage};
use synth::{Qr, Rng};
use zizhi_scan::{ScanResult, decode, decode_frame, decode_luma, decode_rgba};
use zizhi_shared::{Claims, IssuerKey, KeyId, QrText};

/// A real usage-copy payload (version 11–12 at level M, as printed).
fn our_text() -> String {
    let key = IssuerKey::from_seed(KeyId::new(*b"SH01"), [7; 32]);
    QrText::encode("ZZ.ZJW.SH.GOV.CN", &Claims::example_usage().sign(&key))
}

fn our_qr() -> Qr {
    Qr::from_code(&zizhi_shared::render::qr_code(&our_text()).unwrap())
}

const OTHER: &str = "WIFI:S:SITE-OFFICE;T:WPA;P:CONCRETE-2026;;";

fn other_qr() -> Qr {
    Qr::from_code(&qrcode::QrCode::new(OTHER.as_bytes()).unwrap())
}

fn scan(img: RgbImage) -> ScanResult {
    decode(&DynamicImage::ImageRgb8(img))
}

fn assert_ours(result: &ScanResult) {
    assert_eq!(
        result.ours.as_deref(),
        Some(our_text().as_str()),
        "{result:?}"
    );
}

#[test]
fn a_clean_code_decodes_on_the_first_attempt() {
    let result = scan(synth::simple_photo(our_qr(), 560, 560, 5.0, 0.0, 0.6));
    assert_ours(&result);
    assert_eq!(result.attempts, 1);
    assert!(result.others.is_empty());
}

#[test]
fn a_code_at_any_rotation_decodes() {
    for roll in [37.0, 180.0, 290.0] {
        assert_ours(&scan(synth::simple_photo(
            our_qr(),
            640,
            640,
            4.5,
            roll,
            0.6,
        )));
    }
}

#[test]
fn a_light_on_dark_code_decodes() {
    let mut img = synth::simple_photo(our_qr(), 560, 560, 5.0, 10.0, 0.6);
    image::imageops::invert(&mut img);
    assert_ours(&scan(img));
}

#[test]
fn a_small_code_in_a_large_photo_decodes() {
    // 2.6 px a module in a 12-megapixel-like frame, scaled down to keep the test quick.
    assert_ours(&scan(synth::simple_photo(
        our_qr(),
        2400,
        1800,
        2.6,
        8.0,
        0.6,
    )));
}

#[test]
fn a_blurred_code_decodes() {
    assert_ours(&scan(synth::simple_photo(
        our_qr(),
        720,
        720,
        6.0,
        -12.0,
        1.8,
    )));
}

#[test]
fn a_tilted_dimly_lit_certificate_decodes() {
    let page =
        synth::Page::certificate(our_qr(), 0.55, true, synth::Print::Laser { absorb: 0.6 }, 3);
    let mut shot = synth::Shot::frontal(900, 900, 4.0);
    shot.tilt_deg = 25.0;
    shot.tilt_axis_deg = 30.0;
    shot.blur_sigma = 0.8;
    shot.noise = 2.0;
    shot.light.gain = 0.6;
    shot.light.black = 0.15;
    assert_ours(&scan(synth::photograph(&page, &shot, &mut Rng::new(3))));
}

#[test]
fn another_qr_code_is_reported_in_others_not_as_ours() {
    let result = scan(synth::simple_photo(other_qr(), 400, 400, 5.0, 0.0, 0.5));
    assert_eq!(result.ours, None);
    assert_eq!(result.others, vec![OTHER.to_owned()]);
    // Without a code of ours the pipeline does not stop at the first code it reads.
    assert!(result.attempts > 1, "{result:?}");
}

#[test]
fn ours_is_found_next_to_another_code() {
    let left = synth::simple_photo(other_qr(), 400, 560, 5.0, 0.0, 0.5);
    let right = synth::simple_photo(our_qr(), 560, 560, 5.0, 0.0, 0.5);
    let mut both = RgbImage::new(960, 560);
    both.copy_from(&left, 0, 0).unwrap();
    both.copy_from(&right, 400, 0).unwrap();
    let result = scan(both);
    assert_ours(&result);
    assert!(result.others.iter().all(|t| t == OTHER), "{result:?}");
}

#[test]
fn noise_and_blank_frames_give_nothing() {
    let mut rng = Rng::new(11);
    let noise = GrayImage::from_fn(640, 480, |_, _| Luma([(rng.next_u64() & 0xff) as u8]));
    let result = decode(&DynamicImage::ImageLuma8(noise));
    assert_eq!((result.ours, result.others.len()), (None, 0));
    let blank = decode_luma(320, 240, &vec![255; 320 * 240]);
    assert_eq!(blank.ours, None);
}

#[test]
fn tiny_empty_and_short_inputs_never_panic() {
    assert_eq!(decode_luma(0, 0, &[]), ScanResult::default());
    assert_eq!(decode_luma(10, 10, &[0; 50]), ScanResult::default());
    assert_eq!(
        decode_luma(u32::MAX, u32::MAX, &[0; 16]),
        ScanResult::default()
    );
    assert_eq!(decode_rgba(4, 4, &[0; 63]), ScanResult::default());
    for (w, h) in [(1, 1), (2, 1), (1, 300), (21, 21), (25, 3), (300, 1)] {
        for fill in [0u8, 128, 255] {
            let r = decode_luma(w, h, &vec![fill; (w * h) as usize]);
            assert_eq!(r.ours, None);
        }
    }
    let one = decode(&DynamicImage::new_rgb8(1, 1));
    assert_eq!(one.ours, None);
    let zero = decode(&DynamicImage::new_luma8(0, 0));
    assert_eq!(zero, ScanResult::default());
}

#[test]
fn rgba_frames_decode_like_the_same_image() {
    let img = synth::simple_photo(our_qr(), 480, 480, 4.0, 20.0, 0.6);
    let rgba = DynamicImage::ImageRgb8(img).to_rgba8();
    assert_ours(&decode_rgba(rgba.width(), rgba.height(), rgba.as_raw()));
    // The camera-frame entry point makes only the cheap attempts.
    let frame = decode_frame(rgba.width(), rgba.height(), rgba.as_raw());
    assert_ours(&frame);
    let blank = vec![255u8; 64 * 64 * 4];
    let none = decode_frame(64, 64, &blank);
    assert!(none.ours.is_none() && none.attempts <= zizhi_scan::pipeline::QUICK.len());
}

/// A camera frame (1280×720) of the code, defocused into a disc of `disc` px, with sensor
/// noise `noise`, the noise drawn from `seed`: consecutive frames of a steady phone.
fn frame(ppm: f64, disc: f64, noise: f64, seed: u64) -> zizhi_scan::grey::Grey {
    let page = synth::Page::certificate(
        our_qr(),
        0.55,
        false,
        synth::Print::Laser { absorb: 0.9 },
        5,
    );
    let mut shot = synth::Shot::frontal(1280, 720, ppm);
    shot.roll_deg = 6.0;
    shot.tilt_deg = 8.0;
    shot.tilt_axis_deg = 40.0;
    shot.blur_sigma = 0.5;
    shot.disc_radius = disc;
    shot.noise = noise;
    let img = synth::photograph(&page, &shot, &mut Rng::new(seed));
    zizhi_scan::to_grey(&DynamicImage::ImageRgb8(img)).unwrap()
}

#[test]
fn a_defocused_code_is_read_by_deconvolving_the_located_region() {
    // A 3.5 px disc at 5 px a module: the contrast of single modules is gone or reversed.
    let img = frame(5.0, 3.5, 2.0, 1);
    let plain = zizhi_scan::run(&img, &zizhi_scan::pipeline::PIPELINE[..10]);
    assert_eq!(plain.ours, None, "the case must need deconvolution");
    assert_ours(&zizhi_scan::run(&img, zizhi_scan::pipeline::PIPELINE));
}

#[test]
fn a_live_scanner_reads_a_noisy_defocused_code_by_averaging_aligned_frames() {
    // So noisy that no single frame reads, even with every still-photo attempt.
    // Noise 15: at 14 a single frame of some codes already reads (the payload's bytes decide
    // the pattern); at 16 stacking no longer rescues it. Both were probed over three seeds.
    let first = frame(4.0, 3.0, 15.0, 100);
    assert_eq!(
        zizhi_scan::run(&first, zizhi_scan::pipeline::PIPELINE).ours,
        None
    );
    let mut live = zizhi_scan::live::LiveScanner::new();
    let mut read_at = None;
    for n in 0..zizhi_scan::live::STACK_MAX as u64 {
        let scan = live.scan(&frame(4.0, 3.0, 15.0, 100 + n));
        if scan.result.ours.is_some() {
            assert_ours(&scan.result);
            read_at = Some(n);
            break;
        }
    }
    let n = read_at.expect("read within the stack");
    assert!(n >= 1, "one frame alone must not be enough for this case");
}

#[test]
fn a_far_code_is_located_and_reported_too_small() {
    let mut live = zizhi_scan::live::LiveScanner::new();
    let scan = live.scan(&frame(1.6, 0.0, 2.0, 3));
    let located = scan.located.expect("located");
    assert!(located.too_small(), "{located:?}");
}
