#!/usr/bin/env bash
# Regenerates include/litepool.h from ffi/src with cbindgen (a dev-dependency
# of litepool-ffi, so nothing to install): runs the header test in write mode.
# Commit the result; `cargo test -p litepool-ffi` fails while it is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
LITEPOOL_WRITE_HEADER=1 cargo test -q -p litepool-ffi --test header -- committed_header_matches_a_fresh_cbindgen_run
echo "include/litepool.h regenerated"
