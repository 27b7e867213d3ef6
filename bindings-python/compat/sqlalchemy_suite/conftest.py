"""SQLAlchemy's dialect compliance suite, from the installed wheel, run by
its own pytest plugin. The dialect under test comes from ``--db`` (names in
setup.cfg): ``sqlite+litepool`` is found through this package's entry
point, not registered here."""

import pytest

pytest.register_assert_rewrite("sqlalchemy.testing.assertions")

from sqlalchemy.testing.plugin.pytestplugin import *  # noqa: E402,F401,F403
