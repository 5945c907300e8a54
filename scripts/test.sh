#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need
# (cargo-nextest, Debian's headless Chromium for the HTML report check), then
# runs every test of the workspace and the doc tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if ((${#need_apt[@]})); then
  echo "installing: ${need_apt[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install cargo-nextest --locked
fi
if [ ! -d ../shared/corpora ] && [ -z "${FERRY_CORPORA:-}" ]; then
  echo "error: the test corpora are expected in ../shared/corpora (or set FERRY_CORPORA)" >&2
  exit 1
fi

cargo nextest run --workspace --no-fail-fast
cargo test --workspace --doc
