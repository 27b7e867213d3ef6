"""The suite's requirements for SQLite: SQLAlchemy's defaults
(``SuiteRequirements``), except two it rules out for SQLite in its own test
requirements (``DefaultRequirements`` in SQLAlchemy's ``test/requirements.py``).
The same class is used for the ``sqlite+pysqlite`` and the
``sqlite+litepool`` runs."""

from sqlalchemy.testing import exclusions
from sqlalchemy.testing.requirements import SuiteRequirements


class Requirements(SuiteRequirements):
    @property
    def independent_connections(self):
        # SQLAlchemy skips these for every SQLite driver. (They make engines
        # of their own, without the ATTACH of the test_schema database that
        # its SQLite test provisioning adds to the main engine.)
        return exclusions.closed()

    @property
    def temporary_tables(self):
        # SQLAlchemy skips these for SQLite file databases: a TEMP table
        # lives on one connection, and a test sees it only if its pool hands
        # that same connection out again.
        return exclusions.closed()

    @property
    def temp_table_reflection(self):
        return self.temporary_tables
