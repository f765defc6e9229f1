#!/usr/bin/env bash
# Builds the scanner app's web version into mobile/dist/ without the dx CLI:
# cargo (wasm32, release) → wasm-bindgen (--target web, at the exact version in Cargo.lock)
# → the static files of mobile/static/. The server serves the result at /app/.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown

# The CLI must match the wasm-bindgen crate the app links, to the patch version.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$want" ]; then
  echo "build-app: wasm-bindgen not found in Cargo.lock" >&2
  exit 1
fi
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "build-app: installing wasm-bindgen-cli $want (found: ${have:-none})"
  cargo install wasm-bindgen-cli --version "$want"
fi

cargo build -p zizhi-app --target wasm32-unknown-unknown --release
target_dir=${CARGO_TARGET_DIR:-target}
wasm="$target_dir/wasm32-unknown-unknown/release/zizhi-app.wasm"

rm -rf mobile/dist
mkdir -p mobile/dist
wasm-bindgen --target web --no-typescript --out-name zizhi_app --out-dir mobile/dist "$wasm"
cp -R mobile/static/. mobile/dist/
# The service worker caches wasm-bindgen's snippet modules too; their paths carry hashes.
snippets=$(cd mobile/dist && find snippets -type f -name '*.js' 2>/dev/null | sort | sed "s|.*|  './&',|" | tr '\n' ' ')
sed -i "s|/\* SNIPPETS \*/|$snippets|" mobile/dist/sw.js
echo "build-app: mobile/dist ready ($(du -h mobile/dist/zizhi_app_bg.wasm | cut -f1) wasm)"
