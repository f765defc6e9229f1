//! Sizes for the pixels handed to the decoder: camera frames and chosen photos are drawn to a
//! canvas no larger than needed, since every extra pixel costs decode time in wasm and a
//! 12-megapixel photo would take tens of MB of memory.

/// Longest side a camera frame is drawn at (720p frames pass unchanged).
pub const MAX_FRAME_SIDE: u32 = 1280;
/// Longest side a chosen photo is drawn at: a 3.5 cm code in a full-page photo still keeps
/// about 3 px per module, which the decoder's small-code attempts need.
pub const MAX_PHOTO_SIDE: u32 = 2400;

/// `(w, h)` scaled down, aspect kept, so the longer side is at most `max`; never below 1 px.
pub fn fit(w: u32, h: u32, max: u32) -> (u32, u32) {
    let long = w.max(h).max(1);
    if long <= max {
        return (w, h);
    }
    let s = max as f64 / long as f64;
    let scale = |n: u32| ((n as f64) * s).round().max(1.0) as u32;
    (scale(w), scale(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_images_keep_their_size() {
        assert_eq!(fit(1280, 720, MAX_FRAME_SIDE), (1280, 720));
        assert_eq!(fit(640, 480, MAX_PHOTO_SIDE), (640, 480));
    }

    #[test]
    fn large_photos_shrink_to_the_limit_keeping_the_aspect() {
        assert_eq!(fit(4032, 3024, MAX_PHOTO_SIDE), (2400, 1800));
        assert_eq!(fit(3024, 4032, MAX_PHOTO_SIDE), (1800, 2400));
        assert_eq!(fit(1920, 1080, MAX_FRAME_SIDE), (1280, 720));
    }

    #[test]
    fn a_sliver_never_becomes_zero_pixels() {
        assert_eq!(fit(10_000, 1, 100), (100, 1));
    }
}
