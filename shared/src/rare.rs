//! 生僻字: which characters a phone may lack in its system fonts, so that whoever shows a
//! name (the H5 pages, the scanner app) brings a web font for them, and the wire form of
//! those fonts as the verification server serves them to the app
//! (`GET /api/v1/fonts/rare?chars=…`).
//!
//! One rule for server and app: the server cuts fonts for exactly the characters the app
//! asks for, and refuses any other.
//!
//! ```
//! use zizhi_shared::rare::rare_chars;
//! assert_eq!(rare_chars("上海喆堃\u{20000}建设 沈\u{4DAE}"), ['\u{4DAE}', '\u{20000}']);
//! assert!(rare_chars("上海申衡建设工程有限公司").is_empty());
//! ```

use serde::{Deserialize, Serialize};

/// The web-font family the app and the pages put first in their font stacks; it covers only
/// the rare characters (`unicode-range`), so every other character keeps the phone's font.
pub const FAMILY: &str = "zizhi-rare";

/// Most characters one request for fonts may ask for: a name holds one or two, a screen a
/// handful; the app asks for a register's worth in requests of this many.
pub const MAX_CHARS_PER_REQUEST: usize = 64;

/// Whether a phone may lack `c` in its system fonts: CJK ideographs outside the unified
/// block every CJK system font has (Extension A, the compatibility ideographs, the
/// supplementary planes' extensions), and the unified block's late additions (U+9FA6 on,
/// Unicode 4.1 and after), which older phones lack.
pub fn needs_web_font(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
        | '\u{9FA6}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{3FFFF}')
}

/// The rare characters of `text`, each once, in code point order.
pub fn rare_chars(text: &str) -> Vec<char> {
    let mut out: Vec<char> = text.chars().filter(|&c| needs_web_font(c)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The fonts for a set of rare characters: one face per source font that has some of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RareFonts {
    pub faces: Vec<RareFace>,
    /// Asked-for characters no font has (the register refuses such names; never expected).
    #[serde(default)]
    pub missing: String,
}

/// One web font, for [`FAMILY`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RareFace {
    /// The characters it draws, in code point order.
    pub chars: String,
    /// Its CSS `unicode-range`, e.g. `U+20000,U+2C317`.
    pub unicode_range: String,
    /// `font/otf` or `font/ttf`.
    pub mime: String,
    /// The font file, base64 (standard alphabet, padded).
    pub data: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ideographs_a_phone_may_lack_need_a_web_font() {
        assert_eq!(
            rare_chars("上海喆堃\u{20000}\u{2C317}建设 沈\u{4DAE}\u{20000}\u{F900}"),
            ['\u{4DAE}', '\u{F900}', '\u{20000}', '\u{2C317}']
        );
        assert!(rare_chars("上海申衡建设工程有限公司 ABC 123").is_empty());
        // The unified block's late additions, but not its common part.
        assert!(needs_web_font('\u{9FA6}') && !needs_web_font('\u{9FA5}'));
        assert!(needs_web_font('\u{3134A}') && !needs_web_font('\u{40000}'));
    }
}
