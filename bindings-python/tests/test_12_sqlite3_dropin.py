"""litepool.sqlite3, the drop-in for the standard library's sqlite3: one
import line changes, the pool does the rest. (CPython's own sqlite3 suite
runs against it separately: compat/cpython_sqlite3.py.)"""

import sqlite3 as stdlib_sqlite3
import threading
import time

import pytest

import litepool
import litepool.sqlite3 as sqlite3
from litepool import _dropin


def pool_of(path):
    return _dropin._pools[str(path)][0]


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "app.db"
    cx = sqlite3.connect(path)
    cx.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER)")
    cx.close()
    return path


def test_the_standard_library_exceptions_catch_litepool_errors(db):
    cx = sqlite3.connect(db)
    cx.execute("INSERT INTO kv VALUES ('a', 1)")
    with pytest.raises(stdlib_sqlite3.IntegrityError) as info:
        cx.execute("INSERT INTO kv VALUES ('a', 2)")
    assert isinstance(info.value, sqlite3.IntegrityError)
    assert info.value.sqlite_errorname == "SQLITE_CONSTRAINT_PRIMARYKEY"
    cx.close()


def test_a_connection_holds_a_lease_only_during_a_transaction(db):
    cx = sqlite3.connect(db)
    pool = pool_of(db)
    cx.execute("SELECT * FROM kv").fetchall()
    assert pool.stats()["active"] == 0, "autocommit: the lease went back after the statement"
    cx.execute("INSERT INTO kv VALUES ('a', 1)")
    assert cx.in_transaction and pool.stats()["active"] == 1
    cx.commit()
    assert pool.stats()["active"] == 0
    others = [sqlite3.connect(db) for _ in range(30)]
    for other in others:
        assert other.execute("SELECT v FROM kv").fetchone() == (1,)
    assert pool.stats()["total"] <= 10, "30 connections share the pool's few SQLite connections"
    for other in others:
        other.close()
    cx.close()


def test_connection_state_pins_the_lease_until_close_and_is_reset_after(db):
    cx = sqlite3.connect(db)
    pool = pool_of(db)
    cx.create_function("double", 1, lambda x: 2 * x)
    cx.execute("PRAGMA recursive_triggers = ON")
    cx.execute("CREATE TEMP TABLE scratch (x)")
    for _ in range(3):
        assert cx.execute("SELECT double(21)").fetchone() == (42,)
        assert pool.stats()["active"] == 1, "pinned: the same connection serves every statement"
    assert cx.execute("PRAGMA recursive_triggers").fetchone() == (1,)
    cx.close()
    assert pool.stats()["active"] == 0
    with pool.connection() as lease:
        assert lease.query("PRAGMA recursive_triggers") == [(0,)]
        assert lease.query("SELECT count(*) FROM temp.sqlite_master") == [(0,)]
        with pytest.raises(litepool.OperationalError, match="no such function"):
            lease.query("SELECT double(1)")


def test_an_unfinished_cursor_keeps_its_lease_and_its_rows(db):
    cx = sqlite3.connect(db)
    cx.executemany("INSERT INTO kv VALUES (?, ?)", ((f"k{i}", i) for i in range(1000)))
    cx.commit()
    cur = cx.execute("SELECT v FROM kv ORDER BY v")
    assert cur.fetchone() == (0,)
    assert pool_of(db).stats()["active"] == 1, "rows are still being stepped"
    assert len(cur.fetchall()) == 999
    assert pool_of(db).stats()["active"] == 0
    cx.close()


def test_memory_connections_are_private_like_the_standard_library():
    a, b = sqlite3.connect(":memory:"), sqlite3.connect(":memory:")
    a.execute("CREATE TABLE t (x)")
    b.execute("CREATE TABLE t (x)")  # no clash: each has its own database
    a.close()
    b.close()


def test_configure_sets_the_pool_options_of_a_file(tmp_path):
    path = tmp_path / "wal.db"
    litepool.configure(path, journal_mode="wal", max_size=3)
    cx = sqlite3.connect(path)
    assert cx.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert pool_of(path).stats()["max"] == 3
    with pytest.raises(litepool.ProgrammingError, match="already exists"):
        litepool.configure(path, max_size=5)
    cx.close()
    plain = sqlite3.connect(tmp_path / "plain.db")
    assert plain.execute("PRAGMA journal_mode").fetchone() == ("delete",), "the database keeps its journal mode"
    assert plain.execute("PRAGMA foreign_keys").fetchone() == (0,), "as the standard library: off"
    plain.close()


def test_a_short_timeout_fails_a_blocked_write_fast(db):
    first = sqlite3.connect(db)
    first.execute("INSERT INTO kv VALUES ('a', 1)")  # holds the write lock
    second = sqlite3.connect(db, timeout=0.05)
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        second.execute("INSERT INTO kv VALUES ('b', 2)")
    assert time.monotonic() - started < 2.0
    first.rollback()
    second.execute("INSERT INTO kv VALUES ('b', 2)")
    second.commit()
    first.close()
    second.close()


def test_threads_each_with_a_connection_share_the_pool(db):
    errors = []

    def work(n):
        try:
            cx = sqlite3.connect(db, timeout=10)
            for i in range(50):
                with cx:
                    cx.execute("INSERT INTO kv VALUES (?, ?)", (f"t{n}-{i}", i))
                assert cx.execute("SELECT count(*) FROM kv WHERE k LIKE ?", (f"t{n}-%",)).fetchone() == (i + 1,)
            cx.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    cx = sqlite3.connect(db)
    assert cx.execute("SELECT count(*) FROM kv").fetchone() == (200,)
    cx.close()


def test_the_gil_is_released_while_rows_are_stepped(tmp_path):
    cx = sqlite3.connect(tmp_path / "gil.db", check_same_thread=False)
    heavy = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 3000000) "
        "SELECT sum(x) FROM c"
    )
    ticks = []
    done = threading.Event()

    def query():
        cx.execute(heavy).fetchone()
        done.set()

    t = threading.Thread(target=query)
    started = time.monotonic()
    t.start()
    while not done.is_set():
        ticks.append(time.monotonic())
        time.sleep(0.001)
    t.join()
    took = time.monotonic() - started
    # With the GIL held for the whole query this thread would not run at all
    # until it ended; it keeps ticking instead.
    assert took > 0.05 and len(ticks) > 10, (took, len(ticks))
    cx.close()


def test_the_dialect_is_found_through_its_entry_point(db):
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(f"sqlite+litepool:///{db}")
    assert engine.dialect.driver == "litepool"
    assert isinstance(engine.pool, sqlalchemy.pool.NullPool), "the pooling is litepool's"
    seen = []

    @sqlalchemy.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, record):
        assert isinstance(dbapi_connection, sqlite3.Connection)
        dbapi_connection.execute("PRAGMA foreign_keys = ON")
        seen.append(dbapi_connection)

    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("INSERT INTO kv VALUES ('x', 1)"))
        assert conn.execute(sqlalchemy.text("PRAGMA foreign_keys")).scalar() == 1
    with engine.connect() as conn:
        assert conn.execute(sqlalchemy.text("SELECT v FROM kv WHERE k = 'x'")).scalar() == 1
    assert len(seen) == 2, "NullPool: a new litepool connection per checkout, each seen by the hook"
    assert pool_of(db).stats()["active"] == 0
    engine.dispose()


RUNAWAY = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000000) "
    "SELECT count(*) FROM c"
)


def test_set_progress_handler_keeps_the_pools_statement_timeout(tmp_path):
    # Regression: the drop-in's set_progress_handler replaced the pool's own
    # progress handler, so statement_timeout no longer stopped a runaway query.
    path = tmp_path / "deadline.db"
    litepool.configure(path, statement_timeout=0.15)
    cx = sqlite3.connect(path)
    calls = []
    cx.set_progress_handler(lambda: calls.append(1) and False, 1000)
    started = time.monotonic()
    with pytest.raises(litepool.DeadlineExceeded):
        cx.execute(RUNAWAY).fetchall()
    assert time.monotonic() - started < 0.3
    assert calls, "the program's handler ran too"
    cx.set_progress_handler(lambda: 1, 1000)  # a handler that says stop still stops
    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        cx.execute(RUNAWAY).fetchall()
    cx.close()
