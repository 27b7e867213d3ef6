"""The asyncio face: one-shot calls and a lease's queries on the core's
executor, leases through the core's asynchronous acquire (no thread is
parked, the event loop never blocks). Outcomes come back through one
mailbox per event loop (``_native.Mailbox``): workers post them without
the GIL and the loop settles a whole batch per wake-up."""

from __future__ import annotations

import asyncio
import functools
import weakref
from types import TracebackType
from typing import Literal

from . import _native

_mailboxes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

__all__ = ["AsyncConnection", "aconnection", "aquery", "aexecute"]


def _settle(future: asyncio.Future, outcome: object) -> None:
    """On the loop: resolve `future`, or return the lease if nobody waits."""
    if future.done():  # cancelled meanwhile
        if isinstance(outcome, _native.Connection):
            outcome.close()
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def _mailbox(loop: asyncio.AbstractEventLoop) -> _native.Mailbox:
    """The loop's mailbox, its doorbell watched by the loop."""
    box = _mailboxes.get(loop)
    if box is None:
        box = _native.Mailbox(_settle)
        loop.add_reader(box.fileno(), box.drain)
        _mailboxes[loop] = box
    return box


def _discard(future: asyncio.Future) -> None:
    """Nobody will take `future`'s lease: return it now, or when it arrives."""
    if not future.done():
        try:
            future.cancel()  # _settle returns the lease on arrival
        except RuntimeError:  # the loop is closed: deliver() returns it
            pass
    elif not future.cancelled() and future.exception() is None:
        future.result().close()


async def _acquire(pool, lane: str, tenant, timeout, deadline=None) -> _native.Connection:
    """Waits for the lease an asynchronous acquire delivers. A cancelled wait
    withdraws the acquire at once, so the waiter leaves the pool's queue
    instead of holding its place until served."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    handle = pool._acquire_into(_mailbox(loop), future, lane, tenant=tenant, timeout=timeout, deadline=deadline)
    try:
        return await future
    except BaseException:  # cancelled (or the coroutine closed)
        if not handle.cancel():  # too late: the lease was delivered, or is on its way
            _discard(future)
        raise


def _close_quietly(conn: _native.Connection) -> None:
    if not conn.closed:
        conn.close()


def _release_soon(conn: _native.Connection) -> None:
    """Returns `conn` from the executor (it may still be running SQL)."""
    asyncio.get_running_loop().run_in_executor(None, _close_quietly, conn)


async def _run(fn, *args):
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args))


def _execute_fetched(conn: _native.Connection, sql: str, parameters) -> _native.Cursor:
    """Runs on an executor thread: the query and every row (cursors step
    their rows lazily; an asyncio cursor must never step on the loop)."""
    cursor = conn.execute(sql, parameters)
    cursor._prefetch()
    return cursor


class AsyncConnection:
    """A leased connection for asyncio code. ``query`` runs on the pool's
    executor (its rows come back through the loop's mailbox); the other
    methods run the blocking call of the underlying DB-API connection in the
    loop's default executor. The cursors it returns are already fetched, so
    their ``fetch*`` methods do not block."""

    __slots__ = ("_conn", "_pool")

    def __init__(self, conn: _native.Connection, pool=None) -> None:
        self._conn = conn
        self._pool = pool

    @property
    def connection(self) -> _native.Connection:
        """The underlying (synchronous) DB-API connection."""
        return self._conn

    async def execute(self, sql: str, parameters=None) -> _native.Cursor:
        return await _run(_execute_fetched, self._conn, sql, parameters)

    async def executemany(self, sql: str, seq_of_parameters) -> _native.Cursor:
        return await _run(self._conn.executemany, sql, list(seq_of_parameters))

    async def executescript(self, sql_script: str) -> _native.Cursor:
        return await _run(self._conn.executescript, sql_script)

    async def query(self, sql: str, parameters=None) -> list:
        if self._pool is None:
            return await _run(self._conn.query, sql, parameters)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pool._query_into(_mailbox(loop), future, self._conn, sql, parameters)
        return await future

    async def commit(self) -> None:
        await _run(self._conn.commit)

    async def rollback(self) -> None:
        await _run(self._conn.rollback)

    async def close(self) -> None:
        await _run(self._conn.close)

    def __repr__(self) -> str:
        return f"<litepool.AsyncConnection {self._conn!r}>"


class _AsyncLease:
    """What ``pool.aconnection()`` returns: ``async with`` it (commit or
    roll back, then return the connection), or ``await`` it for an
    ``AsyncConnection`` you close yourself."""

    __slots__ = ("_pool", "_lane", "_tenant", "_timeout", "_deadline", "_conn")

    def __init__(self, pool, lane, tenant, timeout, deadline=None) -> None:
        self._pool, self._lane, self._tenant, self._timeout = pool, lane, tenant, timeout
        self._deadline = deadline
        self._conn = None

    async def _open(self) -> AsyncConnection:
        conn = await _acquire(self._pool, self._lane, self._tenant, self._timeout, self._deadline)
        return AsyncConnection(conn, self._pool)

    def __await__(self):
        return self._open().__await__()

    async def __aenter__(self) -> AsyncConnection:
        wrapper = await self._open()
        self._conn = wrapper.connection
        return wrapper

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        conn, self._conn = self._conn, None
        if not conn.closed and not conn.in_transaction:
            # Nothing to commit or roll back: returning the lease runs no SQL.
            return conn.__exit__(exc_type, exc, tb)
        try:
            await _run(conn.__exit__, exc_type, exc, tb)
        except asyncio.CancelledError:
            _release_soon(conn)
            raise
        return False


def aconnection(pool, lane: str, tenant, timeout, deadline=None) -> _AsyncLease:
    return _AsyncLease(pool, lane, tenant, timeout, deadline)


async def _call(pool, op: str, sql: str, parameters, tenant, timeout, deadline=None):
    """A one-shot call on the core's executor (routing, the write lane and
    the SQL all run there); the result comes back through the loop's
    mailbox. A cancelled call still waiting for a connection is withdrawn."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    handle = pool._call_into(_mailbox(loop), future, op, sql, parameters, tenant=tenant, timeout=timeout,
                             deadline=deadline)
    try:
        return await future
    except asyncio.CancelledError:
        handle.cancel()
        raise


def aquery(pool, sql: str, parameters, tenant, timeout, deadline=None):
    """The coroutine `pool.aquery` returns (the native method calls `_call`
    itself: a coroutine awaiting another costs the loop a level)."""
    return _call(pool, "all", sql, parameters, tenant, timeout, deadline)


def aexecute(pool, sql: str, parameters, tenant, timeout, deadline=None):
    return _call(pool, "run", sql, parameters, tenant, timeout, deadline)
