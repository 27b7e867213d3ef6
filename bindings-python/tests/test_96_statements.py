"""Statement deadlines, load shedding, fair tenants, the warm statement cache,
the slow-statement log and trace hooks, from Python."""

import threading
import time

import pytest

import litepool

RUNAWAY = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000000) "
           "SELECT count(*) FROM c")


def test_a_runaway_cte_is_stopped_within_twice_its_deadline(db_path):
    with litepool.Pool(db_path, statement_timeout=0.2) as pool:
        started = time.monotonic()
        with pytest.raises(litepool.DeadlineExceeded) as caught:
            pool.query(RUNAWAY)
        took = time.monotonic() - started
        assert took < 0.4, f"stopped after {took:.3f} s"
        assert caught.value.code == "LITEPOOL_DEADLINE"
        assert isinstance(caught.value, litepool.OperationalError)
        assert "WITH RECURSIVE c(x)" in str(caught.value) and "deadline 200 ms" in str(caught.value)
        assert pool.query("SELECT 1") == [(1,)]


def test_a_call_deadline_and_a_lease_deadline(db_path):
    with litepool.Pool(db_path, max_size=1) as pool:
        started = time.monotonic()
        with pytest.raises(litepool.DeadlineExceeded):
            pool.query(RUNAWAY, deadline=0.1)
        assert time.monotonic() - started < 0.2
        with pool.connection(deadline=0.1) as conn:
            with pytest.raises(litepool.DeadlineExceeded):
                conn.execute(RUNAWAY)
        # The next lease of the (only) connection has no deadline left over.
        with pool.connection() as conn:
            time.sleep(0.12)
            assert conn.execute("SELECT 1").fetchone() == (1,)
        with pytest.raises(litepool.ProgrammingError, match="deadline"):
            pool.query("SELECT 1", deadline=0)


def test_a_deadline_rolls_back_the_implicit_transaction_and_the_connection_stays_usable(db_path):
    with litepool.Pool(db_path) as pool:
        pool.executescript("CREATE TABLE t (x INTEGER)")
        with pool.write(deadline=0.3) as conn:
            conn.execute("INSERT INTO t VALUES (1)")
            assert conn.in_transaction
            with pytest.raises(litepool.DeadlineExceeded, match="rolled back"):
                conn.execute(RUNAWAY)
            assert not conn.in_transaction
        assert pool.query("SELECT count(*) FROM t") == [(0,)]


def test_a_full_queue_raises_pool_overloaded_with_retry_after(db_path):
    with litepool.Pool(db_path, max_size=1, max_waiting=1) as pool:
        held = pool.connection()
        waiter = threading.Thread(target=lambda: pool.connection(timeout=5).close())
        waiter.start()
        deadline = time.monotonic() + 5
        while pool.stats()["waiting"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        started = time.monotonic()
        with pytest.raises(litepool.PoolOverloaded) as caught:
            pool.connection(timeout=5)
        assert time.monotonic() - started < 0.1
        assert caught.value.code == "LITEPOOL_OVERLOADED"
        assert caught.value.retry_after is not None and caught.value.retry_after > 0
        held.close()
        waiter.join()
        assert pool.stats()["shed"] == 1
        assert pool.expected_wait() == 0.0


def test_a_flooding_tenant_does_not_delay_another(tmp_path):
    """The bound stated: the calm tenant's request waits at most two lease
    holds (+ 50 ms for the interpreter), whatever the flood's length."""
    hold = 0.02
    pool = litepool.Pool(str(tmp_path / "main.db"), max_size=2, fair_tenants=True, acquire_timeout=30)
    for code in ("flood", "calm"):
        pool.register_tenant(code, str(tmp_path / f"{code}.db"))
    first = [pool.connection(tenant="flood") for _ in range(2)]

    def flood():
        with pool.connection(tenant="flood"):
            time.sleep(hold)

    threads = [threading.Thread(target=flood) for _ in range(100)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while pool.stats()["waiting"] < 100:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    for conn in first:
        conn.close()
    asked = time.monotonic()
    with pool.connection(tenant="calm"):
        waited = time.monotonic() - asked
    for t in threads:
        t.join()
    assert waited < 2 * hold + 0.05, f"waited {waited:.3f} s behind 100 flood waiters"
    pool.set_tenant_weight("calm", 2)
    stats = pool.tenant_stats()
    assert stats["calm"]["weight"] == 2 and stats["flood"]["hold_time"] >= 100 * hold
    with pytest.raises(litepool.InvalidConfig):
        pool.set_tenant_weight("calm", 0)
    pool.close()


def test_a_new_connection_serves_a_pinned_statement_without_a_prepare(db_path):
    with litepool.Pool(db_path, max_size=1, min_idle=1, warm_statements=4, housekeeping_period=0.02) as pool:
        pool.executescript("CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER)")
        sql = "SELECT v FROM kv WHERE k = ?"
        pool.prepare(sql)
        with pytest.raises(litepool.OperationalError, match="no such table"):
            pool.prepare("SELECT * FROM missing")
        created = pool.stats()["created"]
        assert pool.evict() == 1
        deadline = time.monotonic() + 5
        while pool.stats()["created"] == created or pool.stats()["idle"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        pool.query(sql, ("a",))
        stats = {s["sql"]: s for s in pool.statement_stats()}[sql]
        assert stats["pinned"] and stats["warmed"] == 1
        assert stats["cache_misses"] == 1, "only prepare() compiled it; the new connection had it warm"
        assert stats["cache_hits"] == 2, "prepare()'s second look, and the query on the new connection"


def test_the_slow_log_shows_a_plan_with_parameters_redacted(db_path):
    with litepool.Pool(db_path, slow_statement_threshold=0.005, statement_stats=5) as pool:
        pool.executescript(
            "CREATE TABLE t (x INTEGER, y TEXT);"
            "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200000) "
            "INSERT INTO t SELECT i, 'v' || i FROM c")
        slow = "SELECT count(*) FROM t WHERE y > ? AND x % 3 = 0"
        pool.query(slow, ("someone@example.com",))
        entry = [s for s in pool.slow_statements() if s["sql"] == slow][0]
        assert entry["params"] == "[?]"
        assert "SCAN" in entry["plan"]
        assert entry["run"] >= 0.005 and entry["wait"] >= 0
        assert "someone@example.com" not in repr(pool.slow_statements())
        assert 'litepool_statement_fullscan_steps_total{pool="litepool",sql="' + slow in pool.metrics()


def test_a_trace_hook_gets_acquire_and_statement_events_with_the_python_site(db_path):
    events = []
    with litepool.Pool(db_path) as pool:
        pool.set_trace_hook(events.append)
        pool.query("SELECT 42")
        with pool.connection() as conn:
            conn.execute("SELECT 43")
        pool.set_trace_hook(None)
        pool.query("SELECT 44")
    names = [e["name"] for e in events]
    assert names.count("litepool.acquire") == 2 and names.count("litepool.statement") == 2, names
    statement = [e for e in events if e["sql"] == "SELECT 43"][0]
    assert statement["run"] >= 0 and statement["duration"] >= statement["run"]
    assert "test_96_statements.py" in statement["site"], statement["site"]
    assert not any(e["sql"] == "SELECT 44" for e in events)
