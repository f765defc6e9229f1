#!/usr/bin/env bash
# All tests, on a fresh machine of this kind: installs the independent tools the tests check
# our output with (zbar, poppler, NSS, pyHanko, wechatpy, schemathesis, Chromium +
# playwright-core), makes sure PostgreSQL (127.0.0.1:5432, database `test`) and Redis
# (127.0.0.1:6379) answer, then runs the workspace tests against SQLite and against PostgreSQL +
# Redis, then a short run of every fuzz target. A test whose tool or service is missing fails
# loudly; none is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" "$(( $(date +%s) - started ))"; }

step "system packages"
# zbar-tools: an independent QR decoder the tests read our printed codes with.
need=()
command -v zbarimg >/dev/null || need+=(zbar-tools)
command -v pg_isready >/dev/null || need+=(postgresql-client)
command -v redis-cli >/dev/null || need+=(redis-tools)
# The H5 page tests open the pages in Debian's headless Chromium, with CJK fonts so the
# screenshots (target/screenshots/) are readable; node runs playwright-core.
command -v chromium >/dev/null || need+=(chromium)
[ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need+=(fonts-noto-cjk)
command -v npm >/dev/null || need+=(nodejs npm)
# Certificate PDFs: poppler (pdfsig, pdftotext, pdffonts, pdftoppm) and NSS certutil check them
# as a third party would; fonts-noto-cjk (above) is also the face they are set in.
command -v pdfsig >/dev/null || need+=(poppler-utils)
# The scanner app tests feed Chromium's fake camera a video of a printed certificate made with
# ffmpeg (pdftoppm rasterises the print; zbar checks the footage is readable).
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v certutil >/dev/null || need+=(libnss3-tools)
[ -e /usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc ] || need+=(fonts-noto-cjk)
# The faces after Noto for 生僻字 of CJK Extensions A–H (documents/src/fonts.rs): the name
# tests (tests/tests/e2e/names.rs) print and show characters only these have.
[ -e /usr/share/fonts/truetype/hanazono/HanaMinB.ttf ] || need+=(fonts-hanazono)
[ -e /usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf ] || need+=(fonts-babelstone-han)
# deploy/nginx/zizhi.conf must pass `nginx -t` and front the real binary (tests/tests/e2e/deploy.rs),
# with a self-signed certificate from openssl, requested over TLS by curl. Debian's nginx is in
# /usr/sbin, not always on PATH.
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || need+=(nginx)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${need[@]}" \
    || { apt-get update && apt-get install -y --no-install-recommends "${need[@]}"; }
fi

step "test peers: wechatpy (chat tests), playwright-core (page tests)"
python3 -c 'import wechatpy, cryptography' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check "wechatpy==1.8.18" cryptography
(cd tests/peers && npm ci --no-audit --no-fund)

step "test peers: pyHanko (certificate PDF signature validation)"
python3 -c "import pyhanko.cli" 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check "pyhanko==0.38.0" "pyhanko-cli==0.6.0"

step "test peers: schemathesis (the API against its OpenAPI document, tests/tests/e2e/api/openapi.rs)"
python3 -c 'import importlib.metadata as m; assert m.version("schemathesis") == "4.32.5"' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check "schemathesis==4.32.5"

step "services"
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "PostgreSQL is not answering; trying to start it"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "Redis is not answering; trying to start it"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is required" >&2; exit 1; }
redis-cli -h 127.0.0.1 -p 6379 ping || { echo "Redis is required" >&2; exit 1; }

step "scanner app: web build into mobile/dist (served at /app/, driven by tests/tests/e2e/app)"
bash scripts/build-app.sh

step "tests: SQLite and PostgreSQL + Redis"
cargo test --workspace

step "fuzz: every target for a short run from its corpus (scripts/fuzz.sh)"
bash scripts/fuzz.sh
