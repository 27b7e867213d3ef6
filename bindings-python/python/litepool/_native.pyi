"""Type stubs for litepool's compiled module (re-exported by ``litepool``)."""

from collections.abc import Callable, Iterator, Mapping, Sequence
from os import PathLike
from types import TracebackType
from typing import Any, Literal, Self

from ._aio import _AsyncLease

__version__: str

Value = None | int | float | str | bytes
Param = Value | bool | bytearray | memoryview | Any  # date, time, datetime
Parameters = Sequence[Param] | Mapping[str, Param] | None
Lane = Literal["any", "read", "write"]
RowFactory = Callable[[Cursor, tuple[Value, ...]], Any]

def sqlite_version() -> str: ...
def pool_options() -> list[dict[str, str | None]]:
    """The core's option table: ``name``, ``kind``, ``default`` (as the core states it), ``doc``, ``env``."""

class Executed:
    """What ``Pool.execute`` did."""

    rowcount: int
    lastrowid: int | None
    def __init__(self, rowcount: int, lastrowid: int | None = None) -> None: ...

class Pool:
    """A pool of SQLite connections to one database.

    Options are keyword-only, named and defaulted by the core's option table
    (``litepool.pool_options()``); durations in seconds; ``None`` means the
    default; ``0`` turns an optional duration off:

    - ``max_size``: The most connections the pool opens. Default 10.
    - ``min_idle``: Idle connections the housekeeper keeps open and warm. Default 2 (or max_size if smaller).
    - ``acquire_timeout``: How long an acquire (and so a one-shot call) waits for a connection. Default 5.0 s.
    - ``idle_timeout``: Idle connections above min_idle close after this long unused; 0 keeps them. Default 30.0 s.
    - ``max_lifetime``: Connections are retired once this old; 0 means no limit. Default 1800.0 s.
    - ``leak_threshold``: A lease held longer is reported once as an apparent leak; 0 turns it off. Default off.
    - ``busy_timeout``: SQLite's busy_timeout on every connection; 0 fails at once on a lock. Default 5.0 s.
    - ``validation_window``: A connection idle longer is checked before it is handed out; 0 checks every time. Default 0.5 s.
    - ``housekeeping_period``: How often the housekeeper retires and refills connections. Default 1.0 s.
    - ``workers``: Threads that run asynchronous calls' SQL. Default 0 (as many as cores, at most max_size).
    - ``journal_mode``: PRAGMA journal_mode for file databases ("": SQLite's own). Default WAL.
    - ``synchronous``: PRAGMA synchronous on every connection ("": SQLite's own). Default NORMAL.
    - ``foreign_keys``: PRAGMA foreign_keys on every connection. Default true.
    - ``init_sql``: SQL run on every new connection after the pool's pragmas. Default none.
    - ``name``: The pool label in metrics and thread names. Default litepool.
    - ``fairness``: "barging" (bounded; a running thread may go first) or "strict" (FIFO). Default barging.
    - ``starvation_bound``: With barging: how long the first waiter waits before direct hand-off. Default 0.001 s.
    - ``group_commit``: One-shot writes queued behind the write gate commit together. Default false.
    - ``checkpoint``: Who checkpoints the WAL: "pool" (with reader back-pressure), "external" (Litestream…) or "sqlite". Default pool.
    - ``checkpoint_pages``: With checkpoint="pool": a PASSIVE checkpoint once this many new WAL pages. Default 1000.
    - ``wal_high_water``: With checkpoint="pool": above this many WAL bytes, reads wait (at most 1 s) for a TRUNCATE checkpoint; 0 turns it off. Default 67108864 (64 MiB).
    - ``journal_size_limit``: PRAGMA journal_size_limit (bytes). Default 67108864 (64 MiB).
    - ``extension``: A SQLite loadable extension (path) loaded once per process, e.g. the Litestream VFS. Default none.
    - ``vfs``: The SQLite VFS connections open with. Default none.
    - ``replica_url``: A Litestream replica URL: a read-only replica pool; writes raise ``ReadOnlyReplica``. Default none.
    - ``statement_timeout``: A statement running longer is stopped inside SQLite with ``DeadlineExceeded`` (the connection stays usable); 0 turns it off. Default off.
    - ``max_waiting``: The most callers that may queue for a connection (or the write gate); one more raises ``PoolOverloaded`` at once; 0: unbounded. Default 0 (unbounded).
    - ``shed_load``: Raise ``PoolOverloaded`` at once when the expected wait (``expected_wait()``) exceeds the caller's timeout. Default false.
    - ``fair_tenants``: Serve queued callers by weighted fair queueing across tenants (``set_tenant_weight``), FIFO within one. Default false.
    - ``max_leases_per_tenant``: The most leases one tenant may hold at once; turns ``fair_tenants`` on; 0: no limit. Default 0 (no limit).
    - ``warm_statements``: Up to this many hot statements (and those pinned with ``prepare()``) are prepared on each new connection. Default 0 (off).
    - ``statement_stats``: Keep per-statement counters (``statement_stats()``) and export this many in ``metrics()``. Default 0 (off).
    - ``slow_statement_threshold``: A statement running longer is logged (``slow_statements()``) with its plan the first time; 0 turns it off. Default off.
    - ``log_parameters``: Show parameter values in the slow-statement log (redacted by default). Default false.

    With ``leak_threshold`` set, a lease held longer is reported once through
    ``logging`` (logger ``"litepool"``, ``WARNING``, naming the Python stack
    that acquired it; the record carries ``connection_id``, ``held_for`` and
    ``acquire_site``), and a lease garbage-collected without being returned
    warns with a ``ResourceWarning``.
    """

    def __init__(
        self,
        path: str | PathLike[str],
        *,
        max_size: int | None = None,
        min_idle: int | None = None,
        acquire_timeout: float | None = None,
        idle_timeout: float | None = None,
        max_lifetime: float | None = None,
        leak_threshold: float | None = None,
        busy_timeout: float | None = None,
        validation_window: float | None = None,
        housekeeping_period: float | None = None,
        workers: int | None = None,
        journal_mode: str | None = None,
        synchronous: str | None = None,
        foreign_keys: bool | None = None,
        init_sql: str | None = None,
        name: str | None = None,
        fairness: str | None = None,
        starvation_bound: float | None = None,
        group_commit: bool | None = None,
        checkpoint: str | None = None,
        checkpoint_pages: int | None = None,
        wal_high_water: int | None = None,
        journal_size_limit: int | None = None,
        extension: str | None = None,
        vfs: str | None = None,
        replica_url: str | None = None,
        statement_timeout: float | None = None,
        max_waiting: int | None = None,
        shed_load: bool | None = None,
        fair_tenants: bool | None = None,
        max_leases_per_tenant: int | None = None,
        warm_statements: int | None = None,
        statement_stats: int | None = None,
        slow_statement_threshold: float | None = None,
        log_parameters: bool | None = None,
    ) -> None: ...
    @staticmethod
    def from_env(path: str | PathLike[str]) -> Pool:
        """A pool configured from the ``DB_POOL_*`` variables (milliseconds)."""
    def connection(
        self, *, tenant: str | None = None, timeout: float | None = None, deadline: float | None = None
    ) -> Connection:
        """An ordinary lease; ``timeout`` defaults to the pool's ``acquire_timeout``. ``deadline``
        (seconds from now) bounds the wait and stops every statement of the lease once it passes
        (``DeadlineExceeded``)."""
    def read(
        self, *, tenant: str | None = None, timeout: float | None = None, deadline: float | None = None
    ) -> Connection:
        """A lease with ``PRAGMA query_only=ON``."""
    def write(
        self, *, tenant: str | None = None, timeout: float | None = None, deadline: float | None = None
    ) -> Connection:
        """A lease holding the write gate; transactions are ``BEGIN IMMEDIATE``."""
    def query(
        self, sql: str, parameters: Parameters = None, /, *, tenant: str | None = None, timeout: float | None = None,
        deadline: float | None = None,
    ) -> list[tuple[Value, ...]]:
        """``deadline`` (seconds) bounds the wait and the statement together (``DeadlineExceeded``)."""
    def execute(
        self, sql: str, parameters: Parameters = None, /, *, tenant: str | None = None, timeout: float | None = None,
        deadline: float | None = None,
    ) -> Executed: ...
    def executescript(
        self, sql_script: str, /, *, tenant: str | None = None, timeout: float | None = None,
        deadline: float | None = None,
    ) -> None: ...
    def aconnection(
        self, lane: Lane = "any", *, tenant: str | None = None, timeout: float | None = None,
        deadline: float | None = None,
    ) -> _AsyncLease: ...
    async def aquery(
        self, sql: str, parameters: Parameters = None, /, *, tenant: str | None = None, timeout: float | None = None,
        deadline: float | None = None,
    ) -> list[tuple[Value, ...]]: ...
    async def aexecute(
        self, sql: str, parameters: Parameters = None, /, *, tenant: str | None = None, timeout: float | None = None,
        deadline: float | None = None,
    ) -> Executed: ...
    def stats(self) -> dict[str, int | float]: ...
    def health(self) -> Literal["healthy", "warning", "degraded"]: ...
    def metrics(self) -> str: ...
    def close(self, timeout: float = 5.0) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def path(self) -> str: ...
    def register_tenant(self, code: str, path: str | PathLike[str]) -> None: ...
    def remove_tenant(self, code: str, *, timeout: float = 5.0) -> None: ...
    def tenant_stats(self) -> dict[str, dict[str, int | float]]: ...
    def set_tenant_weight(self, code: str, weight: int) -> None:
        """A tenant's weight (1 to 1000) in fair queueing: callers served per turn."""
    def prepare(self, sql: str) -> None:
        """Prepares ``sql`` once (raising if it does not) and pins it in the warm statement cache."""
    def expected_wait(self) -> float:
        """The wait (seconds) a caller queueing now can expect; 0 while a connection is idle."""
    def slow_statements(self) -> list[dict[str, Any]]:
        """The recent statements past ``slow_statement_threshold``: sql, params, wait, run, at, plan, ..."""
    def statement_stats(self) -> list[dict[str, Any]]:
        """Per-statement counters (``statement_stats``/``warm_statements``), the longest running first."""
    def set_trace_hook(self, hook: Callable[[dict[str, Any]], object] | None, /) -> None:
        """Calls ``hook(event)`` after every acquire and statement (for OpenTelemetry spans)."""
    def _acquire_with(
        self, callback: Callable[[Connection | BaseException], object], lane: Lane = "any", *,
        tenant: str | None = None, timeout: float | None = None, deadline: float | None = None,
    ) -> AcquireHandle: ...
    def _call_into(
        self, mailbox: Mailbox, future: object, op: Literal["all", "run", "script"], sql: str,
        parameters: Parameters = None, *, tenant: str | None = None, timeout: float | None = None,
        deadline: float | None = None,
    ) -> AcquireHandle: ...
    def _acquire_into(
        self, mailbox: Mailbox, future: object, lane: Lane = "any", *,
        tenant: str | None = None, timeout: float | None = None, deadline: float | None = None,
    ) -> AcquireHandle: ...
    def _query_into(
        self, mailbox: Mailbox, future: object, connection: Connection, sql: str, parameters: Parameters = None,
    ) -> None: ...
    def resize(self, max_size: int, min_idle: int) -> None: ...
    def evict(self) -> int: ...
    def commit_token(self) -> int:
        """On a primary: commits a marker after this caller's writes; the token for ``read_at_least``."""
    def read_at_least(self, token: int) -> Connection:
        """On a replica: a read lease that sees at least commit ``token`` (waits up to ``acquire_timeout``)."""
    def __enter__(self) -> Self: ...
    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> Literal[False]: ...

class Mailbox:
    """One event loop's mailbox: worker threads post outcomes without the
    GIL; ``drain()`` (the loop's reader callback on ``fileno()``) settles
    them with ``settle(future, outcome)``."""

    def __init__(self, settle: Callable[[object, object], object]) -> None: ...
    def fileno(self) -> int: ...
    def drain(self) -> None: ...

class AcquireHandle:
    """A pending ``Pool._acquire_with`` / ``_acquire_into`` / ``_call_into``."""

    def cancel(self) -> bool:
        """Withdraws the acquire (the waiter leaves the queue; the callback is
        never called); ``False`` when the callback already ran."""

class Connection:
    """A PEP 249 connection leased from a ``Pool``; ``close()`` gives it back."""

    Warning: type[Exception]
    Error: type[Exception]
    InterfaceError: type[Exception]
    DatabaseError: type[Exception]
    DataError: type[Exception]
    OperationalError: type[Exception]
    IntegrityError: type[Exception]
    InternalError: type[Exception]
    ProgrammingError: type[Exception]
    NotSupportedError: type[Exception]
    autocommit: bool
    row_factory: RowFactory | None
    @property
    def closed(self) -> bool: ...
    @property
    def in_transaction(self) -> bool: ...
    @property
    def lane(self) -> Lane: ...
    @property
    def connection_id(self) -> int: ...
    @property
    def tenant_schema(self) -> str | None: ...
    def cursor(self) -> Cursor: ...
    def execute(self, sql: str, parameters: Parameters = None, /) -> Cursor: ...
    def executemany(self, sql: str, seq_of_parameters: Iterator[Parameters] | Sequence[Parameters]) -> Cursor: ...
    def executescript(self, sql_script: str) -> Cursor: ...
    def query(self, sql: str, parameters: Parameters = None, /) -> list[tuple[Value, ...]]: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...
    def create_function(self, name: str, narg: int, func: Callable[..., Any], *, deterministic: bool = False) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None = None, tb: TracebackType | None = None) -> Literal[False]: ...

class Cursor:
    """A PEP 249 cursor; a query's rows are stepped from SQLite in batches
    as they are fetched (``rowcount`` of a query is known once all were)."""

    arraysize: int
    row_factory: RowFactory | None
    @property
    def description(self) -> tuple[tuple[str, str | None, None, None, None, None, None], ...] | None: ...
    @property
    def rowcount(self) -> int: ...
    @property
    def lastrowid(self) -> int | None: ...
    @property
    def connection(self) -> Connection: ...
    def execute(self, sql: str, parameters: Parameters = None, /) -> Self: ...
    def executemany(self, sql: str, seq_of_parameters: Iterator[Parameters] | Sequence[Parameters]) -> Self: ...
    def executescript(self, sql_script: str) -> Self: ...
    def fetchone(self) -> Any: ...
    def fetchmany(self, size: int | None = None) -> list[Any]: ...
    def fetchall(self) -> list[Any]: ...
    def close(self) -> None: ...
    def setinputsizes(self, sizes: Any) -> None: ...
    def setoutputsize(self, size: Any, column: Any = None) -> None: ...
    def _prefetch(self) -> None: ...
    def __iter__(self) -> Self: ...
    def __next__(self) -> Any: ...
