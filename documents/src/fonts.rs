//! The certificate's typeface: Noto Serif CJK SC (SIL OFL 1.1).
//!
//! Debian's `fonts-noto-cjk` has the full face; when it is installed (or a path is configured)
//! that one is used, with its real Bold for headings. Otherwise the subset shipped in
//! `assets/fonts/` is embedded in the binary as a fallback: all of GB 2312 plus the characters
//! of the demo register (`scripts/subset-font.py`), with a stroked faux bold. Either way every
//! PDF embeds only the glyphs it uses (krilla subsets), so the file stays small.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use krilla::text::Font;
use skrifa::instance::{LocationRef, Size};
use skrifa::raw::{FileRef, TableProvider};
use skrifa::string::StringId;
use skrifa::{FontRef, MetadataProvider};

use crate::DocumentError;

/// The shipped fallback (4 MB; GB 2312 + the demo register).
static FALLBACK: &[u8] = include_bytes!("../../assets/fonts/NotoSerifSC-Regular-GB2312.otf");

/// Where Debian's `fonts-noto-cjk` puts the serif faces.
pub const SYSTEM_REGULAR: &str = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc";
pub const SYSTEM_BOLD: &str = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc";

/// One face of a font file, ready for drawing (krilla) and measuring (skrifa).
#[derive(Clone)]
pub struct Face {
    data: Arc<Vec<u8>>,
    index: u32,
    font: Font,
    units_per_em: f32,
}

impl Face {
    fn new(data: Arc<Vec<u8>>, index: u32) -> Result<Face, DocumentError> {
        let font = Font::new(data.clone().into(), index)
            .ok_or_else(|| DocumentError::Font(format!("face {index} cannot be read")))?;
        let units_per_em = f32::from(
            FontRef::from_index(&data, index)
                .map_err(|e| DocumentError::Font(e.to_string()))?
                .head()
                .map_err(|e| DocumentError::Font(e.to_string()))?
                .units_per_em(),
        );
        Ok(Face {
            data,
            index,
            font,
            units_per_em,
        })
    }

    fn font_ref(&self) -> FontRef<'_> {
        FontRef::from_index(&self.data, self.index).expect("checked when loaded")
    }

    pub(crate) fn krilla(&self) -> Font {
        self.font.clone()
    }

    /// Advance width of `text` at `size` points. Sums the horizontal advances, which is what
    /// the shaper produces for CJK and for the digits and Latin letters a certificate holds.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        let font = self.font_ref();
        let charmap = font.charmap();
        let metrics = font.glyph_metrics(Size::unscaled(), LocationRef::default());
        let units: f32 = text
            .chars()
            .map(|c| {
                charmap
                    .map(c)
                    .and_then(|g| metrics.advance_width(g))
                    .unwrap_or(self.units_per_em)
            })
            .sum();
        units * size / self.units_per_em
    }

    /// The first character of `text` this face has no glyph for.
    pub fn missing(&self, text: &str) -> Option<char> {
        let font = self.font_ref();
        let charmap = font.charmap();
        text.chars()
            .find(|&c| !c.is_whitespace() && charmap.map(c).is_none())
    }
}

/// The faces a certificate is set in.
#[derive(Clone)]
pub struct Fonts {
    pub(crate) regular: Face,
    /// A real bold face, or `None` to embolden the regular one with a stroke.
    pub(crate) bold: Option<Face>,
    source: String,
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

/// The index of the Simplified Chinese face in a collection (NotoSerifCJK-*.ttc holds JP, KR,
/// SC, TC and HK), or 0 for a single font.
fn sc_face(data: &[u8]) -> Result<u32, DocumentError> {
    match FileRef::new(data).map_err(|e| DocumentError::Font(e.to_string()))? {
        FileRef::Font(_) => Ok(0),
        FileRef::Collection(c) => (0..c.len())
            .find(|&i| {
                c.get(i).is_ok_and(|f| {
                    f.localized_strings(StringId::FAMILY_NAME)
                        .english_or_first()
                        .is_some_and(|n| n.to_string().ends_with(" SC"))
                })
            })
            .ok_or_else(|| DocumentError::Font("the collection has no SC face".into())),
    }
}

fn load_file(path: &Path) -> Result<Face, DocumentError> {
    let data =
        std::fs::read(path).map_err(|e| DocumentError::Font(format!("{}: {e}", path.display())))?;
    let index = sc_face(&data)?;
    Face::new(Arc::new(data), index)
}

impl Fonts {
    /// The configured font file when given, else Debian's Noto Serif CJK when installed, else
    /// the shipped subset.
    /// Loaded once per process and path: a CJK collection is tens of megabytes.
    pub fn load(configured: Option<&Path>) -> Result<Fonts, DocumentError> {
        static LOADED: Mutex<Vec<(Option<PathBuf>, Fonts)>> = Mutex::new(Vec::new());
        let key = configured.map(Path::to_path_buf);
        let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, f)) = loaded.iter().find(|(k, _)| *k == key) {
            return Ok(f.clone());
        }
        let fonts = Fonts::load_uncached(configured)?;
        loaded.push((key, fonts.clone()));
        Ok(fonts)
    }

    fn load_uncached(configured: Option<&Path>) -> Result<Fonts, DocumentError> {
        let (regular, bold_path): (PathBuf, PathBuf) = match configured {
            Some(p) => (p.to_path_buf(), p.with_file_name("NotoSerifCJK-Bold.ttc")),
            None if Path::new(SYSTEM_REGULAR).exists() => {
                (SYSTEM_REGULAR.into(), SYSTEM_BOLD.into())
            }
            None => return Fonts::shipped(),
        };
        let bold = bold_path
            .exists()
            .then(|| load_file(&bold_path))
            .transpose()?;
        Ok(Fonts {
            source: format!(
                "{}{}",
                regular.display(),
                if bold.is_some() { " (+ Bold)" } else { "" }
            ),
            regular: load_file(&regular)?,
            bold,
        })
    }

    /// Only the subset shipped in `assets/fonts/`, whatever the system has.
    pub fn shipped() -> Result<Fonts, DocumentError> {
        Ok(Fonts {
            regular: Face::new(Arc::new(FALLBACK.to_vec()), 0)?,
            bold: None,
            source: "assets/fonts/NotoSerifSC-Regular-GB2312.otf (embedded)".into(),
        })
    }

    /// Where the faces came from, for the log.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The first character of `text` that cannot be set.
    pub fn missing(&self, text: &str) -> Option<char> {
        self.regular
            .missing(text)
            .or_else(|| self.bold.as_ref().and_then(|b| b.missing(text)))
    }
}
