#!/usr/bin/env bash
# Placeholder until the quota-proxy demo lands: the Rust core demo.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release -p litepool --example demo
