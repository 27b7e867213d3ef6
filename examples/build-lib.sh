# Shared build steps for examples/run-tests.sh, scripts/demo.sh and
# benches/e2e/run.sh (sourced, not run). Each step is incremental: on a
# machine where everything is built it takes seconds. Each returns non-zero
# on failure by itself (callers may test it in an `if`, where `set -e` does
# not apply).
#   PROFILE=debug|release  which cargo profile to build (default: debug)
# Sets ROOT, TARGET (cargo's target dir), LIBDIR (liblitepool's directory)
# and VENV_PY (the .venv python with litepool installed).

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

# The Node addon, in bindings-node/ (its own npm ci and napi build).
build_node_addon() {
  (
    cd "$ROOT/bindings-node"
    if [ ! -x node_modules/.bin/napi ]; then
      # If bindings-node's lock file is out of step with its package.json,
      # npm ci refuses; install from package.json then, leaving the lock file alone.
      npm ci --no-audit --no-fund --loglevel=error ||
        { echo "build-lib: npm ci failed in bindings-node; retrying with npm install --no-package-lock" >&2
          npm install --no-audit --no-fund --loglevel=error --no-package-lock; } || exit 1
    fi
    if [ "$PROFILE" = release ]; then
      npx napi build --platform --release >/dev/null || exit 1
    else
      npx napi build --platform >/dev/null || exit 1
    fi
  )
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
  (cd "$ROOT" && VIRTUAL_ENV="$ROOT/.venv" PATH="$ROOT/.venv/bin:$PATH" \
    maturin develop --quiet $flag --manifest-path bindings-python/Cargo.toml >/dev/null) || return 1
}

# express and autocannon for the service, in examples/quota-proxy/node_modules.
install_service_deps() {
  (
    cd "$ROOT/examples/quota-proxy"
    if [ ! -d node_modules/express ] || [ ! -d node_modules/autocannon ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
      npm ci --no-audit --no-fund --loglevel=error || exit 1
    fi
  )
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
