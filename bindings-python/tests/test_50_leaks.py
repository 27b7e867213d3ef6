"""A lease garbage-collected without being returned goes back with a warning."""

import gc

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
    import time

    with litepool.Pool(db_path, min_idle=0, leak_threshold=0.05) as pool:
        conn = pool.connection()
        deadline = time.monotonic() + 5
        while pool.stats()["leaks"] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pool.stats()["leaks"] == 1
        conn.close()
