"""The asyncio face: waiting for a lease through the core's asynchronous
acquire (no thread is parked, the event loop never blocks) and SQL in the
loop's default executor."""

from __future__ import annotations

import asyncio
import functools

from . import _native

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


async def _acquire(pool, lane: str, tenant, timeout) -> _native.Connection:
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def deliver(outcome: object) -> None:  # on whichever thread freed a connection
        try:
            loop.call_soon_threadsafe(_settle, future, outcome)
        except RuntimeError:  # the loop is closed: nobody will take the lease
            if isinstance(outcome, _native.Connection):
                outcome.close()

    pool._acquire_with(deliver, lane, tenant=tenant, timeout=timeout)
    return await future


def _close_quietly(conn: _native.Connection) -> None:
    if not conn.closed:
        conn.close()


def _release_soon(conn: _native.Connection) -> None:
    """Returns `conn` from the executor (it may still be running SQL)."""
    asyncio.get_running_loop().run_in_executor(None, _close_quietly, conn)


async def _run(fn, *args):
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args))


class AsyncConnection:
    """A leased connection for asyncio code. Each method runs the blocking
    call of the underlying DB-API connection in the loop's default executor;
    the cursors it returns are already fetched, so their ``fetch*`` methods
    do not block."""

    __slots__ = ("_conn",)

    def __init__(self, conn: _native.Connection) -> None:
        self._conn = conn

    @property
    def connection(self) -> _native.Connection:
        """The underlying (synchronous) DB-API connection."""
        return self._conn

    async def execute(self, sql: str, parameters=None) -> _native.Cursor:
        return await _run(self._conn.execute, sql, parameters)

    async def executemany(self, sql: str, seq_of_parameters) -> _native.Cursor:
        return await _run(self._conn.executemany, sql, list(seq_of_parameters))

    async def executescript(self, sql_script: str) -> _native.Cursor:
        return await _run(self._conn.executescript, sql_script)

    async def query(self, sql: str, parameters=None) -> list:
        return await _run(self._conn.query, sql, parameters)

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

    __slots__ = ("_pool", "_lane", "_tenant", "_timeout", "_conn")

    def __init__(self, pool, lane, tenant, timeout) -> None:
        self._pool, self._lane, self._tenant, self._timeout = pool, lane, tenant, timeout
        self._conn = None

    async def _open(self) -> AsyncConnection:
        return AsyncConnection(await _acquire(self._pool, self._lane, self._tenant, self._timeout))

    def __await__(self):
        return self._open().__await__()

    async def __aenter__(self) -> AsyncConnection:
        wrapper = await self._open()
        self._conn = wrapper.connection
        return wrapper

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        conn, self._conn = self._conn, None
        try:
            await _run(conn.__exit__, exc_type, exc, tb)
        except asyncio.CancelledError:
            _release_soon(conn)
            raise
        return False


def aconnection(pool, lane: str, tenant, timeout) -> _AsyncLease:
    return _AsyncLease(pool, lane, tenant, timeout)


def _query_if_readonly(conn: _native.Connection, sql: str, parameters):
    if not conn._is_readonly(sql):
        return None
    conn.autocommit = True
    return conn.query(sql, parameters)


def _execute_autocommit(conn: _native.Connection, sql: str, parameters) -> _native.Executed:
    conn.autocommit = True
    cur = conn.execute(sql, parameters)
    return _native.Executed(cur.rowcount, cur.lastrowid)


async def _on_lease(conn: _native.Connection, fn, sql, parameters):
    """Runs `fn(conn, sql, parameters)` in the executor, then returns `conn`."""
    try:
        result = await _run(fn, conn, sql, parameters)
    except asyncio.CancelledError:
        _release_soon(conn)  # the executor may still be running it
        raise
    except BaseException:
        _close_quietly(conn)
        raise
    _close_quietly(conn)
    return result


async def _routed(pool, sql, parameters, tenant, timeout, on_read, on_write):
    """Runs on an ordinary lease when `sql` only reads, else on the write lane."""
    conn = await _acquire(pool, "any", tenant, timeout)
    result = await _on_lease(conn, on_read, sql, parameters)
    if result is not None:
        return result
    conn = await _acquire(pool, "write", tenant, timeout)
    return await _on_lease(conn, on_write, sql, parameters)


async def aquery(pool, sql: str, parameters, tenant, timeout) -> list:
    def write(conn, sql, parameters):
        conn.autocommit = True
        return conn.query(sql, parameters)

    return await _routed(pool, sql, parameters, tenant, timeout, _query_if_readonly, write)


async def aexecute(pool, sql: str, parameters, tenant, timeout) -> _native.Executed:
    def read(conn, sql, parameters):
        return _execute_autocommit(conn, sql, parameters) if conn._is_readonly(sql) else None

    return await _routed(pool, sql, parameters, tenant, timeout, read, _execute_autocommit)
