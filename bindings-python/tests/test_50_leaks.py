"""A lease garbage-collected without being returned goes back with a warning."""

import gc
import logging
import sys
import time

import pytest

import litepool


def _leak(pool):
    conn = pool.connection()  # acquired here: the warning names this line
    conn.execute("SELECT 1")


def test_collected_lease_returns_with_a_resource_warning_naming_the_site(db_path):
    with litepool.Pool(db_path, min_idle=0, leak_threshold=60.0) as pool:
        with pytest.warns(ResourceWarning, match=r"(?s)garbage-collected.*test_50_leaks\.py.*in _leak") as record:
            _leak(pool)
            gc.collect()
        assert "conn = pool.connection()" in str(record[0].message)
        assert pool.stats()["active"] == 0


def test_collected_lease_in_a_transaction_is_rolled_back(db_path):
    with litepool.Pool(db_path, min_idle=0, leak_threshold=60.0) as pool:
        pool.execute("CREATE TABLE t (x)")
        with pytest.warns(ResourceWarning):
            conn = pool.connection()
            conn.execute("INSERT INTO t VALUES (1)")
            del conn
            gc.collect()
        assert pool.query("SELECT count(*) FROM t") == [(0,)]
        assert pool.stats()["rolled_back_on_return"] == 1


def test_without_leak_detection_a_collected_lease_returns_silently(db_path):
    # filterwarnings = error: any warning here would fail the test.
    with litepool.Pool(db_path, min_idle=0) as pool:
        _leak(pool)
        gc.collect()
        assert pool.stats()["active"] == 0


def test_returned_leases_do_not_warn(db_path):
    with litepool.Pool(db_path, min_idle=0, leak_threshold=60.0) as pool:
        with pool.connection() as conn:
            conn.execute("SELECT 1")
        del conn
        gc.collect()
        assert pool.stats()["leaks"] == 0


def test_leak_threshold_counts_a_held_lease(db_path):
    with litepool.Pool(db_path, min_idle=0, leak_threshold=0.05) as pool:
        conn = pool.connection()
        deadline = time.monotonic() + 5
        while pool.stats()["leaks"] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pool.stats()["leaks"] == 1
        conn.close()


def _hold(pool):
    return pool.connection()  # acquired here: the leak report names this line


def _wait_for(predicate, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def test_a_held_lease_is_logged_with_its_acquire_site(db_path, caplog):
    caplog.set_level(logging.WARNING, logger="litepool")
    with litepool.Pool(db_path, min_idle=0, leak_threshold=0.05) as pool:
        conn = _hold(pool)
        assert _wait_for(lambda: any(r.name == "litepool" for r in caplog.records))
        conn.close()
    [record] = [r for r in caplog.records if r.name == "litepool"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert message.startswith(f"apparent connection leak detected: connection {conn.connection_id} held for ")
    assert "test_50_leaks.py" in message and "in _hold" in message
    assert "return pool.connection()" in message
    assert record.connection_id == conn.connection_id and record.held_for >= 0.05
    assert record.acquire_site in message
    assert pool.stats()["leaks"] == 1


def test_a_routed_query_reports_the_python_site(db_path, caplog):
    caplog.set_level(logging.WARNING, logger="litepool")
    options = dict(max_size=1, min_idle=0, leak_threshold=0.05, housekeeping_period=0.02)
    with litepool.Pool(db_path, **options) as pool:
        # A query that runs well past the threshold and several housekeeping
        # rounds (the core scans for leaks on its rounds).
        slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT count(*) FROM c"
        assert pool.query(slow) == [(3000000,)]
        assert _wait_for(lambda: any(r.name == "litepool" for r in caplog.records))
    [record] = [r for r in caplog.records if r.name == "litepool"]
    assert "test_50_leaks.py" in record.acquire_site and "pool.query(slow)" in record.acquire_site


def test_a_failing_log_handler_never_escapes_the_housekeeper(db_path, monkeypatch):
    failures = []
    monkeypatch.setattr(sys, "unraisablehook", failures.append)

    class Boom(logging.Filter):
        def filter(self, record):
            raise RuntimeError("filter failed")

    logger = logging.getLogger("litepool")
    boom = Boom()
    logger.addFilter(boom)
    try:
        with litepool.Pool(db_path, min_idle=0, leak_threshold=0.05) as pool:
            conn = _hold(pool)
            assert _wait_for(lambda: failures)
            # The pool (and its housekeeper) carry on.
            assert pool.query("SELECT 1") == [(1,)]
            conn.close()
            assert pool.stats()["leaks"] == 1
    finally:
        logger.removeFilter(boom)
    assert isinstance(failures[0].exc_value, RuntimeError)
