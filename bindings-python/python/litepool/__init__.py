"""litepool: a SQLite connection pool with PEP 249 (DB-API 2.0) connections.

    import litepool

    with litepool.Pool("quota.db", max_size=10) as pool:
        pool.execute("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v INTEGER)")
        with pool.write() as conn:             # one writer at a time, BEGIN IMMEDIATE
            conn.execute("INSERT INTO kv VALUES (?, ?)", ("a", 1))
        rows = pool.query("SELECT k, v FROM kv")   # [('a', 1)]

``litepool.connect(path)`` is the DB-API entry point: a connection leased
from a process-wide pool for that path; ``close()`` gives it back.

Waiting for a connection and running SQL release the GIL; a wait answers
Ctrl-C. ``pool.aconnection()`` / ``pool.aquery()`` serve asyncio code. The
pool itself (sizes, waiting, timeouts, reaping, health, leaks, metrics,
tenants, fork safety) is the Rust core; this package only translates.
"""

from __future__ import annotations

import datetime as _datetime
import os as _os
import threading as _threading
import time as _time

from . import _native
from ._aio import AsyncConnection
from ._dropin import configure
from ._exceptions import (
    DatabaseError,
    DataError,
    DeadlineExceeded,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    InvalidConfig,
    InvalidTenant,
    NotSupportedError,
    OperationalError,
    PoolClosed,
    PoolCloseTimeout,
    PoolExhausted,
    PoolOverloaded,
    PoolTimeout,
    ProgrammingError,
    ReadOnlyLane,
    ReadOnlyReplica,
    TenantBusy,
    UnknownTenant,
    Warning,
)

Pool = _native.Pool
Connection = _native.Connection
Cursor = _native.Cursor
Executed = _native.Executed

__version__: str = _native.__version__
#: The version of the (system) SQLite library in use.
sqlite_version: str = _native.sqlite_version()
#: The pool's options (the core's table): name, kind, default, doc, env.
pool_options = _native.pool_options
sqlite_version_info: tuple = tuple(int(p) for p in sqlite_version.split("."))

# PEP 249 module globals.
apilevel = "2.0"
#: Threads may share the module and connections (each call on a connection
#: holds its lease's lock); cursors should not be shared.
threadsafety = 2
#: ``?`` placeholders; ``:name`` (with a mapping) works too.
paramstyle = "qmark"


def dict_row(cursor: Cursor, row: tuple) -> dict:
    """A ``row_factory`` returning ``{column_name: value}`` dicts."""
    return {d[0]: v for d, v in zip(cursor.description, row)}


# --- Type objects and constructors (PEP 249) -------------------------------


def _affinity(decltype: str) -> str:
    """SQLite's type affinity of a declared column type (sqlite.org/datatype3.html §3.1)."""
    t = decltype.upper()
    if "INT" in t:
        return "INTEGER"
    if "CHAR" in t or "CLOB" in t or "TEXT" in t:
        return "TEXT"
    if "BLOB" in t or not t:
        return "BLOB"
    if "REAL" in t or "FLOA" in t or "DOUB" in t:
        return "REAL"
    return "NUMERIC"


class _DBAPITypeObject:
    """Compares equal to the ``cursor.description`` type codes (declared
    column types) it describes, by SQLite's type affinity."""

    def __init__(self, name: str, match) -> None:
        self._name = name
        self._match = match

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _DBAPITypeObject):
            return other is self
        if isinstance(other, str):
            return self._match(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._name)

    def __repr__(self) -> str:
        return f"litepool.{self._name}"


STRING = _DBAPITypeObject("STRING", lambda t: _affinity(t) == "TEXT")
BINARY = _DBAPITypeObject("BINARY", lambda t: _affinity(t) == "BLOB")
NUMBER = _DBAPITypeObject("NUMBER", lambda t: _affinity(t) in ("INTEGER", "REAL", "NUMERIC"))
DATETIME = _DBAPITypeObject("DATETIME", lambda t: "DATE" in t.upper() or "TIME" in t.upper())
ROWID = _DBAPITypeObject("ROWID", lambda t: t.upper() in ("INTEGER", "ROWID"))

Date = _datetime.date
Time = _datetime.time
Timestamp = _datetime.datetime
Binary = bytes


def DateFromTicks(ticks: float) -> _datetime.date:
    return Date(*_time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> _datetime.time:
    return Time(*_time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> _datetime.datetime:
    return Timestamp(*_time.localtime(ticks)[:6])


# --- connect(): connections from process-wide pools -------------------------

_pools: dict[str, tuple[Pool, dict]] = {}
_pools_lock = _threading.Lock()


def _pool_key(database) -> str:
    path = _os.fspath(database)
    if isinstance(path, bytes):
        path = _os.fsdecode(path)
    return path if path == ":memory:" else _os.path.abspath(path)


def pool_for(database, **pool_options) -> Pool:
    """The process-wide pool for ``database``, created with ``pool_options``
    on first use. Asking again with different options raises
    ``ProgrammingError`` (one pool per file keeps one write gate per file)."""
    key = _pool_key(database)
    with _pools_lock:
        known = _pools.get(key)
        if known is not None and not known[0].closed:
            pool, options = known
            if pool_options and pool_options != options:
                raise ProgrammingError(
                    f"a pool for {key!r} already exists with options {options!r}; "
                    f"connect() asked for {pool_options!r}"
                )
            return pool
        pool = Pool(database, **pool_options)
        _pools[key] = (pool, dict(pool_options))
        return pool


def connect(database, *, timeout: float | None = None, tenant: str | None = None, **pool_options) -> Connection:
    """PEP 249 entry point: a connection leased from the process-wide pool
    for ``database`` (see ``pool_for``). ``close()`` returns it to the pool.

    ``timeout``: seconds to wait for a connection (default: the pool's
    ``acquire_timeout``, 5.0). ``pool_options`` are ``Pool``'s keywords.
    Unlike ``sqlite3.connect(":memory:")``, every ``connect(":memory:")``
    shares one in-memory database (the pool's)."""
    return pool_for(database, **pool_options).connection(timeout=timeout, tenant=tenant)


__all__ = [
    "Pool", "Connection", "Cursor", "Executed", "AsyncConnection", "connect", "pool_for", "configure", "dict_row",
    "apilevel", "threadsafety", "paramstyle", "sqlite_version", "sqlite_version_info", "pool_options",
    "Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
    "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError",
    "PoolTimeout", "PoolClosed", "PoolExhausted", "PoolCloseTimeout", "ReadOnlyLane",
    "InvalidConfig", "InvalidTenant", "UnknownTenant", "TenantBusy", "ReadOnlyReplica",
    "DeadlineExceeded", "PoolOverloaded",
    "STRING", "BINARY", "NUMBER", "DATETIME", "ROWID",
    "Date", "Time", "Timestamp", "DateFromTicks", "TimeFromTicks", "TimestampFromTicks", "Binary",
]
