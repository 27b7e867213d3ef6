"""Stuart Bishop's DB-API 2.0 compliance suite (`dbapi-compliance` on PyPI)."""

import unittest

import dbapi20
import pytest

import litepool


class TestLitepoolDBAPI20(dbapi20.DatabaseAPI20Test):
    driver = litepool
    connect_args = ()
    connect_kw_args = {}

    @pytest.fixture(autouse=True)
    def _fresh_database(self, tmp_path):
        # One process-wide pool per file (litepool.connect), a new file per test.
        self.connect_args = (str(tmp_path / "dbapi20.db"),)
        yield
        litepool.pool_for(*self.connect_args).close()

    def test_nextset(self):
        # SQLite has no multiple result sets: the optional nextset() is absent.
        con = self._connect()
        try:
            assert not hasattr(con.cursor(), "nextset")
        finally:
            con.close()

    def test_setoutputsize(self):
        # Nothing to size: fetched values are never truncated.
        con = self._connect()
        try:
            cur = con.cursor()
            cur.setoutputsize(1, 0)
            cur.execute("SELECT ?", ("a long value",))
            assert cur.fetchone() == ("a long value",)
        finally:
            con.close()


def test_suite_is_collected():
    names = unittest.TestLoader().getTestCaseNames(TestLitepoolDBAPI20)
    assert len(names) > 30
