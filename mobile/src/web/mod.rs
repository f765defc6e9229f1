//! The browser UI (wasm32 only): Dioxus 0.7 components over the plain-Rust modules.
//!
//! - [`app`]: the shell (top bar, screen, tab bar) and the shared [`state::AppState`].
//! - [`scan`], [`result`], [`history`], [`settings`]: one file per screen.
//! - [`camera`], [`platform`]: thin wrappers over the browser APIs used.
//! - [`fonts`]: the 生僻字 web fonts in the page (`crate::rare`).

mod app;
mod camera;
mod fonts;
mod history;
mod icons;
mod platform;
mod result;
mod scan;
mod settings;
mod state;

pub fn launch() {
    // A panic in release wasm is only "unreachable" in the console; say where it happened.
    std::panic::set_hook(Box::new(|info| {
        let stack = js_sys::Reflect::get(&js_sys::Error::new(""), &"stack".into())
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_default();
        web_sys::console::error_1(&format!("zizhi-app panic: {info}\n{stack}").into());
    }));
    dioxus::launch(app::App);
}
