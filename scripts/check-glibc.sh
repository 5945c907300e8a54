#!/usr/bin/env bash
# Checks that a Linux binary starts on glibc MAX and newer: no versioned glibc symbol it
# imports (objdump -T) is newer than MAX, and it needs no shared library beyond glibc's own
# (and libgcc_s).
# Prints the newest glibc symbol version it needs.
#
# Usage: scripts/check-glibc.sh BINARY MAX      e.g. scripts/check-glibc.sh ferry 2.17
# Exit codes: 0 fine, 1 a symbol newer than MAX or another library needed, 2 wrong usage.
set -euo pipefail

if [[ $# -ne 2 || ! -f $1 ]]; then
    echo "usage: $0 BINARY MAX_GLIBC_VERSION" >&2
    exit 2
fi
binary=$1
max=$2
command -v objdump >/dev/null || { echo "error: objdump not found; install binutils (apt-get install -y binutils)" >&2; exit 2; }

newest=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/^GLIBC_//' | sort -Vu | tail -1)
if [[ -z $newest ]]; then
    echo "error: $binary imports no versioned glibc symbol (not a dynamically linked glibc binary?)" >&2
    exit 1
fi
if [[ $(printf '%s\n%s\n' "$newest" "$max" | sort -V | tail -1) != "$max" ]]; then
    echo "error: $binary needs glibc $newest, newer than $max; symbols:" >&2
    objdump -T "$binary" | grep -E "GLIBC_$newest\b" | awk '{print "  " $NF}' >&2
    exit 1
fi
# The libraries of glibc itself (and the dynamic loader), and libgcc_s (the unwinder, which
# glibc itself loads for thread cancellation, so every glibc system has it); anything else
# would have to be installed.
others=$(objdump -p "$binary" | awk '$1 == "NEEDED" {print $2}' | grep -Ev '^(libc|libm|libdl|libpthread|librt|libutil|libgcc_s|ld-linux-x86-64)\.so\.[0-9]+$' || true)
if [[ -n $others ]]; then
    echo "error: $binary needs libraries beyond glibc: $others" >&2
    exit 1
fi
echo "$newest"
