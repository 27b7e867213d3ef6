#!/usr/bin/env bash
# Python and Node before/after BASE: builds the Python extension and the
# Node addon of BASE (in the worktree benches/instructions.sh keeps at
# target/before-BASE, sharing target/before-target) and of the working tree
# (release), then runs benches/python-before-after.py (pool.query point
# select) and benches/node/before-after.js (async pool.get at concurrency
# 64, sync getSync, prepared getSync), candidates in turn, median ratio and
# range. Results: benches/results/before-after.md (Python, appended) and
# benches/results/before-after-node.md.
#
#   bash benches/bindings-before-after.sh BASE [ROUNDS]
set -euo pipefail
base=$(git rev-parse --short "${1:?usage: benches/bindings-before-after.sh BASE [ROUNDS]}")
rounds=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
old="$root/target/before-$base"
[ -d "$old" ] || git -C "$root" worktree add -q --detach "$old" "$base"

# Python: a venv per build.
for side in before after; do
  venv=$([ $side = before ] && echo "$root/target/before-venv" || echo "$root/.venv")
  src=$([ $side = before ] && echo "$old" || echo "$root")
  tdir=$([ $side = before ] && echo "$root/target/before-target" || echo "$root/target")
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'maturin>=1.9,<2'
  (cd "$src" && CARGO_TARGET_DIR="$tdir" VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" \
    maturin develop --quiet --release --manifest-path bindings-python/Cargo.toml)
done
python3 "$root/benches/python-before-after.py" "$root/target/before-venv/bin/python" "$root/.venv/bin/python" "$rounds"

# Node: the addon of each build (the CLI from the working tree's node_modules).
(cd "$root/bindings-node" && npm install --no-audit --no-fund --loglevel=error && npx napi build --platform --release)
(cd "$old/bindings-node" && CARGO_TARGET_DIR="$root/target/before-target" "$root/bindings-node/node_modules/.bin/napi" build --platform --release)
node "$root/benches/node/before-after.js" "$old/bindings-node/litepool.linux-x64-gnu.node" \
  "$root/bindings-node/litepool.linux-x64-gnu.node" "$rounds"
bash "$root/benches/bindings-instructions.sh" "$base"
