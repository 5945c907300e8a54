#!/usr/bin/env bash
# Runs ferry's fuzz targets (fuzz/, cargo-fuzz with libFuzzer on the stable toolchain, no
# sanitizer: ferry has no unsafe code of its own) one after the other, each for SECONDS
# (default 60), on 1 job. A crash or a run over FUZZ_TIMEOUT seconds (default 1) stops the
# script with libFuzzer's reproducer in fuzz/artifacts/TARGET/; copy it to
# fuzz/seeds/TARGET/regression-* once fixed, so the seed replay test
# (crates/ferry-fuzz/tests/seeds.rs) keeps it fixed. libFuzzer's timeout is wall-clock time: on
# a machine whose cores are busy with other work, raise FUZZ_TIMEOUT; after each target the
# whole corpus is run again, one input at a time, and the slowest input's time is printed.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# FUZZ_RUNS=N stops each target after N executions (e.g. 10000000) if that comes first.
#
# The corpus grows in fuzz/corpus/TARGET (not checked in), starting from fuzz/seeds/TARGET.
# Prints one line per target: executions, corpus size, slowest corpus input, time. Set
# CARGO_TARGET_DIR to keep the instrumented build apart from other builds.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${1:-60}
timeout=${FUZZ_TIMEOUT:-1}
run_limit=()
[[ -n "${FUZZ_RUNS:-}" ]] && run_limit=(-runs="$FUZZ_RUNS")
bin="${CARGO_TARGET_DIR:-$PWD/target}/x86_64-unknown-linux-gnu/release"
shift || true
targets=("$@")
((${#targets[@]})) || targets=(yaml archive_plain archive_encrypted rules transform)

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
cargo fuzz build -s none

for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  log=$(mktemp)
  start=$(date +%s)
  if ! cargo fuzz run -s none "$target" "corpus/$target" "seeds/$target" -- \
      -max_total_time="$seconds" "${run_limit[@]}" -timeout="$timeout" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz target $target failed; reproducer in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  # Each process first runs a seed, which pays the one-time set-up (knowledge tables, rules).
  warm=$(find "seeds/$target" -type f | sort | head -n 1)
  slowest=$(find "corpus/$target" -type f -print0 | xargs -0 "$bin/$target" -timeout="$timeout" "$warm" 2>&1 |
    grep -v '^Executed seeds/' | sed -n 's/^Executed .* in \([0-9]*\) ms$/\1/p' | sort -n | tail -n 1)
  echo "$target: $runs executions, corpus $(find "corpus/$target" -type f | wc -l) inputs ($(du -sh "corpus/$target" | cut -f1)), slowest input ${slowest} ms, $(($(date +%s) - start)) s"
  rm -f "$log"
done
