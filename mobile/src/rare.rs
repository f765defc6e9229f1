//! 生僻字 on the phone: the app shows names from the register (enterprise, legal
//! representative) and from signed codes, and most phones have no font for CJK Extensions
//! B–H (many none for Extension A). So the app asks the verification server it talks to for
//! web fonts of just the rare characters on screen (`GET /api/v1/fonts/rare?chars=…`, cut
//! from the certificate's own fonts), loads them under the family
//! [`FAMILY`](zizhi_shared::rare::FAMILY) that its stylesheet puts first, and keeps them on
//! the device; a sync fetches the fonts of every rare character in the register's names
//! (`GET /api/v1/fonts/rare/register`), so an offline verdict shows them too.
//!
//! Which characters are rare is [`zizhi_shared::rare::needs_web_font`], the server's rule.
//!
//! ```
//! use zizhi_app::rare::HeldFonts;
//!
//! let held = HeldFonts::default();
//! assert_eq!(held.lacking(["上海喆堃\u{20000}建设", "沈\u{4DAE}"]), ['\u{4DAE}', '\u{20000}']);
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use zizhi_shared::rare::{MAX_CHARS_PER_REQUEST, RareFace, RareFonts, rare_chars};

/// Where the fonts are asked for, under the server's base URL.
pub const FONTS_PATH: &str = "/api/v1/fonts/rare";
/// The register's rare characters, under the server's base URL.
pub const REGISTER_CHARS_PATH: &str = "/api/v1/fonts/rare/register";
/// At most this many bytes of fonts (base64) are kept on the device: a few hundred rare
/// characters, well inside a browser's local storage. Fonts beyond it serve this session.
pub const MAX_KEPT_BYTES: usize = 1_500_000;

/// The fonts the device holds, as the server sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldFonts {
    pub faces: Vec<RareFace>,
}

impl HeldFonts {
    /// Every character some held face draws.
    pub fn held(&self) -> BTreeSet<char> {
        self.faces.iter().flat_map(|f| f.chars.chars()).collect()
    }

    /// The rare characters of `texts` no held face draws, each once, in code point order.
    pub fn lacking<'a>(&self, texts: impl IntoIterator<Item = &'a str>) -> Vec<char> {
        let held = self.held();
        let mut out: Vec<char> = texts
            .into_iter()
            .flat_map(rare_chars)
            .filter(|c| !held.contains(c))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Takes the faces of an answer that draw something not yet held; returns them (to be
    /// loaded into the page).
    pub fn add(&mut self, got: RareFonts) -> Vec<RareFace> {
        let mut held = self.held();
        let mut added = Vec::new();
        for face in got.faces {
            if face.chars.chars().any(|c| !held.contains(&c)) {
                held.extend(face.chars.chars());
                added.push(face);
            }
        }
        self.faces.extend(added.iter().cloned());
        added
    }

    /// What to keep on the device: the faces in order while they fit [`MAX_KEPT_BYTES`].
    pub fn to_keep(&self) -> HeldFonts {
        let mut total = 0;
        HeldFonts {
            faces: self
                .faces
                .iter()
                .take_while(|f| {
                    total += f.data.len();
                    total <= MAX_KEPT_BYTES
                })
                .cloned()
                .collect(),
        }
    }
}

/// The characters to ask for, in requests of at most
/// [`MAX_CHARS_PER_REQUEST`](zizhi_shared::rare::MAX_CHARS_PER_REQUEST) each.
pub fn requests(chars: &[char]) -> Vec<String> {
    chars
        .chunks(MAX_CHARS_PER_REQUEST)
        .map(|c| c.iter().collect())
        .collect()
}

/// The server's answer to [`FONTS_PATH`].
pub fn parse_fonts(json: &str) -> Result<RareFonts, String> {
    serde_json::from_str(json).map_err(|e| format!("字体应答格式错误（{e}）"))
}

/// The server's answer to [`REGISTER_CHARS_PATH`].
pub fn parse_register_chars(json: &str) -> Result<String, String> {
    #[derive(Deserialize)]
    struct Chars {
        chars: String,
    }
    serde_json::from_str::<Chars>(json)
        .map(|c| c.chars)
        .map_err(|e| format!("生僻字列表应答格式错误（{e}）"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(chars: &str, bytes: usize) -> RareFace {
        RareFace {
            chars: chars.to_owned(),
            unicode_range: chars
                .chars()
                .map(|c| format!("U+{:X}", u32::from(c)))
                .collect::<Vec<_>>()
                .join(","),
            mime: "font/ttf".into(),
            data: "A".repeat(bytes),
        }
    }

    #[test]
    fn only_rare_characters_not_yet_held_are_asked_for() {
        let mut held = HeldFonts::default();
        let added = held.add(RareFonts {
            faces: vec![face("\u{4DAE}", 10)],
            missing: String::new(),
        });
        assert_eq!(added.len(), 1);
        assert_eq!(
            held.lacking(["上海喆堃\u{20000}\u{2C317}建设工程有限公司", "沈\u{4DAE}"]),
            ['\u{20000}', '\u{2C317}']
        );
        assert!(
            held.lacking(["上海申衡建设工程有限公司", "王建国"])
                .is_empty()
        );
        // A face that draws nothing new is not taken twice.
        let again = held.add(RareFonts {
            faces: vec![face("\u{4DAE}", 10), face("\u{20000}", 10)],
            missing: String::new(),
        });
        assert_eq!(again, [face("\u{20000}", 10)]);
        assert_eq!(held.faces.len(), 2);
    }

    #[test]
    fn requests_hold_at_most_the_servers_limit() {
        let chars: Vec<char> = ('\u{3400}'..='\u{3480}').collect();
        let reqs = requests(&chars);
        assert_eq!(reqs.len(), 3);
        assert!(
            reqs.iter()
                .all(|r| r.chars().count() <= MAX_CHARS_PER_REQUEST)
        );
        assert_eq!(reqs.concat().chars().count(), chars.len());
    }

    #[test]
    fn the_device_keeps_fonts_up_to_its_budget() {
        let held = HeldFonts {
            faces: vec![
                face("\u{4DAE}", MAX_KEPT_BYTES / 2),
                face("\u{20000}", MAX_KEPT_BYTES / 2),
                face("\u{2C317}", 10),
            ],
        };
        assert_eq!(held.to_keep().faces.len(), 2);
    }

    #[test]
    fn server_answers_are_read() {
        let fonts = parse_fonts(
            r#"{"faces":[{"chars":"𠀀","unicode_range":"U+20000","mime":"font/ttf","data":"AAEC"}],"missing":""}"#,
        )
        .unwrap();
        assert_eq!(fonts.faces[0].chars, "\u{20000}");
        assert_eq!(parse_register_chars(r#"{"chars":"䶮𠀀"}"#).unwrap(), "䶮𠀀");
        assert!(parse_fonts("<html>").is_err());
    }
}
