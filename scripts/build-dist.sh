#!/usr/bin/env bash
# Builds the portable ferry binary for x86-64 Linux: the `dist` profile (stripped, fat LTO, one
# codegen unit) linked by Zig against glibc 2.17 (`cargo zigbuild`), for RHEL/CentOS 7 and 8,
# Ubuntu 18.04/20.04, Amazon Linux 2 and anything newer. Then it checks
# the binary (scripts/check-glibc.sh: no glibc symbol newer than 2.17, no library beyond
# glibc), runs `ferry --version` and `ferry assess examples/aks-shop`, and prints its size and
# the build time.
#
# Zig and cargo-zigbuild come from PyPI (installed here when missing). Takes ~16 minutes of
# CPU from a cold target directory (72 minutes on a busy 2-core machine; BENCHMARKS.md), so CI
# does not run it. The binary lands in
# ${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/dist/ferry.
#
# Usage: scripts/build-dist.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
glibc=2.17
target=x86_64-unknown-linux-gnu

if ! command -v cargo-zigbuild >/dev/null || ! python3 -m ziglang version >/dev/null 2>&1; then
    python3 -m pip install --quiet 'ziglang==0.17.1' 'cargo-zigbuild==0.24.1'
fi

start=$(date +%s)
cargo zigbuild --locked --target "$target.$glibc" --profile dist -p ferry-cli
seconds=$(($(date +%s) - start))
binary="${CARGO_TARGET_DIR:-$root/target}/$target/dist/ferry"

newest=$(scripts/check-glibc.sh "$binary" "$glibc")
"$binary" --version
status=0
"$binary" assess examples/aks-shop >/dev/null || status=$?
# The example has removed APIs: exit code 3 is the assessment working.
if [[ $status -ne 3 ]]; then
    echo "error: \`ferry assess examples/aks-shop\` exited with $status, expected 3" >&2
    exit 1
fi
echo "binary: $binary"
echo "size: $(stat -c %s "$binary") bytes; newest glibc symbol: $newest (at most $glibc); build: ${seconds} s"
