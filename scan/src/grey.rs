//! Greyscale buffers and the preprocessing the decoders need on phone photos.
//!
//! All operations are integer or simple float loops over `u8` buffers: no SIMD, no threads,
//! so they behave the same natively and in wasm32.

/// An 8-bit greyscale image, row-major, no padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grey {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

impl Grey {
    /// `None` when the buffer is shorter than `width × height` or the image has no pixels.
    /// A longer buffer is cut to size (camera frames sometimes carry row padding at the end).
    pub fn new(width: usize, height: usize, mut data: Vec<u8>) -> Option<Grey> {
        let len = width.checked_mul(height)?;
        if len == 0 || data.len() < len {
            return None;
        }
        data.truncate(len);
        Some(Grey {
            width,
            height,
            data,
        })
    }

    /// Luma (ITU-R BT.601 weights, as the decoders' own converters use) of RGBA pixels such as
    /// a canvas `ImageData`; alpha is ignored. `None` when the buffer is short or empty.
    pub fn from_rgba(width: usize, height: usize, rgba: &[u8]) -> Option<Grey> {
        Grey::from_channels(width, height, rgba, 4)
    }

    /// Luma of packed 8-bit RGB pixels.
    pub fn from_rgb(width: usize, height: usize, rgb: &[u8]) -> Option<Grey> {
        Grey::from_channels(width, height, rgb, 3)
    }

    fn from_channels(width: usize, height: usize, px: &[u8], channels: usize) -> Option<Grey> {
        let len = width.checked_mul(height)?;
        if len == 0 || px.len() < len.checked_mul(channels)? {
            return None;
        }
        let data = px[..len * channels]
            .chunks_exact(channels)
            .map(|p| {
                ((306 * u32::from(p[0]) + 601 * u32::from(p[1]) + 117 * u32::from(p[2]) + 512)
                    >> 10) as u8
            })
            .collect();
        Some(Grey {
            width,
            height,
            data,
        })
    }

    pub fn long_side(&self) -> usize {
        self.width.max(self.height)
    }

    /// Box-filtered reduction by an integer factor (area averaging, so thin dark lines stay
    /// grey instead of vanishing as they would with point sampling).
    pub fn shrink(&self, factor: usize) -> Grey {
        if factor <= 1 {
            return self.clone();
        }
        let (w, h) = (self.width / factor, self.height / factor);
        if w == 0 || h == 0 {
            return self.clone();
        }
        let mut sums = vec![0u32; w];
        let mut data = Vec::with_capacity(w * h);
        let area = (factor * factor) as u32;
        for y in 0..h {
            sums.iter_mut().for_each(|s| *s = 0);
            for row in self.data[y * factor * self.width..]
                .chunks_exact(self.width)
                .take(factor)
            {
                for (x, sum) in sums.iter_mut().enumerate() {
                    *sum += row[x * factor..x * factor + factor]
                        .iter()
                        .map(|&v| u32::from(v))
                        .sum::<u32>();
                }
            }
            data.extend(sums.iter().map(|s| ((s + area / 2) / area) as u8));
        }
        Grey {
            width: w,
            height: h,
            data,
        }
    }

    /// A copy of the rectangle `[x0, x1) × [y0, y1)`, clamped to the image, enlarged by
    /// `scale` with bilinear interpolation. Interpolating before thresholding puts module
    /// edges between pixels where they belong, which is what lets a 2–3 px/module code be
    /// sampled.
    pub fn crop_scaled(&self, x0: usize, y0: usize, x1: usize, y1: usize, scale: f32) -> Grey {
        let (x1, y1) = (x1.min(self.width), y1.min(self.height));
        let (x0, y0) = (x0.min(x1), y0.min(y1));
        let (cw, ch) = (x1 - x0, y1 - y0);
        let (w, h) = (
            ((cw as f32 * scale) as usize).max(1),
            ((ch as f32 * scale) as usize).max(1),
        );
        if cw == 0 || ch == 0 {
            return Grey {
                width: 1,
                height: 1,
                data: vec![255],
            };
        }
        let mut data = Vec::with_capacity(w * h);
        let max_x = (cw - 1) as f32;
        let max_y = (ch - 1) as f32;
        for y in 0..h {
            let sy = ((y as f32 + 0.5) / scale - 0.5).clamp(0.0, max_y);
            let (iy, fy) = (sy as usize, sy.fract());
            let iy1 = (iy + 1).min(ch - 1);
            let row0 = &self.data[(y0 + iy) * self.width + x0..][..cw];
            let row1 = &self.data[(y0 + iy1) * self.width + x0..][..cw];
            for x in 0..w {
                let sx = ((x as f32 + 0.5) / scale - 0.5).clamp(0.0, max_x);
                let (ix, fx) = (sx as usize, sx.fract());
                let ix1 = (ix + 1).min(cw - 1);
                let top = f32::from(row0[ix]) * (1.0 - fx) + f32::from(row0[ix1]) * fx;
                let bottom = f32::from(row1[ix]) * (1.0 - fx) + f32::from(row1[ix1]) * fx;
                data.push((top * (1.0 - fy) + bottom * fy + 0.5) as u8);
            }
        }
        Grey {
            width: w,
            height: h,
            data,
        }
    }

    /// A 3×3 box blur (edges clamped).
    pub fn box3(&self) -> Grey {
        let (w, h) = (self.width, self.height);
        let mut data = Vec::with_capacity(w * h);
        for y in 0..h {
            let rows = [y.saturating_sub(1), y, (y + 1).min(h - 1)];
            for x in 0..w {
                let cols = [x.saturating_sub(1), x, (x + 1).min(w - 1)];
                let mut sum = 0u32;
                for r in rows {
                    for c in cols {
                        sum += u32::from(self.data[r * w + c]);
                    }
                }
                data.push(((sum + 4) / 9) as u8);
            }
        }
        Grey {
            width: w,
            height: h,
            data,
        }
    }

    pub fn inverted(&self) -> Grey {
        Grey {
            data: self.data.iter().map(|v| 255 - v).collect(),
            ..*self
        }
    }

    /// Global contrast normalisation: the 1st and 99th percentiles go to 0 and 255. Faded
    /// prints and washed-out exposures leave a code 30–50 grey levels deep, under the 24-level
    /// minimum ZXing's hybrid binarizer wants in each block once blur has eaten the rest.
    pub fn stretched(&self) -> Grey {
        let mut hist = [0usize; 256];
        self.data.iter().for_each(|&v| hist[usize::from(v)] += 1);
        let n = self.data.len();
        let percentile = |p: usize| {
            let target = n * p / 100;
            let mut seen = 0;
            hist.iter()
                .position(|&c| {
                    seen += c;
                    seen > target
                })
                .unwrap_or(255) as i32
        };
        let (lo, hi) = (percentile(1), percentile(99));
        if hi - lo < 8 {
            return self.clone();
        }
        let lut: Vec<u8> = (0..256)
            .map(|v| ((v - lo) * 255 / (hi - lo)).clamp(0, 255) as u8)
            .collect();
        Grey {
            data: self.data.iter().map(|&v| lut[usize::from(v)]).collect(),
            ..*self
        }
    }

    /// Local contrast normalisation: each pixel's distance from its neighbourhood mean, in
    /// units of the neighbourhood's standard deviation (never below `floor` grey levels, so
    /// flat paper and sensor noise stay flat), mapped around mid-grey. A code under glare or
    /// in a shadow keeps only 10–20 grey levels of contrast; afterwards it has the full range
    /// again, and ZXing's block binarizer, which ignores blocks under 24 levels, sees it.
    pub fn normalized(&self, radius: usize, floor: f32) -> Grey {
        let (w, h) = (self.width, self.height);
        let stride = w + 1;
        let mut sum = vec![0u64; stride * (h + 1)];
        let mut sq = vec![0u64; stride * (h + 1)];
        for y in 0..h {
            let (mut rs, mut rq) = (0u64, 0u64);
            for x in 0..w {
                let v = u64::from(self.data[y * w + x]);
                rs += v;
                rq += v * v;
                sum[(y + 1) * stride + x + 1] = sum[y * stride + x + 1] + rs;
                sq[(y + 1) * stride + x + 1] = sq[y * stride + x + 1] + rq;
            }
        }
        let rect = |t: &[u64], xa: usize, ya: usize, xb: usize, yb: usize| {
            t[yb * stride + xb] + t[ya * stride + xa] - t[ya * stride + xb] - t[yb * stride + xa]
        };
        let mut data = Vec::with_capacity(w * h);
        for y in 0..h {
            let (ya, yb) = (y.saturating_sub(radius), (y + radius + 1).min(h));
            for x in 0..w {
                let (xa, xb) = (x.saturating_sub(radius), (x + radius + 1).min(w));
                let n = ((yb - ya) * (xb - xa)) as f32;
                let mean = rect(&sum, xa, ya, xb, yb) as f32 / n;
                let var = (rect(&sq, xa, ya, xb, yb) as f32 / n - mean * mean).max(0.0);
                let v = f32::from(self.data[y * w + x]);
                let z = (v - mean) / var.sqrt().max(floor);
                data.push((128.0 + 64.0 * z).clamp(0.0, 255.0) as u8);
            }
        }
        Grey {
            width: w,
            height: h,
            data,
        }
    }

    /// Local mean thresholding (Bradley–Roth) over a square window of side `2 × radius + 1`:
    /// a pixel is black when it is darker than its neighbourhood's mean by more than
    /// `percent` of that mean. Unlike a global threshold it follows shadows, gradients and
    /// glare across the code; unlike ZXing's 8×8-block binarizer it has no minimum contrast.
    pub fn adaptive(&self, radius: usize, percent: u32) -> Grey {
        let (w, h) = (self.width, self.height);
        // Integral image with a zero row and column in front.
        let stride = w + 1;
        let mut integral = vec![0u32; stride * (h + 1)];
        for y in 0..h {
            let mut row_sum = 0u32;
            for x in 0..w {
                row_sum += u32::from(self.data[y * w + x]);
                integral[(y + 1) * stride + x + 1] = integral[y * stride + x + 1] + row_sum;
            }
        }
        let mut data = Vec::with_capacity(w * h);
        for y in 0..h {
            let (ya, yb) = (y.saturating_sub(radius), (y + radius + 1).min(h));
            for x in 0..w {
                let (xa, xb) = (x.saturating_sub(radius), (x + radius + 1).min(w));
                let count = ((yb - ya) * (xb - xa)) as u64;
                let sum = u64::from(integral[yb * stride + xb])
                    + u64::from(integral[ya * stride + xa])
                    - u64::from(integral[ya * stride + xb])
                    - u64::from(integral[yb * stride + xa]);
                let v = u64::from(self.data[y * w + x]);
                let dark = v * count * 100 < sum * u64::from(100 - percent);
                data.push(if dark { 0 } else { 255 });
            }
        }
        Grey {
            width: w,
            height: h,
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(w: usize, h: usize) -> Grey {
        Grey::new(w, h, (0..w * h).map(|i| (i % 256) as u8).collect()).unwrap()
    }

    #[test]
    fn short_or_empty_buffers_are_refused() {
        assert!(Grey::new(0, 10, vec![]).is_none());
        assert!(Grey::new(10, 10, vec![0; 99]).is_none());
        assert!(Grey::new(usize::MAX, 2, vec![0; 4]).is_none());
        assert!(Grey::from_rgba(2, 2, &[0; 15]).is_none());
        assert_eq!(Grey::new(2, 2, vec![1; 7]).unwrap().data.len(), 4);
    }

    #[test]
    fn rgba_white_and_black_map_to_the_ends() {
        let g = Grey::from_rgba(2, 1, &[255, 255, 255, 0, 0, 0, 0, 255]).unwrap();
        assert_eq!(g.data, vec![255, 0]);
    }

    #[test]
    fn shrink_averages_blocks() {
        let g = Grey::new(4, 2, vec![0, 255, 10, 10, 255, 0, 10, 10]).unwrap();
        let s = g.shrink(2);
        assert_eq!((s.width, s.height), (2, 1));
        assert_eq!(s.data, vec![128, 10]);
        // A factor larger than the image leaves it as it is rather than emptying it.
        assert_eq!(g.shrink(8), g);
    }

    #[test]
    fn crop_scaled_clamps_and_interpolates() {
        let g = Grey::new(2, 1, vec![0, 200]).unwrap();
        let up = g.crop_scaled(0, 0, 2, 1, 2.0);
        assert_eq!((up.width, up.height), (4, 2));
        assert_eq!(&up.data[..4], &[0, 50, 150, 200]);
        let empty = ramp(8, 8).crop_scaled(9, 9, 20, 20, 2.0);
        assert_eq!((empty.width, empty.height), (1, 1));
    }

    #[test]
    fn stretch_spreads_a_narrow_range() {
        let g = Grey::new(100, 1, (0..100).map(|i| 100 + (i % 40) as u8).collect()).unwrap();
        let s = g.stretched();
        assert!(*s.data.iter().min().unwrap() == 0 && *s.data.iter().max().unwrap() == 255);
        // A flat image stays flat.
        let flat = Grey::new(4, 4, vec![90; 16]).unwrap();
        assert_eq!(flat.stretched(), flat);
    }

    #[test]
    fn normalisation_lifts_faint_detail_and_keeps_flat_areas_flat() {
        // Stripes 6 grey levels deep on a bright background.
        let (w, h) = (40, 8);
        let data = (0..w * h)
            .map(|i| if (i % w) / 2 % 2 == 0 { 236 } else { 242 })
            .collect();
        let n = Grey::new(w, h, data).unwrap().normalized(4, 2.0);
        let (lo, hi) = (*n.data.iter().min().unwrap(), *n.data.iter().max().unwrap());
        assert!(hi - lo > 100, "{lo}..{hi}");
        let flat = Grey::new(16, 16, vec![200; 256])
            .unwrap()
            .normalized(4, 6.0);
        assert!(flat.data.iter().all(|&v| v == 128));
    }

    #[test]
    fn box_blur_averages_neighbours() {
        let mut data = vec![0u8; 9];
        data[4] = 90;
        let b = Grey::new(3, 3, data).unwrap().box3();
        assert_eq!(b.data[4], 10);
        assert_eq!(Grey::new(1, 1, vec![7]).unwrap().box3().data, vec![7]);
    }

    #[test]
    fn adaptive_threshold_follows_a_gradient() {
        // A dark dot on a bright-to-dim gradient: only the dot is black.
        let (w, h) = (64, 16);
        let mut data: Vec<u8> = (0..w * h).map(|i| (250 - (i % w) * 2) as u8).collect();
        data[8 * w + 50] = 20;
        let b = Grey::new(w, h, data).unwrap().adaptive(6, 15);
        assert_eq!(b.data.iter().filter(|&&v| v == 0).count(), 1);
        assert_eq!(b.data[8 * w + 50], 0);
    }
}
