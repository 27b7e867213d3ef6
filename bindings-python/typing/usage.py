"""Typed use of litepool's public API, checked with ``mypy --strict`` by
``run-tests.sh`` (and executed by tests/test_14_typing.py, so it must also run)."""

from __future__ import annotations

import asyncio
import sqlite3 as stdlib_sqlite3
import tempfile
from pathlib import Path

import litepool
import litepool.sqlite3 as sqlite3


def count_in_write(pool: litepool.Pool) -> int:
    # A `return` inside `with pool.write()`: __exit__ never swallows the
    # exception, so mypy knows the function returns here.
    with pool.write() as conn:
        conn.execute("INSERT INTO kv VALUES (?, ?)", ("a", 1))
        row = conn.execute("SELECT count(*) FROM kv").fetchone()
        assert row is not None
        return int(row[0])


def read_one(pool: litepool.Pool, key: str) -> int | None:
    with pool.read() as conn:
        rows = conn.query("SELECT v FROM kv WHERE k = ?", (key,))
    value = rows[0][0] if rows else None
    return value if isinstance(value, int) else None


async def count_async(pool: litepool.Pool) -> int:
    # The same for `async with pool.aconnection()`: __aexit__ returns
    # Literal[False].
    async with pool.aconnection("write") as conn:
        rows = await conn.query("SELECT count(*) FROM kv")
        return int(rows[0][0])


def dropin(path: Path) -> list[tuple[str, int]]:
    cx: sqlite3.Connection = sqlite3.connect(path, timeout=2.0, isolation_level="IMMEDIATE")
    with cx:
        cx.execute("CREATE TABLE IF NOT EXISTS t (k TEXT, v INTEGER)")
        cx.executemany("INSERT INTO t VALUES (?, ?)", [("x", 1), ("y", 2)])
    cx.row_factory = sqlite3.Row
    names = [row["k"] for row in cx.execute("SELECT k FROM t ORDER BY k")]
    cx.row_factory = None
    cur: sqlite3.Cursor = cx.cursor()
    cur.execute("SELECT k, v FROM t WHERE v > :v", {"v": 0})
    out: list[tuple[str, int]] = [(str(k), int(v)) for k, v in cur.fetchall()]
    cx.create_function("twice", 1, lambda x: 2 * x, deterministic=True)
    try:
        cx.execute("INSERT INTO missing VALUES (1)")
    except stdlib_sqlite3.OperationalError as e:
        assert isinstance(e, sqlite3.OperationalError)
    assert names == ["x", "y"] and cx.total_changes >= 2 and not cx.in_transaction
    cx.close()
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with litepool.Pool(str(Path(tmp) / "kv.db"), max_size=2, min_idle=0) as pool:
            pool.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER)")
            assert count_in_write(pool) == 1
            assert read_one(pool, "a") == 1
            assert asyncio.run(count_async(pool)) == 1
            executed: litepool.Executed = pool.execute("UPDATE kv SET v = 2")
            assert executed.rowcount == 1
        assert dropin(Path(tmp) / "dropin.db") == [("x", 1), ("y", 2)]


if __name__ == "__main__":
    main()
