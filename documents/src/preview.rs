//! The PNG preview of a copy (for the portal and the app): the signed PDF itself rasterised
//! with `hayro`, a pure-Rust PDF renderer, so the preview can never differ from the document
//! and the server needs no poppler or ghostscript at run time.

use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_syntax::Pdf;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{PixmapSettings, RenderCache, RenderSettings};

use crate::DocumentError;

/// Resolution of previews: 110 dpi gives a 909 × 1286 px A4 page, sharp on a phone or in a
/// portal, with the QR code's 0.55 mm modules at about 2.4 px so it still scans from the image.
pub const PREVIEW_DPI: f32 = 110.0;

/// Renders the first page of `pdf` as a PNG at `dpi`.
pub fn png(pdf: &[u8], dpi: f32) -> Result<Vec<u8>, DocumentError> {
    let doc = Pdf::new(pdf.to_vec()).map_err(|e| DocumentError::Preview(format!("{e:?}")))?;
    let page = doc
        .pages()
        .first()
        .ok_or_else(|| DocumentError::Preview("the document has no page".into()))?;
    let scale = dpi / 72.0;
    let pixmap = hayro::render(
        page,
        &RenderCache::new(),
        &InterpreterSettings::default(),
        &RenderSettings::default(),
        &PixmapSettings {
            x_scale: scale,
            y_scale: scale,
            bg_color: WHITE,
        },
    );
    pixmap
        .into_png()
        .map_err(|e| DocumentError::Preview(e.to_string()))
}
