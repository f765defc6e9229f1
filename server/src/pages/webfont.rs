//! The 生僻字 of a page in web fonts cut from the certificate's fonts, so a phone whose
//! system fonts lack Extension A–H characters shows the name as the certificate prints it,
//! not as boxes.
//!
//! Each page is still one request: the fonts of its few rare characters (a glyph is 1–10 KB)
//! go inline as `data:` URLs in `@font-face` rules, one per face used, each limited by
//! `unicode-range` to its characters, under the family `zizhi-rare` that the stylesheet puts
//! first (so every other character keeps the phone's own font). The page CSP allows
//! `font-src data:`. Cut once per set of characters and kept in a bounded cache.

use std::sync::{Arc, OnceLock};

use base64::Engine;
use zizhi_documents::Fonts;
use zizhi_documents::webfont::rare_chars;

/// The certificate's fonts, installed when they are loaded ([`install`]). A process-wide
/// value because every page shell needs it and the shell is a plain function; every server
/// in one process loads the same faces (`Fonts::load` is cached per path too).
static FONTS: OnceLock<Arc<Fonts>> = OnceLock::new();

/// Makes the certificate's fonts the source of the pages' web fonts; the first call wins.
pub fn install(fonts: Arc<Fonts>) {
    let _ = FONTS.set(fonts);
}

fn cache() -> &'static moka::sync::Cache<String, Arc<str>> {
    static CACHE: OnceLock<moka::sync::Cache<String, Arc<str>>> = OnceLock::new();
    // Sets of rare characters repeat (a name is shown on every page of its enterprise); a
    // thousand sets of a few KB each bound the memory.
    CACHE.get_or_init(|| moka::sync::Cache::new(1_000))
}

/// `@font-face` rules for the rare characters of `text`; empty when there are none (or no
/// fonts were installed: the phone's own fonts are all there is then).
pub fn font_faces(text: &str) -> Arc<str> {
    let rare: String = rare_chars(text).into_iter().collect();
    let Some(fonts) = FONTS.get().filter(|_| !rare.is_empty()) else {
        return Arc::from("");
    };
    cache().get_with(rare.clone(), || match fonts.web_fonts(&rare) {
        Ok(faces) => Arc::from(
            faces
                .iter()
                .map(|f| {
                    let format = if f.mime == "font/otf" { "opentype" } else { "truetype" };
                    format!(
                        "@font-face{{font-family:\"zizhi-rare\";src:url(data:{};base64,{}) format(\"{format}\");unicode-range:{}}}",
                        f.mime,
                        base64::engine::general_purpose::STANDARD.encode(&f.data),
                        f.unicode_range()
                    )
                })
                .collect::<String>(),
        ),
        Err(e) => {
            // The page still shows, in the phone's fonts; worth a look, never an error page.
            tracing::warn!(error = %e, "no web font for the page's rare characters");
            Arc::from("")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_without_rare_characters_gets_no_font_and_one_with_them_gets_their_faces() {
        install(Arc::new(Fonts::shipped().unwrap()));
        assert_eq!(&*font_faces("上海申衡建设工程有限公司 王建国"), "");
        let css = font_faces("上海喆堃\u{20000}\u{2C317}建设工程有限公司 沈\u{4DAE}");
        assert_eq!(css.matches("@font-face").count(), 2, "{css}");
        assert!(css.contains("unicode-range:U+4DAE,U+2C317}"), "{css}");
        assert!(css.contains("unicode-range:U+20000}"), "{css}");
        assert!(css.contains("src:url(data:font/ttf;base64,"), "{css}");
        assert!(css.len() < 30_000, "{} bytes", css.len());
        // Cached: the same set gives the same rules without cutting again.
        let again = font_faces("沈\u{4DAE} 上海喆堃\u{20000}\u{2C317}");
        assert!(Arc::ptr_eq(&css, &again));
    }
}
