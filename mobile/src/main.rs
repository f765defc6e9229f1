//! The scanner app's entry point. Only the web build has a UI; see `scripts/build-app.sh`.

#[cfg(target_arch = "wasm32")]
fn main() {
    zizhi_app::web::launch();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "zizhi-app 是网页应用：用 `bash scripts/build-app.sh` 构建 wasm 版本，由服务器在 /app/ 提供。"
    );
    std::process::exit(2);
}
