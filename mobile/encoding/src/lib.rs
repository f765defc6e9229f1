//! `encoding_rs` as the scanner app's wasm needs it: the browser decodes, no tables shipped.
//!
//! rxing turns the bytes of a QR code's byte-mode segments into text through encoding_rs,
//! for whichever character set the code declares or rxing guesses (Shift_JIS, GBK, Big5,
//! EUC-KR, the ISO 8859 and Windows code pages, UTF-8, UTF-16). Its decoders are chosen at
//! run time, so every table is linked: 125 KB of CJK tables (114 KB gzipped, a fifth of the
//! app's wasm), while our own codes are alphanumeric and need none of them.
//!
//! `scripts/build-app.sh` puts this crate in encoding_rs's place for the app's wasm build
//! only (`cargo build --config 'patch.crates-io.encoding_rs.path="mobile/encoding"'`): an
//! [`Encoding`] names a WHATWG encoding, and decoding goes to the browser's `TextDecoder`,
//! which implements the same WHATWG Encoding Standard as encoding_rs (Chromium, Safari and
//! WeChat's browser support every encoding in it). A foreign code in Shift_JIS or GBK
//! therefore still reads as the right text, and a decoder the browser refuses gives
//! replacement text with `had_errors` set, never a panic (which with `panic = "abort"` would
//! end the app). Native builds, the server's included, keep encoding_rs itself.
//!
//! Only what rxing calls is provided (a missing item is a compile error, not a wrong answer):
//! the encoding statics, [`Encoding::for_label`], [`Encoding::name`],
//! [`Encoding::output_encoding`], [`Encoding::decode`],
//! [`Encoding::decode_without_bom_handling`] and [`Encoding::encode`]. Browsers encode only
//! UTF-8, so [`Encoding::encode`] into a legacy encoding passes ASCII through and writes any
//! other character as a numeric character reference (`&#26085;`) with `had_errors` set —
//! what encoding_rs does for characters the encoding cannot represent. rxing encodes only in
//! its barcode writers, which the app does not build.
#![forbid(unsafe_code)]

#[cfg(not(target_arch = "wasm32"))]
compile_error!(
    "mobile/encoding is encoding_rs for the app's wasm build only; native builds use encoding_rs from crates.io"
);

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(target_arch = "wasm32")]
pub use browser::*;
