"""After os.fork() / multiprocessing (fork), the child's pool opens fresh
connections and never touches the parent's."""

import multiprocessing
import os

import pytest

import litepool

_POOL = None  # the module-level pool a forked multiprocessing child inherits


def _child_work(queue):
    try:
        before = _POOL.stats()["created"]
        rows = _POOL.query("SELECT v FROM kv WHERE k = 'parent'")
        _POOL.execute("INSERT INTO kv VALUES (?, ?)", (f"child-{os.getpid()}", 2))
        queue.put(("ok", rows, _POOL.stats()["created"] - before))
    except BaseException as e:  # report, never hang the parent
        queue.put(("error", repr(e), 0))


def _run_in_fork(fn):
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            code = 0 if fn() else 3
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    return _wait_child(pid)


def _wait_child(pid, timeout=60.0):
    """The child's exit code; a child still running after `timeout` seconds
    (hung on a lock a parent thread held at the fork) is killed and fails
    the test instead of hanging the suite."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail(f"the forked child hung for {timeout:.0f} s")
        time.sleep(0.005)


def test_os_fork_child_uses_fresh_connections(pool):
    pool.execute("INSERT INTO kv VALUES ('parent', 1)")
    held = pool.connection()  # a lease out in the parent while forking
    held.execute("SELECT 1")
    parent_id = held.connection_id

    def child():
        assert pool.query("SELECT v FROM kv WHERE k = 'parent'") == [(1,)]
        with pool.connection() as conn:
            assert conn.connection_id != parent_id
            conn.execute("INSERT INTO kv VALUES ('child', 2)")
        return pool.stats()["active"] == 0

    assert _run_in_fork(child) == 0
    # The parent's connections were left alone: the held one still works.
    assert held.execute("SELECT v FROM kv ORDER BY v").fetchall() == [(1,), (2,)]
    held.close()
    assert pool.query("SELECT count(*) FROM kv") == [(2,)]


def test_child_can_use_a_parent_lease_object_only_by_dropping_it(pool):
    held = pool.connection()

    def child():
        # The inherited lease object belongs to the parent; dropping it in the
        # child must not close or return the parent's connection.
        nonlocal held
        del held
        import gc

        gc.collect()
        return pool.query("SELECT 1") == [(1,)]

    assert _run_in_fork(child) == 0
    assert held.execute("SELECT 2").fetchone() == (2,)
    held.close()


@pytest.mark.parametrize("processes", [1, 3])
def test_multiprocessing_with_fork(pool, processes):
    global _POOL
    _POOL = pool
    pool.execute("INSERT INTO kv VALUES ('parent', 1)")
    pool.query("SELECT 1")  # the parent has a warm connection
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    children = [ctx.Process(target=_child_work, args=(queue,)) for _ in range(processes)]
    for c in children:
        c.start()
    try:
        results = [queue.get(timeout=30) for _ in children]
    except BaseException:
        for c in children:
            c.kill()
        raise
    for c in children:
        c.join(timeout=30)
        assert c.exitcode == 0
    for status, rows, created in results:
        assert status == "ok", rows
        assert rows == [(1,)]
        assert created >= 1  # opened its own connection
    queue.close()
    queue.join_thread()
    assert pool.query("SELECT count(*) FROM kv WHERE k LIKE 'child-%'") == [(processes,)]
    _POOL = None


def test_forks_while_parent_threads_lease_do_not_hang_the_children(db_path):
    # Regression (a child hung in make test, then here): a fork while a
    # thread of the parent held the pool's books (leasing or returning), or
    # while its housekeeper was going to sleep or waking, left that lock held
    # in the child for good, and the child's first query hung. Two parent
    # threads lease and return the one connection as fast as they can (the
    # one that queues kicks the housekeeper, which wakes every millisecond
    # anyway) while the test forks children that query. The threads run no
    # SQL: a lock inside SQLite held at a fork is SQLite's to keep (see
    # README, "fork").
    import threading

    with litepool.Pool(db_path, max_size=1, min_idle=1, housekeeping_period=0.001) as pool:
        pool.query("SELECT 1")
        stop = threading.Event()

        def lease_and_return():
            while not stop.is_set():
                with pool.connection():
                    pass

        threads = [threading.Thread(target=lease_and_return) for _ in range(2)]
        for t in threads:
            t.start()
        try:
            for _ in range(150):
                pid = os.fork()
                if pid == 0:
                    code = 1
                    try:
                        code = 0 if pool.query("SELECT 2") == [(2,)] else 3
                    finally:
                        os._exit(code)
                assert _wait_child(pid, timeout=float(os.environ.get("FORK_CHILD_WAIT", "10"))) == 0
        finally:
            stop.set()
            for t in threads:
                t.join()
