"""A Django project on litepool.django (Django's SQLite backend over
litepool.sqlite3) runs its migrations, ORM queries and transactions."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("django")

RUN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "django_smoke", "run.py")


def test_a_django_project_migrates_queries_and_commits_on_litepool(tmp_path):
    proc = subprocess.run(
        [sys.executable, RUN, str(tmp_path / "db.sqlite3")], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "django smoke test: ok" in proc.stdout
