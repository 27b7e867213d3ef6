# Shared build steps for examples/run-tests.sh, scripts/demo.sh and
# benches/e2e/run.sh (sourced, not run). Each step is incremental: on a
# machine where everything is built it takes seconds. Each returns non-zero
# on failure by itself (callers may test it in an `if`, where `set -e` does
# not apply).
#   PROFILE=debug|release  which cargo profile to build (default: debug)
# Sets ROOT, TARGET (cargo's target dir), LIBDIR (liblitepool's directory),
# VENV_PY (the .venv python with litepool installed) and NODE_DEBUG_ADDON
# (where a debug build of the Node addon goes; see build_node_addon).

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PROFILE=${PROFILE:-debug}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
LIBDIR="$TARGET/$PROFILE"
VENV_PY="$ROOT/.venv/bin/python"
CC=${CC:-cc}

_cargo_profile_flag() { [ "$PROFILE" = release ] && echo --release || true; }

# liblitepool (the C ABI), into $LIBDIR.
build_ffi() {
  (cd "$ROOT" && cargo build -q $(_cargo_profile_flag) -p litepool-ffi)
}

# npm ci in DIR when its node_modules is missing or older than its lock file.
# The lock files are complete for npm 11 (optional platform packages
# included), so `npm ci` succeeds as is and never rewrites them; it is the
# only install command the scripts use (`npm install` would rewrite a lock
# file written by another npm version and leave the tree dirty).
# Its report ("added 67 packages") and lifecycle banners go to a log shown
# only on failure.
npm_ci_if_needed() { # DIR
  (
    cd "$1" || exit 1
    if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
      log=$(mktemp "${TMPDIR:-/tmp}/litepool-npm.XXXXXX")
      if ! npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
        echo "npm ci failed in $1:" >&2
        cat "$log" >&2
        rm -f "$log"
        exit 1
      fi
      rm -f "$log"
    fi
  )
}

# The Node addon: its npm packages (@napi-rs/cli), then napi build.
# Release (PROFILE=release, for `make demo`, `npm pack` and benchmarks)
# writes bindings-node/litepool.linux-x64-gnu.node, the file the package
# ships and `require('litepool')` loads by default. Debug (`make test`)
# writes $NODE_DEBUG_ADDON under cargo's target directory instead, outside
# the package (so `npm pack` never sees it and neither build overwrites the
# other); callers point the loader at it with NAPI_RS_NATIVE_LIBRARY_PATH,
# which build_node_addon exports for PROFILE=debug. napi also regenerates
# the loader index.js and index.d.ts: the debug build writes them beside its
# addon and copies them into bindings-node/ when they differ, so a change to
# the binding's API updates the committed files as it did before.
NODE_DEBUG_DIR="$TARGET/napi-debug"
NODE_DEBUG_ADDON="$NODE_DEBUG_DIR/litepool.linux-x64-gnu.node"
build_node_addon() {
  npm_ci_if_needed "$ROOT/bindings-node" || return 1
  # napi prints cargo's progress on stderr: keep it for a failure only.
  local log
  log=$(mktemp "${TMPDIR:-/tmp}/litepool-napi.XXXXXX")
  if ! (
    cd "$ROOT/bindings-node" || exit 1
    if [ "$PROFILE" = release ]; then
      npx napi build --platform --release || exit 1
    else
      npx napi build --platform --output-dir "$NODE_DEBUG_DIR" || exit 1
      for f in index.js index.d.ts; do
        cmp -s "$NODE_DEBUG_DIR/$f" "$f" || cp "$NODE_DEBUG_DIR/$f" "$f" || exit 1
      done
    fi
  ) >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
  if [ "$PROFILE" != release ]; then export NAPI_RS_NATIVE_LIBRARY_PATH="$NODE_DEBUG_ADDON"; fi
}

# The Python extension into the repo's .venv (as bindings-python/run-tests.sh
# does: maturin develop; the release profile for PROFILE=release).
build_python() {
  if [ ! -x "$VENV_PY" ]; then
    python3 -m venv "$ROOT/.venv" || return 1
  fi
  "$VENV_PY" -m pip install --quiet --disable-pip-version-check 'maturin>=1.9,<2' 'pytest>=8' || return 1
  local flag=
  [ "$PROFILE" = release ] && flag=--release
  # maturin reports its progress on stderr even with --quiet: keep it for a
  # failure, print nothing on success.
  local log
  log=$(mktemp "${TMPDIR:-/tmp}/litepool-maturin.XXXXXX")
  if ! (cd "$ROOT" && VIRTUAL_ENV="$ROOT/.venv" PATH="$ROOT/.venv/bin:$PATH" \
    maturin develop --quiet $flag --manifest-path bindings-python/Cargo.toml >"$log" 2>&1); then
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

# express and autocannon for the service, in examples/quota-proxy/node_modules.
install_service_deps() {
  npm_ci_if_needed "$ROOT/examples/quota-proxy"
}

# express for the tenant service, in examples/tenant-service/node_modules.
install_tenant_service_deps() {
  (
    cd "$ROOT/examples/tenant-service"
    if [ ! -d node_modules/express ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
      npm ci --no-audit --no-fund --loglevel=error || exit 1
    fi
  )
}

# examples/c/quota_reader against liblitepool in $LIBDIR; prints its path.
build_c_reader() {
  local out="$TARGET/examples/quota_reader-$PROFILE"
  mkdir -p "$TARGET/examples"
  "$CC" -std=c11 -O2 -g -Wall -Wextra -Wpedantic -Werror -I"$ROOT/include" "$ROOT/examples/c/quota_reader.c" \
    -L"$LIBDIR" -llitepool -lsqlite3 -Wl,-rpath,"$LIBDIR" -o "$out" || return 1
  echo "$out"
}
