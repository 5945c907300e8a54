#!/usr/bin/env bash
# Runs ferry's fuzz targets (fuzz/, cargo-fuzz with libFuzzer on the stable toolchain, no
# sanitizer: ferry has no unsafe code of its own) one after the other, each for SECONDS
# (default 60), on 1 job. A crash or a run over 1 s (-timeout=1) stops the script with
# libFuzzer's reproducer in fuzz/artifacts/TARGET/; copy it to fuzz/seeds/TARGET/regression-*
# once fixed, so the seed replay test (crates/ferry-fuzz/tests/seeds.rs) keeps it fixed.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# The corpus grows in fuzz/corpus/TARGET (not checked in), starting from fuzz/seeds/TARGET.
# Prints one line per target: executions, corpus size, time. Set CARGO_TARGET_DIR to keep the
# instrumented build apart from other builds.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${1:-60}
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
      -max_total_time="$seconds" -timeout=1 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz target $target failed; reproducer in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "$target: $runs executions, corpus $(find "corpus/$target" -type f | wc -l) inputs ($(du -sh "corpus/$target" | cut -f1)), $(($(date +%s) - start)) s"
  rm -f "$log"
done
