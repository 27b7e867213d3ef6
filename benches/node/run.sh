#!/usr/bin/env bash
# Node benchmark: litepool (async, sync, node-sqlite3 drop-in) against
# node-sqlite3 and better-sqlite3@12 on the same file. Writes
# benches/results/node.md. Run from anywhere.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# The addon, release build.
(cd "$root/bindings-node" && npm install --no-audit --no-fund --loglevel=error && npx napi build --platform --release)

# Peers, built from source (headers from /usr/include/node; nothing downloaded).
# better-sqlite3 13 needs Node >= 22 and crashes on Node 20: pinned to 12.
cd "$here"
if ! node -e "require('sqlite3'); require('better-sqlite3')" 2>/dev/null; then
  npm_config_nodedir=/usr npm install --no-audit --no-fund --loglevel=error --no-package-lock
fi

mkdir -p "$root/benches/results"
node "$here/run.js" "$@" | tee "$root/benches/results/node.md"
node "$here/targets.js"
