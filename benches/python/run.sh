#!/usr/bin/env bash
# Python benchmark: litepool vs stdlib sqlite3 and SQLAlchemy QueuePool.
# Builds the extension in release mode into the repo's .venv, runs
# benches/python/bench.py and writes benches/results/python.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv"
cd "$root"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'maturin>=1.9,<2' 'SQLAlchemy>=2' 'aiosqlite==0.22.1'
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" \
    maturin develop --quiet --release --manifest-path bindings-python/Cargo.toml

out="$root/benches/results/python.md"
mkdir -p "$(dirname "$out")"
table="$("$venv/bin/python" benches/python/bench.py "$@")"
{
    echo "# Python: litepool vs sqlite3 and SQLAlchemy QueuePool"
    echo
    echo "Command: \`bash benches/python/run.sh${*:+ $*}\` (release build; script: \`benches/python/bench.py\`)."
    echo "Measured $(date -u +%Y-%m-%d) on a shared 2-core machine: numbers are noisy, compare ratios."
    echo
    echo "$table"
} > "$out"
cat "$out"

# The performance issue's targets (pool.query vs sqlite3 per thread, asyncio vs aiosqlite).
"$venv/bin/python" benches/python/targets.py

# The drop-in (litepool.sqlite3) and the SQLAlchemy dialect against their peers.
bash "$root/benches/python/dropin.sh"
