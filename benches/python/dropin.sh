#!/usr/bin/env bash
# litepool.sqlite3 vs the standard library's sqlite3 (point select,
# executemany; 1 and 4 threads) and SQLAlchemy's ORM on sqlite+litepool vs
# sqlite+pysqlite, interleaved rounds. Builds the extension in release mode
# into the repo's .venv, runs benches/python/dropin.py and writes
# benches/results/python_dropin.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv"
cd "$root"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'maturin>=1.9,<2' 'SQLAlchemy>=2.1,<2.2'
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" \
    maturin develop --quiet --release --manifest-path bindings-python/Cargo.toml

out="$root/benches/results/python_dropin.md"
mkdir -p "$(dirname "$out")"
table="$("$venv/bin/python" benches/python/dropin.py "$@")"
{
    echo "# Python: the drop-in litepool.sqlite3 vs sqlite3, sqlite+litepool vs sqlite+pysqlite"
    echo
    echo "Command: \`bash benches/python/dropin.sh${*:+ $*}\` (release build; script: \`benches/python/dropin.py\`)."
    echo "Measured $(date -u +%Y-%m-%d) on a shared 2-core machine (other builds running): compare ratios."
    echo "Each round runs both candidates the same number of operations, in alternating order; the ratio"
    echo "is litepool's ops/s ÷ the peer's (above 1: litepool is faster), median over the rounds, with"
    echo "the rounds' min–max. Every thread has its own connection; a litepool.sqlite3 connection leases"
    echo "from the file's pool per statement in autocommit (per transaction otherwise)."
    echo
    echo "$table"
} > "$out"
cat "$out"
