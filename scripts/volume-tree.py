#!/usr/bin/env python3
"""The volume benchmarks' tree (scripts/bench-volumes.sh and `ferry-bench volumes`).

    volume-tree.py make DIR SIZE_MB   half in small text files (1-48 KiB, ~24 KiB on average),
                                      half in 4 large files of mixed random and zero blocks
                                      (compressible about 2:1), a symbolic and a hard link
    volume-tree.py change DIR         a 5 % change: every 20th small file appended to, 1/20 of
                                      each large file rewritten in place
"""
import os
import random
import sys


def make(root, size_mb):
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


def change(root):
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


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] == "change":
        change(sys.argv[2])
    else:
        sys.exit(__doc__)
