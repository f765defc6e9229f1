//! Live camera frames: what a camera gives that a still photo does not.
//!
//! A still-photo decoder sees one noisy, maybe blurred, maybe tiny picture. A camera sends
//! the same code again every few hundred milliseconds, so [`LiveScanner`]:
//! - reports where a code was located but not read, and how many pixels a module has there,
//!   so the app can zoom and tell the inspector to come closer;
//! - aligns the located code across consecutive frames (an affine map through the three
//!   finder-pattern centres of each frame onto those of the first) and averages the aligned
//!   pixels, so sensor noise falls with the number of frames and the mean goes through the
//!   restoring attempts (super-resolution, deconvolution) that one frame's noise defeats.

use crate::engines::{self, Binarize, Candidate, Effort};
use crate::grey::Grey;
use crate::pipeline::QUICK;
use crate::restore::{self, Plane};
use crate::{ScanResult, run};

/// Frames averaged at most: beyond this the phone has moved or refocused, and older frames
/// only blur the mean.
pub const STACK_MAX: usize = 6;

/// Below this many frame pixels a module, the app should zoom or ask to come closer: the
/// single-frame attempts rarely read a code that small.
pub const TOO_SMALL_PX: f32 = 2.6;

/// Where a code was located on a frame that did not read, in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Located {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
    /// Frame pixels a module.
    pub module: f32,
}

impl Located {
    pub fn too_small(&self) -> bool {
        self.module < TOO_SMALL_PX
    }
}

/// What one frame gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameScan {
    pub result: ScanResult,
    /// The code located on this frame when it did not read.
    pub located: Option<Located>,
    /// Frames in the aligned average after this one (0: nothing located).
    pub stacked: usize,
}

/// The running average of one located code, in the coordinates of the first frame.
struct Stack {
    /// Finder centres on the first frame.
    anchor: [(f32, f32); 3],
    module: f32,
    /// The averaged rectangle on the first frame, and its sampling step (first-frame pixels
    /// an output pixel).
    x0: f32,
    y0: f32,
    step: f32,
    width: usize,
    height: usize,
    sum: Vec<f32>,
    frames: usize,
    /// The code as located on the latest frame added.
    last: Candidate,
}

/// The affine map taking the anchor's finder centres onto `to`'s, as (origin, matrix):
/// `q = to[0] + M (p - anchor[0])`. `None` when the triangle is degenerate or the map
/// mirrors or rescales so much that the finders cannot be the same code's.
fn affine(anchor: &[(f32, f32); 3], to: &[(f32, f32); 3]) -> Option<[f32; 4]> {
    let (u, v) = (sub(anchor[1], anchor[0]), sub(anchor[2], anchor[0]));
    let (u2, v2) = (sub(to[1], to[0]), sub(to[2], to[0]));
    let det = u.0 * v.1 - u.1 * v.0;
    if det.abs() < 1.0 {
        return None;
    }
    // M = [u2 v2] · [u v]⁻¹
    let inv = [v.1 / det, -v.0 / det, -u.1 / det, u.0 / det];
    let m = [
        u2.0 * inv[0] + v2.0 * inv[2],
        u2.0 * inv[1] + v2.0 * inv[3],
        u2.1 * inv[0] + v2.1 * inv[2],
        u2.1 * inv[1] + v2.1 * inv[3],
    ];
    let scale = m[0] * m[3] - m[1] * m[2];
    (0.6..1.6).contains(&scale).then_some(m)
}

fn sub(a: (f32, f32), b: (f32, f32)) -> (f32, f32) {
    (a.0 - b.0, a.1 - b.1)
}

/// Bilinear sample of `grey` at `(x, y)`, clamped to the image.
fn sample(grey: &Grey, x: f32, y: f32) -> f32 {
    let x = x.clamp(0.0, (grey.width - 1) as f32);
    let y = y.clamp(0.0, (grey.height - 1) as f32);
    let (ix, iy) = (x as usize, y as usize);
    let (fx, fy) = (x - ix as f32, y - iy as f32);
    let (ix1, iy1) = ((ix + 1).min(grey.width - 1), (iy + 1).min(grey.height - 1));
    let at = |x: usize, y: usize| f32::from(grey.data[y * grey.width + x]);
    let top = at(ix, iy) * (1.0 - fx) + at(ix1, iy) * fx;
    let bottom = at(ix, iy1) * (1.0 - fx) + at(ix1, iy1) * fx;
    top * (1.0 - fy) + bottom * fy
}

impl Stack {
    fn new(c: &Candidate) -> Stack {
        // About 4 output pixels a module: enough for the decoder's grid, and the sample count
        // stays near 300×300 for a V12 code with its quiet zone.
        let step = (c.module / 4.0).clamp(0.25, 2.0);
        let width = ((c.x1 - c.x0) / step).max(1.0) as usize;
        let height = ((c.y1 - c.y0) / step).max(1.0) as usize;
        Stack {
            anchor: c.finders,
            module: c.module,
            x0: c.x0,
            y0: c.y0,
            step,
            width,
            height,
            sum: vec![0.0; width * height],
            frames: 0,
            last: *c,
        }
    }

    /// Adds `frame`'s view of the code located as `c`; false when it cannot be aligned with
    /// the frames before (another code, or the phone moved too far).
    fn add(&mut self, frame: &Grey, c: &Candidate) -> bool {
        let Some(m) = affine(&self.anchor, &c.finders) else {
            return false;
        };
        let (ax, ay) = self.anchor[0];
        let (qx, qy) = c.finders[0];
        for j in 0..self.height {
            let py = self.y0 + (j as f32 + 0.5) * self.step - ay;
            for i in 0..self.width {
                let px = self.x0 + (i as f32 + 0.5) * self.step - ax;
                let x = qx + m[0] * px + m[1] * py;
                let y = qy + m[2] * px + m[3] * py;
                self.sum[j * self.width + i] += sample(frame, x, y);
            }
        }
        self.frames += 1;
        self.last = *c;
        true
    }

    fn mean(&self) -> Plane {
        let n = self.frames.max(1) as f32;
        Plane {
            width: self.width,
            height: self.height,
            data: self.sum.iter().map(|s| s / n).collect(),
        }
    }
}

/// Finder patterns as far apart as a code of ours has them: the payload is QR version 11–14
/// (61–73 modules, finder centres 54–66 modules apart); noise and text make chance triples
/// with any spacing, and averaging frames of one of those would only hide the real code.
fn plausible(c: &Candidate) -> bool {
    let (tl, tr, bl) = (c.finders[0], c.finders[1], c.finders[2]);
    let d = |a: (f32, f32), b: (f32, f32)| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
    let (a, b) = (d(tl, tr), d(tl, bl));
    let modules = (a + b) / 2.0 / c.module.max(0.1);
    // And a square seen at most moderately tilted: equal sides, near a right angle.
    let (u, v) = (sub(tr, tl), sub(bl, tl));
    let cos = (u.0 * v.0 + u.1 * v.1) / (a * b).max(1e-3);
    (35.0..90.0).contains(&modules) && (0.75..1.33).contains(&(a / b.max(1e-3))) && cos.abs() < 0.35
}

/// The most likely code on the frame: finder patterns on the stretched frame, else on the
/// frame halved, where the averaging of 2×2 blocks quiets the sensor noise that breaks up a
/// defocused finder pattern's rings (a finder is 7 modules, so it survives the halving).
fn locate(frame: &Grey) -> Option<Candidate> {
    if let Some(c) = engines::candidates(&frame.stretched(), 3)
        .into_iter()
        .find(plausible)
    {
        return Some(c);
    }
    let c = engines::candidates(&frame.shrink(2).stretched(), 3)
        .into_iter()
        .find(plausible)?;
    let s = |(x, y): (f32, f32)| (x * 2.0, y * 2.0);
    Some(Candidate {
        x0: c.x0 * 2.0,
        y0: c.y0 * 2.0,
        x1: c.x1 * 2.0,
        y1: c.y1 * 2.0,
        module: c.module * 2.0,
        finders: c.finders.map(s),
    })
}

/// Scans the frames of one camera, keeping what consecutive frames share. One per scan
/// screen; [`LiveScanner::reset`] when the camera restarts.
#[derive(Default)]
pub struct LiveScanner {
    stack: Option<Stack>,
    steady: Option<Steady>,
}

/// The plain average of the last frames while the phone holds still: where the finder
/// patterns of a noisy, defocused frame break up, the average keeps them whole, and it
/// tells the aligned stack where the code is.
struct Steady {
    width: usize,
    height: usize,
    sum: Vec<f32>,
    frames: usize,
}

impl Steady {
    fn mean(&self) -> Grey {
        let n = self.frames.max(1) as f32;
        Grey {
            width: self.width,
            height: self.height,
            data: self.sum.iter().map(|s| (s / n + 0.5) as u8).collect(),
        }
    }

    /// Mean absolute difference between `frame` and the average, on a sparse grid: above a
    /// few grey levels of noise the phone has moved and the average would smear.
    fn moved(&self, frame: &Grey) -> bool {
        let n = self.frames.max(1) as f32;
        let (mut diff, mut count) = (0.0, 0usize);
        for y in (0..self.height).step_by(8) {
            for x in (0..self.width).step_by(8) {
                let i = y * self.width + x;
                diff += (f32::from(frame.data[i]) - self.sum[i] / n).abs();
                count += 1;
            }
        }
        diff / count.max(1) as f32 > 10.0
    }
}

/// Deconvolution radii in output pixels (4 a module) tried on the average, one per frame in
/// turn, so no single frame pays for all of them.
const RADII: [f32; 3] = [1.5, 2.5, 3.5];

impl LiveScanner {
    pub fn new() -> LiveScanner {
        LiveScanner::default()
    }

    pub fn reset(&mut self) {
        self.stack = None;
        self.steady = None;
    }

    /// Adds `frame` to the steady average (restarting it when the phone moved); the average
    /// when it holds at least two frames.
    fn steady_mean(&mut self, frame: &Grey) -> Option<Grey> {
        let fits = self.steady.as_ref().is_some_and(|s| {
            s.width == frame.width
                && s.height == frame.height
                && s.frames < STACK_MAX
                && !s.moved(frame)
        });
        if !fits {
            self.steady = Some(Steady {
                width: frame.width,
                height: frame.height,
                sum: vec![0.0; frame.data.len()],
                frames: 0,
            });
        }
        let steady = self.steady.as_mut()?;
        for (s, &v) in steady.sum.iter_mut().zip(&frame.data) {
            *s += f32::from(v);
        }
        steady.frames += 1;
        (steady.frames >= 2).then(|| steady.mean())
    }

    /// Scans an RGBA frame (a canvas's `ImageData`): the cheap single-frame attempts first;
    /// when they read nothing, the code is located on the full frame, added to the aligned
    /// average, and the average is restored and decoded.
    pub fn scan_rgba(&mut self, width: u32, height: u32, rgba: &[u8]) -> FrameScan {
        match Grey::from_rgba(width as usize, height as usize, rgba) {
            Some(grey) => self.scan(&grey),
            None => FrameScan::default(),
        }
    }

    pub fn scan(&mut self, frame: &Grey) -> FrameScan {
        let result = run(frame, QUICK);
        if result.ours.is_some() {
            self.reset();
            return FrameScan {
                result,
                ..FrameScan::default()
            };
        }
        let mut out = FrameScan {
            result,
            ..FrameScan::default()
        };
        // A steady phone: where the finders were on the last frame is where they are now,
        // when this frame's noise hides them.
        let mean = self.steady_mean(frame);
        let Some(c) = locate(frame)
            .or_else(|| mean.as_ref().and_then(locate))
            .or_else(|| self.stack.as_ref().map(|s| s.last))
        else {
            return out;
        };
        out.located = Some(Located {
            x0: c.x0.max(0.0),
            y0: c.y0.max(0.0),
            x1: c.x1.min(frame.width as f32),
            y1: c.y1.min(frame.height as f32),
            module: c.module,
        });
        let fresh = match &mut self.stack {
            Some(stack)
                if stack.frames < STACK_MAX && (c.module / stack.module - 1.0).abs() < 0.3 =>
            {
                !stack.add(frame, &c)
            }
            _ => true,
        };
        if fresh {
            let mut stack = Stack::new(&c);
            stack.add(frame, &c);
            self.stack = Some(stack);
        }
        let Some(stack) = &self.stack else {
            return out;
        };
        out.stacked = stack.frames;
        let mean = stack.mean();
        let mut texts = engines::rxing(
            &restore::to_grey(&mean.sharpened(2.0, 0.8)),
            Binarize::Hybrid,
            Effort::HardCpp,
        );
        if texts.is_empty() {
            let radius = RADII[stack.frames % RADII.len()];
            texts = engines::rxing(
                &restore::to_grey(&mean.richardson_lucy(radius, 10)),
                Binarize::Hybrid,
                Effort::HardCpp,
            );
        }
        for text in texts {
            if zizhi_shared::QrText::extract(&text).is_ok() {
                out.result.ours = Some(text);
                self.reset();
                return out;
            }
            if !out.result.others.contains(&text) {
                out.result.others.push(text);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_affine_map_through_three_points_moves_them_exactly() {
        let anchor = [(10.0, 10.0), (110.0, 10.0), (10.0, 110.0)];
        // Shifted by (5, -3) and turned by a few degrees.
        let (c, s) = (0.05f32.cos(), 0.05f32.sin());
        let to = anchor.map(|(x, y)| {
            let (x, y) = (x - 10.0, y - 10.0);
            (15.0 + c * x - s * y, 7.0 + s * x + c * y)
        });
        let m = affine(&anchor, &to).unwrap();
        for (p, q) in anchor.iter().zip(&to) {
            let (px, py) = (p.0 - anchor[0].0, p.1 - anchor[0].1);
            let x = to[0].0 + m[0] * px + m[1] * py;
            let y = to[0].1 + m[2] * px + m[3] * py;
            assert!((x - q.0).abs() < 1e-3 && (y - q.1).abs() < 1e-3);
        }
        // A mirror image is not the same code seen again.
        let mirrored = [anchor[0], anchor[2], anchor[1]];
        assert!(affine(&anchor, &mirrored).is_none());
    }
}
