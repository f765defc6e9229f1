//! Fake camera footage of printed certificates: the demo copy's signed PDF rasterised as a
//! print (`pdftoppm`), then photographed with ffmpeg filters the way an inspector's phone sees
//! it — on a desk, framed around the QR code with the usage statement and seal around it,
//! turned a few degrees, slight perspective, uneven light and vignetting, a warm cast, mild
//! blur, sensor noise that changes every frame. Videos are `.y4m` (what Chromium's fake camera
//! reads; yuv420p at an even 1280×720, or 3840×2160 for [`sensor_video`]), photos are JPEG.
//!
//! Every piece of footage is checked before a browser sees it: a frame must decode, to the
//! expected text, with `zbarimg` and with the app's own pipeline (`zizhi-scan`), so a failing
//! browser test is about the app, not about unreadable footage.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where region E (the QR code, quiet zone included) sits on the A4 page, in millimetres:
/// `documents/src/layout.rs` draws it at `LEFT - 2` from the left, `BOTTOM_BLOCK + 3` from the
/// top, 42 mm square for codes up to 76 modules wide (every demo code).
const QR_LEFT_MM: f64 = 25.0;
const QR_TOP_MM: f64 = 210.0;
const QR_SIDE_MM: f64 = 42.0;
/// Rasterising resolution: a 42 mm code comes out at 331 px, about 4.5 px per module.
const DPI: f64 = 200.0;
/// Desk around the page, in pixels, so a frame may reach past the paper's edge.
const DESK: i64 = 300;
const DESK_COLOUR: &str = "0x5c4a3a";

fn px(mm: f64) -> i64 {
    (mm * DPI / 25.4).round() as i64
}

/// Runs a tool; a missing tool fails the test naming the package to install.
fn run(cmd: &mut Command, package: &str) {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("the app tests need {program} (apt-get install {package}): {e}")
    });
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The page of a PDF as a print at 200 dpi: `<dir>/<stem>.png`.
pub fn rasterise(pdf: &Path, dir: &Path, stem: &str) -> PathBuf {
    let out = dir.join(stem);
    run(
        Command::new("pdftoppm")
            .args(["-r", &DPI.to_string(), "-png", "-singlefile"])
            .arg(pdf)
            .arg(&out),
        "poppler-utils",
    );
    out.with_extension("png")
}

/// A counterfeit print: `page` with another code pasted over region E, exactly where the
/// genuine one was (same payload length, so same module count).
pub fn paste_code(page: &Path, code_png: &Path, out: &Path) {
    let side = px(QR_SIDE_MM);
    let filter = format!(
        "[1:v]scale={side}:{side}:flags=neighbor[q];[0:v][q]overlay={}:{}",
        px(QR_LEFT_MM),
        px(QR_TOP_MM)
    );
    run(
        Command::new("ffmpeg")
            .args(["-loglevel", "error", "-y", "-i"])
            .arg(page)
            .arg("-i")
            .arg(code_png)
            .args(["-filter_complex", &filter, "-frames:v", "1"])
            .arg(out),
        "ffmpeg",
    );
}

/// The light and lens of a phone: brighter where the lamp is (upper left), a warm cast,
/// darker corners, a little out of focus, noise.
fn phone_look(width: u32, height: u32, light_x: f64, light_y: f64, seed: u32) -> String {
    phone_look_blurred(width, height, light_x, light_y, seed, 1.1)
}

/// [`phone_look`] with the lens blur's sigma in output pixels.
fn phone_look_blurred(
    width: u32,
    height: u32,
    light_x: f64,
    light_y: f64,
    seed: u32,
    sigma: f64,
) -> String {
    format!(
        "{},{}",
        lens(width, height, light_x, light_y, sigma),
        sensor_noise(seed)
    )
}

/// [`phone_look_blurred`] without the noise: what stays the same from frame to frame.
fn lens(width: u32, height: u32, light_x: f64, light_y: f64, sigma: f64) -> String {
    format!(
        "scale={width}:{height},format=yuv444p,\
         geq=lum='clip(lum(X\\,Y)*(0.7+0.36*(1-hypot(X-W*{light_x}\\,Y-H*{light_y})/W))\\,0\\,255)'\
         :cb='cb(X\\,Y)':cr='cr(X\\,Y)',\
         eq=contrast=0.9:saturation=0.85,colorbalance=rs=0.05:gs=0.02:bs=-0.06,\
         vignette=angle=PI/6,gblur=sigma={sigma}"
    )
}

/// Noise that changes every frame, the last filter of every video.
fn sensor_noise(seed: u32) -> String {
    format!("noise=alls=9:allf=t+u:all_seed={seed},format=yuv420p")
}

/// Pixel centre of the QR code on the page with its desk around it.
fn code_centre() -> (i64, i64) {
    let half = QR_SIDE_MM / 2.0;
    (DESK + px(QR_LEFT_MM + half), DESK + px(QR_TOP_MM + half))
}

/// Where the phone points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aim {
    /// At the QR code, which fills about 40% of the frame's height, a little left of centre.
    Code,
    /// At the enterprise block (region B), 120 mm above the code: paper and text, no code.
    Text,
    /// At the code from arm's length and more: the whole lower half of the sheet in view, the
    /// code about 2 px a module.
    Far,
    /// At the code, framed as `Code`, but the lens focused elsewhere: blurred over about a
    /// module (Gaussian sigma 2.8 px at ~4 px a module).
    Defocused,
}

/// Ten frames (one second, looped by Chromium) of a phone held over the printed page.
pub fn camera_video(page: &Path, aim: Aim, out: &Path) {
    let (cx, mut cy) = code_centre();
    if aim == Aim::Text {
        cy -= px(120.0);
    }
    let filter = if aim == Aim::Far {
        // The page at 38%: 4.5 px a module becomes 1.6 after the frame is scaled; the frame is cut straight out of it.
        let s = 0.38;
        let (fx, fy) = ((cx as f64 * s) as i64, (cy as f64 * s) as i64);
        format!(
            "pad=iw+{d2}:ih+{d2}:{DESK}:{DESK}:color={DESK_COLOUR},scale=iw*{s}:ih*{s},\
             pad=iw+1400:ih+800:700:400:color={DESK_COLOUR},\
             crop=1400:788:{x}:{y},rotate=3*PI/180:fillcolor={DESK_COLOUR},{look}",
            d2 = 2 * DESK,
            x = fx + 700 - 560,
            y = fy + 400 - 420,
            look = phone_look_blurred(1280, 720, 0.3, 0.35, 7, 0.6),
        )
    } else {
        let sigma = if aim == Aim::Defocused { 2.8 } else { 1.1 };
        format!(
            "pad=iw+{d2}:ih+{d2}:{DESK}:{DESK}:color={DESK_COLOUR},\
         crop=1600:1000:{x}:{y},rotate=4*PI/180:fillcolor={DESK_COLOUR},crop=1400:788,\
         perspective=x0=W*0.03:y0=H*0.02:x1=W*0.99:y1=H*0.06:x2=0:y2=H:x3=W*0.95:y3=H*0.96:\
         interpolation=linear,{look}",
            d2 = 2 * DESK,
            x = cx - 620,
            y = cy - 560,
            look = phone_look_blurred(1280, 720, 0.3, 0.35, 7, sigma),
        )
    };
    run(
        Command::new("ffmpeg")
            .args([
                "-loglevel",
                "error",
                "-y",
                "-loop",
                "1",
                "-framerate",
                "10",
                "-i",
            ])
            .arg(page)
            .args(["-vf", &filter, "-frames:v", "10", "-pix_fmt", "yuv420p"])
            .arg(out),
        "ffmpeg",
    );
}

/// The size of [`sensor_video`]: a phone camera's 4K sensor.
pub const SENSOR: (u32, u32) = (3840, 2160);

/// A phone's full sensor (3840×2160) aimed at the code from far away: the page at `scale`
/// (4.5 px a module on the print: 1.6 gives 7.2 at 4K, 2.4 in the 1280×720 the app is
/// given), the code a little off the frame's centre, turned 3°. Chromium's fake camera
/// scales this file to the 1280×720 the app asks for and gives it whole when the app asks
/// for more. Six frames; the lens and light are drawn once and only the noise per frame,
/// the costly filters being slow at this size (about 5 s in all).
pub fn sensor_video(page: &Path, scale: f64, out: &Path) {
    let (w, h) = SENSOR;
    let (cx, cy) = code_centre();
    let (fx, fy) = (
        (cx as f64 * scale).round() as i64,
        (cy as f64 * scale).round() as i64,
    );
    let still = out.with_extension("still.png");
    let filter = format!(
        "pad=iw+{d2}:ih+{d2}:{DESK}:{DESK}:color={DESK_COLOUR},scale=iw*{scale}:ih*{scale},\
         pad=iw+{w}:ih+{h}:{hw}:{hh}:color={DESK_COLOUR},crop={w}:{h}:{x}:{y},\
         rotate=3*PI/180:fillcolor={DESK_COLOUR},{look}",
        d2 = 2 * DESK,
        hw = w / 2,
        hh = h / 2,
        // The code's centre 60 px right of and 40 px below the frame's.
        x = fx - 60,
        y = fy - 40,
        look = lens(w, h, 0.3, 0.35, 0.8),
    );
    run(
        Command::new("ffmpeg")
            .args(["-loglevel", "error", "-y", "-i"])
            .arg(page)
            .args(["-vf", &filter, "-frames:v", "1"])
            .arg(&still),
        "ffmpeg",
    );
    run(
        Command::new("ffmpeg")
            .args([
                "-loglevel",
                "error",
                "-y",
                "-loop",
                "1",
                "-framerate",
                "10",
                "-i",
            ])
            .arg(&still)
            .args([
                "-vf",
                &sensor_noise(7),
                "-frames:v",
                "6",
                "-pix_fmt",
                "yuv420p",
            ])
            .arg(out),
        "ffmpeg",
    );
}

/// A portrait phone photo (1200×1600 JPEG) of the lower half of the page, taken at a
/// steeper angle than the video; the code is a fifth of the photo's width.
pub fn phone_photo(page: &Path, out: &Path) {
    let (cx, cy) = code_centre();
    let filter = format!(
        "pad=iw+{d2}:ih+{d2}:{DESK}:{DESK}:color={DESK_COLOUR},\
         crop=1500:2000:{x}:{y},rotate=-5*PI/180:fillcolor={DESK_COLOUR},crop=1380:1840,\
         perspective=x0=W*0.06:y0=0:x1=W*0.96:y1=H*0.03:x2=0:y2=H:x3=W:y3=H*0.98:\
         interpolation=linear,{look}",
        d2 = 2 * DESK,
        x = cx - 450,
        y = cy - 1300,
        look = phone_look(1200, 1600, 0.6, 0.3, 11),
    );
    run(
        Command::new("ffmpeg")
            .args(["-loglevel", "error", "-y", "-i"])
            .arg(page)
            .args(["-vf", &filter, "-frames:v", "1", "-q:v", "5"])
            .arg(out),
        "ffmpeg",
    );
}

/// Frame `n` of a video as a PNG.
pub fn frame(video: &Path, n: u32, out: &Path) {
    run(
        Command::new("ffmpeg")
            .args(["-loglevel", "error", "-y", "-i"])
            .arg(video)
            .args(["-vf", &format!("select=eq(n\\,{n})"), "-frames:v", "1"])
            .arg(out),
        "ffmpeg",
    );
}

/// Neither zbar nor the app's pipeline finds a code in the image.
pub fn assert_no_code(image: &Path) {
    let out = Command::new("zbarimg")
        .args(["-q", "--raw"])
        .arg(image)
        .output()
        .unwrap_or_else(|e| panic!("the app tests need zbarimg (apt-get install zbar-tools): {e}"));
    assert!(
        out.stdout.is_empty(),
        "zbarimg finds a code in {}",
        image.display()
    );
    let img = image::open(image).unwrap_or_else(|e| panic!("{}: {e}", image.display()));
    assert_eq!(zizhi_scan::decode(&img).ours, None, "{}", image.display());
}

/// The image decodes to `expected` with zbar and with the app's pipeline.
pub fn assert_readable(image: &Path, expected: &str) {
    let out = Command::new("zbarimg")
        .args(["-q", "--raw"])
        .arg(image)
        .output()
        .unwrap_or_else(|e| panic!("the app tests need zbarimg (apt-get install zbar-tools): {e}"));
    let zbar = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        zbar.trim(),
        expected,
        "zbarimg does not read {} as expected",
        image.display()
    );
    let img = image::open(image).unwrap_or_else(|e| panic!("{}: {e}", image.display()));
    let scanned = zizhi_scan::decode(&img);
    assert_eq!(
        scanned.ours.as_deref(),
        Some(expected),
        "zizhi-scan does not read {} as expected ({} attempts)",
        image.display(),
        scanned.attempts
    );
}

/// Whether zbar reads `expected` from the image (no assertion: the far and defocused
/// footage is meant to be hard, and this says how hard for a common decoder).
pub fn zbar_reads(image: &Path, expected: &str) -> bool {
    Command::new("zbarimg")
        .args(["-q", "--raw"])
        .arg(image)
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == expected)
}
