import pytest

import litepool


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "test.db")


@pytest.fixture
def pool(db_path):
    """A small pool over a fresh file with a `kv` table."""
    p = litepool.Pool(db_path, max_size=4, min_idle=0, acquire_timeout=2.0)
    p.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER)")
    yield p
    p.close(timeout=2.0)
