//! The wasm32 side: encodings by name, decoded by the browser's `TextDecoder`.

use std::borrow::Cow;
use std::fmt::Write as _;

use wasm_bindgen::JsValue;
use web_sys::{TextDecoder, TextDecoderOptions};

/// An encoding of the WHATWG Encoding Standard, known by its canonical name.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Encoding {
    name: &'static str,
}

macro_rules! encodings {
    ($($(#[$doc:meta])* $id:ident = $name:literal;)*) => {
        $($(#[$doc])* pub static $id: &Encoding = &Encoding { name: $name };)*
        /// Every encoding, to map a `TextDecoder`'s canonical name back to its static.
        static ALL: &[&Encoding] = &[$($id),*];
    };
}

encodings! {
    BIG5 = "Big5";
    EUC_JP = "EUC-JP";
    EUC_KR = "EUC-KR";
    GB18030 = "gb18030";
    GBK = "GBK";
    IBM866 = "IBM866";
    ISO_2022_JP = "ISO-2022-JP";
    ISO_8859_10 = "ISO-8859-10";
    ISO_8859_13 = "ISO-8859-13";
    ISO_8859_14 = "ISO-8859-14";
    ISO_8859_15 = "ISO-8859-15";
    ISO_8859_16 = "ISO-8859-16";
    ISO_8859_2 = "ISO-8859-2";
    ISO_8859_3 = "ISO-8859-3";
    ISO_8859_4 = "ISO-8859-4";
    ISO_8859_5 = "ISO-8859-5";
    ISO_8859_6 = "ISO-8859-6";
    ISO_8859_7 = "ISO-8859-7";
    ISO_8859_8 = "ISO-8859-8";
    ISO_8859_8_I = "ISO-8859-8-I";
    KOI8_R = "KOI8-R";
    KOI8_U = "KOI8-U";
    MACINTOSH = "macintosh";
    REPLACEMENT = "replacement";
    SHIFT_JIS = "Shift_JIS";
    UTF_16BE = "UTF-16BE";
    UTF_16LE = "UTF-16LE";
    UTF_8 = "UTF-8";
    WINDOWS_1250 = "windows-1250";
    WINDOWS_1251 = "windows-1251";
    WINDOWS_1252 = "windows-1252";
    WINDOWS_1253 = "windows-1253";
    WINDOWS_1254 = "windows-1254";
    WINDOWS_1255 = "windows-1255";
    WINDOWS_1256 = "windows-1256";
    WINDOWS_1257 = "windows-1257";
    WINDOWS_1258 = "windows-1258";
    WINDOWS_874 = "windows-874";
    X_MAC_CYRILLIC = "x-mac-cyrillic";
    X_USER_DEFINED = "x-user-defined";
}

/// A `TextDecoder` for `label` that keeps a leading byte order mark (BOM handling is done
/// here, as encoding_rs does it); `fatal`: fail on malformed input instead of replacing it.
fn decoder(label: &str, fatal: bool) -> Option<TextDecoder> {
    let options = TextDecoderOptions::new();
    options.set_fatal(fatal);
    js_sys::Reflect::set(&options, &JsValue::from_str("ignoreBOM"), &JsValue::TRUE).ok()?;
    TextDecoder::new_with_label_and_options(label, &options).ok()
}

impl Encoding {
    /// The canonical name (`"Shift_JIS"`, `"UTF-8"`).
    pub fn name(&'static self) -> &'static str {
        self.name
    }

    /// The encoding a label names (`b"ascii"` → windows-1252), by the browser's own label
    /// table. None when the browser knows no such label; also for the labels of the
    /// replacement encoding, which `TextDecoder` refuses.
    pub fn for_label(label: &[u8]) -> Option<&'static Encoding> {
        let canonical = decoder(std::str::from_utf8(label).ok()?, false)?.encoding();
        ALL.iter()
            .copied()
            .find(|e| e.name.eq_ignore_ascii_case(&canonical))
    }

    /// What text in this encoding is encoded as: UTF-8 for UTF-16 and replacement.
    pub fn output_encoding(&'static self) -> &'static Encoding {
        if matches!(self.name, "UTF-16BE" | "UTF-16LE" | "replacement") {
            UTF_8
        } else {
            self
        }
    }

    /// `bytes` as text, malformed sequences replaced by U+FFFD: a byte order mark chooses
    /// UTF-8 or UTF-16 over this encoding and is removed. Returns the text, the encoding
    /// used and whether anything was replaced.
    pub fn decode<'a>(&'static self, bytes: &'a [u8]) -> (Cow<'a, str>, &'static Encoding, bool) {
        let (encoding, rest) = match bytes {
            [0xEF, 0xBB, 0xBF, rest @ ..] => (UTF_8, rest),
            [0xFE, 0xFF, rest @ ..] => (UTF_16BE, rest),
            [0xFF, 0xFE, rest @ ..] => (UTF_16LE, rest),
            _ => (self, bytes),
        };
        let (text, had_errors) = encoding.decode_without_bom_handling(rest);
        (text, encoding, had_errors)
    }

    /// `bytes` as text in this encoding, a byte order mark included as U+FEFF; malformed
    /// sequences replaced by U+FFFD, reported by the flag.
    pub fn decode_without_bom_handling<'a>(&'static self, bytes: &'a [u8]) -> (Cow<'a, str>, bool) {
        if self.name == "UTF-8" {
            // Rust's lossy UTF-8 decoding replaces maximal subparts, as the WHATWG decoder
            // does; no trip to JavaScript needed.
            return match String::from_utf8_lossy(bytes) {
                Cow::Borrowed(text) => (Cow::Borrowed(text), false),
                Cow::Owned(text) => (Cow::Owned(text), true),
            };
        }
        if let Some(text) =
            decoder(self.name, true).and_then(|d| d.decode_with_u8_array(bytes).ok())
        {
            return (Cow::Owned(text), false);
        }
        let replaced = decoder(self.name, false)
            .and_then(|d| d.decode_with_u8_array(bytes).ok())
            // A browser without this decoder: one replacement character for the lot.
            .unwrap_or_else(|| "\u{FFFD}".to_owned());
        (Cow::Owned(replaced), true)
    }

    /// `text` in this encoding's output encoding. UTF-8 is exact; browsers have no legacy
    /// encoders, so there ASCII passes through and every other character becomes a numeric
    /// character reference, with `had_errors` set.
    pub fn encode<'a>(&'static self, text: &'a str) -> (Cow<'a, [u8]>, &'static Encoding, bool) {
        let output = self.output_encoding();
        if output == UTF_8 || text.is_ascii() {
            return (Cow::Borrowed(text.as_bytes()), output, false);
        }
        let mut out = String::with_capacity(text.len() + 8);
        for c in text.chars() {
            if c.is_ascii() {
                out.push(c);
            } else {
                let _ = write!(out, "&#{};", c as u32);
            }
        }
        (Cow::Owned(out.into_bytes()), output, true)
    }
}
