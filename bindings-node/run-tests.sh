#!/usr/bin/env bash
# Builds the Node addon (debug: quicker to build, the same code paths) and
# runs its suite with node's test runner. Run from anywhere; `make test-node`
# calls it from the repo root. Installs what it needs: @napi-rs/cli into
# bindings-node/node_modules (`npm ci`, from the committed lock file, which
# it leaves untouched), and the real `sqlite3` package (built from source
# with node-gyp), Sequelize and knex into bindings-node/.peers for the
# drop-in's comparison and ORM suites.
#
# The debug addon goes to target/napi-debug/ (examples/build-lib.sh), not
# next to the release one that `npm pack` ships; the suite loads it through
# NAPI_RS_NATIVE_LIBRARY_PATH, which the generated loader (index.js) honours.
set -euo pipefail
cd "$(dirname "$0")"
PROFILE=debug
# shellcheck source=examples/build-lib.sh
source ../examples/build-lib.sh
build_node_addon
echo "run-tests.sh: testing the debug addon $NAPI_RS_NATIVE_LIBRARY_PATH"
# The loader and types napi generates are committed: the build must not change them.
if git -C .. rev-parse --git-dir >/dev/null 2>&1 && ! git -C .. diff --quiet -- bindings-node/index.js bindings-node/index.d.ts; then
  echo "run-tests.sh: bindings-node/index.js or index.d.ts differ from what the pinned @napi-rs/cli generates:"
  git -C .. diff --stat -- bindings-node/index.js bindings-node/index.d.ts
  echo "run-tests.sh: commit the regenerated files"
  exit 1
fi

# What the node-sqlite3 drop-in is compared against and tested under: the
# real sqlite3@6 (built from source; node-gyp finds the headers in
# /usr/include/node and must not try to download them), Sequelize 6 and knex
# 3, and TypeScript 5 with @types/node for the type checks. Installed in one command (a later --no-save install would prune the
# others) into the git-ignored .peers, never into the package's own lock.
peers_ok() {
  node -e "for (const m of ['sqlite3', 'sequelize', 'knex', 'typescript', '@types/node/package.json']) require('./.peers/node_modules/' + m)" 2>/dev/null
}
if [ ! -d .peers/node_modules ] || ! peers_ok; then
  echo "run-tests.sh: installing sqlite3@6 (from source, about 80 s), sequelize@6, knex@3, typescript@5 and @types/node@20 into bindings-node/.peers"
  mkdir -p .peers
  if ! npm_config_nodedir=/usr npm install --prefix .peers --no-save --no-audit --no-fund --loglevel=error \
      sqlite3@6 sequelize@6 knex@3 typescript@5 @types/node@20 > .peers/install.log 2>&1; then
    echo "run-tests.sh: installing the peers failed (see bindings-node/.peers/install.log); the comparison tests will say so"
  fi
fi

# A test, or a file whose process stays alive after its tests (an open
# handle), fails after 10 minutes instead of holding CI to its limit.
node --test --test-timeout=600000 test/*.test.js test/sqlite3/*.test.js test/orm/*.test.js
