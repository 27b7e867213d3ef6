#!/usr/bin/env bash
# The WAL under load: WAL size over time per checkpoint mode, and write
# throughput with and without `litestream replicate` (NORMAL and FULL).
# Writes benches/results/wal.md and wal.json; `scripts/charts.py` draws
# benches/charts/wal-size-over-time.png. About a minute.
# Knobs: WAL_SECS (per mode, default 8), RATE_SECS (per round, default 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/install-litestream.sh >/dev/null
cargo run --release -q -p litepool --example wal
