"""The asyncio face: waiting never blocks the loop; SQL runs off the loop."""

import asyncio
import time

import pytest

import litepool


def test_aconnection_and_aquery(pool):
    async def main():
        async with pool.aconnection("write") as conn:
            await conn.execute("INSERT INTO kv VALUES (?, ?)", ("a", 1))
            await conn.executemany("INSERT INTO kv VALUES (?, ?)", [("b", 2), ("c", 3)])
        res = await pool.aexecute("UPDATE kv SET v = v * 10 WHERE k != ?", ("a",))
        assert res == litepool.Executed(2, None)
        rows = await pool.aquery("SELECT k, v FROM kv ORDER BY k")
        ret = await pool.aquery("INSERT INTO kv VALUES ('d', 4) RETURNING k")
        async with pool.aconnection("read") as conn:
            cur = await conn.execute("SELECT count(*) FROM kv")
            count = cur.fetchone()
        return rows, ret, count

    rows, ret, count = asyncio.run(main())
    assert rows == [("a", 1), ("b", 20), ("c", 30)]
    assert ret == [("d",)]
    assert count == (4,)
    assert pool.stats()["active"] == 0


def test_aconnection_rolls_back_on_exception(pool):
    async def main():
        with pytest.raises(ValueError):
            async with pool.aconnection() as conn:
                await conn.execute("INSERT INTO kv VALUES ('x', 1)")
                raise ValueError
        return await pool.aquery("SELECT count(*) FROM kv")

    assert asyncio.run(main()) == [(0,)]
    assert pool.stats()["active"] == 0


def test_waiting_does_not_block_the_loop(db_path):
    with litepool.Pool(db_path, max_size=1, min_idle=0) as pool:
        held = pool.connection()

        async def main():
            ticks = 0
            waiter = asyncio.ensure_future(pool.aquery("SELECT 42"))
            loop = asyncio.get_running_loop()
            loop.call_later(0.3, held.close)
            while not waiter.done():
                ticks += 1
                await asyncio.sleep(0.01)
            return await waiter, ticks

        rows, ticks = asyncio.run(main())
        assert rows == [(42,)]
        assert ticks >= 10  # the loop kept running while the query waited
        assert pool.stats()["acquired_waited"] >= 1


def test_cancelled_waiter_gives_the_lease_back(db_path):
    with litepool.Pool(db_path, max_size=1, min_idle=0, acquire_timeout=10.0) as pool:
        held = pool.connection()

        async def main():
            task = asyncio.ensure_future(pool.aconnection().__aenter__())
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            held.close()  # the cancelled waiter left the queue: nobody is waiting
            for _ in range(100):
                if pool.stats()["idle"] == 1:
                    break
                await asyncio.sleep(0.01)
            async with pool.aconnection() as conn:
                return await conn.query("SELECT 1")

        assert asyncio.run(main()) == [(1,)]
        stats = pool.stats()
        assert stats["active"] == 0 and stats["idle"] == 1


def test_async_timeout_and_closed_pool(db_path):
    pool = litepool.Pool(db_path, max_size=1, min_idle=0)
    held = pool.connection()

    async def main():
        with pytest.raises(litepool.PoolTimeout) as info:
            await pool.aquery("SELECT 1", timeout=0.1)
        assert info.value.code == "LITEPOOL_TIMEOUT"
        with pytest.raises(litepool.ProgrammingError, match="lane"):
            pool.aconnection("sideways")

    asyncio.run(main())
    held.close()
    pool.close()

    async def closed():
        with pytest.raises(litepool.PoolClosed):
            await pool.aquery("SELECT 1")

    asyncio.run(closed())


def test_many_concurrent_tasks(db_path):
    with litepool.Pool(db_path, max_size=2, min_idle=0) as pool:
        pool.execute("CREATE TABLE t (n INTEGER)")

        async def one(n):
            await pool.aexecute("INSERT INTO t VALUES (?)", (n,))
            return (await pool.aquery("SELECT count(*) FROM t WHERE n = ?", (n,)))[0][0]

        async def main():
            return await asyncio.gather(*(one(n) for n in range(100)))

        assert asyncio.run(main()) == [1] * 100
        assert pool.query("SELECT count(*) FROM t") == [(100,)]
        assert pool.stats()["active"] == 0


def test_cancelled_aconnection_waiter_leaves_the_queue_at_once(db_path):
    with litepool.Pool(db_path, max_size=1, min_idle=0, acquire_timeout=10.0) as pool:
        held = pool.connection()
        acquired_before = pool.stats()["acquired"]

        async def main():
            first = asyncio.ensure_future(pool.aconnection().__aenter__())
            await asyncio.sleep(0.05)
            later = asyncio.ensure_future(pool.aconnection().__aenter__())
            await asyncio.sleep(0.05)
            assert pool.stats()["waiting"] == 2
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            # Right after the cancellation, not once a connection comes free.
            assert pool.stats()["waiting"] == 1
            held.close()
            # Without yielding to the loop: the release went straight to the
            # later waiter, not to the cancelled one (to be handed back).
            stats = pool.stats()
            assert stats["waiting"] == 0 and stats["active"] == 1
            conn = await later
            rows = await conn.query("SELECT 1")
            await conn.close()
            return rows

        assert asyncio.run(main()) == [(1,)]
        stats = pool.stats()
        assert stats["acquired"] == acquired_before + 1  # only the later waiter was served
        assert stats["active"] == 0 and stats["idle"] == 1


def test_cancelled_routed_waiter_leaves_the_queue_at_once(db_path):
    with litepool.Pool(db_path, max_size=1, min_idle=0, acquire_timeout=10.0) as pool:
        pool.execute("CREATE TABLE t (x)")
        held = pool.write()

        async def main():
            task = asyncio.ensure_future(pool.aexecute("INSERT INTO t VALUES (1)"))
            await asyncio.sleep(0.1)
            assert pool.stats()["waiting"] == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert pool.stats()["waiting"] == 0

        asyncio.run(main())
        held.close()
        assert pool.query("SELECT count(*) FROM t") == [(0,)]


def test_async_timeout_argument_overrides_the_pool_default(db_path):
    with litepool.Pool(db_path, max_size=1, min_idle=0, acquire_timeout=30.0) as pool:
        held = pool.connection()

        async def main():
            start = time.monotonic()
            with pytest.raises(litepool.PoolTimeout):
                await pool.aquery("SELECT 1", timeout=0.1)
            with pytest.raises(litepool.PoolTimeout):
                await pool.aexecute("INSERT INTO kv VALUES (1, 1)", timeout=0.1)
            return time.monotonic() - start

        assert asyncio.run(main()) < 5
        held.close()


def test_async_transaction_control_is_refused(pool):
    async def main():
        with pytest.raises(litepool.ProgrammingError, match="BEGIN") as info:
            await pool.aexecute("BEGIN")
        return info.value.code

    assert asyncio.run(main()) == "LITEPOOL_MISUSE"
    assert pool.stats()["active"] == 0


def test_lease_granted_after_the_loop_closed_goes_back(db_path):
    with litepool.Pool(db_path, max_size=1, min_idle=0, acquire_timeout=10.0) as pool:
        held = pool.connection()
        loop = asyncio.new_event_loop()

        async def main():
            task = asyncio.ensure_future(pool.aquery("SELECT 1"))
            await asyncio.sleep(0.05)
            return task

        # The loop closes with the task still waiting (never cancelled).
        task = loop.run_until_complete(main())
        loop.close()
        assert pool.stats()["waiting"] == 1
        held.close()  # granted to the abandoned waiter: nobody can take it
        deadline = time.monotonic() + 2
        while pool.stats()["idle"] != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        stats = pool.stats()
        assert stats["active"] == 0 and stats["idle"] == 1 and stats["waiting"] == 0
        assert not task.done()


def test_outcomes_arrive_through_one_mailbox_per_loop_in_batches(db_path):
    """Results posted by the workers are settled by the loop in batches: a
    burst of calls resolves, each with its own rows, through one doorbell."""
    from litepool import _aio

    async def main():
        with litepool.Pool(db_path, max_size=4) as p:
            p.execute("CREATE TABLE n (i INTEGER PRIMARY KEY)")
            with p.write() as c:
                c.executemany("INSERT INTO n VALUES (?)", [(i,) for i in range(200)])
            got = await asyncio.gather(*(p.aquery("SELECT i FROM n WHERE i = ?", (i,)) for i in range(200)))
            loop = asyncio.get_running_loop()
            box = _aio._mailboxes[loop]
            again = await p.aquery("SELECT count(*) FROM n")
            assert _aio._mailboxes[loop] is box, "one mailbox per loop"
            return got, again

    got, again = asyncio.run(main())
    assert got == [[(i,)] for i in range(200)]
    assert again == [(200,)]


def test_a_free_connection_is_handed_over_without_a_trip_through_the_loop(pool):
    from litepool import _aio

    async def main():
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        pool._acquire_into(_aio._mailbox(loop), future, "any")
        assert future.done(), "settled inline: a connection was free"
        conn = future.result()
        async with pool.aconnection() as other:
            rows = await other.query("SELECT count(*) FROM kv")
        conn.close()
        return rows

    assert asyncio.run(main()) == [(0,)]
    assert pool.stats()["active"] == 0
