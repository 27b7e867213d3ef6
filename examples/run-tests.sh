#!/usr/bin/env bash
# Placeholder until the quota-proxy example lands: the core demo must succeed.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO_SECONDS=1 cargo run -q -p litepool --example demo >/dev/null
echo "examples: 1 passed, 0 failed"
