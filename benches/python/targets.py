#!/usr/bin/env python3
"""The performance issue's Python targets, candidates interleaved round by
round: `pool.query` against stdlib `sqlite3` (a connection per thread, the
usual way to use it from threads) at 1 and 4 threads, and asyncio
`pool.aquery` / `pool.aconnection` against aiosqlite at 1 and 16 tasks.
Prints Markdown (each candidate's median, the median of the per-round
ratios and their spread) and writes benches/results/python_targets.md.

    python benches/python/targets.py [ROUNDS] [SECONDS_PER_CELL]
"""

import asyncio
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import threading
import time

import aiosqlite
import litepool

SQL = "SELECT name, quota FROM users WHERE id = ?"
ROWS = 10_000


def setup(path):
    c = sqlite3.connect(path)
    c.executescript(
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, quota INTEGER NOT NULL);"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)"
        " INSERT INTO users SELECT i, 'user' || i, i * 10 FROM n;"
    )
    c.close()


def threaded(threads, secs, make_op):
    """ops/s of `threads` threads each running the op `make_op()` returns."""
    stop = threading.Event()
    counts = [0] * threads
    start = threading.Barrier(threads + 1)

    def body(i):
        op = make_op()
        n = 0
        k = i * 7
        start.wait()
        while not stop.is_set():
            for _ in range(100):
                k = (k + 7) % ROWS
                op(k + 1)
            n += 100
        counts[i] = n

    ts = [threading.Thread(target=body, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    time.sleep(secs)
    stop.set()
    for t in ts:
        t.join()
    return sum(counts) / (time.perf_counter() - t0)


def run_async(tasks, secs, make_op):
    """ops/s of `tasks` asyncio tasks each awaiting `op(id)` in a loop."""

    async def main():
        op = await make_op()
        stop = False
        counts = [0] * tasks

        async def body(i):
            k = i * 7
            while not stop:
                k = (k + 7) % ROWS
                await op(k + 1)
                counts[i] += 1

        ts = [asyncio.create_task(body(i)) for i in range(tasks)]
        t0 = time.perf_counter()
        await asyncio.sleep(secs)
        stop = True
        await asyncio.gather(*ts)
        rate = sum(counts) / (time.perf_counter() - t0)
        if hasattr(op, "aclose"):
            await op.aclose()
        return rate

    return asyncio.run(main())


def stdlib_per_thread(path):
    def make():
        c = sqlite3.connect(path, check_same_thread=False)
        return lambda i: c.execute(SQL, (i,)).fetchall()

    return make


def litepool_query(pool):
    return lambda: (lambda i: pool.query(SQL, (i,)))


class AioShared:
    """One aiosqlite connection shared by every task (aiosqlite's model: a
    thread per connection)."""

    def __init__(self, path):
        self.path = path

    async def __call__(self):
        self.db = await aiosqlite.connect(self.path)

        async def op(i):
            return await self.db.execute_fetchall(SQL, (i,))

        async def aclose():
            await self.db.close()

        op.aclose = aclose
        return op


def aio_cursor(path):
    """aiosqlite, the lease-and-query shape: execute, then fetchall."""

    async def make():
        db = await aiosqlite.connect(path)

        async def op(i):
            async with db.execute(SQL, (i,)) as cur:
                return await cur.fetchall()

        async def aclose():
            await db.close()

        op.aclose = aclose
        return op

    return make


def lp_aquery(pool):
    async def make():
        return lambda i: pool.aquery(SQL, (i,))

    return make


def lp_aconnection(pool):
    async def make():
        async def op(i):
            async with pool.aconnection() as conn:
                return await conn.query(SQL, (i,))

        return op

    return make


def table(title, unit, names, rounds, note=""):
    out = [f"\n### {title}\n", "| candidate | median " + unit + " | litepool ÷ it (median of rounds) | spread |", "|---|---|---|---|"]
    for i, name in enumerate(names):
        col = [r[i] for r in rounds]
        if i == 0:
            out.append(f"| {name} | {statistics.median(col):,.0f} | — | |")
        else:
            ratios = [r[0] / r[i] for r in rounds]
            out.append(
                f"| {name} | {statistics.median(col):,.0f} | **{statistics.median(ratios):.2f}×** | {min(ratios):.2f}–{max(ratios):.2f} |"
            )
    if note:
        out.append("\n" + note)
    return "\n".join(out)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    d = tempfile.mkdtemp()
    path = os.path.join(d, "b.db")
    setup(path)
    pool = litepool.Pool(path, max_size=4)
    pool.query(SQL, (1,))
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    report = [
        f"Machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, aiosqlite {aiosqlite.__version__}; shared with other jobs "
        f"(load average at start {load}). {rounds} rounds of {secs:g} s per cell, candidates in turn within each round.",
    ]
    for threads in (1, 4):
        names = ["litepool pool.query", "sqlite3, a connection per thread"]
        rs = []
        for _ in range(rounds):
            rs.append([threaded(threads, secs, litepool_query(pool)), threaded(threads, secs, stdlib_per_thread(path))])
        report.append(table(f"pool.query point select, {threads} thread(s)", "queries/s", names, rs))
    for tasks in (1, 16):
        names = ["litepool aquery", "aiosqlite execute_fetchall (one connection)"]
        rs = []
        for _ in range(rounds):
            rs.append([run_async(tasks, secs, lp_aquery(pool)), run_async(tasks, secs, AioShared(path))])
        report.append(table(f"asyncio aquery point select, {tasks} task(s)", "queries/s", names, rs))
        names = ["litepool `async with aconnection()` + query", "aiosqlite execute + fetchall (one connection)"]
        rs = []
        for _ in range(rounds):
            rs.append([run_async(tasks, secs, lp_aconnection(pool)), run_async(tasks, secs, aio_cursor(path))])
        report.append(table(f"asyncio aconnection point select, {tasks} task(s)", "queries/s", names, rs))
    pool.close()
    text = "\n".join(report)
    print(text)
    out = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "results", "python_targets.md")
    with open(out, "w") as f:
        f.write(
            "## Python: the performance issue's targets\n\n"
            "Command: `.venv/bin/python benches/python/targets.py` (release build; run by `bash benches/python/run.sh`).\n\n"
            + text
            + "\n"
        )


if __name__ == "__main__":
    main()
