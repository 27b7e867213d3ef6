"""litepool.sqlite3 against the standard library's sqlite3, and SQLAlchemy's
ORM on sqlite+litepool against sqlite+pysqlite.

Candidates are interleaved: every round runs each of them for the same
number of operations, in alternating order, and each round gives one ratio
(litepool ops/s ÷ peer ops/s). Reported: the median ratio over the rounds
and its spread (min–max), with the median ops/s of each side.

Cases (1 and 4 threads; each thread has its own connection):
- point select by primary key: ``cx.execute(sql, (k,)).fetchone()``
- executemany: 100-row ``INSERT`` batches, each in its own transaction
- SQLAlchemy ORM round trip (1 thread): add a row and commit in one
  session, read it back by primary key in another.
Both modules open the same kind of file: WAL, synchronous=NORMAL (set in
the file and per connection, so both sides pay the same commit cost).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time

import litepool
import litepool.sqlite3 as lpsqlite3

ROWS = 10_000
SELECT = "SELECT v FROM kv WHERE k = ?"


def setup(path: str) -> None:
    cx = sqlite3.connect(path)
    cx.execute("PRAGMA journal_mode=WAL")
    cx.execute("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)")
    cx.execute("CREATE TABLE log (k INTEGER, v TEXT)")
    cx.executemany("INSERT INTO kv VALUES (?, ?)", ((i, f"value-{i}") for i in range(ROWS)))
    cx.commit()
    cx.close()


def timed(threads: int, make_work) -> float:
    """Runs one work function per thread (each made on its own thread);
    returns the elapsed seconds from a common start."""
    barrier = threading.Barrier(threads + 1)
    ends: list[float] = []

    def body():
        work = make_work()
        barrier.wait()
        work()
        ends.append(time.perf_counter())

    ts = [threading.Thread(target=body) for _ in range(threads)]
    for t in ts:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in ts:
        t.join()
    return max(ends) - start


def point_select(module, path: str, ops: int):
    def make():
        cx = module.connect(path, check_same_thread=False)
        cx.execute("PRAGMA synchronous=NORMAL") if module is sqlite3 else None

        def work():
            ex = cx.execute
            for i in range(ops):
                ex(SELECT, (i % ROWS,)).fetchone()
            cx.close()
        return work
    return make


def executemany(module, path: str, ops: int):
    batch = [(i, "x" * 20) for i in range(100)]

    def make():
        cx = module.connect(path, timeout=60, check_same_thread=False)
        if module is sqlite3:
            cx.execute("PRAGMA synchronous=NORMAL")

        def work():
            for _ in range(ops):
                cx.executemany("INSERT INTO log VALUES (?, ?)", batch)
                cx.commit()
            cx.close()
        return work
    return make


def orm(url: str, ops: int):
    from sqlalchemy import Column, Integer, String, create_engine, event
    from sqlalchemy.orm import DeclarativeBase, Session

    class Base(DeclarativeBase):
        pass

    class Item(Base):
        __tablename__ = "items"
        id = Column(Integer, primary_key=True)
        name = Column(String(50))

    path = url.split("///", 1)[1]
    cx = sqlite3.connect(path)
    cx.execute("PRAGMA journal_mode=WAL")
    cx.close()
    engine = create_engine(url)
    if engine.dialect.driver == "litepool":
        litepool.configure(path, synchronous="normal")
    else:
        @event.listens_for(engine, "connect")
        def normal(dbapi_connection, record):
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    Base.metadata.create_all(engine)

    def make():
        def work():
            for i in range(ops):
                with Session(engine) as s:
                    item = Item(name=f"item-{i}")
                    s.add(item)
                    s.commit()
                    key = item.id
                with Session(engine) as s:
                    assert s.get(Item, key).name == f"item-{i}"
        return work
    return make, engine


def measure(name, threads, ops, candidates, rounds):
    """candidates: [(label, make_work)] with litepool first; returns a row."""
    seconds = {label: [] for label, _ in candidates}
    for r in range(rounds):
        order = candidates if r % 2 == 0 else candidates[::-1]
        for label, make in order:
            seconds[label].append(timed(threads, make))
    (lp, _), (peer, _) = candidates
    ratios = [p / l for l, p in zip(seconds[lp], seconds[peer])]
    rate = lambda s: threads * ops / statistics.median(s)  # noqa: E731
    return (name, threads, rate(seconds[lp]), rate(seconds[peer]), statistics.median(ratios), min(ratios), max(ratios))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="few operations (a smoke run)")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.db")
        setup(path)
        litepool.configure(path, synchronous="normal", max_size=8)
        for threads in (1, 4):
            n = 20_000 // scale
            rows.append(measure("point select by primary key", threads, n, [
                ("litepool", point_select(lpsqlite3, path, n)),
                ("sqlite3", point_select(sqlite3, path, n)),
            ], args.rounds))
            n = 200 // scale
            rows.append(measure("executemany, 100 rows per transaction", threads, n, [
                ("litepool", executemany(lpsqlite3, path, n)),
                ("sqlite3", executemany(sqlite3, path, n)),
            ], args.rounds))
        n = 1000 // scale
        lp_make, lp_engine = orm(f"sqlite+litepool:///{os.path.join(tmp, 'orm_lp.db')}", n)
        py_make, py_engine = orm(f"sqlite+pysqlite:///{os.path.join(tmp, 'orm_py.db')}", n)
        rows.append(measure("SQLAlchemy ORM: add + commit, then get by key", 1, n, [
            ("litepool", lp_make), ("sqlite3", py_make)], args.rounds))
        lp_engine.dispose()
        py_engine.dispose()
    print(f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, "
          f"{args.rounds} interleaved rounds per case.")
    print()
    print("Ratios (litepool ÷ peer, median of the rounds; above 1 means litepool is faster):")
    print()
    print("| case | threads | litepool.sqlite3 (ops/s) | peer (ops/s) | ratio (litepool ÷ peer, median) | spread (min–max) |")
    print("|---|---:|---:|---:|---:|---|")
    for name, threads, lp, peer, med, lo, hi in rows:
        peer_name = "sqlite+pysqlite" if name.startswith("SQLAlchemy") else "sqlite3"
        print(f"| {name} (peer: {peer_name}) | {threads} | {lp:,.0f} | {peer:,.0f} | {med:.2f}× | {lo:.2f}–{hi:.2f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
