#!/usr/bin/env bash
# End-to-end benchmark (part of `make bench`): the quota-proxy service's
# GET /admin/usage and POST /gateway throughput on litepool versus the same
# service opening a node-sqlite3 connection per request. Writes
# benches/results/e2e.md and e2e.json. Run from anywhere; arguments go to
# bench.js (--duration SECONDS, --rounds N, --connections 1,4,16,64).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PROFILE=release
# shellcheck source=examples/build-lib.sh
source examples/build-lib.sh
echo "== e2e: build (release Node addon) and install the service's packages"
build_node_addon
install_service_deps
# The peer, node-sqlite3, built from source (headers from /usr/include/node;
# nothing downloaded) unless this or a sibling suite already has it.
if ! node -e "require('./benches/e2e/sqlite3-store').createSqlite3Store('/nonexistent')" 2>/dev/null; then
  echo "== e2e: npm install sqlite3@6 from source (about 80 s)"
  (cd benches/e2e && npm_config_nodedir=/usr npm install --no-audit --no-fund --loglevel=error --no-package-lock)
fi
echo "== e2e: quota-proxy on litepool vs a node-sqlite3 connection per request"
node benches/e2e/bench.js "$@"
