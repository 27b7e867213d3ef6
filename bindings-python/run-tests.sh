#!/usr/bin/env bash
# Python bindings: build the extension into the repo's .venv and run pytest,
# then check litepool.sqlite3 against the suites of what it stands in for:
# CPython's own test.test_sqlite3 (compat/cpython_sqlite3.py) and SQLAlchemy's
# dialect compliance suite (compat/sqlalchemy_suite.py, sqlite+litepool vs
# sqlite+pysqlite), and the typed usage file with mypy --strict.
# Usage (from anywhere): bash bindings-python/run-tests.sh [pytest args...]
# (COMPAT=0 skips the suites and mypy.) Needs only python3 (3.11+) and cargo;
# pip installs maturin and the test dependencies. Exits non-zero on any
# failure (pytest's 5, "no tests", too).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
cd "$root"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    'maturin>=1.9,<2' 'pytest>=8' 'SQLAlchemy>=2.1,<2.2' 'dbapi-compliance>=1.15' 'Django>=5.2,<5.3' \
    'mypy>=1.10'

# Debug build, installed in place (the compiled module lands in
# python/litepool/, ignored by git). Set PROFILE=--release for a release build.
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" \
    maturin develop --quiet ${PROFILE:-} --manifest-path bindings-python/Cargo.toml

cd bindings-python
"$venv/bin/python" -m pytest tests "$@"

if [ "${COMPAT:-1}" != 0 ]; then
    # The stubs, as a user's `mypy --strict` sees them; the file also runs.
    "$venv/bin/python" -m mypy --strict --cache-dir "$venv/.mypy_cache" typing/usage.py
    "$venv/bin/python" typing/usage.py
    "$venv/bin/python" compat/cpython_sqlite3.py
    "$venv/bin/python" compat/sqlalchemy_suite.py
fi
