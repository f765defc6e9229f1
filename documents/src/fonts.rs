//! The certificate's typefaces: Noto Serif CJK SC (SIL OFL 1.1), then, character by
//! character, Song/Ming faces that cover the CJK extensions it lacks.
//!
//! Debian's `fonts-noto-cjk` has the full face; when it is installed (or a path is configured)
//! that one is used, with its real Bold for headings. Otherwise the subset shipped in
//! `assets/fonts/` is embedded in the binary as a fallback: all of GB 2312 plus the characters
//! of the demo register (`scripts/subset-font.py`), with a stroked faux bold.
//!
//! Noto Serif CJK SC has the unified ideographs and Extension A but only a few thousand of the
//! ~90 000 ideographs of Extensions B–I that GB 18030-2022 and legal names need. The chain
//! after it ([`FALLBACK_CHAIN`]) is HanaMinA (BMP, Extension A, compatibility ideographs),
//! HanaMinB (Extensions B–F) and BabelStone Han (parts of Extensions G and H), from Debian's
//! `fonts-hanazono` and `fonts-babelstone-han`; each one missing on the machine is replaced by
//! the small subset of it shipped in `assets/fonts/` (the characters of the demo register and
//! the tests). Each character is set in the first face that has it, and measured with that
//! face. Every PDF embeds only the glyphs it uses (krilla subsets), so the file stays small.
//! Licences (all allow embedding; OS/2 `fsType` 0 in each): `assets/fonts/README.md`.

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

/// One face of the chain after Noto Serif CJK SC: where Debian installs it, and the subset of
/// it shipped for machines without it.
pub struct ChainFont {
    pub name: &'static str,
    pub system: &'static str,
    pub shipped: &'static [u8],
    pub shipped_name: &'static str,
}

/// The faces tried, in order, for a character Noto Serif CJK SC lacks.
pub const FALLBACK_CHAIN: [ChainFont; 3] = [
    ChainFont {
        name: "HanaMinA",
        system: "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf",
        shipped: include_bytes!("../../assets/fonts/HanaMinA-Rare.ttf"),
        shipped_name: "assets/fonts/HanaMinA-Rare.ttf",
    },
    ChainFont {
        name: "HanaMinB",
        system: "/usr/share/fonts/truetype/hanazono/HanaMinB.ttf",
        shipped: include_bytes!("../../assets/fonts/HanaMinB-Rare.ttf"),
        shipped_name: "assets/fonts/HanaMinB-Rare.ttf",
    },
    ChainFont {
        name: "BabelStone Han",
        system: "/usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf",
        shipped: include_bytes!("../../assets/fonts/BabelStoneHan-Rare.ttf"),
        shipped_name: "assets/fonts/BabelStoneHan-Rare.ttf",
    },
];

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

    pub(crate) fn data(&self) -> &[u8] {
        &self.data
    }

    pub(crate) fn index(&self) -> u32 {
        self.index
    }

    pub(crate) fn font_ref(&self) -> FontRef<'_> {
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

    /// Whether the face has a glyph for `c` (a space is set in any face).
    pub fn has(&self, c: char) -> bool {
        c.is_whitespace() || self.font_ref().charmap().map(c).is_some()
    }

    /// The family name, as `pdffonts` and the log show it.
    pub fn family(&self) -> String {
        self.font_ref()
            .localized_strings(StringId::FAMILY_NAME)
            .english_or_first()
            .map(|n| n.to_string())
            .unwrap_or_default()
    }
}

/// A piece of text set in one face.
pub(crate) struct Run<'f, 't> {
    pub face: &'f Face,
    /// Set with a stroke to read as bold: the face has no bold of its own.
    pub embolden: bool,
    pub text: &'t str,
}

/// The faces a certificate is set in.
#[derive(Clone)]
pub struct Fonts {
    pub(crate) regular: Face,
    /// A real bold face, or `None` to embolden the regular one with a stroke.
    pub(crate) bold: Option<Face>,
    /// Tried in order for a character the main face lacks.
    pub(crate) fallbacks: Vec<Face>,
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
        let (fallbacks, chain) = Fonts::chain(false)?;
        Ok(Fonts {
            source: format!(
                "{}{}, then {chain}",
                regular.display(),
                if bold.is_some() { " (+ Bold)" } else { "" }
            ),
            regular: load_file(&regular)?,
            bold,
            fallbacks,
        })
    }

    /// The faces after the main one: each installed one from Debian, else its shipped subset
    /// (always the subsets with `shipped_only`); and how to name them in the log.
    fn chain(shipped_only: bool) -> Result<(Vec<Face>, String), DocumentError> {
        let mut faces = Vec::new();
        let mut names = Vec::new();
        for f in &FALLBACK_CHAIN {
            if !shipped_only && Path::new(f.system).exists() {
                faces.push(load_file(Path::new(f.system))?);
                names.push(f.system.to_owned());
            } else {
                faces.push(Face::new(Arc::new(f.shipped.to_vec()), 0)?);
                names.push(format!("{} (embedded)", f.shipped_name));
            }
        }
        Ok((faces, names.join(", ")))
    }

    /// Only the subsets shipped in `assets/fonts/`, whatever the system has.
    pub fn shipped() -> Result<Fonts, DocumentError> {
        let (fallbacks, chain) = Fonts::chain(true)?;
        Ok(Fonts {
            regular: Face::new(Arc::new(FALLBACK.to_vec()), 0)?,
            bold: None,
            fallbacks,
            source: format!("assets/fonts/NotoSerifSC-Regular-GB2312.otf (embedded), then {chain}"),
        })
    }

    /// Where the faces came from, for the log.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The first character of `text` that no face of the chain has.
    pub fn missing(&self, text: &str) -> Option<char> {
        text.chars()
            .find(|&c| !self.regular.has(c) && !self.fallbacks.iter().any(|f| f.has(c)))
    }

    /// The faces in the order a character is looked up: for bold text the bold face first
    /// (when there is one), then the regular face and the chain, emboldened.
    fn candidates(&self, bold: bool) -> impl Iterator<Item = (&Face, bool)> {
        let own_bold = self.bold.as_ref().filter(|_| bold).map(|b| (b, false));
        own_bold.into_iter().chain(
            std::iter::once(&self.regular)
                .chain(&self.fallbacks)
                .map(move |f| (f, bold)),
        )
    }

    /// `text` cut into runs, each set in the first face that has all its characters; a
    /// character no face has stays with the main face (it prints as `.notdef`, which
    /// [`crate::layout::render`] refuses before drawing anything).
    pub(crate) fn runs<'f, 't>(&'f self, text: &'t str, bold: bool) -> Vec<Run<'f, 't>> {
        let first = self
            .candidates(bold)
            .next()
            .expect("the main face is always there");
        let pick = |c: char| {
            self.candidates(bold)
                .enumerate()
                .find(|(_, (f, _))| f.has(c))
                .unwrap_or((0, first))
        };
        let mut runs: Vec<(usize, (&Face, bool), usize, usize)> = Vec::new();
        for (at, c) in text.char_indices() {
            let end = at + c.len_utf8();
            match runs.last_mut() {
                // A space joins whatever run it follows: every face has one.
                Some(last) if c.is_whitespace() || pick(c).0 == last.0 => last.3 = end,
                _ => {
                    let (i, face) = pick(c);
                    runs.push((i, face, at, end));
                }
            }
        }
        runs.into_iter()
            .map(|(_, (face, embolden), from, to)| Run {
                face,
                embolden,
                text: &text[from..to],
            })
            .collect()
    }

    /// The family names of the faces `text` is set in, in chain order (for tests and the log).
    pub fn families_for(&self, text: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in self.runs(text, false) {
            let f = r.face.family();
            if !out.contains(&f) {
                out.push(f);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::rare_names;

    #[test]
    fn the_shipped_chain_covers_every_rare_name_of_the_tests() {
        let fonts = Fonts::shipped().unwrap();
        let names = rare_names();
        assert!(names.len() >= 10, "{names:?}");
        for (what, name) in names {
            assert_eq!(fonts.missing(name), None, "{what}: {name}");
        }
        // Extension I: no face of the chain has it yet, so the register refuses it.
        assert_eq!(fonts.missing("沈\u{2EBF0}"), Some('\u{2EBF0}'));
    }

    #[test]
    fn each_character_is_set_in_the_first_face_of_the_chain_that_has_it() {
        let fonts = Fonts::shipped().unwrap();
        let family = |s: &str| fonts.families_for(s);
        assert_eq!(family("沈\u{4DAE}"), ["Noto Serif CJK SC"]);
        assert_eq!(family("\u{20000}"), ["HanaMinA"]);
        assert_eq!(family("\u{2CEB0}"), ["HanaMinB"]);
        assert_eq!(family("\u{31350}"), ["BabelStone Han"]);
        assert_eq!(
            family("上海\u{20000}\u{2CEB0}有限公司"),
            ["Noto Serif CJK SC", "HanaMinA", "HanaMinB"]
        );
        let runs: Vec<&str> = fonts
            .runs("上海\u{20000}\u{2CEB0} 有限公司", false)
            .iter()
            .map(|r| r.text)
            .collect();
        assert_eq!(runs, ["上海", "\u{20000}", "\u{2CEB0} ", "有限公司"]);
    }

    #[test]
    fn a_fallback_face_is_emboldened_even_where_the_main_face_has_a_bold() {
        let fonts = Fonts::shipped().unwrap();
        let runs = fonts.runs("沈\u{20000}", true);
        assert_eq!(runs.len(), 2);
        assert!(runs.iter().all(|r| r.embolden), "no bold face shipped");
    }
}
