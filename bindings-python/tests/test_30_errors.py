"""Every error class, with the code name it carries."""

import sqlite3

import pytest

import litepool


@pytest.fixture
def schema(pool):
    pool.executescript(
        """
        CREATE TABLE parent (id INTEGER PRIMARY KEY);
        CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id),
                            name TEXT NOT NULL UNIQUE, n INTEGER CHECK (n > 0));
        INSERT INTO parent VALUES (1);
        INSERT INTO child VALUES (1, 1, 'a', 1);
        """
    )
    return pool


@pytest.mark.parametrize(
    "sql, name",
    [
        ("INSERT INTO child VALUES (2, 1, 'a', 1)", "SQLITE_CONSTRAINT_UNIQUE"),
        ("INSERT INTO child VALUES (1, 1, 'b', 1)", "SQLITE_CONSTRAINT_PRIMARYKEY"),
        ("INSERT INTO child VALUES (2, 1, NULL, 1)", "SQLITE_CONSTRAINT_NOTNULL"),
        ("INSERT INTO child VALUES (2, 9, 'b', 1)", "SQLITE_CONSTRAINT_FOREIGNKEY"),
        ("INSERT INTO child VALUES (2, 1, 'b', 0)", "SQLITE_CONSTRAINT_CHECK"),
    ],
)
def test_constraint_failures_are_integrity_errors_with_their_name(schema, sql, name):
    with pytest.raises(litepool.IntegrityError) as info:
        schema.execute(sql)
    err = info.value
    assert err.sqlite_errorname == name and err.code == name
    assert isinstance(err.sqlite_errorcode, int) and err.sqlite_errorcode & 0xFF == 19
    assert isinstance(err, sqlite3.IntegrityError)  # stdlib handlers still catch it


@pytest.mark.parametrize("sql", ["SELEC 1", "SELECT * FROM missing", "SELECT nope FROM parent"])
def test_sql_errors_are_operational_errors(pool, sql):
    with pytest.raises(litepool.OperationalError) as info:
        pool.query(sql)
    assert info.value.sqlite_errorname == "SQLITE_ERROR"


def test_busy_is_an_operational_error(db_path):
    with litepool.Pool(db_path, busy_timeout=0.0, min_idle=0) as pool:
        pool.execute("CREATE TABLE t (x)")
        locker = pool.connection()
        locker.execute("BEGIN IMMEDIATE")
        other = pool.connection()
        with pytest.raises(litepool.OperationalError) as info:
            other.execute("INSERT INTO t VALUES (1)")
        assert info.value.sqlite_errorname.startswith("SQLITE_BUSY")
        other.close()
        locker.close()


def test_open_failure_names_the_path(tmp_path):
    bad = str(tmp_path / "no" / "such" / "dir" / "x.db")
    with pytest.raises(litepool.OperationalError, match="cannot open database") as info:
        litepool.Pool(bad)
    assert info.value.code == "SQLITE_CANTOPEN"
    assert "x.db" in str(info.value)


def test_pool_timeout_states_the_counts(db_path):
    with litepool.Pool(db_path, max_size=1, min_idle=0, acquire_timeout=0.2) as pool:
        held = pool.connection()
        with pytest.raises(litepool.PoolTimeout, match=r"total=1, active=1, idle=0") as info:
            pool.connection()
        assert info.value.code == "LITEPOOL_TIMEOUT" and info.value.sqlite_errorname is None
        with pytest.raises(litepool.PoolTimeout):
            pool.query("SELECT 1", timeout=0.05)
        assert pool.stats()["timeouts"] == 2
        held.close()


@pytest.mark.parametrize("sql", ["BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK", "SAVEPOINT s", "RELEASE s"])
def test_one_shot_transaction_control_is_refused(pool, sql):
    # Its lease would end with the statement (and roll the transaction back).
    for call in (pool.query, pool.execute):
        with pytest.raises(litepool.ProgrammingError, match="hold a lease") as info:
            call(sql)
        assert info.value.code == "LITEPOOL_MISUSE" and info.value.sqlite_errorname is None
    assert pool.stats()["rolled_back_on_return"] == 0


def test_pool_closed(db_path):
    pool = litepool.Pool(db_path)
    pool.close()
    assert pool.closed and pool.health() == "degraded"
    for call in (pool.connection, pool.read, pool.write, lambda: pool.query("SELECT 1")):
        with pytest.raises(litepool.PoolClosed) as info:
            call()
        assert info.value.code == "LITEPOOL_CLOSED"


def test_close_timeout(db_path):
    pool = litepool.Pool(db_path, min_idle=0)
    held = pool.connection()
    with pytest.raises(litepool.PoolCloseTimeout, match="1 connection"):
        pool.close(timeout=0.05)
    held.close()  # closed on return


@pytest.mark.parametrize(
    "options, field",
    [
        ({"max_size": 0}, "max_size"),
        ({"max_size": 2, "min_idle": 3}, "min_idle"),
        ({"acquire_timeout": 0.0}, "acquire_timeout"),
        ({"acquire_timeout": -1.0}, "acquire_timeout"),
        ({"idle_timeout": float("nan")}, "idle_timeout"),
        ({"busy_timeout": float("inf")}, "busy_timeout"),
        ({"leak_threshold": -1.0}, "leak_threshold"),
        ({"journal_mode": "bogus"}, "journal_mode"),
        ({"synchronous": "sometimes"}, "synchronous"),
        ({"name": 'a"b'}, "name"),
    ],
)
def test_invalid_options_name_the_field(db_path, options, field):
    with pytest.raises(litepool.InvalidConfig, match=field) as info:
        litepool.Pool(db_path, **options)
    assert info.value.code == "LITEPOOL_INVALID_CONFIG"
    assert isinstance(info.value, ValueError)


def test_wrong_option_types_are_type_errors(db_path):
    with pytest.raises(TypeError):
        litepool.Pool(db_path, max_size="ten")
    with pytest.raises(TypeError, match="nonsense"):
        litepool.Pool(db_path, nonsense=1)
    with pytest.raises(TypeError, match="foreign_keys"):
        litepool.Pool(db_path, foreign_keys=1)
    with pytest.raises(TypeError, match="busy_timeout"):
        litepool.Pool(db_path, busy_timeout="5")


def test_zero_turns_an_optional_duration_off_and_none_means_the_default(db_path):
    with litepool.Pool(db_path, leak_threshold=0, idle_timeout=0.0, max_lifetime=None) as pool:
        assert pool.query("SELECT 1") == [(1,)]


def test_misuse_errors_are_programming_errors(pool):
    with pytest.raises(litepool.ProgrammingError) as info:
        pool.query("SELECT 1; SELECT 2")
    assert info.value.code == "LITEPOOL_INVALID_ARGUMENT"


def test_init_sql_failure_is_reported(db_path):
    with pytest.raises(litepool.OperationalError, match="nonsense"):
        litepool.Pool(db_path, init_sql="nonsense")
