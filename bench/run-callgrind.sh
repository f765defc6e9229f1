#!/usr/bin/env bash
# Instructions per verify request, counted by callgrind (no timing noise: the same binary and
# inputs give the same count whatever else the machine does), next to instructions per
# `verify_strict` and per request of the trivial axum handler, counted the same way:
#
#   - verify_strict: `zizhi-load crypto --count N` minus `--count 0`, divided by N;
#   - a server (zizhi on the embedded demo register, or the trivial handler) under callgrind:
#     one sweep of every code to fill the register caches, then the counters zeroed, R sweeps
#     on one keep-alive connection, a dump; then zeroed again, idle for as long, a dump. The
#     difference of the two, divided by the requests, is what one request costs.
#   - "cold": the repeat-scan cache off (`ZIZHI_REPEAT_SCAN_ENTRIES=0`): every request checks
#     its signature and judges afresh; the register's status and issued copy come from the
#     caches, as they do for most scans of a busy server. "repeat": the default.
#
#   bench/run-callgrind.sh              # build, then count; prints the ratios and top functions
#   SKIP_BUILD=1 ROUNDS=5 bench/run-callgrind.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
: "${CARGO_TARGET_DIR:=$ROOT/target}"
export CARGO_TARGET_DIR
: "${WORK_DIR:=$CARGO_TARGET_DIR/zizhi-callgrind}"
: "${ROUNDS:=3}"
: "${SKIP_BUILD:=0}"
: "${STRICT_CALLS:=2000}"
BIND=127.0.0.1:18280
BIN="$CARGO_TARGET_DIR/release"
command -v valgrind >/dev/null || apt-get install -y valgrind >/dev/null

echo "== machine: $(nproc) cores, $(uname -srm); $(valgrind --version); $(date -u +%Y-%m-%dT%H:%MZ)"
if [ "$SKIP_BUILD" != 1 ]; then
    cargo build --release -p zizhi-server -p zizhi-bench
fi
rm -rf "$WORK_DIR"
mkdir -p "$WORK_DIR/srv"

PID=
cleanup() { [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true; }
trap cleanup EXIT

total() { # the instruction total of a callgrind output file
    sed -n 's/^\(summary\|totals\): \([0-9]*\).*/\2/p' "$1" | head -n1
}

wait_for() { # URL LOG
    for _ in $(seq 1 1500); do
        curl -fsS "$1" >/dev/null 2>&1 && return 0
        kill -0 "$PID" 2>/dev/null || { echo "exited:" >&2; cat "$2" >&2; exit 1; }
        sleep 0.2
    done
    echo "$1 never answered" >&2
    exit 1
}

echo "== verify_strict under callgrind"
for n in 0 "$STRICT_CALLS"; do
    valgrind --tool=callgrind --callgrind-out-file="$WORK_DIR/strict-$n.out" \
        "$BIN/zizhi-load" crypto --count "$n" >/dev/null 2>&1
done
strict=$((($(total "$WORK_DIR/strict-$STRICT_CALLS.out") - $(total "$WORK_DIR/strict-0.out")) / STRICT_CALLS))
echo "  $strict instructions per verify_strict"

echo "== the demo register (embedded default), seeded once"
(
    cd "$WORK_DIR/srv"
    exec env ZIZHI_BIND="$BIND" ZIZHI_DATA_DIR=data RUST_LOG=warn "$BIN/zizhi" serve --demo
) >"$WORK_DIR/seed.log" 2>&1 &
PID=$!
wait_for "http://$BIND/healthz" "$WORK_DIR/seed.log"
"$BIN/zizhi-load" codes --database-url "sqlite://$WORK_DIR/srv/data/zizhi.db" \
    --data-dir "$WORK_DIR/srv/data" --out "$WORK_DIR/codes.txt"
kill -TERM "$PID"
wait "$PID" || true
PID=
codes=$(wc -l <"$WORK_DIR/codes.txt")
requests=$((codes * ROUNDS))

# Counts one server under callgrind; prints instructions per request.
count() { # NAME HEALTH_URL "VAR=VALUE ..." COMMAND...
    local name=$1 health=$2 vars
    read -r -a vars <<<"$3"
    shift 3
    (
        cd "$WORK_DIR/srv"
        # The environment is set outside valgrind: it does not follow an exec.
        exec env "${vars[@]}" valgrind --tool=callgrind \
            --callgrind-out-file="$WORK_DIR/$name.out" "$@"
    ) >"$WORK_DIR/$name.log" 2>&1 &
    PID=$!
    wait_for "$health" "$WORK_DIR/$name.log"
    "$BIN/zizhi-load" sweep --url "http://$BIND" --codes "$WORK_DIR/codes.txt" >/dev/null
    callgrind_control -z "$PID" >/dev/null
    local started=$SECONDS
    "$BIN/zizhi-load" sweep --url "http://$BIND" --codes "$WORK_DIR/codes.txt" \
        --rounds "$ROUNDS" >/dev/null
    local took=$((SECONDS - started + 1))
    callgrind_control -d "$PID" >/dev/null
    local busy
    busy=$(ls -t "$WORK_DIR/$name.out".* | head -n1)
    callgrind_control -z "$PID" >/dev/null
    sleep "$took"
    callgrind_control -d "$PID" >/dev/null
    local idle
    idle=$(ls -t "$WORK_DIR/$name.out".* | head -n1)
    cp "$busy" "$WORK_DIR/$name.busy.out"
    kill -TERM "$PID"
    wait "$PID" 2>/dev/null || true
    PID=
    echo $((($(total "$busy") - $(total "$idle")) / requests))
}

server="ZIZHI_BIND=$BIND ZIZHI_DATA_DIR=data ZIZHI_RATE_LIMIT__ENABLED=false RUST_LOG=warn"
# COLD_VARS: how the repeat-scan cache is turned off (empty for a build that has none).
: "${COLD_VARS=ZIZHI_REPEAT_SCAN_ENTRIES=0}"
echo "== zizhi, cold: the repeat-scan cache off ($codes codes × $ROUNDS rounds)"
cold=$(count cold "http://$BIND/healthz" "$server $COLD_VARS" "$BIN/zizhi" serve)
echo "  $cold instructions per request"
echo "== zizhi, repeat scans"
repeat=$(count repeat "http://$BIND/healthz" "$server" "$BIN/zizhi" serve)
echo "  $repeat instructions per request"
echo "== trivial axum handler"
trivial=$(count trivial "http://$BIND/api/v1/verify/x" "RUST_LOG=warn" "$BIN/zizhi-load" trivial --bind "$BIND")
echo "  $trivial instructions per request"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "| instructions (callgrind) | per request | ÷ verify_strict ($strict) | ÷ trivial handler ($trivial) |"
echo "| --- | ---: | ---: | ---: |"
echo "| cold verify request | $cold | $(ratio "$cold" "$strict") | $(ratio "$cold" "$trivial") |"
echo "| repeat verify request | $repeat | $(ratio "$repeat" "$strict") | $(ratio "$repeat" "$trivial") |"
echo "| trivial handler request | $trivial | $(ratio "$trivial" "$strict") | 1.00 |"
for name in cold repeat; do
    echo
    echo "== $name: functions by inclusive instructions ($WORK_DIR/$name.busy.out)"
    callgrind_annotate --inclusive=yes "$WORK_DIR/$name.busy.out" 2>/dev/null |
        sed -n '/^-*$/,$p' | grep -v '^-*$' | head -n 40 || true
done
