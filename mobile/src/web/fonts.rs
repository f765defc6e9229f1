//! The 生僻字 web fonts in the page ([`crate::rare`]): loaded with the `FontFace` API from
//! their bytes (no `font-src` needed in the app's policy: nothing is fetched as a font; the
//! bytes come through `fetch`, which `connect-src` already admits for the verification
//! server), kept in local storage, loaded again at start.

use std::cell::RefCell;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use web_sys::{FontFace, FontFaceDescriptors};
use zizhi_shared::rare::{FAMILY, RareFace};

use super::platform::{self, document, store};
use crate::rare::{
    FONTS_PATH, HeldFonts, REGISTER_CHARS_PATH, parse_fonts, parse_register_chars, requests,
};

pub const K_FONTS: &str = "zizhi.rare-fonts";
const FETCH_TIMEOUT_MS: i32 = 10_000;

thread_local! {
    static HELD: RefCell<HeldFonts> = RefCell::new(HeldFonts::default());
}

/// Adds one face to the document's fonts.
fn install(face: &RareFace) -> bool {
    let Ok(bytes) = B64.decode(face.data.as_bytes()) else {
        return false;
    };
    let buffer = js_sys::Uint8Array::from(bytes.as_slice()).buffer();
    let descriptors = FontFaceDescriptors::new();
    descriptors.set_unicode_range(&face.unicode_range);
    let Ok(font) = FontFace::new_with_array_buffer_and_descriptors(FAMILY, &buffer, &descriptors)
    else {
        return false;
    };
    document().fonts().add(&font).is_ok()
}

/// The fonts kept on the device, into the page: called once at start.
pub fn load_kept() {
    let held: HeldFonts = store::get_json(K_FONTS).unwrap_or_default();
    let held = HeldFonts {
        faces: held.faces.into_iter().filter(install).collect(),
    };
    HELD.with(|h| *h.borrow_mut() = held);
}

/// Fonts for the rare characters of `texts` that the page lacks, from the server at `base`;
/// loaded and kept. Without a network (or a server that has no such route) the characters
/// stay in the phone's fonts; nothing is shown as an error.
pub async fn ensure(base: &str, texts: &[&str]) -> Result<(), String> {
    let lacking = HELD.with(|h| h.borrow().lacking(texts.iter().copied()));
    for chars in requests(&lacking) {
        let url = format!(
            "{base}{FONTS_PATH}?chars={}",
            String::from(js_sys::encode_uri_component(&chars))
        );
        let json = platform::fetch_text(&url, None, FETCH_TIMEOUT_MS)
            .await
            .map_err(|e| format!("生僻字字体：{e}"))?;
        let fonts = parse_fonts(&json)?;
        let keep = HELD.with(|h| {
            let mut h = h.borrow_mut();
            for face in h.add(fonts) {
                install(&face);
            }
            h.to_keep()
        });
        store::set_json(K_FONTS, &keep);
    }
    Ok(())
}

/// The fonts of every rare character in the register's names: part of a sync, so that an
/// offline verdict of any enterprise shows its name.
pub async fn ensure_register(base: &str) -> Result<(), String> {
    let json = platform::fetch_text(
        &format!("{base}{REGISTER_CHARS_PATH}"),
        None,
        FETCH_TIMEOUT_MS,
    )
    .await
    .map_err(|e| format!("生僻字列表：{e}"))?;
    let chars = parse_register_chars(&json)?;
    ensure(base, &[&chars]).await
}
