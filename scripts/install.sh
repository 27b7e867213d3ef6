#!/usr/bin/env bash
# Installs liblitepool under PREFIX (default /usr/local):
#   PREFIX/lib/liblitepool.so, PREFIX/lib/liblitepool.a   (release build)
#   PREFIX/include/litepool.h
#   PREFIX/lib/pkgconfig/litepool.pc
# Usage: scripts/install.sh [PREFIX]   (the Makefile's `make install PREFIX=...`)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${1:-/usr/local}
case "$PREFIX" in /*) ;; *) PREFIX="$PWD/$PREFIX" ;; esac
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac

cd "$ROOT"
cargo build --release -p litepool-ffi
VERSION=$(sed -n 's/^#define LITEPOOL_VERSION "\(.*\)"$/\1/p' include/litepool.h)
[ -n "$VERSION" ] || { echo "install: no LITEPOOL_VERSION in include/litepool.h" >&2; exit 1; }

install -d "$PREFIX/lib/pkgconfig" "$PREFIX/include"
install -m 0755 "$TARGET/release/liblitepool.so" "$PREFIX/lib/liblitepool.so"
install -m 0644 "$TARGET/release/liblitepool.a" "$PREFIX/lib/liblitepool.a"
install -m 0644 include/litepool.h "$PREFIX/include/litepool.h"
sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@VERSION@|$VERSION|g" ffi/litepool.pc.in > "$PREFIX/lib/pkgconfig/litepool.pc"
chmod 0644 "$PREFIX/lib/pkgconfig/litepool.pc"
echo "installed litepool $VERSION under $PREFIX"
