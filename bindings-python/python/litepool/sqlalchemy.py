"""SQLAlchemy dialect ``sqlite+litepool://``: SQLAlchemy's SQLite dialect
over ``litepool.sqlite3``, registered through the ``sqlalchemy.dialects``
entry point of this package, so no import is needed::

    engine = create_engine("sqlite+litepool:///quota.db")

Pooling is litepool's: for a database file SQLAlchemy's pool defaults to
``NullPool`` (a pass-through: each checkout is a ``litepool.sqlite3``
connection, which leases from the process-wide litepool pool for the file
and gives its lease back when SQLAlchemy closes it). An in-memory database
is private to its connection, as with ``sqlite+pysqlite``, so it keeps
``SingletonThreadPool``. ``event.listens_for(engine, "connect")`` hooks run
on every new (litepool) connection; what they change on the connection
(``PRAGMA foreign_keys=ON``…) holds for that connection and is reset when
its lease goes back. Pool options: ``litepool.configure(path, ...)``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import pool
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine.url import URL

__all__ = ["SQLiteDialect_litepool", "dialect"]


class SQLiteDialect_litepool(SQLiteDialect_pysqlite):
    """``sqlite+litepool://``: the pysqlite dialect with ``litepool.sqlite3``
    as its DB-API module and litepool's pool in place of SQLAlchemy's."""

    driver = "litepool"
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        from litepool import sqlite3

        return sqlite3

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        if cls._is_url_file_db(url):
            return pool.NullPool
        return pool.SingletonThreadPool

    @classmethod
    def load_provisioning(cls) -> None:
        # SQLAlchemy's test provisioning for SQLite (its dialect test suite).
        __import__("sqlalchemy.dialects.sqlite.provision")


dialect = SQLiteDialect_litepool
