//! Restoring a located code that the decoders could not read: super-resolution of a code too
//! small for its pixels, and deconvolution of a defocused one. Both work on the candidate
//! region only (a few hundred pixels a side), never on the whole photo, so the cost is paid
//! only for a photo where finder patterns were found and nothing read.
//!
//! Float buffers throughout: the point is to keep what lies between the 8-bit levels and
//! between the pixels until the last step, where [`to_grey`] stretches the result back to
//! the full 0–255 range.

use crate::grey::Grey;

/// A float image, row-major.
#[derive(Debug, Clone)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

/// Catmull–Rom weights for a sample at fraction `t` between taps 1 and 2 of four.
fn cubic_weights(t: f32) -> [f32; 4] {
    let (t2, t3) = (t * t, t * t * t);
    [
        0.5 * (-t3 + 2.0 * t2 - t),
        0.5 * (3.0 * t3 - 5.0 * t2 + 2.0),
        0.5 * (-3.0 * t3 + 4.0 * t2 + t),
        0.5 * (t3 - t2),
    ]
}

/// The rectangle `[x0, x1) × [y0, y1)` of `grey` (clamped), enlarged by `scale` with
/// Catmull–Rom interpolation. Against bilinear, the cubic keeps the slope at a module edge,
/// so a 1.5–3 px/module code keeps its edges where the modules were instead of rounding
/// every module into a dome; and each output pixel is a sub-pixel sample of the photo, so
/// the decoder's grid lands between the photo's pixels where the module centres are.
pub fn crop_cubic(grey: &Grey, x0: usize, y0: usize, x1: usize, y1: usize, scale: f32) -> Plane {
    let (x1, y1) = (x1.min(grey.width), y1.min(grey.height));
    let (x0, y0) = (x0.min(x1), y0.min(y1));
    let (cw, ch) = (x1 - x0, y1 - y0);
    if cw == 0 || ch == 0 {
        return Plane {
            width: 1,
            height: 1,
            data: vec![255.0],
        };
    }
    let (w, h) = (
        ((cw as f32 * scale) as usize).max(1),
        ((ch as f32 * scale) as usize).max(1),
    );
    // Separable: first along x into a (w × ch) buffer, then along y.
    let taps = |n: usize, scale: f32, out: usize| -> Vec<([usize; 4], [f32; 4])> {
        (0..out)
            .map(|i| {
                let s = ((i as f32 + 0.5) / scale - 0.5).clamp(0.0, (n - 1) as f32);
                let base = s.floor() as isize;
                let idx = [-1, 0, 1, 2].map(|d| (base + d).clamp(0, n as isize - 1) as usize);
                (idx, cubic_weights(s - base as f32))
            })
            .collect()
    };
    let tx = taps(cw, scale, w);
    let ty = taps(ch, scale, h);
    let mut mid = vec![0f32; w * ch];
    for y in 0..ch {
        let row = &grey.data[(y0 + y) * grey.width + x0..][..cw];
        for (x, (idx, wt)) in tx.iter().enumerate() {
            mid[y * w + x] = (0..4).map(|k| wt[k] * f32::from(row[idx[k]])).sum();
        }
    }
    let mut data = vec![0f32; w * h];
    for (y, (idx, wt)) in ty.iter().enumerate() {
        for x in 0..w {
            data[y * w + x] = (0..4).map(|k| wt[k] * mid[idx[k] * w + x]).sum();
        }
    }
    Plane {
        width: w,
        height: h,
        data,
    }
}

impl Plane {
    /// The plane as it is, at native resolution (the starting point for deconvolution).
    pub fn crop(grey: &Grey, x0: usize, y0: usize, x1: usize, y1: usize) -> Plane {
        let (x1, y1) = (x1.min(grey.width), y1.min(grey.height));
        let (x0, y0) = (x0.min(x1), y0.min(y1));
        let (w, h) = (x1 - x0, y1 - y0);
        let mut data = Vec::with_capacity(w * h);
        for y in y0..y1 {
            data.extend(
                grey.data[y * grey.width + x0..y * grey.width + x1]
                    .iter()
                    .map(|&v| f32::from(v)),
            );
        }
        Plane {
            width: w,
            height: h,
            data,
        }
    }

    /// Reduced by an integer `factor`, each pixel the mean of a block.
    pub fn shrunk(&self, factor: usize) -> Plane {
        if factor <= 1 {
            return self.clone();
        }
        let (w, h) = (self.width / factor, self.height / factor);
        let mut data = vec![0f32; w * h];
        let norm = 1.0 / (factor * factor) as f32;
        for y in 0..h {
            for x in 0..w {
                let mut acc = 0.0;
                for dy in 0..factor {
                    let row = &self.data[(y * factor + dy) * self.width + x * factor..];
                    acc += row[..factor].iter().sum::<f32>();
                }
                data[y * w + x] = acc * norm;
            }
        }
        Plane {
            width: w,
            height: h,
            data,
        }
    }

    /// As [`crop_cubic`], from a float plane.
    pub fn enlarged(&self, scale: f32) -> Plane {
        if (scale - 1.0).abs() < 0.05 {
            return self.clone();
        }
        // Through 8 bits after stretching: the detail that matters is far above one level.
        let grey = to_grey(self);
        crop_cubic(&grey, 0, 0, grey.width, grey.height, scale)
    }

    /// Mean over a disc of `radius` pixels around every pixel (edges clamped): one
    /// horizontal span a row of the disc, each span a difference of prefix sums, so the cost
    /// grows with the radius and not its square.
    pub fn disc_blur(&self, radius: f32) -> Plane {
        let (w, h) = (self.width, self.height);
        let reach = radius.ceil() as usize;
        let rows: Vec<(usize, usize, f32)> = (0..=2 * reach)
            .filter_map(|i| {
                let dy = i as f32 - reach as f32;
                let half = (radius * radius - dy * dy).max(0.0).sqrt().round() as usize;
                let weight = (radius + 0.5 - dy.abs()).clamp(0.0, 1.0);
                (weight > 0.0).then_some((i, half, weight))
            })
            .collect();
        let total: f32 = rows
            .iter()
            .map(|&(_, half, wt)| (2 * half + 1) as f32 * wt)
            .sum();
        // Prefix sums of each row padded by `reach` copies of its edge pixels on both sides
        // (and `reach` copies of the edge rows), so the inner loop needs no clamping.
        let pw = w + 2 * reach + 1;
        let ph = h + 2 * reach;
        let mut prefix = vec![0f32; pw * ph];
        for py in 0..ph {
            let sy = py.saturating_sub(reach).min(h - 1);
            let src = &self.data[sy * w..(sy + 1) * w];
            let dst = &mut prefix[py * pw..(py + 1) * pw];
            let mut acc = 0.0;
            for px in 0..pw - 1 {
                acc += src[px.saturating_sub(reach).min(w - 1)];
                dst[px + 1] = acc;
            }
        }
        let mut data = vec![0f32; w * h];
        let norm = 1.0 / total;
        for y in 0..h {
            let out = &mut data[y * w..(y + 1) * w];
            for &(i, half, weight) in &rows {
                let row = &prefix[(y + i) * pw..(y + i + 1) * pw];
                // Output x covers padded columns x + reach - half ..= x + reach + half.
                let lo = &row[reach - half..];
                let hi = &row[reach + half + 1..];
                for ((o, a), b) in out.iter_mut().zip(lo).zip(hi) {
                    *o += weight * (b - a);
                }
            }
            out.iter_mut().for_each(|o| *o *= norm);
        }
        Plane {
            width: w,
            height: h,
            data,
        }
    }

    /// Richardson–Lucy deconvolution for a lens defocused into a disc of `radius` pixels,
    /// `iterations` rounds. The disc is symmetric, so its adjoint is itself. RL keeps the
    /// image non-negative and does not ring as hard as an inverse filter at the disc's
    /// spectral zeros, which is where a defocused module's contrast flips.
    pub fn richardson_lucy(&self, radius: f32, iterations: usize) -> Plane {
        // Shifted so that black ink is not zero: RL's multiplicative update cannot move a
        // zero, and a dark code on a dark exposure sits near it.
        let observed: Vec<f32> = self.data.iter().map(|&v| v + 8.0).collect();
        let mut estimate = Plane {
            data: observed.clone(),
            ..*self
        };
        for _ in 0..iterations {
            let blurred = estimate.disc_blur(radius);
            let ratio = Plane {
                data: observed
                    .iter()
                    .zip(&blurred.data)
                    .map(|(o, b)| o / b.max(1e-3))
                    .collect(),
                ..*self
            };
            let correction = ratio.disc_blur(radius);
            for (e, c) in estimate.data.iter_mut().zip(&correction.data) {
                // A bounded step: the noise amplification that makes RL diverge starts in a
                // few pixels with a huge ratio.
                *e = (*e * c.clamp(0.5, 2.0)).min(400.0);
            }
        }
        estimate
    }

    /// Unsharp masking: `amount` × the difference from a disc mean of `radius`.
    pub fn sharpened(&self, radius: f32, amount: f32) -> Plane {
        let blurred = self.disc_blur(radius);
        Plane {
            data: self
                .data
                .iter()
                .zip(&blurred.data)
                .map(|(v, b)| v + amount * (v - b))
                .collect(),
            ..*self
        }
    }
}

/// 8-bit grey with the 1st and 99th percentile at 0 and 255: after sharpening or
/// deconvolution the values leave 0–255 in both directions.
pub fn to_grey(plane: &Plane) -> Grey {
    let mut sorted: Vec<f32> = plane.data.iter().step_by(7).copied().collect();
    if sorted.is_empty() {
        sorted.push(0.0);
    }
    sorted.sort_by(f32::total_cmp);
    let lo = sorted[sorted.len() / 100];
    let hi = sorted[sorted.len() * 99 / 100];
    let span = (hi - lo).max(1.0);
    Grey {
        width: plane.width,
        height: plane.height,
        data: plane
            .data
            .iter()
            .map(|&v| ((v - lo) * 255.0 / span).clamp(0.0, 255.0) as u8)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(w: usize, h: usize, period: usize) -> Plane {
        Plane {
            width: w,
            height: h,
            data: (0..w * h)
                .map(|i| {
                    if (i % w / period).is_multiple_of(2) {
                        40.0
                    } else {
                        220.0
                    }
                })
                .collect(),
        }
    }

    fn contrast(p: &Plane, period: usize) -> f32 {
        // Mean of the light bars minus mean of the dark bars, away from the edges.
        let (mut light, mut dark, mut nl, mut nd) = (0.0, 0.0, 0, 0);
        for y in p.height / 4..p.height * 3 / 4 {
            for x in p.width / 4..p.width * 3 / 4 {
                let centre = x % period == period / 2;
                if !centre {
                    continue;
                }
                if (x / period).is_multiple_of(2) {
                    dark += p.data[y * p.width + x];
                    nd += 1;
                } else {
                    light += p.data[y * p.width + x];
                    nl += 1;
                }
            }
        }
        light / nl as f32 - dark / nd as f32
    }

    #[test]
    fn disc_blur_keeps_flat_areas_and_the_mean() {
        let flat = Plane {
            width: 20,
            height: 10,
            data: vec![100.0; 200],
        };
        assert!(
            flat.disc_blur(3.0)
                .data
                .iter()
                .all(|v| (v - 100.0).abs() < 1e-3)
        );
        let b = bars(40, 40, 5);
        let mean = |p: &Plane| p.data.iter().sum::<f32>() / p.data.len() as f32;
        assert!((mean(&b) - mean(&b.disc_blur(2.0))).abs() < 3.0);
    }

    #[test]
    fn deconvolution_gives_back_contrast_that_a_disc_took() {
        let sharp = bars(64, 32, 4);
        let blurred = sharp.disc_blur(3.0);
        let restored = blurred.richardson_lucy(3.0, 15);
        let (before, after) = (contrast(&blurred, 4), contrast(&restored, 4));
        assert!(before < 90.0, "{before}");
        assert!(after > before * 1.5, "{before} -> {after}");
    }

    #[test]
    fn cubic_enlargement_keeps_samples_and_steeper_edges_than_bilinear() {
        let grey = Grey::new(8, 1, vec![0, 0, 0, 0, 255, 255, 255, 255]).unwrap();
        let cubic = crop_cubic(&grey, 0, 0, 8, 1, 4.0);
        let bilinear = grey.crop_scaled(0, 0, 8, 1, 4.0);
        assert_eq!(cubic.width, 32);
        // Far from the edge: the original levels.
        assert!(cubic.data[2].abs() < 1.0 && (cubic.data[30] - 255.0).abs() < 1.0);
        // One output pixel either side of the edge: the cubic is further apart.
        let gap = |a: f32, b: f32| (b - a).abs();
        assert!(
            gap(cubic.data[14], cubic.data[17])
                > gap(f32::from(bilinear.data[14]), f32::from(bilinear.data[17]))
        );
    }
}
