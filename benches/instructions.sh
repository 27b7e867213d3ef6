#!/usr/bin/env bash
# Instructions per lease at BASE and at the working tree, counted by
# callgrind: unlike wall time, the count does not move with the machine's
# load, so it shows what a change added to the hot path even on a busy
# 2-core machine. Runs pool-core/examples/lease_cost.rs (copied into a
# worktree of BASE) with N=0 and N=100000 and reports the difference / N.
#
#   bash benches/instructions.sh BASE   (also writes benches/results/instructions.md)
set -euo pipefail
base=$(git rev-parse --short "${1:?usage: benches/instructions.sh BASE}")
root=$(cd "$(dirname "$0")/.." && pwd)
old="$root/target/before-$base"
command -v valgrind >/dev/null || { echo "needs valgrind (make deps installs it)" >&2; exit 2; }
[ -d "$old" ] || git -C "$root" worktree add -q --detach "$old" "$base"
cp "$root/pool-core/examples/lease_cost.rs" "$old/pool-core/examples/lease_cost.rs"
build() { (cd "$1" && CARGO_TARGET_DIR="$2" cargo build -q --release -p litepool --example lease_cost); }
build "$old" "$root/target/before-target"
build "$root" "$root/target"
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | sed -n 's/.*refs: *\([0-9,]*\).*/\1/p' | tr -d ,; }
n=100000
table() {
  printf '| case | %s | working tree | %s ÷ working tree |\n|---|---|---|---|\n' "$base" "$base"
  for mode in get select; do
    per() { echo $(( ($(count "$1" $mode $n) - $(count "$1" $mode 0)) / n )); }
    a=$(per "$root/target/before-target/release/examples/lease_cost")
    b=$(per "$root/target/release/examples/lease_cost")
    name=$([ "$mode" = get ] && echo "acquire+release" || echo "pooled point select (cached statement)")
    printf '| %s | %s instr/op | %s instr/op | %s |\n' "$name" "$a" "$b" "$(python3 -c "print(f'{$a/$b:.2f}×')")"
  done
}
out=$(table)
echo "$out"
{
  echo "## Instructions per lease: $base vs now (callgrind)"
  echo
  echo "Command: \`bash benches/instructions.sh $base\` (pool-core/examples/lease_cost.rs built at both commits, run under"
  echo "callgrind with N = 0 and N = $n; the difference ÷ N). Instruction counts do not move with the machine's"
  echo "load, so this is the load-independent check of the lease hot path on a shared machine. Under valgrind"
  echo "quanta reads the OS clock (no invariant TSC is visible there), the same at both commits."
  echo
  echo "$out"
} > "$root/benches/results/instructions.md"
