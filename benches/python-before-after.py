#!/usr/bin/env python3
"""Before/after for Python's `pool.query` point select: two interpreters
(venvs with the litepool extension of BASE and of the working tree) run the
same loop in turn, ROUNDS times; each reports its own queries/s measured in
process. Median of the per-round ratios, with the spread. Appends to
benches/results/before-after.md.

    python3 benches/python-before-after.py BEFORE_PYTHON AFTER_PYTHON [ROUNDS]
"""

import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LOOP = r"""
import os, sys, tempfile, time, litepool
path = os.path.join(tempfile.mkdtemp(), "b.db")
with litepool.Pool(path, max_size=4) as pool:
    pool.execute("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)")
    with pool.write() as c:
        c.executemany("INSERT INTO kv VALUES (?, ?)", [(i, str(i)) for i in range(1000)])
    for i in range(2000):
        pool.query("SELECT v FROM kv WHERE k = ?", (i % 1000,))
    n = 100_000
    t = time.perf_counter()
    for i in range(n):
        pool.query("SELECT v FROM kv WHERE k = ?", (i % 1000,))
    print(n / (time.perf_counter() - t))
"""


def rate(python: str) -> float:
    out = subprocess.run([python, "-c", LOOP], check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    before, after = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    ratios, rates = [], []
    for _ in range(rounds):
        a, b = rate(after), rate(before)
        ratios.append(a / b)
        rates.append((b, a))
    med = statistics.median(ratios)
    row = (f"| Python `pool.query` point select, 1 thread | {statistics.median(r[0] for r in rates):,.0f}/s | "
           f"{statistics.median(r[1] for r in rates):,.0f}/s | {med:.2f}x | {min(ratios):.2f}-{max(ratios):.2f} |")
    text = ("\n## Python\n\n`python3 benches/python-before-after.py BEFORE_PY AFTER_PY " f"{rounds}` — two venvs, "
            "one with each build (release), run in turn; ratio = after rate / before rate per round (> 1: faster "
            "now).\n\n| case | before (median) | after (median) | after vs before | range |\n|---|---|---|---|---|\n"
            + row + "\n")
    with open(os.path.join(ROOT, "benches", "results", "before-after.md"), "a") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
