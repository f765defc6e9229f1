//! Web fonts of the 生僻字 a page shows, cut from the certificate's own fonts, so a phone
//! whose system fonts lack a character (most lack Extensions B–H, many Extension A) draws the
//! same character the certificate prints instead of a box.
//!
//! A page's rare characters are few (a name holds one or two), so each face used gets a font
//! of just those glyphs: `subsetter` (the subsetter krilla uses for the PDFs) cuts the glyphs,
//! and since it keeps only what a PDF needs, the `cmap` a browser looks characters up in is
//! written anew (`write-fonts`) and `OS/2` copied from the source face.

use std::collections::BTreeMap;

use skrifa::MetadataProvider;
use skrifa::raw::TableProvider;
use subsetter::GlyphRemapper;
use write_fonts::FontBuilder;
use write_fonts::tables::cmap::Cmap;
use write_fonts::types::{GlyphId, Tag};

use crate::DocumentError;
use crate::fonts::{Face, Fonts};

pub use zizhi_shared::rare::{needs_web_font, rare_chars};

/// One web font: the characters it serves and the font file (TrueType or CFF-flavoured
/// OpenType, as its source face).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebFont {
    pub chars: Vec<char>,
    /// `font/ttf` or `font/otf`.
    pub mime: &'static str,
    pub data: Vec<u8>,
}

impl WebFont {
    /// The CSS `unicode-range` of its characters, e.g. `U+20000,U+2C317`.
    pub fn unicode_range(&self) -> String {
        self.chars
            .iter()
            .map(|&c| format!("U+{:X}", u32::from(c)))
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Fonts {
    /// Web fonts for the rare characters of `text` ([`rare_chars`]), one per face of the
    /// chain that sets some of them, chosen as the certificate chooses: the first face that
    /// has the character. Characters no face has are left out (the register refuses them).
    pub fn web_fonts(&self, text: &str) -> Result<Vec<WebFont>, DocumentError> {
        let faces: Vec<&Face> = std::iter::once(&self.regular)
            .chain(&self.fallbacks)
            .collect();
        let mut by_face: BTreeMap<usize, Vec<char>> = BTreeMap::new();
        for c in rare_chars(text) {
            if let Some(i) = faces.iter().position(|f| f.has(c)) {
                by_face.entry(i).or_default().push(c);
            }
        }
        by_face
            .into_iter()
            .map(|(i, chars)| web_font(faces[i], chars))
            .collect()
    }
}

fn font_error(e: impl std::fmt::Debug) -> DocumentError {
    DocumentError::Font(format!("web font: {e:?}"))
}

fn web_font(face: &Face, chars: Vec<char>) -> Result<WebFont, DocumentError> {
    let font = face.font_ref();
    let charmap = font.charmap();
    let mut remapper = GlyphRemapper::new();
    let mut mappings = Vec::with_capacity(chars.len());
    for &c in &chars {
        let old = charmap.map(c).ok_or(DocumentError::MissingGlyph(c))?;
        let old = u16::try_from(old.to_u32()).map_err(font_error)?;
        let new = remapper.remap(old);
        mappings.push((c, GlyphId::new(u32::from(new))));
    }
    let subset = subsetter::subset(face.data(), face.index(), &remapper).map_err(font_error)?;
    let mut builder = FontBuilder::new();
    for (tag, data) in sfnt_tables(&subset)? {
        builder.add_raw(tag, data.to_vec());
    }
    let cmap = Cmap::from_mappings(mappings).map_err(font_error)?;
    builder.add_table(&cmap).map_err(font_error)?;
    // Browsers' font sanitisers require OS/2; its metrics hold for any subset of the face.
    let os2 = font
        .table_data(skrifa::Tag::new(b"OS/2"))
        .ok_or_else(|| DocumentError::Font("the face has no OS/2 table".into()))?;
    builder.add_raw(Tag::new(b"OS/2"), os2.as_bytes().to_vec());
    let cff = font.cff().is_ok();
    Ok(WebFont {
        chars,
        mime: if cff { "font/otf" } else { "font/ttf" },
        data: builder.build(),
    })
}

/// The tables of a single-font sfnt file, by tag.
fn sfnt_tables(data: &[u8]) -> Result<Vec<(Tag, &[u8])>, DocumentError> {
    let bad = || DocumentError::Font("subset font is malformed".into());
    let u16_at = |at: usize| -> Result<usize, DocumentError> {
        let b = data.get(at..at + 2).ok_or_else(bad)?;
        Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
    };
    let u32_at = |at: usize| -> Result<usize, DocumentError> {
        let b = data.get(at..at + 4).ok_or_else(bad)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let count = u16_at(4)?;
    (0..count)
        .map(|i| {
            let rec = 12 + 16 * i;
            let tag = data.get(rec..rec + 4).ok_or_else(bad)?;
            let (offset, len) = (u32_at(rec + 8)?, u32_at(rec + 12)?);
            let table = data.get(offset..offset + len).ok_or_else(bad)?;
            Ok((Tag::new(&[tag[0], tag[1], tag[2], tag[3]]), table))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_fonts_map_each_rare_character_to_its_glyph_in_the_face_the_certificate_uses() {
        let fonts = Fonts::shipped().unwrap();
        let made = fonts
            .web_fonts("上海喆堃\u{20000}\u{2C317}建设工程有限公司 沈\u{4DAE} \u{31350}")
            .unwrap();
        // Noto (the shipped subset has 䶮 and 𬌗), HanaMinA (𠀀), BabelStone Han (𱍐).
        let served: Vec<&[char]> = made.iter().map(|w| w.chars.as_slice()).collect();
        assert_eq!(
            served,
            [
                &['\u{4DAE}', '\u{2C317}'][..],
                &['\u{20000}'],
                &['\u{31350}']
            ]
        );
        assert_eq!(made[0].mime, "font/otf");
        assert_eq!(made[1].mime, "font/ttf");
        for w in &made {
            // Read back: every character maps to a real glyph with an outline's advance.
            let f = skrifa::FontRef::new(&w.data).unwrap();
            let cmap = f.charmap();
            let metrics = f.glyph_metrics(
                skrifa::instance::Size::unscaled(),
                skrifa::instance::LocationRef::default(),
            );
            for &c in &w.chars {
                let g = cmap.map(c).unwrap_or_else(|| panic!("{c} not mapped"));
                assert_ne!(g.to_u32(), 0, "{c} mapped to .notdef");
                assert!(metrics.advance_width(g).unwrap_or(0.0) > 0.0, "{c}");
            }
            assert!(f.table_data(skrifa::Tag::new(b"OS/2")).is_some());
            assert!(w.data.len() < 40_000, "{} bytes", w.data.len());
        }
        assert_eq!(made[2].unicode_range(), "U+31350");
    }
}
