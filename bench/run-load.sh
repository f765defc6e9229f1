#!/usr/bin/env bash
# End-to-end load run of GET /api/v1/verify/{base32} against the release server on
# PostgreSQL + Redis, with a register of 100,000 copies, next to raw Ed25519 speed.
#
#   bench/run-load.sh                 # seed once (skipped when already seeded), run 20 s
#   COPIES=10000 DURATION=10s bench/run-load.sh
#   RESEED=1 bench/run-load.sh        # drop the database and seed again
#   WRK=1 bench/run-load.sh           # also run wrk (installed with apt-get when missing)
#   SKIP_BUILD=1 IDLE_WAIT=600 bench/run-load.sh   # rerun as built; first wait (up to 600 s)
#                                     # until the machine is idle, so other work does not skew it
#   INSTANCES=2 bench/run-load.sh     # two servers on the same PostgreSQL + Redis, the load's
#                                     # connections split between them (ports BIND, BIND + 1)
#   RATE=8000 bench/run-load.sh       # offer 8,000 req/s over the connections (open loop,
#                                     # latency from when each request was due) instead of
#                                     # sending as fast as the answers come
#   TIMELINE=1 bench/run-load.sh      # also each second's answers and p99 (stalls vs queueing)
#
# Needs PostgreSQL at 127.0.0.1:5432 with trust auth (user postgres) and Redis at
# 127.0.0.1:6379. Nothing here runs in CI.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

: "${CARGO_TARGET_DIR:=$ROOT/target}"
export CARGO_TARGET_DIR
: "${WORK_DIR:=$CARGO_TARGET_DIR/zizhi-load}"
: "${DATABASE_URL:=postgres://postgres@127.0.0.1:5432/zizhi_load}"
: "${REDIS_URL:=redis://127.0.0.1:6379}"
: "${REDIS_NAMESPACE:=zizhi-load}"
: "${BIND:=127.0.0.1:18080}"
: "${COPIES:=100000}"
: "${COPIES_PER_CERTIFICATE:=100}"
: "${CONNECTIONS:=64}"
: "${DURATION:=20s}"
: "${WARMUP:=5s}"
: "${CLIENT_THREADS:=1}"
: "${RESEED:=0}"
: "${WRK:=0}"
: "${SKIP_BUILD:=0}"
: "${IDLE_WAIT:=0}"
: "${INSTANCES:=1}"
: "${RATE:=}"
: "${TIMELINE:=0}"

DATA_DIR="$WORK_DIR/data"
CODES="$WORK_DIR/codes.txt"
BIN="$CARGO_TARGET_DIR/release"
mkdir -p "$WORK_DIR"

echo "== machine: $(nproc) cores, $(uname -srm); $(date -u +%Y-%m-%dT%H:%MZ)"
if [ "$SKIP_BUILD" = 1 ]; then
    echo "== using the release binaries as built"
else
    echo "== building release binaries"
    cargo build --release -p zizhi-server -p zizhi-bench
fi

echo "== seeding $COPIES copies into $DATABASE_URL"
seed_args=(--database-url "$DATABASE_URL" --data-dir "$DATA_DIR" --out "$CODES"
    --copies "$COPIES" --copies-per-certificate "$COPIES_PER_CERTIFICATE")
if [ "$RESEED" = 1 ]; then
    seed_args+=(--reset)
fi
"$BIN/zizhi-load" seed "${seed_args[@]}"

redis_ns_clear() {
    # Cached statuses of an earlier register must not answer for this one.
    redis-cli -u "$REDIS_URL" --scan --pattern "$REDIS_NAMESPACE:*" |
        xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null
}

redis_stat() { # total calls of one command since the Redis server started
    local n
    n=$(redis-cli -u "$REDIS_URL" info commandstats |
        sed -n "s/^cmdstat_$1:calls=\([0-9]*\),.*/\1/p" | head -n1)
    echo "${n:-0}"
}

pg_stat() { # transactions committed and rows returned in the load database
    psql "$DATABASE_URL" -Atc \
        "SELECT xact_commit, tup_returned FROM pg_stat_database WHERE datname = current_database()"
}

if command -v redis-cli >/dev/null; then
    redis_ns_clear
fi

busy_cores() { # cores busy over the next 3 s, from /proc/stat
    local a b
    a=($(head -n1 /proc/stat))
    sleep 3
    b=($(head -n1 /proc/stat))
    awk -v u="$((b[1] + b[2] + b[3] + b[6] + b[7] + b[8] - a[1] - a[2] - a[3] - a[6] - a[7] - a[8]))" \
        -v t="$((b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + b[7] + b[8] - a[1] - a[2] - a[3] - a[4] - a[5] - a[6] - a[7] - a[8]))" \
        -v n="$(nproc)" 'BEGIN { printf "%.2f", u / (t > 0 ? t : 1) * n }'
}
if [ "$IDLE_WAIT" -gt 0 ]; then
    waited=0
    while busy=$(busy_cores) && awk -v b="$busy" 'BEGIN { exit !(b > 0.3) }'; do
        if [ "$waited" -ge "$IDLE_WAIT" ]; then
            echo "== machine still busy ($busy cores) after ${waited}s; running anyway"
            break
        fi
        waited=$((waited + 3))
    done
    echo "== machine before the run: ${busy} cores busy"
fi

HOST=${BIND%:*}
PORT=${BIND##*:}
SERVER_PIDS=()
stop_servers() {
    for pid in "${SERVER_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
}
trap stop_servers EXIT

URLS=()
for i in $(seq 0 $((INSTANCES - 1))); do
    bind="$HOST:$((PORT + i))"
    echo "== starting server $((i + 1)) of $INSTANCES on $bind"
    SERVER_LOG="$WORK_DIR/server-$i.log"
    (
        # Run where no zizhi.toml can be picked up by accident.
        cd "$WORK_DIR"
        exec env DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" \
            ZIZHI_REDIS_NAMESPACE="$REDIS_NAMESPACE" \
            ZIZHI_RATE_LIMIT__ENABLED=false \
            ZIZHI_BIND="$bind" \
            ZIZHI_METRICS_BIND="$HOST:$((PORT + 100 + i))" \
            ZIZHI_DATA_DIR="$DATA_DIR" \
            RUST_LOG="${SERVER_RUST_LOG:-warn}" \
            "$BIN/zizhi" serve
    ) >"$SERVER_LOG" 2>&1 &
    pid=$!
    SERVER_PIDS+=("$pid")
    for _ in $(seq 1 100); do
        if curl -fsS "http://$bind/healthz" >/dev/null 2>&1; then
            break
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "server exited:" >&2
            cat "$SERVER_LOG" >&2
            exit 1
        fi
        sleep 0.2
    done
    curl -fsS "http://$bind/healthz" >/dev/null
    URLS+=(--url "http://$bind")
done

before_set=$(redis_stat setex)
before_get=$(redis_stat get)
before_pg=$(pg_stat)

echo "== load (${DURATION} after ${WARMUP} warm-up, ${CONNECTIONS} connections)"
if [ "$INSTANCES" = 1 ]; then
    run_args=(--watch "server=${SERVER_PIDS[0]}")
else
    # Every process named zizhi: the servers (the load client is zizhi-load).
    run_args=(--watch server=comm:zizhi)
fi
run_args+=(--watch postgres=comm:postgres)
if REDIS_PID=$(pidof redis-server 2>/dev/null); then
    run_args+=(--watch "redis=${REDIS_PID%% *}")
fi
if [ "$TIMELINE" = 1 ]; then
    run_args+=(--timeline)
fi
"$BIN/zizhi-load" run "${URLS[@]}" --codes "$CODES" \
    --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP" \
    --threads "$CLIENT_THREADS" ${RATE:+--rate "$RATE"} "${run_args[@]}"

for i in "${!SERVER_PIDS[@]}"; do
    echo "  peak RSS of server $((i + 1)): $(awk '/VmHWM/ {print $2, $3}' "/proc/${SERVER_PIDS[$i]}/status")"
done
metric() { # NAME: its samples summed over every instance's metrics address
    for i in $(seq 0 $((INSTANCES - 1))); do
        curl -fsS "http://$HOST:$((PORT + 100 + i))/metrics"
    done | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { n += $2 } END { printf "%d", n }'
}
checks=$(metric zizhi_signature_batch_size_count)
checked=$(metric zizhi_signature_batch_size_sum)
verdicts=$(metric zizhi_verdicts_total)
reads=$(metric zizhi_event_log_reads_total)
echo "  signature checks over the whole run: $checked first scans in $checks checks" \
    "($(awk -v a="$checked" -v b="$checks" 'BEGIN { printf "%.1f", a / (b > 0 ? b : 1) }') a check);" \
    "$verdicts verdicts, $reads event-log reads" \
    "($(awk -v a="$verdicts" -v b="$reads" 'BEGIN { printf "%.1f", a / (b > 0 ? b : 1) }') verdicts a read)"
after_set=$(redis_stat setex)
after_get=$(redis_stat get)
after_pg=$(pg_stat)
echo
echo "== cache over the whole run, warm-up included (the namespace was emptied before it;"
echo "   other users of the same Redis and PostgreSQL servers are counted too)"
echo "  Redis SETEX calls (status loaded from PostgreSQL and cached): $((after_set - before_set))"
echo "  Redis GET calls: $((after_get - before_get))"
echo "  PostgreSQL transactions in $(psql "$DATABASE_URL" -Atc 'SELECT current_database()'):" \
    "$(( ${after_pg%%|*} - ${before_pg%%|*} )), rows returned: $(( ${after_pg##*|} - ${before_pg##*|} ))"

if [ "$WRK" = 1 ]; then
    if ! command -v wrk >/dev/null; then
        apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
    fi
    LUA="$WORK_DIR/random-code.lua"
    cat >"$LUA" <<EOF
local codes = {}
for line in io.lines("$CODES") do codes[#codes + 1] = line end
math.randomseed(os.time())
request = function()
    return wrk.format("GET", "/api/v1/verify/" .. codes[math.random(#codes)])
end
done = function(summary, latency, requests)
    io.write(string.format("wrk: non-2xx %d, errors %d\n", summary.errors.status,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
EOF
    echo
    echo "== wrk (1 thread, ${CONNECTIONS} connections, ${DURATION})"
    wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$LUA" "http://$BIND" # the first instance
fi
