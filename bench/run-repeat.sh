#!/usr/bin/env bash
# Repeat scans: the demo register's copies scanned over and over, on the embedded default
# (SQLite, in-process cache) and on PostgreSQL + Redis, each next to the ceiling measured in
# the same run: a trivial axum JSON handler (`zizhi-load trivial`) answering the same path on
# the same runtime, driven by the same client with the same connections.
#
#   bench/run-repeat.sh                       # build, then trivial, embedded, PG+Redis, trivial
#   SKIP_BUILD=1 CONNECTIONS=32 DURATION=10s bench/run-repeat.sh
#   BACKENDS=embedded bench/run-repeat.sh     # only one backend
#
# Needs PostgreSQL at 127.0.0.1:5432 (trust auth, user postgres) and Redis at 127.0.0.1:6379
# for the second backend. Nothing here runs in CI.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
: "${CARGO_TARGET_DIR:=$ROOT/target}"
export CARGO_TARGET_DIR
: "${WORK_DIR:=$CARGO_TARGET_DIR/zizhi-repeat}"
: "${CONNECTIONS:=32}"
: "${DURATION:=10s}"
: "${WARMUP:=3s}"
: "${SKIP_BUILD:=0}"
: "${BACKENDS:=embedded postgres}"
: "${PG_URL:=postgres://postgres@127.0.0.1:5432/zizhi_repeat}"
: "${REDIS_URL:=redis://127.0.0.1:6379}"
BIND=127.0.0.1:18180
METRICS_BIND=127.0.0.1:18190
TRIVIAL_BIND=127.0.0.1:18181
BIN="$CARGO_TARGET_DIR/release"

echo "== machine: $(nproc) cores, $(uname -srm); $(date -u +%Y-%m-%dT%H:%MZ)"
if [ "$SKIP_BUILD" != 1 ]; then
    echo "== building release binaries"
    cargo build --release -p zizhi-server -p zizhi-bench
fi
rm -rf "$WORK_DIR"
mkdir -p "$WORK_DIR"

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT

wait_for() { # URL PID LOG
    for _ in $(seq 1 600); do
        curl -fsS "$1" >/dev/null 2>&1 && return 0
        kill -0 "$2" 2>/dev/null || { echo "exited:" >&2; cat "$3" >&2; exit 1; }
        sleep 0.2
    done
    echo "$1 never answered" >&2
    exit 1
}

stop() { # PID
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# Runs the load against URL (watching PID); prints "req/s p99_ms" on the last line of $OUT.
load() { # NAME URL PID CODES
    local out="$WORK_DIR/$1.txt"
    "$BIN/zizhi-load" run --url "$2" --codes "$4" --connections "$CONNECTIONS" \
        --duration "$DURATION" --warmup "$WARMUP" --crypto-seconds 0 \
        --watch "server=$3" >"$out"
    cat "$out" >&2
    local rps p99
    rps=$(sed -n 's/^  requests   [0-9]* answered, \([0-9]*\) \/s.*/\1/p' "$out")
    p99=$(sed -n 's/^  latency ms .* p99 \([0-9.]*\) .*/\1/p' "$out")
    echo "$rps $p99"
}

trivial() {
    "$BIN/zizhi-load" trivial --bind "$TRIVIAL_BIND" >"$WORK_DIR/trivial.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait_for "http://$TRIVIAL_BIND/api/v1/verify/x" "$pid" "$WORK_DIR/trivial.log"
    # The same codes as the server, so every request line has the same length.
    load "trivial-$1" "http://$TRIVIAL_BIND" "$pid" "$TRIVIAL_CODES"
    stop "$pid"
}

# Starts `zizhi serve --demo` on a backend in its own directory; prints its pid.
serve_demo() { # NAME [ENV...]
    local name=$1
    shift
    mkdir -p "$WORK_DIR/$name"
    (
        cd "$WORK_DIR/$name"
        exec env ZIZHI_BIND="$BIND" ZIZHI_METRICS_BIND="$METRICS_BIND" \
            ZIZHI_RATE_LIMIT__ENABLED=false ZIZHI_DATA_DIR=data \
            RUST_LOG=warn "$@" "$BIN/zizhi" serve --demo
    ) >"$WORK_DIR/$name/server.log" 2>&1 &
    echo $!
}

# The sum of a metric's samples on the server's metrics address.
metric() { # NAME
    curl -fsS "http://$METRICS_BIND/metrics" | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { n += $2 } END { printf "%d", n }'
}

declare -A RESULT
for backend in $BACKENDS; do
    case $backend in
        embedded)
            pid=$(serve_demo embedded)
            url=sqlite://$WORK_DIR/embedded/data/zizhi.db
            ;;
        postgres)
            db=${PG_URL##*/}
            psql "${PG_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" \
                -c "CREATE DATABASE \"$db\""
            redis-cli -u "$REDIS_URL" --scan --pattern 'zizhi-repeat:*' |
                xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null
            pid=$(serve_demo postgres DATABASE_URL="$PG_URL" REDIS_URL="$REDIS_URL" \
                ZIZHI_REDIS_NAMESPACE=zizhi-repeat)
            url=$PG_URL
            ;;
        *) echo "unknown backend $backend" >&2; exit 1 ;;
    esac
    PIDS+=("$pid")
    echo "== $backend: seeding the demo register and serving it on $BIND"
    wait_for "http://$BIND/healthz" "$pid" "$WORK_DIR/$backend/server.log"
    "$BIN/zizhi-load" codes --database-url "$url" --data-dir "$WORK_DIR/$backend/data" \
        --out "$WORK_DIR/codes-$backend.txt"
    if [ "$backend" = "${BACKENDS%% *}" ]; then
        TRIVIAL_CODES="$WORK_DIR/codes-$backend.txt"
        echo "== ceiling (before): trivial axum handler"
        RESULT[trivial1]=$(trivial before)
    fi
    echo "== $backend: repeat scans"
    reads0=$(metric zizhi_event_log_reads_total)
    verdicts0=$(metric zizhi_verdicts_total)
    RESULT[$backend]=$(load "$backend" "http://$BIND" "$pid" "$WORK_DIR/codes-$backend.txt")
    reads=$(($(metric zizhi_event_log_reads_total) - reads0))
    verdicts=$(($(metric zizhi_verdicts_total) - verdicts0))
    echo "  event-log reads: $reads for $verdicts verdicts (warm-up included): $(awk -v r="$reads" -v v="$verdicts" 'BEGIN { printf "%.1f", v / (r > 0 ? r : 1) }') verdicts per read"
    echo "  peak RSS of the server: $(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status")"
    stop "$pid"
done
echo "== ceiling (after): trivial axum handler"
RESULT[trivial2]=$(trivial after)

read -r t1 _ <<<"${RESULT[trivial1]}"
read -r t2 _ <<<"${RESULT[trivial2]}"
ceiling=$(((t1 + t2) / 2))
echo
echo "== repeat scans, $CONNECTIONS connections, $DURATION each; ceiling = trivial handler, mean of before ($t1/s) and after ($t2/s)"
echo "| backend | req/s | p99 ms | ceiling req/s | ratio |"
echo "| --- | ---: | ---: | ---: | ---: |"
for backend in $BACKENDS; do
    read -r rps p99 <<<"${RESULT[$backend]}"
    echo "| $backend | $rps | $p99 | $ceiling | $(awk -v a="$rps" -v b="$ceiling" 'BEGIN { printf "%.2f", a / b }') |"
done
