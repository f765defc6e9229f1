//! Drawing the QR code of a payload text (feature `render`): SVG for documents, PNG for
//! downloads. The app does not need this, so it stays out of wasm builds.
//!
//! The code is always error-correction level M, the whole text in one alphanumeric segment,
//! at the smallest version that holds it. A general-purpose encoder would switch to numeric
//! mode for runs of digits; one segment keeps the layout predictable (the version depends on
//! the text length only) and decodes in every reader.

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ImageEncoder, Luma};
use qrcode::bits::Bits;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode, Version};

/// The QR alphanumeric character set (ISO/IEC 18004 table 5).
pub const ALPHANUMERIC: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Largest module size accepted, in pixels; bigger images are a caller's mistake.
pub const MAX_MODULE_PX: u32 = 64;

/// Why a QR code could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    #[error("二维码文本含有字母数字模式以外的字符 {0:?}（应为大写字母、数字和 $%*+-./: 空格）")]
    NotAlphanumeric(char),
    #[error("二维码文本过长，最大版本也容纳不下")]
    TooLong,
    #[error("模块尺寸应在 1 到 {MAX_MODULE_PX} 像素之间，实为 {0}")]
    BadModuleSize(u32),
    #[error("PNG 编码失败: {0}")]
    Png(String),
}

/// The QR code of `text` at level M, alphanumeric mode, smallest fitting version.
pub fn qr_code(text: &str) -> Result<QrCode, RenderError> {
    if let Some(c) = text.chars().find(|c| !ALPHANUMERIC.contains(*c)) {
        return Err(RenderError::NotAlphanumeric(c));
    }
    for v in 1..=40 {
        let mut bits = Bits::new(Version::Normal(v));
        if bits.push_alphanumeric_data(text.as_bytes()).is_err()
            || bits.push_terminator(EcLevel::M).is_err()
        {
            continue;
        }
        return QrCode::with_bits(bits, EcLevel::M).map_err(|_| RenderError::TooLong);
    }
    Err(RenderError::TooLong)
}

/// The QR version (1–40) `text` needs at level M.
pub fn qr_version(text: &str) -> Result<i16, RenderError> {
    match qr_code(text)?.version() {
        Version::Normal(v) | Version::Micro(v) => Ok(v),
    }
}

/// An SVG image with `module_px` pixels a module and the 4-module quiet zone.
pub fn svg(text: &str, module_px: u32) -> Result<String, RenderError> {
    let px = module_size(module_px)?;
    Ok(qr_code(text)?
        .render::<svg::Color>()
        .quiet_zone(true)
        .module_dimensions(px, px)
        .build())
}

/// A black-on-white greyscale PNG (only pure black and white pixels) with `module_px` pixels
/// a module and the 4-module quiet zone.
pub fn png(text: &str, module_px: u32) -> Result<Vec<u8>, RenderError> {
    let px = module_size(module_px)?;
    let img = qr_code(text)?
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(px, px)
        .build();
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Best, FilterType::NoFilter)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::L8,
        )
        .map_err(|e| RenderError::Png(e.to_string()))?;
    Ok(out)
}

fn module_size(px: u32) -> Result<u32, RenderError> {
    if (1..=MAX_MODULE_PX).contains(&px) {
        Ok(px)
    } else {
        Err(RenderError::BadModuleSize(px))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_case_or_other_characters_are_refused() {
        assert_eq!(
            qr_version("HTTPS://X/v/A").unwrap_err(),
            RenderError::NotAlphanumeric('v')
        );
        assert!(qr_code("上海").is_err());
    }

    #[test]
    fn version_grows_with_text_length_at_level_m() {
        // ISO/IEC 18004 table 7: version 1-M holds 20 alphanumeric characters, 2-M 38.
        assert_eq!(qr_version(&"A".repeat(20)).unwrap(), 1);
        assert_eq!(qr_version(&"A".repeat(21)).unwrap(), 2);
        assert_eq!(qr_version(&"A".repeat(38)).unwrap(), 2);
        // 13-M holds 483.
        assert_eq!(qr_version(&"A".repeat(483)).unwrap(), 13);
        assert_eq!(qr_version(&"A".repeat(484)).unwrap(), 14);
        assert_eq!(qr_version(&"A".repeat(4000)), Err(RenderError::TooLong));
    }

    #[test]
    fn images_keep_a_four_module_quiet_zone() {
        let text = "HTTPS://ZZ.EXAMPLE.CN/V/AEBAGBAFAYDQ";
        let code = qr_code(text).unwrap();
        let side = (code.width() as u32 + 8) * 3;
        let svg = svg(text, 3).unwrap();
        assert!(
            svg.contains(&format!("width=\"{side}\" height=\"{side}\"")),
            "{svg}"
        );

        let bytes = png(text, 3).unwrap();
        let img = image::load_from_memory(&bytes).unwrap().to_luma8();
        assert_eq!((img.width(), img.height()), (side, side));
        assert!(img.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255));
        // The quiet zone is white, the finder pattern's corner just inside it is black.
        assert_eq!(img.get_pixel(4 * 3 - 1, 4 * 3 - 1).0[0], 255);
        assert_eq!(img.get_pixel(4 * 3, 4 * 3).0[0], 0);
        assert_eq!(png(text, 0).unwrap_err(), RenderError::BadModuleSize(0));
    }
}
