"""litepool.sqlite3: the standard library's ``sqlite3`` module, backed by the pool.

Swap it in with one line::

    import litepool.sqlite3 as sqlite3

    cx = sqlite3.connect("quota.db")          # leases from a process-wide pool
    cx.execute("INSERT INTO kv VALUES (?, ?)", ("a", 1))
    cx.commit()                               # the lease goes back to the pool

Every ``connect(path)`` in the process shares one pool per database file
(options through ``litepool.configure(path, ...)`` or the ``DB_POOL_*``
environment; a drop-in pool defaults to SQLite's ``foreign_keys=OFF``). A
``Connection`` holds a pooled connection only while it needs one: during a
transaction, while a cursor has rows left to step, and — pinned until
``close()`` — once the program changed the connection itself (a pragma, a
TEMP table, an attached database, a SQL function, a collation, a hook), so
that state behaves exactly as on a private connection; the pool resets it
when the connection goes back. ``connect(":memory:")`` is a private
database, as with the standard library.

Cursors step rows from SQLite in batches as they are fetched (the GIL is
released while stepping), so iterating a million rows keeps memory flat.

The classes, exceptions (subclasses of the standard library's, so ``except
sqlite3.IntegrityError`` keeps working), constants, adapters and converters
(the standard library's registries, shared) follow Python 3.11's ``sqlite3``.
Known differences: a ``Blob`` re-opens its row for each read or write, and
in autocommit mode the SQL functions ``last_insert_rowid()`` and
``changes()`` see whichever pooled connection ran the statement.
"""

from __future__ import annotations

import collections.abc as _abc
import datetime as _datetime
import os as _os
import sys as _sys
import time as _time
import warnings as _warnings

import _sqlite3
import sqlite3.dump as _dump

from .. import _native
from .._exceptions import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
)
from .._dropin import dropin_pool as _dropin_pool

# Constants (SQLITE_*, PARSE_*), shared registries and helpers of the
# standard library's module.
for _name in dir(_sqlite3):
    if _name.startswith(("SQLITE_", "PARSE_")):
        globals()[_name] = getattr(_sqlite3, _name)
del _name

adapters = _sqlite3.adapters
converters = _sqlite3.converters
PrepareProtocol = _sqlite3.PrepareProtocol
complete_statement = _sqlite3.complete_statement
register_converter = _sqlite3.register_converter

paramstyle = "qmark"
apilevel = "2.0"
threadsafety = _sqlite3.threadsafety
version = _sqlite3.version
version_info = tuple(int(x) for x in version.split("."))
sqlite_version = _native.sqlite_version()
sqlite_version_info = tuple(int(x) for x in sqlite_version.split("."))

Date = _datetime.date
Time = _datetime.time
Timestamp = _datetime.datetime
Binary = memoryview


def DateFromTicks(ticks):
    return Date(*_time.localtime(ticks)[:3])


def TimeFromTicks(ticks):
    return Time(*_time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks):
    return Timestamp(*_time.localtime(ticks)[:6])


_BASE_TYPES = (int, float, str, bytearray)


def register_adapter(type, adapter, /):
    """Registers ``adapter(obj)`` for values of exactly ``type`` (shared
    with the standard library's ``sqlite3``)."""
    _sqlite3.register_adapter(type, adapter)
    if type in _BASE_TYPES:
        _native.set_base_type_adapted(True)


_MISSING = object()


def adapt(obj, proto=PrepareProtocol, alt=_MISSING, /):
    """Adapts ``obj`` to ``proto`` (the standard library's ``adapt``)."""
    try:
        if alt is _MISSING:
            return _sqlite3.adapt(obj, proto)
        return _sqlite3.adapt(obj, proto, alt)
    except _sqlite3.ProgrammingError as e:
        if isinstance(e, ProgrammingError):
            raise
        raise ProgrammingError(*e.args) from None


def enable_callback_tracebacks(enable, /):
    """Prints (through ``sys.unraisablehook``) exceptions raised in
    user-defined functions, aggregates, converters and hooks."""
    _native.enable_callback_tracebacks(bool(enable))
    _sqlite3.enable_callback_tracebacks(enable)


def enable_shared_cache(enable):
    _warnings.warn(
        "enable_shared_cache is deprecated and will be removed in Python 3.12. "
        "Shared cache is strongly discouraged by the SQLite 3 documentation. "
        "If shared cache must be used, open the database in URI mode using"
        "the cache=shared query parameter.",
        DeprecationWarning,
        stacklevel=2,
    )
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", DeprecationWarning)
        return _sqlite3.enable_shared_cache(enable)


def __getattr__(name):
    if name == "OptimizedUnicode":
        _warnings.warn(
            "OptimizedUnicode is deprecated and will be removed in Python 3.12. "
            "Since Python 3.3 it has simply been an alias for 'str'.",
            DeprecationWarning,
            stacklevel=2,
        )
        return str
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _no_instances(cls, *args, **kwargs):
    raise TypeError(f"cannot create '{cls.__module__}.{cls.__name__}' instances")


_ISOLATION_LEVELS = ("", "DEFERRED", "IMMEDIATE", "EXCLUSIVE")


def _check_isolation_level(level):
    if level is None:
        return
    if not isinstance(level, str):
        raise TypeError("isolation_level must be str or None")
    if "\0" in level:
        raise ValueError("embedded null character")
    if str.upper(level) not in _ISOLATION_LEVELS or not str.isascii(level):
        raise ValueError("isolation_level string must be '', 'DEFERRED', 'IMMEDIATE', or 'EXCLUSIVE'")


def _plain_level(level):
    return None if level is None else str.__str__(level)


class Statement:
    """What calling a ``Connection`` returns: a compiled statement."""

    __new__ = _no_instances


class Connection(_native.Sqlite3ConnectionBase):
    """A connection to a SQLite database, leased from litepool's pool for
    that database (see the module docs). The hot paths (checks, ``cursor``,
    ``execute``, ``commit``…) are compiled; this class adds ``__init__`` and
    the rest."""

    Warning = Warning
    Error = Error
    InterfaceError = InterfaceError
    DatabaseError = DatabaseError
    DataError = DataError
    OperationalError = OperationalError
    IntegrityError = IntegrityError
    InternalError = InternalError
    ProgrammingError = ProgrammingError
    NotSupportedError = NotSupportedError

    def __init__(self, database, timeout=5.0, detect_types=0, isolation_level="", check_same_thread=True,
                 factory=None, cached_statements=128, uri=False):
        self._uninit()
        database = _os.fspath(database)
        timeout = float(timeout)
        detect_types = int(detect_types)
        _check_isolation_level(isolation_level)
        pool, private = _dropin_pool(database, bool(uri))
        handle = _native.Sqlite3Handle(pool, timeout, _plain_level(isolation_level), private)
        self._open(handle, detect_types, bool(check_same_thread), isolation_level)

    # -- functions, collations, hooks ----------------------------------------

    def create_function(self, name, narg, func, *, deterministic=False):
        handle = self._check()
        if not isinstance(name, str):
            raise TypeError(f"create_function() argument 'name' must be str, not {type(name).__name__}")
        handle.create_function(name, int(narg), func, bool(deterministic))

    def create_aggregate(self, name, n_arg, aggregate_class):
        handle = self._check()
        if not isinstance(name, str):
            raise TypeError(f"create_aggregate() argument 'name' must be str, not {type(name).__name__}")
        handle.create_aggregate(name, int(n_arg), aggregate_class)

    def create_window_function(self, name, num_params, aggregate_class, /):
        handle = self._check()
        if not isinstance(name, str):
            raise TypeError(f"create_window_function() argument 1 must be str, not {type(name).__name__}")
        handle.create_window_function(name, int(num_params), aggregate_class)

    def create_collation(self, name, callable, /):
        handle = self._check()
        if not isinstance(name, str):
            raise TypeError(f"create_collation() argument 1 must be str, not {type(name).__name__}")
        if callable is not None and not _callable(callable):
            raise TypeError("parameter must be callable")
        handle.create_collation(name, callable)

    def set_authorizer(self, authorizer_callback):
        self._check().set_authorizer(authorizer_callback)

    def set_progress_handler(self, progress_handler, n):
        self._check().set_progress_handler(progress_handler, int(n))

    def set_trace_callback(self, trace_callback):
        self._check().set_trace_callback(trace_callback)

    # -- limits, blobs, backup, serialization, dump --------------------------

    def getlimit(self, category, /):
        return self._check().getlimit(int(category))

    def setlimit(self, category, limit, /):
        return self._check().setlimit(int(category), int(limit))

    def blobopen(self, table, column, row, /, *, readonly=False, name="main"):
        handle = self._check()
        blob_id, length = handle.blob_open(table, column, int(row), bool(readonly), name)
        blob = object.__new__(Blob)
        blob._init(self, blob_id, length)
        return blob

    def backup(self, target, *, pages=-1, progress=None, name="main", sleep=0.250):
        handle = self._check()
        if not isinstance(target, Connection):
            raise TypeError(f"backup() argument 'target' must be {__name__}.Connection, not {type(target).__name__}")
        if target is self:
            raise ValueError("target cannot be the same connection instance")
        target_handle = target._check()
        if progress is not None and not _callable(progress):
            raise TypeError("progress argument must be a callable")
        handle.backup(target_handle, int(pages), progress, name, float(sleep))

    def serialize(self, *, name="main"):
        return self._check().serialize(name)

    def deserialize(self, data, /, *, name="main"):
        self._check().deserialize(data, name)

    def iterdump(self):
        self._check()
        return _dump._iterdump(self)


_callable = callable


#: A cursor over a ``Connection``; rows are stepped from SQLite in batches
#: as they are fetched. (Compiled: ``litepool._native``.)
Cursor = _native.Sqlite3Cursor


class Row:
    """A row that can be indexed by position and (case-insensitively) by
    column name, like the standard library's ``sqlite3.Row``."""

    __slots__ = ("_keys", "_data")

    def __new__(cls, cursor, data, /):
        if not issubclass(type(cursor), Cursor):
            raise TypeError(f"Row() argument 1 must be {__name__}.Cursor, not {type(cursor).__name__}")
        if not isinstance(data, tuple):
            raise TypeError(f"Row() argument 2 must be tuple, not {type(data).__name__}")
        self = object.__new__(cls)
        description = cursor.description
        self._keys = tuple(d[0] for d in description) if description else ()
        self._data = data
        return self

    def keys(self):
        return list(self._keys)

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        return iter(self._data)

    def __getitem__(self, key):
        if isinstance(key, int):
            return self._data[key]
        if isinstance(key, str):
            folded = _ascii_fold(key)
            for i, name in enumerate(self._keys):
                if _ascii_fold(name) == folded:
                    return self._data[i]
            raise IndexError("No item with that key")
        if isinstance(key, slice):
            return self._data[key]
        raise IndexError("Index must be int or string")

    def __hash__(self):
        return hash(self._keys) ^ hash(self._data)

    def __eq__(self, other):
        if not isinstance(other, Row):
            return NotImplemented
        return self._keys == other._keys and self._data == other._data

    def __ne__(self, other):
        if not isinstance(other, Row):
            return NotImplemented
        return not self == other

    def __repr__(self):
        return f"<{__name__}.Row object at {id(self):#x}>"


_ASCII_UPPER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _ascii_fold(s):
    return s.translate(_ASCII_UPPER)


_abc.Sequence.register(Row)


class Blob:
    """An open BLOB (``Connection.blobopen``)."""

    __new__ = _no_instances
    __iter__ = None

    def _init(self, connection, blob_id, length):
        self._connection = connection
        self._id = blob_id
        self._length = length
        self._offset = 0
        self._closed = False

    def _check(self):
        handle = self._connection._check()
        if self._closed:
            raise ProgrammingError("Cannot operate on a closed blob.")
        return handle

    def _read(self, offset, length):
        return self._check().blob_read(self._id, offset, length)

    def _write(self, offset, data):
        self._check().blob_write(self._id, offset, data)

    def close(self):
        handle = self._connection._check()
        if not self._closed:
            self._closed = True
            handle.blob_close(self._id)

    def __del__(self):
        if not getattr(self, "_closed", True):
            self._closed = True
            try:
                self._connection._check().blob_close(self._id)
            except Error:
                pass

    def __len__(self):
        self._check()
        return self._length

    def read(self, length=-1, /):
        self._check()
        remaining = self._length - self._offset
        if length < 0 or length > remaining:
            length = remaining
        if length <= 0:
            return b""
        data = self._read(self._offset, length)
        self._offset += length
        return data

    def write(self, data, /):
        self._check()
        data = bytes(memoryview(data))
        if len(data) > self._length - self._offset:
            raise ValueError("data longer than blob")
        self._write(self._offset, data)
        self._offset += len(data)

    def seek(self, offset, origin=_os.SEEK_SET, /):
        self._check()
        if origin == _os.SEEK_SET:
            base = 0
        elif origin == _os.SEEK_CUR:
            base = self._offset
        elif origin == _os.SEEK_END:
            base = self._length
        else:
            raise ValueError("'origin' should be os.SEEK_SET, os.SEEK_CUR, or os.SEEK_END")
        if base + offset > 2**31 - 1:
            raise OverflowError("seek offset results in overflow")
        if not 0 <= base + offset <= self._length:
            raise ValueError("offset out of blob range")
        self._offset = base + offset

    def tell(self):
        self._check()
        return self._offset

    def __enter__(self):
        self._check()
        return self

    def __exit__(self, *exc):
        self._check()
        self.close()
        return False

    def _index(self, i):
        try:
            i = i.__index__()
        except AttributeError:
            raise TypeError("Blob indices must be integers") from None
        if i > _sys.maxsize or i < -_sys.maxsize - 1:
            raise IndexError("cannot fit 'int' into an index-sized integer")
        if i < 0:
            i += self._length
        if not 0 <= i < self._length:
            raise IndexError("Blob index out of range")
        return i

    def __getitem__(self, key):
        self._check()
        if isinstance(key, slice):
            start, stop, step = key.indices(self._length)
            if start >= stop and step > 0 or start <= stop and step < 0:
                return b""
            lo, hi = (start, stop) if step > 0 else (stop + 1, start + 1)
            data = self._read(lo, hi - lo)
            return data[::step] if step > 0 else data[::-1][::-step]
        if not hasattr(key, "__index__"):
            raise TypeError("Blob indices must be integers")
        return self._read(self._index(key), 1)[0]

    def __setitem__(self, key, value):
        self._check()
        if isinstance(key, slice):
            start, stop, step = key.indices(self._length)
            data = memoryview(value)
            if not data.c_contiguous:
                raise BufferError("underlying buffer is not C-contiguous")
            data = data.tobytes()
            count = len(range(start, stop, step))
            if len(data) != count:
                raise IndexError("Blob slice assignment is wrong size")
            if count == 0:
                return
            if step == 1:
                self._write(start, data)
                return
            lo, hi = min(start, start + step * (count - 1)), max(start, start + step * (count - 1)) + 1
            current = bytearray(self._read(lo, hi - lo))
            for n, i in enumerate(range(start, stop, step)):
                current[i - lo] = data[n]
            self._write(lo, bytes(current))
            return
        if not hasattr(key, "__index__"):
            raise TypeError("Blob indices must be integers")
        i = self._index(key)
        if not isinstance(value, int):
            raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer")
        if not 0 <= value <= 255:
            raise ValueError("byte must be in range(0, 256)")
        self._write(i, bytes((value,)))

    def __delitem__(self, key):
        self._check()
        if isinstance(key, slice):
            raise TypeError("Blob doesn't support slice deletion")
        raise TypeError("Blob doesn't support item deletion")


_native.register_classes(Connection, Statement)


def connect(*args, **kwargs):
    """``connect(database, timeout=5.0, detect_types=0, isolation_level="",
    check_same_thread=True, factory=Connection, cached_statements=128,
    uri=False)``: a ``Connection`` (or ``factory``'s class) leased from the
    pool for ``database``. ``timeout`` is SQLite's busy timeout (and bounds
    a write's wait for the pool's write gate)."""
    if "factory" in kwargs:
        factory = kwargs["factory"]
    elif len(args) > 5:
        factory = args[5]
    else:
        factory = None
    if factory is None:
        factory = Connection
    return factory(*args, **kwargs)


__all__ = [n for n in globals() if not n.startswith("_")]
