#!/usr/bin/env bash
# Python bindings: build the extension into the repo's .venv and run pytest.
# Usage (from anywhere): bash bindings-python/run-tests.sh [pytest args...]
# Needs only python3 (3.11+) and cargo; pip installs maturin and the test
# dependencies. Exits non-zero on any failure (pytest's 5, "no tests", too).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
cd "$root"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    'maturin>=1.9,<2' 'pytest>=8' 'SQLAlchemy>=2' 'dbapi-compliance>=1.15'

# Debug build, installed in place (the compiled module lands in
# python/litepool/, ignored by git). Set PROFILE=--release for a release build.
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" \
    maturin develop --quiet ${PROFILE:-} --manifest-path bindings-python/Cargo.toml

cd bindings-python
"$venv/bin/python" -m pytest tests "$@"
