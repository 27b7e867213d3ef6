#!/usr/bin/env bash
# Runs every benchmark and rewrites BENCHMARKS.md from benches/results/*.md.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p benches/results
echo "== Rust core (criterion)"
cargo bench -p litepool --bench pool
python3 benches/rust/report.py
cargo bench -p litepool --bench tenants
python3 benches/rust/tenants_report.py
cargo run --release -q -p litepool --example fairness
# The performance issue's Rust cases (contention, fairness, write lane, mixed
# lanes) and the hot path against the base of the clean-leases work, in
# instructions (callgrind) and wall time (criterion, interleaved).
cargo bench -p litepool --bench contention
BASE=${BENCH_BASE:-53dec51}
bash benches/instructions.sh "$BASE"
python3 benches/before-after.py "$BASE" 3
# Issue 16's features off vs on: wall time, and instructions (callgrind).
python3 benches/features.py 3
bash benches/feature-cost.sh HEAD
for lang in c python node; do
  if [ -f "benches/$lang/run.sh" ]; then
    echo "== $lang"
    bash "benches/$lang/run.sh"
  fi
done
[ -f benches/e2e/run.sh ] && bash benches/e2e/run.sh
[ -f benches/e2e-tenants/run.sh ] && bash benches/e2e-tenants/run.sh
[ -f benches/wal/run.sh ] && bash benches/wal/run.sh
# Python and Node before/after BASE (builds the base's extension and addon).
bash benches/bindings-before-after.sh "$BASE"
python3 scripts/charts.py  # PNG charts into benches/charts/ (matplotlib in .venv)
python3 scripts/assemble-benchmarks.py
