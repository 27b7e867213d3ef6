"""The process-wide pools behind ``litepool.sqlite3.connect()``: one per
database file (or URI), created on first use with the options given to
``litepool.configure()`` for it, else from the ``DB_POOL_*`` environment
when any is set, else the pool's defaults with SQLite's own settings where
those differ (``DROPIN_DEFAULTS``: what the standard library keeps).

A pool whose file was deleted or replaced since it was created (tests
unlink and recreate files) is left to finish its leases, and a new one
opens the new file.

``":memory:"``, ``""`` and in-memory URIs get a private one-connection pool
per ``connect()`` (and so a database of their own), as with ``sqlite3``.
"""

from __future__ import annotations

import os
import threading
from urllib.parse import parse_qs, quote, urlsplit

from . import _native
from ._exceptions import ProgrammingError

_pools: dict[str, tuple[_native.Pool, tuple[int, int] | None]] = {}
_configured: dict[str, dict] = {}
_lock = threading.Lock()

#: What a drop-in pool changes from the pool's defaults, so that swapping
#: the module in changes nothing else: foreign keys stay off, and the
#: database keeps its journal mode and SQLite's default synchronous setting
#: (``configure(path, journal_mode="wal")`` opts in to WAL).
DROPIN_DEFAULTS = {"foreign_keys": False, "journal_mode": "", "synchronous": ""}


def _key(database, uri: bool) -> tuple[str, bool, bool]:
    """(pool key, private, read-only) for a ``connect()`` target."""
    if isinstance(database, bytes):
        database = os.fsdecode(database)
    if uri and database.startswith("file:"):
        parts = urlsplit(database)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        memory = parts.path in (":memory:", "") or query.get("mode") == "memory"
        read_only = query.get("mode") == "ro" or query.get("immutable") == "1"
        return database, memory, read_only
    if database in (":memory:", ""):
        return database, True, False
    path = os.path.abspath(database)
    try:
        path.encode()
    except UnicodeEncodeError:
        # A file name that is not UTF-8: open it by URI, percent-encoded.
        return "file:" + quote(os.fsencode(path)), False, False
    return path, False, False


def configure(database, **options) -> None:
    """Sets the pool options (``litepool.Pool``'s keywords) that
    ``litepool.sqlite3.connect(database)`` creates its pool with. Raises
    ``ProgrammingError`` once that pool exists with other options."""
    key, private, _ = _key(os.fspath(database), False)
    if private:
        raise ProgrammingError(f"{database!r} is a private in-memory database: it has no shared pool to configure")
    with _lock:
        known = _pools.get(key)
        if known is not None and not known[0].closed and _configured.get(key, {}) != options:
            raise ProgrammingError(f"the pool for {key!r} already exists; configure() it before the first connect()")
        _configured[key] = dict(options)


def _from_env() -> bool:
    return any(name.startswith("DB_POOL_") for name in os.environ)


def dropin_pool(database, uri: bool) -> tuple[_native.Pool, bool]:
    """The pool for a ``litepool.sqlite3.connect()`` target, and whether it
    is private to that connection."""
    key, private, read_only = _key(database, uri)
    journal = {"journal_mode": "", "synchronous": ""} if read_only else {}
    if private:
        return _native.Pool(key, max_size=1, min_idle=0, **{**DROPIN_DEFAULTS, **journal}), True
    with _lock:
        known = _pools.get(key)
        if known is not None and not known[0].closed and known[1] == _identity(key):
            return known[0], False
        if key in _configured:
            pool = _native.Pool(key, **{**DROPIN_DEFAULTS, **journal, **_configured[key]})
        elif _from_env():
            pool = _native.Pool.from_env(key)
        else:
            pool = _native.Pool(key, **{**DROPIN_DEFAULTS, **journal})
        _pools[key] = (pool, _identity(key))
        return pool, False


def _identity(key: str) -> tuple[int, int] | None:
    """The file's (device, inode), or ``None`` for a URI or a missing file."""
    if key.startswith("file:"):
        return None
    try:
        st = os.stat(key)
    except OSError:
        return None
    return st.st_dev, st.st_ino
