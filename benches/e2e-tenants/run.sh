#!/usr/bin/env bash
# The multi-tenant end-to-end benchmark (part of `make bench`): the tenant
# service with 200 tenants on one shared litepool pool, versus the same
# service on a node-sqlite3 Database per tenant, versus the shared pool
# without tenant affinity (ATTACH/DETACH per call), versus the shared pool
# with max 10. Writes benches/results/e2e_tenants.md and .json. Run from
# anywhere; arguments go to bench.js (--duration SECONDS, --rounds N,
# --clients N, --tenants N).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PROFILE=release
# shellcheck source=examples/build-lib.sh
source examples/build-lib.sh
echo "== e2e-tenants: build (release Node addon) and install the service's packages"
build_node_addon
install_tenant_service_deps
# The peer, node-sqlite3, built from source (headers from /usr/include/node;
# nothing downloaded) unless this or a sibling suite already has it.
if ! node -e "require('./benches/e2e-tenants/sqlite3-store').createSqlite3Store('/nonexistent')" 2>/dev/null; then
  echo "== e2e-tenants: npm install sqlite3@6 from source (about 80 s)"
  (cd benches/e2e-tenants && npm_config_nodedir=/usr npm install --no-audit --no-fund --loglevel=error --no-package-lock)
fi
echo "== e2e-tenants: the tenant service, 200 tenants: shared litepool pool vs a node-sqlite3 Database per tenant"
node benches/e2e-tenants/bench.js "$@"
