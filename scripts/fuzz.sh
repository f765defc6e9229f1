#!/usr/bin/env bash
# A short fuzz run of every target in fuzz/ (cargo-fuzz, libFuzzer): each runs FUZZ_SECONDS
# (default 20) from its committed corpus, two at a time, on the stable toolchain. Any finding
# (a panic or failed property, a timeout, running out of memory) fails the script; the input
# is left in fuzz/artifacts/<target>/ and `cargo fuzz run <target> <that file>` replays it.
#
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh            # longer, for a local hunt
#   FUZZ_SANITIZER=address bash scripts/fuzz.sh      # with AddressSanitizer (slower build)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-20}
jobs=${FUZZ_JOBS:-2}
sanitizer=${FUZZ_SANITIZER:-none}
started=$(date +%s)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
# With AddressSanitizer, cargo-fuzz passes -Zsanitizer, which stable rustc takes only with
# RUSTC_BOOTSTRAP=1 (CI has no nightly). The default, none, needs no unstable flag: the code
# crates forbid `unsafe`, and a panic, a failed property, a timeout or running out of
# memory is a finding either way; AddressSanitizer would double the build for CI.
[ "$sanitizer" = none ] || export RUSTC_BOOTSTRAP=1
# Instrumented builds of their own, never mixed into the main workspace's target directory.
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$PWD/fuzz/target}

cargo fuzz build -s "$sanitizer"
echo "fuzz build took $(( $(date +%s) - started )) s"

logs=$(mktemp -d)
run_target() {
  local target=$1 max_len=4096
  # Images need room for a small picture; the text parsers stay short to keep mutations dense.
  [ "$target" = scan_image ] && max_len=65536
  # New inputs go to a scratch directory, so the committed corpus stays as it is.
  mkdir -p "$logs/$target.corpus"
  if cargo fuzz run -s "$sanitizer" "$target" "$logs/$target.corpus" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"$logs/$target.log" 2>&1; then
    echo "$target: $(grep -m1 -E '^stat::number_of_executed_units' "$logs/$target.log" | awk '{print $2}') runs, no finding"
  else
    echo "$target: FINDING (log below)"
    tail -n 80 "$logs/$target.log"
    return 1
  fi
}
export -f run_target
export logs seconds sanitizer
# The targets are the files in fuzz/fuzz_targets (`cargo fuzz list` would add the seed
# generator, which is a binary of the fuzz crate too).
ls fuzz/fuzz_targets | sed 's/\.rs$//' | xargs -P "$jobs" -I{} bash -c 'run_target {}'
echo "fuzzing took $(( $(date +%s) - started )) s"
