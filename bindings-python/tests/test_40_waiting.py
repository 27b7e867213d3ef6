"""Threads, timeouts, the GIL and Ctrl-C while waiting for a connection."""

import _thread
import threading
import time

import pytest

import litepool


def test_many_threads_share_the_pool(db_path):
    with litepool.Pool(db_path, max_size=4, min_idle=0) as pool:
        pool.execute("CREATE TABLE hits (thread INTEGER, n INTEGER)")
        errors = []

        def work(t):
            try:
                for n in range(50):
                    if n % 5 == 0:
                        with pool.write() as conn:
                            conn.execute("INSERT INTO hits VALUES (?, ?)", (t, n))
                    else:
                        pool.execute("INSERT INTO hits VALUES (?, ?)", (t, n))
                    pool.query("SELECT count(*) FROM hits WHERE thread = ?", (t,))
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert pool.query("SELECT count(*) FROM hits") == [(400,)]
        stats = pool.stats()
        assert stats["active"] == 0 and stats["total"] <= 4


def test_a_connection_is_shared_between_threads_safely(pool):
    conn = pool.connection()
    conn.autocommit = True

    def work(t):
        for i in range(50):
            conn.execute("INSERT INTO kv VALUES (?, ?)", (f"{t}-{i}", i))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert conn.execute("SELECT count(*) FROM kv").fetchone() == (200,)
    conn.close()


def test_waiting_releases_the_gil(db_path):
    with litepool.Pool(db_path, max_size=1, min_idle=0) as pool:
        held = pool.connection()
        ticks = []
        stop = threading.Event()

        def ticker():
            while not stop.is_set():
                ticks.append(time.monotonic())
                time.sleep(0.005)

        t = threading.Thread(target=ticker)
        t.start()
        try:
            start = time.monotonic()
            with pytest.raises(litepool.PoolTimeout):
                pool.connection(timeout=0.4)
            waited = time.monotonic() - start
        finally:
            stop.set()
            t.join()
        held.close()
        assert waited >= 0.35
        # The ticker kept running while the main thread waited.
        assert len([x for x in ticks if start <= x <= start + waited]) >= 20


def test_timeout_argument_overrides_the_pool_default(db_path):
    with litepool.Pool(db_path, max_size=1, min_idle=0, acquire_timeout=30.0) as pool:
        held = pool.connection()
        start = time.monotonic()
        with pytest.raises(litepool.PoolTimeout):
            pool.read(timeout=0.1)
        assert time.monotonic() - start < 5
        held.close()


def test_query_timeout_argument_overrides_the_pool_default(db_path):
    with litepool.Pool(db_path, max_size=1, min_idle=0, acquire_timeout=30.0) as pool:
        pool.execute("CREATE TABLE t (x)")
        held = pool.connection()
        start = time.monotonic()
        with pytest.raises(litepool.PoolTimeout):
            pool.query("SELECT count(*) FROM t", timeout=0.1)
        with pytest.raises(litepool.PoolTimeout):
            pool.execute("INSERT INTO t VALUES (1)", timeout=0.1)
        assert time.monotonic() - start < 5
        held.close()


def test_query_routes_reads_past_a_held_write_gate(db_path):
    with litepool.Pool(db_path, max_size=2, min_idle=0, acquire_timeout=30.0) as pool:
        pool.execute("CREATE TABLE t (x)")
        with pool.write():
            assert pool.query("SELECT count(*) FROM t") == [(0,)]
            with pytest.raises(litepool.PoolTimeout):
                pool.execute("INSERT INTO t VALUES (1)", timeout=0.1)
            assert pool.stats()["waiting"] == 0
        assert pool.execute("INSERT INTO t VALUES (1)").rowcount == 1


def test_waiters_are_served_first_come_first_served(db_path):
    with litepool.Pool(db_path, max_size=1, min_idle=0, acquire_timeout=10.0) as pool:
        held = pool.connection()
        order = []

        def waiter(name):
            with pool.connection():
                order.append(name)
                time.sleep(0.01)

        threads = []
        for name in "abc":
            t = threading.Thread(target=waiter, args=(name,))
            t.start()
            threads.append(t)
            time.sleep(0.12)  # longer than a wait slice: order survives slicing
        assert pool.stats()["waiting"] == 3
        held.close()
        for t in threads:
            t.join()
        assert order == ["a", "b", "c"]


def _interrupt_main_after(delay):
    timer = threading.Timer(delay, _thread.interrupt_main)
    timer.start()
    return timer


def test_ctrl_c_interrupts_a_wait_and_leaves_the_queue(db_path):
    with litepool.Pool(db_path, max_size=1, min_idle=0, acquire_timeout=30.0) as pool:
        held = pool.connection()
        timer = _interrupt_main_after(0.2)
        start = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            pool.connection()
        timer.join()
        assert time.monotonic() - start < 5
        assert pool.stats()["waiting"] == 0
        held.close()
        # The connection is not stranded with the interrupted waiter.
        stats = pool.stats()
        assert stats["active"] == 0 and stats["idle"] == 1
        with pool.connection(timeout=0.5):
            pass


def test_ctrl_c_keeps_other_waiters_in_order(db_path):
    with litepool.Pool(db_path, max_size=1, min_idle=0, acquire_timeout=30.0) as pool:
        held = pool.connection()
        got = []
        behind = threading.Thread(target=lambda: got.append(pool.connection(timeout=10.0)))
        timer = _interrupt_main_after(0.3)
        with pytest.raises(KeyboardInterrupt):
            behind.start()
            pool.query("SELECT 1")  # routed acquire, interrupted too
        timer.join()
        assert pool.stats()["waiting"] == 1
        held.close()
        behind.join()
        assert len(got) == 1
        got[0].close()
