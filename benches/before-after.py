#!/usr/bin/env python3
"""Before/after for the core's hot paths: builds pool-core's criterion bench
(`benches/pool.rs`) at BASE (in a git worktree under target/) and at the
working tree, runs the two binaries in turn ROUNDS times (interleaved, so
drift hits both), and reports per case the median of the per-round ratios
after/before with the spread, r2d2 as a yardstick measured in the same runs.
Writes benches/results/before-after.md and .svg.

    python3 benches/before-after.py BASE [ROUNDS]
"""

import json
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = r"^(acquire_release_uncontended|point_select)/"
UNITS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def bench_binary(tree: str, target: str) -> str:
    out = subprocess.run(
        ["cargo", "bench", "-p", "litepool", "--bench", "pool", "--no-run", "--message-format=json"],
        cwd=tree, env={**os.environ, "CARGO_TARGET_DIR": target}, check=True, capture_output=True, text=True,
    ).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") and msg["target"]["name"] == "pool":
            return msg["executable"]
    raise SystemExit(f"no bench binary built in {tree}")


def run(binary: str) -> dict:
    out = subprocess.run(
        [binary, "--bench", CASES, "--measurement-time", "2", "--warm-up-time", "1", "--noplot"],
        check=True, capture_output=True, text=True, cwd=ROOT,
    ).stdout
    times, name = {}, None
    for line in out.splitlines():
        m = re.match(r"^(\S+/\S+)\s*(time:.*)?$", line.strip())
        if m and "/" in m.group(1) and not line.startswith(" "):
            name = m.group(1)
        t = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
        if t and name:
            times[name] = float(t.group(1)) * UNITS[t.group(2)]
    return times


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    base = subprocess.run(["git", "rev-parse", "--short", sys.argv[1]], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    old_tree = os.path.join(ROOT, "target", f"before-{base}")
    if not os.path.isdir(old_tree):
        subprocess.run(["git", "worktree", "add", "--detach", old_tree, base], cwd=ROOT, check=True)
    old = bench_binary(old_tree, os.path.join(ROOT, "target", "before-target"))
    new = bench_binary(ROOT, os.path.join(ROOT, "target"))
    ratios: dict = {}
    absolute: dict = {}
    for r in range(rounds):
        after, before = run(new), run(old)
        print(f"round {r + 1}: {len(after)} cases", file=sys.stderr)
        for case in after:
            if case in before:
                # > 1: the working tree is faster.
                ratios.setdefault(case, []).append(before[case] / after[case])
                absolute.setdefault(case, []).append((before[case], after[case]))
    lines = [
        f"# Before/after: pool-core hot paths, {base} vs the working tree",
        "",
        f"`python3 benches/before-after.py {base} {rounds}` — criterion `benches/pool.rs` built at both, run in turn "
        f"{rounds} times. Ratio = before time / after time per round (> 1: faster now); median and range. r2d2 "
        "rows are the yardstick (same code in both runs: their ratio shows the noise).",
        "",
        "| case | before (median) | after (median) | after vs before | range |",
        "|---|---|---|---|---|",
    ]
    for case in sorted(ratios):
        rs = ratios[case]
        b = statistics.median(x for x, _ in absolute[case])
        a = statistics.median(y for _, y in absolute[case])
        lines.append(f"| {case} | {b * 1e9:.0f} ns | {a * 1e9:.0f} ns | {statistics.median(rs):.2f}x | "
                     f"{min(rs):.2f}-{max(rs):.2f} |")
    md = os.path.join(ROOT, "benches", "results", "before-after.md")
    with open(md, "w") as f:
        f.write("\n".join(lines) + "\n\n![before/after](before-after.svg)\n")
    svg_rows = sorted(ratios)
    w, bar = 640, 26
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{40 + bar * len(svg_rows)}" '
             'font-family="sans-serif" font-size="12">',
             f'<text x="10" y="18">after vs before (median ratio, 1.0 = unchanged; &gt; 1 faster) — {base}</text>']
    scale = 200
    for i, case in enumerate(svg_rows):
        y = 30 + i * bar
        m = statistics.median(ratios[case])
        parts.append(f'<text x="10" y="{y + 15}">{case}</text>')
        parts.append(f'<rect x="300" y="{y + 3}" width="{m * scale:.0f}" height="16" fill="#4a7"/>')
        parts.append(f'<text x="{305 + m * scale:.0f}" y="{y + 15}">{m:.2f}x</text>')
    parts.append(f'<line x1="{300 + scale}" y1="26" x2="{300 + scale}" y2="{30 + bar * len(svg_rows)}" stroke="#333"/>')
    parts.append("</svg>")
    with open(md.replace(".md", ".svg"), "w") as f:
        f.write("\n".join(parts) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
