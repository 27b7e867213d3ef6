#!/usr/bin/env python3
"""Issue 16's features on the hot path, wall time, off vs on: builds
pool-core's criterion bench `benches/features.rs` and, ROUNDS times, runs
each feature's case right after `off` (each its own process, so the two
share the machine's load), for `get` (acquire + release) and `call` (a
one-shot point select through the SQL layer). Reports per case the median
of the per-round ratios off/on (1.00x: no cost; < 1: slower with it on)
and their range. Writes benches/results/features.md.

    python3 benches/features.py [ROUNDS]
"""

import json
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FEATURES = ["deadline", "lease-deadline", "shed", "fair", "stats", "warm", "slow", "trace", "all"]
UNITS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def bench_binary() -> str:
    out = subprocess.run(
        ["cargo", "bench", "-p", "litepool", "--bench", "features", "--no-run", "--message-format=json"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") and msg["target"]["name"] == "features":
            return msg["executable"]
    raise SystemExit("no bench binary built")


def run(binary: str, case: str) -> float:
    out = subprocess.run(
        [binary, "--bench", f"^features/{case}$", "--measurement-time", "2", "--warm-up-time", "1", "--noplot"],
        check=True, capture_output=True, text=True, cwd=ROOT,
    ).stdout
    t = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", out)
    if not t:
        raise SystemExit(f"no time for {case}:\n{out}")
    return float(t.group(1)) * UNITS[t.group(2)]


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    binary = bench_binary()
    ratios, times = {}, {}
    for r in range(rounds):
        for mode in ("get", "call"):
            for feature in FEATURES:
                off, on = run(binary, f"{mode}/off"), run(binary, f"{mode}/{feature}")
                ratios.setdefault((mode, feature), []).append(off / on)
                times.setdefault((mode, feature), []).append((off, on))
        print(f"round {r + 1} of {rounds} done", file=sys.stderr)
    lines = [
        "# Issue 16's features on the hot path: off vs on (wall time)",
        "",
        f"`python3 benches/features.py {rounds}` — criterion `pool-core/benches/features.rs`; each case run right "
        f"after `off` in its own process, {rounds} rounds. Ratio = off time / on time per round (1.00x: free; below 1: "
        "slower with the feature on); median and range. `get` = acquire + release; `call` = a one-shot point "
        "select through the SQL layer (`Pool::call`).",
        "",
        "| case | off (median) | on (median) | off/on | range |",
        "|---|---|---|---|---|",
    ]
    for (mode, feature), rs in ratios.items():
        off = statistics.median(x for x, _ in times[(mode, feature)])
        on = statistics.median(y for _, y in times[(mode, feature)])
        lines.append(f"| {mode} {feature} | {off * 1e9:.0f} ns | {on * 1e9:.0f} ns | {statistics.median(rs):.2f}× | "
                     f"{min(rs):.2f}–{max(rs):.2f} |")
    with open(os.path.join(ROOT, "benches", "results", "features.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
