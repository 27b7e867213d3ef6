"""Pool-level API: stats, health, metrics, from_env, connect(), close."""

import os

import pytest

import litepool

STATE = {"active", "idle", "total", "max", "min", "waiting"}
COUNTERS = {
    "acquired", "acquired_direct", "acquired_waited", "timeouts", "created", "create_failures",
    "closed_idle", "closed_lifetime", "closed_broken", "rolled_back_on_return", "leaks", "wait_time",
    "reset_on_return", "closed_dirty", "closed_evicted", "gate_bypassed",
    "wal_bytes", "wal_peak_bytes", "checkpoints_passive", "checkpoints_truncate", "checkpoints_incomplete",
    "checkpoints_failed", "checkpoint_pages", "backpressure_waits", "wal_pinned", "backpressure_wait_time",
    "shed",
}


def test_stats(pool):
    conn = pool.connection()
    stats = pool.stats()
    assert set(stats) == STATE | COUNTERS
    assert stats["active"] == 1 and stats["max"] == 4 and stats["min"] == 0
    assert stats["total"] == stats["active"] + stats["idle"]
    conn.close()
    after = pool.stats()
    assert after["active"] == 0 and after["acquired"] == stats["acquired"]
    assert isinstance(after["wait_time"], float)


def test_health_follows_active_over_max(db_path):
    with litepool.Pool(db_path, max_size=10, min_idle=0) as pool:
        held = [pool.connection() for _ in range(7)]
        assert pool.health() == "healthy"
        held.append(pool.connection())
        assert pool.health() == "warning"
        held.append(pool.connection())
        assert pool.health() == "degraded"
        for c in held:
            c.close()


def test_metrics_are_prometheus_text(db_path):
    with litepool.Pool(db_path, name="quota") as pool:
        pool.query("SELECT 1")
        text = pool.metrics()
    assert '# TYPE litepool_connections_active gauge' in text
    assert 'pool="quota"' in text


def test_from_env(db_path, monkeypatch):
    monkeypatch.setenv("DB_POOL_MAX", "3")
    monkeypatch.setenv("DB_POOL_MIN", "0")
    with litepool.Pool.from_env(db_path) as pool:
        assert pool.stats()["max"] == 3
    monkeypatch.setenv("DB_POOL_MAX", "lots")
    with pytest.raises(litepool.InvalidConfig, match="DB_POOL_MAX"):
        litepool.Pool.from_env(db_path)


def test_pool_context_manager_closes(db_path):
    with litepool.Pool(db_path) as pool:
        assert not pool.closed
        assert db_path in repr(pool)
    assert pool.closed


def test_init_sql_runs_on_every_connection(db_path):
    with litepool.Pool(db_path, init_sql="PRAGMA user_version = 7", min_idle=0) as pool:
        a, b = pool.connection(), pool.connection()
        assert a.execute("PRAGMA user_version").fetchone() == (7,)
        assert b.execute("PRAGMA user_version").fetchone() == (7,)
        a.close()
        b.close()


def test_connect_leases_from_a_process_wide_pool(tmp_path):
    path = str(tmp_path / "c.db")
    a = litepool.connect(path, max_size=2)
    b = litepool.connect(os.path.relpath(path))  # the same file, the same pool
    pool = litepool.pool_for(path)
    assert pool.stats()["active"] == 2
    with pytest.raises(litepool.ProgrammingError, match="different|already exists"):
        litepool.connect(path, max_size=5)
    with pytest.raises(litepool.PoolTimeout):
        litepool.connect(path, timeout=0.05)
    a.close()
    b.close()
    assert pool.stats()["active"] == 0
    pool.close()
    # A closed pool is replaced on the next connect().
    c = litepool.connect(path)
    assert litepool.pool_for(path) is not pool
    c.close()
    litepool.pool_for(path).close()


def test_memory_database_is_shared_by_the_pool():
    with litepool.Pool(":memory:", min_idle=0) as pool:
        pool.execute("CREATE TABLE t (x)")
        a = pool.connection()
        b = pool.connection()
        a.autocommit = True
        a.execute("INSERT INTO t VALUES (1)")
        assert b.execute("SELECT x FROM t").fetchall() == [(1,)]
        a.close()
        b.close()


def test_a_pool_of_one_works_with_the_default_min_idle(tmp_path):
    # Like Node's {max: 1}: the default min_idle (2) is lowered to fit.
    with litepool.Pool(str(tmp_path / "one.db"), max_size=1) as pool:
        assert pool.stats()["max"] == 1
        assert pool.stats()["min"] == 1
        assert pool.query("SELECT 1") == [(1,)]
    with pytest.raises(litepool.InvalidConfig, match="min_idle"):
        litepool.Pool(str(tmp_path / "two.db"), max_size=1, min_idle=2)


def _python_default(core_default: str) -> str:
    """The core states durations in milliseconds; Python takes seconds."""
    first, _, rest = core_default.partition(" ")
    if rest == "ms" and first.isdigit():
        return f"{int(first) / 1000} s"
    return core_default


def test_the_stub_lists_every_core_option_with_its_default():
    import pathlib

    stub = (pathlib.Path(litepool.__file__).parent / "_native.pyi").read_text()
    init = stub[stub.index("class Pool:"):stub.index(") -> None: ...", stub.index("class Pool:"))]
    options = litepool.pool_options()
    assert len(options) >= 18
    for spec in options:
        kind = {"int": "int", "seconds": "float", "str": "str", "bool": "bool"}[spec["kind"]]
        assert f"        {spec['name']}: {kind} | None = None," in init, spec["name"]
        assert f"``{spec['name']}``: " in init and f"Default {_python_default(spec['default'])}." in init, spec


def test_every_option_of_the_table_is_accepted_by_pool(db_path):
    samples = {"int": 2, "seconds": 1.0, "bool": True}
    texts = {"journal_mode": "WAL", "synchronous": "NORMAL", "init_sql": "SELECT 1", "name": "p", "fairness": "strict",
             "checkpoint": "external"}
    options = {o["name"]: samples.get(o["kind"], texts.get(o["name"])) for o in litepool.pool_options()}
    with litepool.Pool(db_path, **options) as pool:
        assert pool.query("SELECT 1") == [(1,)]


def test_the_same_sql_on_two_pools_from_one_thread_reads_each_pools_file(tmp_path):
    # A thread keeps its recent one-shot SQL per pool (sql_for): the same
    # text sent to two pools, over more texts than it keeps, runs on each.
    a = litepool.Pool(str(tmp_path / "a.db"))
    b = litepool.Pool(str(tmp_path / "b.db"))
    try:
        for pool, name in ((a, "a"), (b, "b")):
            pool.executescript(f"CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('{name}');")
        for i in range(40):
            assert a.query("SELECT v FROM t") == [("a",)]
            assert b.query("SELECT v FROM t") == [("b",)]
            assert a.query(f"SELECT v, {i} FROM t") == [("a", i)]
            b.execute("UPDATE t SET v = ?", (f"b{i}",))
            assert b.query("SELECT v FROM t") == [(f"b{i}",)]
            b.execute("UPDATE t SET v = 'b'")
    finally:
        a.close()
        b.close()


def test_a_repeated_query_sees_a_schema_change(pool):
    pool.executescript("CREATE TABLE s (x); INSERT INTO s VALUES (1);")
    assert pool.query("SELECT * FROM s") == [(1,)]
    pool.executescript("ALTER TABLE s ADD COLUMN y DEFAULT 2;")
    assert pool.query("SELECT * FROM s") == [(1, 2)]
