#!/usr/bin/env bash
# The newcomer's command: builds the scanner web app (scripts/build-app.sh), then runs the server
# on the embedded default (SQLite, in-process cache) with the demo register at 127.0.0.1:8080.
# The app is at http://127.0.0.1:8080/app/; extra arguments go to `zizhi serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-app.sh
exec cargo run --release -p zizhi-server -- serve --demo "$@"
