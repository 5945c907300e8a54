#!/usr/bin/env bash
# Renders the examples/aks-shop assessment as HTML and takes a screenshot of
# it with headless Chromium, to check how the report looks.
#
# Usage: scripts/screenshot-report.sh [--fragment '#ns=NAMESPACE'] [--no-scripts] OUT.png [REPORT.html]
#
# --fragment opens the page at that URL fragment: `#ns=NAMESPACE` applies the
# graph's namespace filter. --no-scripts turns the page's script off (through
# the profile's content settings: with --blink-settings=scriptEnabled=false,
# headless Chromium writes no screenshot at all) to see the static graph.
# The test crates/ferry-report/tests/html_screenshot.rs does the same for a
# generated 300-application input (FERRY_REPORT_OUT_DIR=DIR keeps its pages
# and screenshots).
#
# Without REPORT.html the report is generated with the built CLI
# (target/debug/ferry: build it with `cargo build -p ferry-cli`). Chromium
# comes from Debian's `chromium` package (apt-get install -y chromium); set
# CHROMIUM to use another binary.
set -euo pipefail

fragment=
scripts=on
while [[ $# -gt 0 ]]; do
    case $1 in
        --fragment) fragment=${2:-}; shift 2 || { echo "error: --fragment needs a value" >&2; exit 2; } ;;
        --no-scripts) scripts=off; shift ;;
        -h | --help) set -- ; break ;;
        *) break ;;
    esac
done
if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: $0 [--fragment '#ns=NAMESPACE'] [--no-scripts] OUT.png [REPORT.html]" >&2
    exit 2
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$1
chromium=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $chromium ]]; then
    echo "error: Chromium not found at $chromium; install it with: apt-get update && apt-get install -y chromium" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ $# -eq 2 ]]; then
    html=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
else
    ferry=$root/target/debug/ferry
    if [[ ! -x $ferry ]]; then
        echo "error: $ferry not found; build it with: cargo build -p ferry-cli" >&2
        exit 1
    fi
    html=$work/report.html
    # Exit codes 3 (blocking findings) and 4 (unreadable input) still write
    # the report; only 1 and 2 mean ferry could not run.
    status=0
    # Relative input path, so that the report shows `examples/aks-shop/...`.
    (cd "$root" && "$ferry" assess examples/aks-shop -o html --out "$html") || status=$?
    if [[ $status -ne 0 && $status -ne 3 && $status -ne 4 ]]; then
        echo "error: ferry assess failed with exit code $status" >&2
        exit 1
    fi
fi
if [[ ! -s $html ]]; then
    echo "error: no report at $html" >&2
    exit 1
fi

case $out in
    /*) ;;
    *) out=$PWD/$out ;;
esac
rm -f "$out"
mkdir -p "$work/profile/Default"
if [[ $scripts == off ]]; then
    echo '{"profile":{"default_content_setting_values":{"javascript":2}}}' >"$work/profile/Default/Preferences"
fi
# Chromium's output is noisy (D-Bus, GPU probing); keep it for errors only.
if ! timeout 180 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
    --user-data-dir="$work/profile" --window-size=1400,2400 --screenshot="$out" "file://$html$fragment" \
    >"$work/chromium.log" 2>&1; then
    cat "$work/chromium.log" >&2
    echo "error: Chromium failed" >&2
    exit 1
fi
if [[ ! -s $out ]]; then
    cat "$work/chromium.log" >&2
    echo "error: Chromium wrote no screenshot" >&2
    exit 1
fi
echo "$out ($(wc -c <"$out") bytes)"
