"""The PEP 249 surface: module globals, connections, cursors, transactions."""

import sqlite3

import pytest

import litepool


def test_module_globals():
    assert litepool.apilevel == "2.0"
    assert litepool.threadsafety in (0, 1, 2, 3)
    assert litepool.paramstyle == "qmark"
    assert litepool.sqlite_version_info >= (3, 34)


@pytest.mark.parametrize(
    "name, base",
    [
        ("InterfaceError", "Error"),
        ("DatabaseError", "Error"),
        ("DataError", "DatabaseError"),
        ("OperationalError", "DatabaseError"),
        ("IntegrityError", "DatabaseError"),
        ("InternalError", "DatabaseError"),
        ("ProgrammingError", "DatabaseError"),
        ("NotSupportedError", "DatabaseError"),
        ("PoolTimeout", "OperationalError"),
        ("PoolClosed", "OperationalError"),
        ("ReadOnlyLane", "OperationalError"),
        ("TenantBusy", "OperationalError"),
        ("InvalidConfig", "ProgrammingError"),
        ("InvalidTenant", "ProgrammingError"),
        ("UnknownTenant", "ProgrammingError"),
    ],
)
def test_exception_hierarchy(name, base):
    cls = getattr(litepool, name)
    assert issubclass(cls, getattr(litepool, base))
    assert issubclass(cls, Exception)
    if hasattr(sqlite3, name):  # also catchable as the stdlib class
        assert issubclass(cls, getattr(sqlite3, name))


def test_exceptions_are_connection_attributes(pool):
    with pool.connection() as conn:
        assert conn.Error is litepool.Error
        assert conn.IntegrityError is litepool.IntegrityError
        assert conn.Warning is litepool.Warning


def test_type_objects_compare_with_declared_types(pool):
    with pool.connection() as conn:
        conn.execute("CREATE TABLE t (s VARCHAR(20), b BLOB, i INTEGER, r DOUBLE, d TIMESTAMP)")
        cur = conn.execute("SELECT s, b, i, r, d FROM t")
        s, b, i, r, d = (col[1] for col in cur.description)
    assert s == litepool.STRING and s != litepool.NUMBER
    assert b == litepool.BINARY and b != litepool.STRING
    assert i == litepool.NUMBER and i == litepool.ROWID
    assert r == litepool.NUMBER
    assert d == litepool.DATETIME


def test_constructors():
    assert litepool.Date(2002, 12, 25).year == 2002
    assert litepool.Time(13, 45, 30).minute == 45
    assert litepool.Timestamp(2002, 12, 25, 13, 45, 30).hour == 13
    assert litepool.DateFromTicks(0).year in (1969, 1970)
    assert litepool.TimeFromTicks(0).second == 0
    assert litepool.TimestampFromTicks(86400 * 365).year in (1970, 1971)
    assert litepool.Binary(b"x") == b"x"


def test_cursor_description_rowcount_lastrowid(pool):
    with pool.connection() as conn:
        cur = conn.cursor()
        assert cur.description is None and cur.rowcount == -1 and cur.lastrowid is None
        cur.execute("INSERT INTO kv VALUES ('a', 1)")
        assert cur.rowcount == 1 and cur.lastrowid == 1 and cur.description is None
        cur.execute("INSERT INTO kv VALUES ('b', 2)")
        assert cur.lastrowid == 2
        cur.execute("UPDATE kv SET v = v + 1")
        assert cur.rowcount == 2
        cur.execute("UPDATE kv SET v = 0 WHERE k = 'none'")
        assert cur.rowcount == 0
        cur.execute("SELECT k AS key, v FROM kv ORDER BY k")
        assert [d[0] for d in cur.description] == ["key", "v"]
        assert all(len(d) == 7 for d in cur.description)
        assert cur.rowcount == 2
        cur.execute("CREATE TABLE other (x)")
        assert cur.rowcount == -1 and cur.description is None
        assert cur.connection is conn


def test_fetch_methods_and_iteration(pool):
    with pool.connection() as conn:
        conn.executemany("INSERT INTO kv VALUES (?, ?)", [(f"k{i}", i) for i in range(10)])
        cur = conn.execute("SELECT v FROM kv ORDER BY v")
        assert cur.arraysize == 1
        assert cur.fetchone() == (0,)
        assert cur.fetchmany() == [(1,)]
        cur.arraysize = 3
        assert cur.fetchmany() == [(2,), (3,), (4,)]
        assert cur.fetchmany(2) == [(5,), (6,)]
        assert next(iter(cur)) == (7,)
        assert cur.fetchall() == [(8,), (9,)]
        assert cur.fetchone() is None
        assert cur.fetchall() == []
        assert [r for r in conn.execute("SELECT k FROM kv WHERE v < 2 ORDER BY v")] == [("k0",), ("k1",)]


def test_fetch_without_result_set_raises(pool):
    with pool.connection() as conn:
        cur = conn.cursor()
        with pytest.raises(litepool.ProgrammingError):
            cur.fetchone()
        cur.execute("INSERT INTO kv VALUES ('a', 1)")
        with pytest.raises(litepool.ProgrammingError, match="No result set"):
            cur.fetchall()


def test_qmark_and_named_parameters(pool):
    with pool.connection() as conn:
        conn.execute("INSERT INTO kv VALUES (?, ?)", ("q", 1))
        conn.execute("INSERT INTO kv VALUES (:k, :v)", {"k": "n", "v": 2, "unused": object()})
        conn.execute("INSERT INTO kv VALUES (@k, $v)", {"k": "at", "v": 3})
        conn.execute("INSERT INTO kv VALUES (?2, ?1)", [4, "num"])
        rows = conn.execute("SELECT k, v FROM kv ORDER BY v").fetchall()
    assert rows == [("q", 1), ("n", 2), ("at", 3), ("num", 4)]


def test_parameter_errors(pool):
    with pool.connection() as conn:
        with pytest.raises(litepool.ProgrammingError, match="uses 2, and there are 1 supplied"):
            conn.execute("INSERT INTO kv VALUES (?, ?)", ("x",))
        with pytest.raises(litepool.ProgrammingError, match="uses 1, and there are 0"):
            conn.execute("SELECT ?")
        with pytest.raises(litepool.ProgrammingError, match=":v"):
            conn.execute("INSERT INTO kv VALUES (:k, :v)", {"k": "x"})
        with pytest.raises(litepool.ProgrammingError, match="has no name"):
            conn.execute("SELECT ?", {"a": 1})
        with pytest.raises(litepool.ProgrammingError, match="not str"):
            conn.execute("SELECT ?", "a")
        with pytest.raises(litepool.ProgrammingError, match="not supported"):
            conn.execute("SELECT ?", (object(),))


def test_executemany_sums_rowcount_and_refuses_queries(pool):
    with pool.connection() as conn:
        cur = conn.executemany("INSERT INTO kv VALUES (?, ?)", ((str(i), i) for i in range(5)))
        assert cur.rowcount == 5
        with pytest.raises(litepool.ProgrammingError, match="executemany"):
            conn.executemany("SELECT ?", [(1,)])


def test_executescript(pool):
    with pool.connection() as conn:
        conn.executescript("INSERT INTO kv VALUES ('a', 1); INSERT INTO kv VALUES ('b', 2);")
    assert pool.query("SELECT count(*) FROM kv") == [(2,)]


def test_implicit_transactions_commit_and_rollback(pool):
    conn = pool.connection()
    assert not conn.in_transaction and conn.autocommit is False
    conn.execute("SELECT 1")
    assert not conn.in_transaction  # reads do not open one
    conn.execute("INSERT INTO kv VALUES ('a', 1)")
    assert conn.in_transaction
    assert pool.query("SELECT count(*) FROM kv") == [(0,)]  # not visible yet
    conn.rollback()
    assert not conn.in_transaction
    conn.execute("INSERT INTO kv VALUES ('b', 2)")
    conn.commit()
    assert pool.query("SELECT k FROM kv") == [("b",)]
    conn.commit()  # a no-op without a transaction
    conn.close()


def test_autocommit_mode(pool):
    with pool.connection() as conn:
        conn.autocommit = True
        conn.execute("INSERT INTO kv VALUES ('a', 1)")
        assert not conn.in_transaction
        assert pool.query("SELECT count(*) FROM kv") == [(1,)]


def test_with_block_commits_or_rolls_back_and_always_returns(pool):
    with pool.connection() as conn:
        conn.execute("INSERT INTO kv VALUES ('kept', 1)")
    assert conn.closed
    with pytest.raises(RuntimeError):
        with pool.connection() as conn:
            conn.execute("INSERT INTO kv VALUES ('lost', 1)")
            raise RuntimeError("boom")
    assert conn.closed
    assert pool.query("SELECT k FROM kv") == [("kept",)]
    assert pool.stats()["active"] == 0


def test_close_semantics(pool):
    conn = pool.connection()
    cur = conn.cursor()
    conn.execute("INSERT INTO kv VALUES ('x', 1)")  # left open: rolled back on return
    conn.close()
    assert pool.stats()["active"] == 0
    assert pool.stats()["rolled_back_on_return"] == 1
    assert pool.query("SELECT count(*) FROM kv") == [(0,)]
    with pytest.raises(litepool.ProgrammingError, match="closed"):
        conn.close()  # PEP 249: closing twice is an error
    with pytest.raises(litepool.ProgrammingError, match="closed"):
        cur.execute("SELECT 1")
    with pytest.raises(litepool.ProgrammingError, match="closed"):
        conn.commit()
    with pytest.raises(litepool.ProgrammingError, match="closed"):
        conn.cursor()
    cur2 = pool.connection()
    c = cur2.cursor()
    c.close()
    c.close()  # idempotent for cursors
    with pytest.raises(litepool.ProgrammingError, match="closed cursor"):
        c.execute("SELECT 1")
    cur2.close()


def test_row_factory(pool):
    pool.execute("INSERT INTO kv VALUES ('a', 1)")
    with pool.connection() as conn:
        conn.row_factory = litepool.dict_row
        assert conn.execute("SELECT k, v FROM kv").fetchone() == {"k": "a", "v": 1}
        cur = conn.cursor()
        cur.row_factory = None
        assert cur.execute("SELECT k FROM kv").fetchall() == [("a",)]
        conn.row_factory = lambda cursor, row: row[0]
        assert list(conn.execute("SELECT k FROM kv")) == ["a"]


def test_create_function(pool):
    with pool.connection() as conn:
        conn.create_function("twice", 1, lambda x: None if x is None else x * 2, deterministic=True)
        assert conn.execute("SELECT twice(21), twice('ab'), twice(NULL)").fetchone() == (42, "abab", None)
        conn.create_function("boom", 0, lambda: 1 / 0)
        with pytest.raises(litepool.OperationalError):
            conn.execute("SELECT boom()")


def test_lanes(pool):
    with pool.read() as conn:
        assert conn.lane == "read"
        with pytest.raises(litepool.ReadOnlyLane) as info:
            conn.execute("INSERT INTO kv VALUES ('a', 1)")
        assert info.value.code == "LITEPOOL_READ_ONLY_LANE"
    with pool.write() as conn:
        assert conn.lane == "write"
        conn.execute("INSERT INTO kv VALUES ('a', 1)")
    with pool.connection() as conn:
        assert conn.lane == "any"
        assert conn.execute("SELECT v FROM kv").fetchone() == (1,)
        assert isinstance(conn.connection_id, int) and conn.tenant_schema is None
        assert "litepool.Connection" in repr(conn)
