#!/usr/bin/env bash
# The C ABI's cost: acquire + release from C versus from Rust, in one run.
# Release builds; the Rust and C programs alternate for ROUNDS rounds and the
# median per variant is reported. Writes benches/results/c.md.
# Usage: bash benches/c/run.sh [ITERATIONS] [ROUNDS]   (defaults 200000, 5)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
N=${1:-200000}
ROUNDS=${2:-5}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
WORK=$(mktemp -d "${TMPDIR:-/tmp}/litepool-bench-c.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

cargo build --release -p litepool-ffi --example acquire_bench
cc -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror -Iinclude benches/c/acquire.c -L"$TARGET/release" -llitepool \
  -lsqlite3 -Wl,-rpath,"$TARGET/release" -o "$WORK/acquire"

for r in $(seq "$ROUNDS"); do
  "$TARGET/release/examples/acquire_bench" "$WORK/rust-$r.db" "$N" >> "$WORK/results"
  "$WORK/acquire" "$WORK/c-$r.db" "$N" >> "$WORK/results"
done

median() { grep "^$1 " "$WORK/results" | awk '{print $2}' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
core=$(median rust_core)
via=$(median rust_via_c_abi)
c=$(median c_acquire_release)
cstep=$(median c_acquire_step_release)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

mkdir -p benches/results
cat > benches/results/c.md <<MD
## C ABI: acquire + release, C versus Rust

One thread, one pool (file database, WAL, \`max_size\` 4), $N acquire+release
pairs per round, median of $ROUNDS alternating rounds; release builds
($(uname -m), $(nproc) cores, $(date -u +%Y-%m-%d)). Each acquire+release is
a lock/unlock of the pool plus, through the C ABI, a handle-table insert and
remove and the panic boundary.

| path | ns per acquire+release | ratio vs Rust core |
|---|---:|---:|
| Rust: \`pool.get()\` + drop (core, no FFI) | $core | 1.00 |
| Rust calling \`litepool_acquire\` / \`litepool_release\` | $via | $(ratio "$via" "$core") |
| C: \`litepool_acquire\` / \`litepool_release\` | $c | $(ratio "$c" "$core") |
| C: acquire, \`sqlite3_prepare_v2\`/\`step\`/\`finalize\` "SELECT 1", release | $cstep | $(ratio "$cstep" "$core") |

Command: \`bash benches/c/run.sh $N $ROUNDS\`
MD
cat benches/results/c.md
