//! The one rule for the text the register keeps and the certificate prints (names, addresses,
//! legal representatives, qualification items, purposes): which characters are accepted, in
//! which form they are kept, and how a search fragment is compared with them.
//!
//! GB 18030-2022 (mandatory since 2023-08-01) requires every ideograph of Unicode's CJK
//! Extensions A–F to be accepted, and legal representatives' names often hold such 生僻字
//! (䶮, 𠀀, 𬌗, …). So the rule is not "GB 2312" or "whatever our font has", but:
//!
//! - **assigned code points only**: an unassigned one (general category Cn, which includes the
//!   noncharacters) may be assigned later with a meaning nobody can know today;
//! - **no private use** (Co): GB 18030-2005 put some characters in the private use area, and
//!   GB 18030-2022 moved them to their standard code points; a private-use code point names no
//!   character outside one vendor's font;
//! - **no control, format or separator characters** (Cc, Cf, Zl, Zp): line breaks, NUL,
//!   bidirectional overrides (U+202E can make a name read backwards on screen while the bytes
//!   say otherwise), zero-width characters and the BOM print nothing or change how the rest
//!   prints;
//! - **one normalisation, NFC, except for CJK compatibility ideographs**. NFC composes what an
//!   input method may send decomposed (e.g. `e` + U+0301), so one name has one form. But NFC
//!   also replaces each CJK compatibility ideograph (U+F900–U+FAFF, U+2F800–U+2FA1F) by the
//!   unified ideograph it is "canonically equivalent" to, and those are the forms some legal
//!   names are registered with (they exist for round trips with KS X 1001, Big5 and IBM
//!   code pages, and GB 18030 maps every one of them to its own four-byte code). Changing a
//!   character of a legal name is not the register's call, so they are kept as entered; only
//!   search folds them (see [`search_key`]). Unicode's other way to keep them through NFC,
//!   the standardized variation sequences (unified ideograph + U+FE0x), was not taken: the
//!   register would then hold two characters where the licence shows one, and a font without
//!   those sequences prints the plain unified glyph.
//!
//! Whether a character the rule accepts can also be *printed* depends on the fonts in force;
//! the server checks that with the printer's own fonts at entry, so the register and the
//! certificate never disagree.
//!
//! ```
//! use zizhi_shared::legal_text::{normalize, unusable, search_key, Unusable};
//! assert_eq!(normalize("沈䶮"), "沈䶮");
//! assert_eq!(normalize("Jose\u{301}"), "José");
//! assert_eq!(normalize("\u{F900}"), "\u{F900}"); // kept as entered
//! assert_eq!(search_key("\u{F900}"), "\u{8C48}"); // but found by its unified form
//! assert_eq!(unusable('\u{202E}'), Some(Unusable::Format));
//! assert_eq!(unusable('𠀀'), None);
//! ```

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Why a character is refused by the register, whatever the fonts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unusable {
    /// Cn: not (yet) assigned a character, or a noncharacter.
    Unassigned,
    /// Co: private use.
    PrivateUse,
    /// Cc: NUL, tab, line feed and the other C0/C1 controls.
    Control,
    /// Cf: bidirectional controls, zero-width characters, the BOM, tags.
    Format,
    /// Zl, Zp: line and paragraph separators.
    Separator,
}

impl Unusable {
    /// The reason as the error message gives it.
    pub fn reason_zh(self) -> &'static str {
        match self {
            Unusable::Unassigned => "未分配给任何字符的码位",
            Unusable::PrivateUse => "私用区码位，不代表标准字符",
            Unusable::Control => "控制字符",
            Unusable::Format => "格式控制字符（双向文本控制、零宽字符等），不可见",
            Unusable::Separator => "行或段落分隔符",
        }
    }
}

/// Why `c` can never be part of the register's text, or `None` when it may.
pub fn unusable(c: char) -> Option<Unusable> {
    match c.general_category() {
        GeneralCategory::Unassigned => Some(Unusable::Unassigned),
        GeneralCategory::PrivateUse => Some(Unusable::PrivateUse),
        GeneralCategory::Control => Some(Unusable::Control),
        GeneralCategory::Format => Some(Unusable::Format),
        GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => {
            Some(Unusable::Separator)
        }
        GeneralCategory::Surrogate => Some(Unusable::Unassigned), // never in a `char`
        _ => None,
    }
}

/// The first character of `text` the register refuses, and why.
pub fn first_unusable(text: &str) -> Option<(char, Unusable)> {
    text.chars().find_map(|c| unusable(c).map(|u| (c, u)))
}

/// Whether `c` is a CJK compatibility ideograph that NFC would replace (the twelve unified
/// ideographs inside U+FA0E–U+FA29 are not: they have no decomposition).
pub fn is_compatibility_ideograph(c: char) -> bool {
    matches!(c, '\u{F900}'..='\u{FAFF}' | '\u{2F800}'..='\u{2FA1F}')
        && !unicode_normalization::is_nfc(c.encode_utf8(&mut [0; 4]))
}

/// The form the register keeps: NFC, except that CJK compatibility ideographs stay as
/// entered (see the module documentation). Idempotent.
///
/// Splitting at compatibility ideographs and composing the pieces gives the same result as
/// composing the whole text would for everything else, because those ideographs are starters
/// (combining class 0) that compose with nothing.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut piece = String::new();
    for c in text.chars() {
        if is_compatibility_ideograph(c) {
            out.extend(piece.nfc());
            piece.clear();
            out.push(c);
        } else {
            piece.push(c);
        }
    }
    out.extend(piece.nfc());
    out
}

/// The form search compares: full NFC, so a compatibility ideograph and its unified
/// ideograph find each other, whichever of the two an input method produced.
pub fn search_key(text: &str) -> String {
    text.nfc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_of_every_cjk_extension_are_usable() {
        for c in [
            '上',        // GB 2312
            '喆',        // GBK only
            '\u{4DAE}',  // 䶮, Extension A
            '\u{20000}', // 𠀀, Extension B
            '\u{2A700}', // Extension C
            '\u{2B740}', // Extension D
            '\u{2B820}', // Extension E
            '\u{2CEB0}', // Extension F
            '\u{30000}', // Extension G
            '\u{31350}', // Extension H
            '\u{2EBF0}', // Extension I
        ] {
            assert_eq!(unusable(c), None, "{c} U+{:04X}", c as u32);
        }
    }

    #[test]
    fn private_use_unassigned_control_and_bidi_are_refused() {
        for (c, why) in [
            ('\u{E000}', Unusable::PrivateUse),
            ('\u{F0000}', Unusable::PrivateUse),
            ('\u{E81E}', Unusable::PrivateUse), // GB 18030-2005's code for 𠂇 before 2022
            ('\u{FFFF}', Unusable::Unassigned),
            ('\u{FDD0}', Unusable::Unassigned),
            ('\u{2FFFF}', Unusable::Unassigned),
            ('\u{0}', Unusable::Control),
            ('\n', Unusable::Control),
            ('\u{85}', Unusable::Control),
            ('\u{202E}', Unusable::Format),
            ('\u{2067}', Unusable::Format),
            ('\u{200B}', Unusable::Format),
            ('\u{FEFF}', Unusable::Format),
            ('\u{2028}', Unusable::Separator),
        ] {
            assert_eq!(unusable(c), Some(why), "U+{:04X}", c as u32);
        }
        assert_eq!(
            first_unusable("沈\u{202E}䶮"),
            Some(('\u{202E}', Unusable::Format))
        );
    }

    #[test]
    fn compatibility_ideographs_are_kept_and_the_rest_is_composed() {
        // U+F900 豈 → U+8C48, U+2F800 丽 → U+4E3D under NFC; U+FA11 﨑 is unified already.
        assert!(is_compatibility_ideograph('\u{F900}'));
        assert!(is_compatibility_ideograph('\u{2F800}'));
        assert!(!is_compatibility_ideograph('\u{FA11}'));
        assert!(!is_compatibility_ideograph('豈'));
        let entered = "A\u{301}\u{F900}e\u{301}\u{2F800}\u{FA11}";
        let kept = normalize(entered);
        assert_eq!(kept, "\u{C1}\u{F900}\u{E9}\u{2F800}\u{FA11}");
        assert_eq!(normalize(&kept), kept, "idempotent");
        assert_eq!(search_key(&kept), "\u{C1}\u{8C48}\u{E9}\u{4E3D}\u{FA11}");
    }

    #[test]
    fn supplementary_characters_are_left_alone() {
        let name = "上海喆堃𠀀𬌗建设工程有限公司";
        assert_eq!(normalize(name), name);
        assert_eq!(search_key(name), name);
    }
}
