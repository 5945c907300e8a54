#!/usr/bin/env bash
# Measures ferry's volume mover against Debian's restic (backup/restore) and rsync on the same
# tree: a first pass, a second pass after a 5 % change, a restore into an empty directory,
# stored bytes and peak memory. Usage: scripts/bench-volumes.sh FERRY_BINARY [SIZE_MB]
# (a release build: cargo build --release -p ferry-cli). Needs restic and rsync
# (scripts/install-k8s.sh installs both). Works in .bench/volumes/, removed at the start.
set -euo pipefail

ferry=$(realpath "$1")
size_mb=${2:-400}
dir=$(realpath -m .bench/volumes)
rm -rf "$dir" && mkdir -p "$dir"
tree="$dir/tree"

log() { echo "bench-volumes: $*" >&2; }

# The tree: half in small files (1-48 KiB of text, ~24 KiB on average), half in 4 large files of mixed
# random and repetitive data (compressible about 2:1), a few links.
make_tree() {
  python3 - "$tree" "$size_mb" <<'PY'
import os, random, sys
root, size_mb = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
half = size_mb * 1024 * 1024 // 2
written, i = 0, 0
while written < half:
    d = os.path.join(root, f"d{i % 160:03d}")
    os.makedirs(d, exist_ok=True)
    n = rng.randint(1024, 48 * 1024)
    words = " ".join(f"w{rng.randint(0, 5000)}" for _ in range(n // 6))
    with open(os.path.join(d, f"f{i:05d}.txt"), "w") as f:
        f.write(words[:n])
    written += n
    i += 1
for j in range(4):
    with open(os.path.join(root, f"large{j}.bin"), "wb") as f:
        left = half // 4
        while left > 0:
            block = rng.randbytes(32768) + bytes(32768)
            f.write(block[:left])
            left -= len(block)
os.symlink("large0.bin", os.path.join(root, "link"))
os.link(os.path.join(root, "d000/f00000.txt"), os.path.join(root, "hard"))
PY
}

# 5 %: rewrite every 20th small file, change 1/20 of each large file in place.
change_tree() {
  python3 - "$tree" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(11)
small = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(root) for f in fs if f.endswith(".txt"))
for path in small[::20]:
    with open(path, "a") as f:
        f.write(" changed")
for j in range(4):
    path = os.path.join(root, f"large{j}.bin")
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.seek(size // 3)
        f.write(rng.randbytes(size // 20))
PY
}

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
run_ferry
run_restic
run_rsync
