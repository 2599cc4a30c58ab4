#!/usr/bin/env python3
"""Refresh the committed fuzz seeds (fuzz/seeds/<target>) from a grown corpus.

Per target, at most 50 inputs: every named seed (a file whose name is not a
40-hex-digit hash: the real Keystone samples and hand-written shapes) is
kept; then, for half the free places, the smallest input of each of the most
frequent first bytes; then the inputs that add the most byte 4-grams not yet
covered. The candidates are the current hash-named seeds and the corpus a
`scripts/fuzz.sh` run grew in fuzz/corpus/<target> (ignored by git).
A heuristic for coverage, not a measure of it: run `cargo fuzz cmin` for that.
"""
import hashlib
import os
import re

MAX = 50
N = 4
TARGETS = ["clouds_yaml", "from_response", "redactor", "token_catalog"]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz")
HASH = re.compile(r"^[0-9a-f]{40}$")


def features(target, data):
    f = {data[i : i + N] for i in range(max(0, len(data) - N + 1))}
    if data:
        f.add(b"FB" + data[:1])
    if target == "from_response" and len(data) >= 2:
        f.add(b"ST" + data[:2])  # the status
    return f


def read_dir(path):
    if not os.path.isdir(path):
        return []
    return [(n, open(os.path.join(path, n), "rb").read()) for n in sorted(os.listdir(path))]


def main():
    for target in TARGETS:
        seeds_dir = os.path.join(ROOT, "seeds", target)
        current = read_dir(seeds_dir)
        seen, covered, chosen = set(), set(), []
        for name, data in current:
            if not HASH.match(name):
                seen.add(hashlib.sha1(data).hexdigest())
                covered |= features(target, data)
                chosen.append((name, data))
        pool = []
        candidates = [c for c in current if HASH.match(c[0])]
        candidates += read_dir(os.path.join(ROOT, "corpus", target))
        for name, data in candidates:
            digest = hashlib.sha1(data).hexdigest()
            if digest not in seen:
                seen.add(digest)
                pool.append((digest, data, features(target, data)))
        groups = {}
        for p in pool:
            groups.setdefault(p[1][:1], []).append(p)
        for group in sorted(groups.values(), key=lambda g: -len(g))[: (MAX - len(chosen)) // 2]:
            p = min(group, key=lambda p: (len(p[1]), p[0]))
            covered |= p[2]
            chosen.append((p[0], p[1]))
            pool.remove(p)
        while len(chosen) < MAX and pool:
            best = max(pool, key=lambda p: (len(p[2] - covered), -len(p[1])))
            if not best[2] - covered:
                break
            covered |= best[2]
            chosen.append((best[0], best[1]))
            pool.remove(best)
        for name, _ in current:
            os.remove(os.path.join(seeds_dir, name))
        os.makedirs(seeds_dir, exist_ok=True)
        for name, data in chosen:
            with open(os.path.join(seeds_dir, name), "wb") as f:
                f.write(data)
        print(f"{target}: {len(chosen)} seeds, {sum(len(d) for _, d in chosen)} bytes")


if __name__ == "__main__":
    main()
