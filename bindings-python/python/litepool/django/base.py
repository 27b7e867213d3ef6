"""``litepool.django``: Django's SQLite backend on ``litepool.sqlite3``."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import tee

from django.db.backends.sqlite3 import base as sqlite_base
from django.db.backends.sqlite3._functions import register as register_functions
from django.utils.asyncio import async_unsafe

from litepool import sqlite3 as Database

__all__ = ["DatabaseWrapper"]


class SQLiteCursorWrapper(Database.Cursor):
    """Django's ``format``/``pyformat`` parameters as ``qmark``/``named``
    (what ``django.db.backends.sqlite3.base.SQLiteCursorWrapper`` does for
    the standard library's cursor)."""

    def execute(self, query, params=None):
        if params is None:
            return super().execute(query)
        names = list(params) if isinstance(params, Mapping) else None
        return super().execute(self.convert_query(query, param_names=names), params)

    def executemany(self, query, param_list):
        peek, param_list = tee(iter(param_list))
        first = next(peek, None)
        names = list(first) if first and isinstance(first, Mapping) else None
        return super().executemany(self.convert_query(query, param_names=names), param_list)

    def convert_query(self, query, *, param_names=None):
        if param_names is None:
            return sqlite_base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")
        return query % {name: f":{name}" for name in param_names}


class DatabaseWrapper(sqlite_base.DatabaseWrapper):
    """Django's SQLite ``DatabaseWrapper`` whose connections come from
    ``litepool.sqlite3.connect()`` (the converters and adapters Django
    registers are the standard library's registries, which litepool shares)."""

    Database = Database

    @async_unsafe
    def get_new_connection(self, conn_params):
        conn = Database.connect(**conn_params)
        register_functions(conn)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA legacy_alter_table = OFF")
        for init_command in self.init_commands:
            if init_command := init_command.strip():
                conn.execute(init_command)
        return conn

    def create_cursor(self, name=None):
        return self.connection.cursor(factory=SQLiteCursorWrapper)
