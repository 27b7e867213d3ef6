"""litepool (Python) against its peers: stdlib sqlite3 and SQLAlchemy's QueuePool.

Point select by primary key over 1000 rows, and checkout + return, on 1 and
4 threads. Prints a markdown table (ops/s, higher is better) with ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import tempfile
import threading
import time

import litepool
from sqlalchemy.pool import QueuePool

SQL = "SELECT v FROM kv WHERE k = ?"
ROWS = 1000


def setup(path: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)")
    conn.executemany("INSERT INTO kv VALUES (?, ?)", ((i, f"value-{i}") for i in range(ROWS)))
    conn.commit()
    conn.close()


def run(threads: int, ops: int, make_worker) -> float:
    """Runs `ops` calls on each of `threads` threads; returns total ops/s."""
    workers = [make_worker() for _ in range(threads)]
    barrier = threading.Barrier(threads + 1)
    done = []

    def body(work):
        barrier.wait()
        work(ops)
        done.append(time.perf_counter())

    ts = [threading.Thread(target=body, args=(w,)) for w in workers]
    for t in ts:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in ts:
        t.join()
    return threads * ops / (max(done) - start)


def cases(path: str, threads: int):
    pool = litepool.Pool(path, max_size=max(threads, 2), min_idle=threads)
    shared = sqlite3.connect(path, check_same_thread=False)
    qpool = QueuePool(lambda: sqlite3.connect(path, check_same_thread=False), pool_size=threads, max_overflow=0)

    def lp_query():
        def work(n):
            q = pool.query
            for i in range(n):
                q(SQL, (i % ROWS,))
        return work

    def lp_held():
        conn = pool.connection()

        def work(n):
            ex = conn.execute
            for i in range(n):
                ex(SQL, (i % ROWS,)).fetchone()
            conn.close()
        return work

    def std_shared():
        def work(n):
            ex = shared.execute
            for i in range(n):
                ex(SQL, (i % ROWS,)).fetchone()
        return work

    def std_per_query():
        def work(n):
            for i in range(n):
                c = sqlite3.connect(path)
                c.execute(SQL, (i % ROWS,)).fetchone()
                c.close()
        return work

    def lp_checkout():
        def work(n):
            get = pool.connection
            for _ in range(n):
                get().close()
        return work

    def qp_checkout():
        def work(n):
            get = qpool.connect
            for _ in range(n):
                get().close()
        return work

    return pool, shared, qpool, {
        "point select: litepool `pool.query`": lp_query,
        "point select: litepool held connection": lp_held,
        "point select: sqlite3 shared connection": std_shared,
        "point select: sqlite3 new connection per query": std_per_query,
        "checkout + return: litepool": lp_checkout,
        "checkout + return: SQLAlchemy QueuePool": qp_checkout,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=20000, help="calls per thread (per-connect case: ops/10)")
    ap.add_argument("--repeat", type=int, default=5, help="best of N interleaved rounds")
    args = ap.parse_args()
    results: dict[str, dict[int, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.db")
        setup(path)
        for threads in (1, 4):
            pool, shared, qpool, named = cases(path, threads)
            # Rounds interleave the cases, so machine noise hits them alike.
            for _ in range(args.repeat):
                for name, make in named.items():
                    ops = args.ops // 10 if "per query" in name else args.ops
                    by = results.setdefault(name, {})
                    by[threads] = max(by.get(threads, 0.0), run(threads, ops, make))
            pool.close()
            shared.close()
            qpool.dispose()

    def ratio(a: str, b: str, t: int) -> str:
        return f"{results[a][t] / results[b][t]:.2f}×"

    print(f"Python {platform.python_version()}, SQLite {litepool.sqlite_version}, "
          f"{os.cpu_count()} CPUs, best of {args.repeat}, {args.ops} calls per thread.\n")
    print("| case | 1 thread (ops/s) | 4 threads (ops/s) |")
    print("|---|---:|---:|")
    for name, by in results.items():
        print(f"| {name} | {by[1]:,.0f} | {by[4]:,.0f} |")
    print("\nRatios (litepool ÷ peer; > 1 means litepool is faster):\n")
    print("| comparison | 1 thread | 4 threads |")
    print("|---|---:|---:|")
    pairs = [
        ("point select: litepool held connection", "point select: sqlite3 shared connection"),
        ("point select: litepool `pool.query`", "point select: sqlite3 shared connection"),
        ("point select: litepool `pool.query`", "point select: sqlite3 new connection per query"),
        ("checkout + return: litepool", "checkout + return: SQLAlchemy QueuePool"),
    ]
    for a, b in pairs:
        print(f"| {a.split(': ')[1]} vs {b.split(': ')[1]} | {ratio(a, b, 1)} | {ratio(a, b, 4)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
