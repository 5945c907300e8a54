#!/usr/bin/env bash
# Measures ferry's volume mover against Debian's restic (backup/restore) and rsync on the same
# tree: a first pass, a second pass after a 5 % change, a restore into an empty directory,
# stored bytes and peak memory, and the machine's own limit: reading the tree with `cat`.
# Usage: scripts/bench-volumes.sh FERRY_BINARY [SIZE_MB]
# (a release build: cargo build --release -p ferry-cli). Needs restic and rsync
# (scripts/install-k8s.sh installs both). Works in .bench/volumes/, removed at the start.
set -euo pipefail

ferry=$(realpath "$1")
size_mb=${2:-400}
dir=$(realpath -m .bench/volumes)
rm -rf "$dir" && mkdir -p "$dir"
tree="$dir/tree"

log() { echo "bench-volumes: $*" >&2; }

# The tree and its 5 % change: scripts/volume-tree.py (shared with `ferry-bench volumes`).
trees="$(dirname "$0")/volume-tree.py"
make_tree() { python3 "$trees" make "$tree" "$size_mb"; }
change_tree() { python3 "$trees" change "$tree"; }

# Runs a command, printing "SECONDS PEAK_RSS_MB".
measure() {
  local out="$dir/time.txt"
  /usr/bin/time -f "%e %M" -o "$out" "$@" >/dev/null 2>"$dir/last.err" || { cat "$dir/last.err" >&2; exit 1; }
  awk '{printf "%.2f %.0f\n", $1, $2 / 1024}' "$out"
}

mb() { du -sm --apparent-size "$1" | cut -f1; }

make_tree
input=$(mb "$tree")
log "tree: $input MB, $(find "$tree" -type f | wc -l) files"
row() { printf '| %s | %s | %s | %s | %s | %s |\n' "$@"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); tree $input MB"
row tool "first pass s (MB/s), peak MB" "second pass s, peak MB" "restore s (MB/s), peak MB" "stored MB" "second pass stored MB"
row --- --- --- --- --- ---

cp -a "$tree" "$dir/pristine"
run_ferry() {
  local repo="$dir/ferry-repo"
  read -r s1 m1 < <(measure "$ferry" volumes mover backup --repository "$repo" --path "$tree" --volume bench/v --time t1)
  local stored1; stored1=$(mb "$repo")
  change_tree
  read -r s2 m2 < <(measure "$ferry" volumes mover backup --repository "$repo" --path "$tree" --volume bench/v --time t2)
  local stored2; stored2=$(mb "$repo")
  local snapshot; snapshot=$(cat "$repo/refs/bench/v")
  read -r s3 m3 < <(measure "$ferry" volumes mover restore --repository "$repo" --path "$dir/ferry-restore" --snapshot "$snapshot")
  row ferry "$s1 ($(echo "$input / $s1" | bc)), $m1" "$s2, $m2" "$s3 ($(echo "$input / $s3" | bc)), $m3" "$stored1" "$((stored2 - stored1))"
}
run_restic() {
  rm -rf "$tree" && cp -a "$dir/pristine" "$tree"
  export RESTIC_REPOSITORY="$dir/restic-repo" RESTIC_PASSWORD=bench
  restic init -q >/dev/null
  read -r s1 m1 < <(measure restic backup -q "$tree")
  local stored1; stored1=$(mb "$RESTIC_REPOSITORY")
  change_tree
  read -r s2 m2 < <(measure restic backup -q "$tree")
  local stored2; stored2=$(mb "$RESTIC_REPOSITORY")
  read -r s3 m3 < <(measure restic restore -q latest --target "$dir/restic-restore")
  row "restic $(restic version | cut -d' ' -f2)" "$s1 ($(echo "$input / $s1" | bc)), $m1" "$s2, $m2" "$s3 ($(echo "$input / $s3" | bc)), $m3" "$stored1" "$((stored2 - stored1))"
}
run_rsync() {
  rm -rf "$tree" && cp -a "$dir/pristine" "$tree"
  read -r s1 m1 < <(measure rsync -aHS --delete "$tree/" "$dir/rsync-copy/")
  change_tree
  read -r s2 m2 < <(measure rsync -aHS --delete "$tree/" "$dir/rsync-copy/")
  row "rsync $(rsync --version | head -1 | awk '{print $3}')" "$s1 ($(echo "$input / $s1" | bc)), $m1" "$s2, $m2" "(the copy is the restore)" "$(mb "$dir/rsync-copy")" "-"
}
run_cat() {
  read -r s1 m1 < <(measure sh -c "find '$tree' -type f -print0 | xargs -0 cat > /dev/null")
  row "cat > /dev/null (reading only)" "$s1 ($(echo "$input / $s1" | bc)), $m1" - - - -
}
run_cat
run_ferry
run_restic
run_rsync
