#!/usr/bin/env bash
# Builds the scanner app's web version into mobile/dist/ without the dx CLI:
# cargo (wasm32, profile wasm-release: size first; encoding_rs replaced by mobile/encoding, the
# browser's TextDecoder) → wasm-bindgen (--target web, at the exact
# version in Cargo.lock) → wasm-opt -Oz (Debian's binaryen) → the static files of
# mobile/static/ → content-hashed names for everything index.html loads → gzip and brotli
# copies beside every text and wasm file. The server serves the result at /app/: hashed
# names for a year (immutable), the rest revalidated, the compressed copy the browser takes.
#
# ZIZHI_APP_PROFILE=release builds with the plain release profile and no wasm-opt (to compare).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${ZIZHI_APP_PROFILE:-wasm-release}

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

# wasm-opt (binaryen) and brotli from Debian, as scripts/test.sh installs its packages.
need=()
command -v wasm-opt >/dev/null || need+=(binaryen)
command -v brotli >/dev/null || need+=(brotli)
if [ ${#need[@]} -gt 0 ]; then
  echo "build-app: installing ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y --no-install-recommends "${need[@]}" \
    || { $sudo apt-get update && $sudo apt-get install -y --no-install-recommends "${need[@]}"; }
fi

# rxing decodes byte-mode text through encoding_rs, which links every decoder's tables (125 KB
# of CJK tables, a fifth of the gzipped wasm); in the browser, mobile/encoding stands in for it
# and leaves decoding to TextDecoder. A patch in Cargo.toml would reach the server's encoding_rs
# too (and two 0.8 versions of one crate cannot coexist), so it is given to this build only.
# Cargo rewrites Cargo.lock for the patched graph: the committed lock file is put back
# afterwards, whatever happens.
root=$PWD
lock_copy=$(mktemp)
cp Cargo.lock "$lock_copy"
restore_lock() { cp "$lock_copy" "$root/Cargo.lock" && rm -f "$lock_copy"; }
trap restore_lock EXIT
cargo build -p zizhi-app --target wasm32-unknown-unknown --profile "$profile" \
  --config 'patch.crates-io.encoding_rs.path="mobile/encoding"'
restore_lock
trap - EXIT
target_dir=${CARGO_TARGET_DIR:-target}
wasm="$target_dir/wasm32-unknown-unknown/$profile/zizhi-app.wasm"

rm -rf mobile/dist
mkdir -p mobile/dist
if [ "$profile" != release ]; then
  # Before wasm-bindgen, not after: Debian's binaryen (108) cannot parse the table.fill
  # wasm-bindgen emits for its externref table; it keeps wasm-bindgen's custom section, and
  # wasm-bindgen then drops its describe functions from the optimised module. The flags are
  # the features rustc enables for wasm32 by default, which binaryen 108 does not read from
  # the module. -Oz takes about a tenth off the compiler's opt-level z.
  opt="$target_dir/wasm32-unknown-unknown/$profile/zizhi-app.opt.wasm"
  wasm-opt -Oz --strip-debug --strip-producers \
    --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
    --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue \
    -o "$opt" "$wasm"
  wasm=$opt
fi
wasm-bindgen --target web --no-typescript --out-name zizhi_app --out-dir mobile/dist "$wasm"
cd mobile/dist
cp -R ../static/. .

# Content-hashed names, leaves first: a file's hash covers the names it refers to, so a
# change anywhere renames everything that leads to it, and a browser holding last year's
# copy of a name can never be holding stale bytes.
hashed() { # FILE → NAME.<16 hex>.EXT, renamed; prints the new name
  local file=$1 base ext hash
  base=${file%.*}
  ext=${file##*.}
  hash=$(sha256sum "$file" | cut -c1-16)
  mv "$file" "$base.$hash.$ext"
  echo "$base.$hash.$ext"
}
wasm_name=$(hashed zizhi_app_bg.wasm)
sed -i "s|zizhi_app_bg\.wasm|$wasm_name|g" zizhi_app.js
js_name=$(hashed zizhi_app.js)
sed -i "s|\./zizhi_app\.js|./$js_name|g" boot.js
boot_name=$(hashed boot.js)
css_name=$(hashed style.css)
sed -i -e "s|\"boot\.js\"|\"$boot_name\"|" -e "s|\"style\.css\"|\"$css_name\"|" index.html
grep -q "$boot_name" index.html && grep -q "$css_name" index.html \
  || { echo "build-app: index.html does not load boot.js and style.css as expected" >&2; exit 1; }

# The service worker precaches exactly this build's files; its cache is named after the
# build, so a new build installs beside the old one and the old cache is dropped on activate.
build_id=$(cat "$wasm_name" "$js_name" "$boot_name" "$css_name" index.html | sha256sum | cut -c1-16)
snippets=$(find snippets -type f -name '*.js' 2>/dev/null | sort | sed "s|.*|  './&',|" | tr '\n' ' ')
sed -i \
  -e "s|/\* SNIPPETS \*/|$snippets|" \
  -e "s|/\* HASHED \*/|'./$wasm_name', './$js_name', './$boot_name', './$css_name',|" \
  -e "s|zizhi-app-v1|zizhi-app-$build_id|" \
  sw.js

# Pre-compressed copies: the server sends the smallest the browser accepts, no CPU spent per
# request. Icons (PNG) are compressed already.
find . -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html' \
  -o -name '*.webmanifest' \) -print0 | while IFS= read -r -d '' f; do
  gzip -9 -n -k -f "$f"
  brotli -q 11 -k -f "$f"
done

size() { stat -c %s "$1"; }
echo "build-app: mobile/dist ready: $wasm_name $(size "$wasm_name") bytes" \
  "(gzip $(size "$wasm_name.gz"), brotli $(size "$wasm_name.br")), $js_name $(size "$js_name") bytes"
