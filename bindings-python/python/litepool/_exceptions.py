"""The PEP 249 exception hierarchy, with the pool's own errors as subclasses.

Each class also derives from the standard library's ``sqlite3`` class of the
same name, so code written against ``sqlite3`` (and SQLAlchemy's pysqlite
dialect) catches litepool's errors unchanged.

Every instance raised by litepool carries:

- ``code``: a stable string, ``SQLITE_*`` (e.g. ``"SQLITE_CONSTRAINT_UNIQUE"``)
  for SQLite failures, ``LITEPOOL_*`` (e.g. ``"LITEPOOL_TIMEOUT"``) otherwise;
- ``sqlite_errorname``: the ``SQLITE_*`` name, or ``None`` (as ``sqlite3``);
- ``sqlite_errorcode``: SQLite's extended result code, or ``None``.
"""

import sqlite3 as _sqlite3

__all__ = [
    "Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
    "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError",
    "PoolTimeout", "PoolClosed", "PoolExhausted", "PoolCloseTimeout", "ReadOnlyLane",
    "InvalidConfig", "InvalidTenant", "UnknownTenant", "TenantBusy", "ReadOnlyReplica",
    "DeadlineExceeded", "PoolOverloaded",
]


class Warning(_sqlite3.Warning):  # noqa: A001 - the PEP 249 name
    """Important warnings (PEP 249)."""


class Error(_sqlite3.Error):
    """Base class of every litepool error (PEP 249)."""

    code: "str | None" = None
    sqlite_errorname: "str | None" = None
    sqlite_errorcode: "int | None" = None


class InterfaceError(Error, _sqlite3.InterfaceError):
    """Misuse of the interface rather than of the database (SQLITE_MISUSE, SQLITE_RANGE)."""


class DatabaseError(Error, _sqlite3.DatabaseError):
    """Errors related to the database."""


class DataError(DatabaseError, _sqlite3.DataError):
    """A value out of range or too large (an int beyond 64 bits, SQLITE_TOOBIG)."""


class OperationalError(DatabaseError, _sqlite3.OperationalError):
    """Errors in the database's operation: locks, I/O, SQL errors, the pool's state."""


class IntegrityError(DatabaseError, _sqlite3.IntegrityError):
    """A constraint failed (SQLITE_CONSTRAINT_*)."""


class InternalError(DatabaseError, _sqlite3.InternalError):
    """The database (or litepool) hit an internal error."""


class ProgrammingError(DatabaseError, _sqlite3.ProgrammingError):
    """Wrong use of the API: closed connection, wrong parameter count, bad type."""


class NotSupportedError(DatabaseError, _sqlite3.NotSupportedError):
    """A method or feature SQLite does not support."""


class PoolTimeout(OperationalError):
    """No connection (or write-gate turn) came free within the acquire timeout.

    The message states the pool's counts and the last connection error.
    """


class PoolClosed(OperationalError):
    """The pool is closed: no new leases are handed out."""


class PoolExhausted(OperationalError):
    """No connection is free right now and there is no room to open one."""


class PoolCloseTimeout(OperationalError):
    """``Pool.close()`` gave up waiting for leases; they close when returned."""


class ReadOnlyLane(OperationalError):
    """A write through a ``read()`` lease (``PRAGMA query_only`` is on)."""


class ReadOnlyReplica(OperationalError):
    """A write on a pool that is a read-only replica (``replica_url``); write to the primary."""


class InvalidConfig(ProgrammingError, ValueError):
    """A pool option (or ``DB_POOL_*`` variable) is out of range; the message names it."""


class InvalidTenant(ProgrammingError, ValueError):
    """A tenant code is not 1 to 64 characters of ``[a-z0-9_]``."""


class UnknownTenant(ProgrammingError, LookupError):
    """No tenant is registered under that code."""


class TenantBusy(OperationalError):
    """``remove_tenant()`` timed out with leases for the tenant still out."""


class DeadlineExceeded(OperationalError):
    """A statement ran past its deadline (``statement_timeout``, or the
    ``deadline`` of the call or lease) and SQLite stopped it (code
    ``LITEPOOL_DEADLINE``).

    The message names the statement and how long it ran; the connection
    stays usable, and a transaction the pool began for it was rolled back.
    """


class PoolOverloaded(OperationalError):
    """The pool refused the call at once instead of queueing it (code
    ``LITEPOOL_OVERLOADED``): ``max_waiting`` callers already wait, or
    (``shed_load``) the wait it expects exceeds the timeout.

    ``retry_after`` is the expected wait in seconds (e.g. for an HTTP
    ``Retry-After``).
    """

    retry_after: "float | None" = None
