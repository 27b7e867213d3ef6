#!/usr/bin/env bash
# The multi-tenant part of `make demo` (called at the end of scripts/demo.sh,
# or on its own): builds what it needs (the release Node addon and express;
# seconds when already built), then runs scripts/demo.js: 200 tenants on one
# shared pool under concurrent load, the pool's and per-tenant stats, health,
# metrics, SIGTERM, and a summary that fails the demo if isolation or the
# stats do not hold.
#   TENANT_DEMO_SECONDS=6 TENANT_DEMO_CLIENTS=20 TENANT_DEMO_TENANTS=200 bash examples/tenant-service/scripts/demo.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
PROFILE=release
# shellcheck source=examples/build-lib.sh
source "$ROOT/examples/build-lib.sh"
build_node_addon
install_tenant_service_deps
exec node "$ROOT/examples/tenant-service/scripts/demo.js"
