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
python3 benches/features.py 3        # issue 16's features off vs on, wall time
bash benches/feature-cost.sh HEAD    # the same, in instructions (callgrind)
for lang in c python node; do
  if [ -f "benches/$lang/run.sh" ]; then
    echo "== $lang"
    bash "benches/$lang/run.sh"
  fi
done
[ -f benches/e2e/run.sh ] && bash benches/e2e/run.sh
[ -f benches/e2e-tenants/run.sh ] && bash benches/e2e-tenants/run.sh
[ -f benches/wal/run.sh ] && bash benches/wal/run.sh
python3 scripts/charts.py  # PNG charts into benches/charts/ (matplotlib in .venv)
python3 scripts/assemble-benchmarks.py
