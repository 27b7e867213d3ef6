#!/usr/bin/env bash
# Instructions per call of the Python and Node bindings at BASE and now,
# counted by callgrind (load-independent, like benches/instructions.sh):
# benches/python/call_cost.py (pool.query; pool.aquery from 16 tasks) in the
# venvs benches/bindings-before-after.sh builds, benches/node/call_cost.js
# (prepared getSync, getSync with SQL text, pool.get at concurrency 64) with
# both addons. (count at N - count at 0) / N. Writes
# benches/results/bindings-instructions.md.
#
#   bash benches/bindings-instructions.sh BASE   (after benches/bindings-before-after.sh BASE)
set -euo pipefail
base=$(git rev-parse --short "${1:?usage: benches/bindings-instructions.sh BASE}")
root=$(cd "$(dirname "$0")/.." && pwd)
n=20000
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | sed -n 's/.*refs: *\([0-9,]*\).*/\1/p' | tr -d ,; }
per() { echo $(( ($(count "$@" $n) - $(count "$@" 0)) / n )); }
row() { # name, before command..., --, after command...
  local name=$1; shift
  local -a a=() b=(); while [ "$1" != -- ]; do a+=("$1"); shift; done; shift; b=("$@")
  local x y; x=$(per "${a[@]}"); y=$(per "${b[@]}")
  printf '| %s | %s | %s | %s |\n' "$name" "$x" "$y" "$(python3 -c "print(f'{$x/$y:.2f}×')")"
}
py_old="$root/target/before-venv/bin/python"; py_new="$root/.venv/bin/python"
node_old="$root/target/before-$base/bindings-node/litepool.linux-x64-gnu.node"; node_new="$root/bindings-node/litepool.linux-x64-gnu.node"
js="$root/benches/node/call_cost.js"; pyc="$root/benches/python/call_cost.py"
table=$(
  printf '| call | %s (instr/call) | now (instr/call) | %s ÷ now |\n|---|---:|---:|---:|\n' "$base" "$base"
  row "Python pool.query point select" "$py_old" "$pyc" query -- "$py_new" "$pyc" query
  row "Python pool.aquery, 16 tasks" "$py_old" "$pyc" aquery -- "$py_new" "$pyc" aquery
  row "Node prepared stmt.getSync" node "$js" "$node_old" prepared -- node "$js" "$node_new" prepared
  row "Node pool.getSync(sql)" node "$js" "$node_old" text -- node "$js" "$node_new" text
  row "Node pool.get, concurrency 64" node "$js" "$node_old" async -- node "$js" "$node_new" async
)
echo "$table"
{
  echo "## Bindings: instructions per call, $base vs now (callgrind)"
  echo
  echo "Command: \`bash benches/bindings-instructions.sh $base\` (after \`benches/bindings-before-after.sh\` built both sides)."
  echo "Everything the process executes per call (the interpreter, N-API, the core, SQLite), N = $n calls minus N = 0;"
  echo "the asynchronous rows include the worker threads' and the event loop's share. Load-independent, unlike the wall-time table."
  echo
  echo "$table"
} > "$root/benches/results/bindings-instructions.md"
