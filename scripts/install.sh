#!/usr/bin/env bash
# `make install PREFIX=...`: installs liblitepool (release build) under PREFIX
# (default /usr/local):
#   PREFIX/lib/liblitepool.so.X.Y.Z        the library, SONAME liblitepool.so.X
#   PREFIX/lib/liblitepool.so.X  -> liblitepool.so.X.Y.Z   what the loader looks up
#   PREFIX/lib/liblitepool.so    -> liblitepool.so.X       what -llitepool links
#   PREFIX/lib/liblitepool.a
#   PREFIX/include/litepool.h
#   PREFIX/lib/pkgconfig/litepool.pc
# Then, for a system prefix (/usr or /usr/local, whose lib directories the
# loader already searches) it runs ldconfig when root (otherwise it says to
# run `sudo ldconfig`); for any other prefix it prints how to link so the
# program finds the library at run time (rpath, or LD_LIBRARY_PATH).
#
# Usage: scripts/install.sh [PREFIX]
# Environment: DESTDIR stages the install under DESTDIR/PREFIX (for
# packaging: nothing is run then, and litepool.pc still says PREFIX);
# CARGO_TARGET_DIR as for cargo.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${1:-/usr/local}
case "$PREFIX" in /*) ;; *) PREFIX="$PWD/$PREFIX" ;; esac
PREFIX=${PREFIX%/}
[ -n "$PREFIX" ] || { echo "install: PREFIX must not be /" >&2; exit 2; }
DESTDIR=${DESTDIR:-}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac

cd "$ROOT"
cargo build -q --release -p litepool-ffi
VERSION=$(sed -n 's/^#define LITEPOOL_VERSION "\(.*\)"$/\1/p' include/litepool.h)
[ -n "$VERSION" ] || { echo "install: no LITEPOOL_VERSION in include/litepool.h" >&2; exit 1; }
MAJOR=${VERSION%%.*}
SONAME="liblitepool.so.$MAJOR"
REAL="liblitepool.so.$VERSION"
SO="$TARGET/release/liblitepool.so"

# The library must carry the SONAME its symlink is named after (ffi/build.rs
# sets it); otherwise programs would record the unversioned name.
if command -v readelf >/dev/null; then
  got=$(readelf -d "$SO" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  [ "$got" = "$SONAME" ] || { echo "install: $SO has SONAME '${got:-none}', expected $SONAME" >&2; exit 1; }
fi

LIB="$DESTDIR$PREFIX/lib"
install -d "$LIB/pkgconfig" "$DESTDIR$PREFIX/include"
rm -f "$LIB/liblitepool.so" "$LIB/$SONAME" # replace links (or an older plain file)
install -m 0755 "$SO" "$LIB/$REAL"
ln -s "$REAL" "$LIB/$SONAME"
ln -s "$SONAME" "$LIB/liblitepool.so"
install -m 0644 "$TARGET/release/liblitepool.a" "$LIB/liblitepool.a"
install -m 0644 include/litepool.h "$DESTDIR$PREFIX/include/litepool.h"
sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@VERSION@|$VERSION|g" ffi/litepool.pc.in >"$LIB/pkgconfig/litepool.pc"
chmod 0644 "$LIB/pkgconfig/litepool.pc"
echo "installed litepool $VERSION under $DESTDIR$PREFIX ($REAL, $SONAME, liblitepool.so, liblitepool.a, litepool.h, litepool.pc)"

if [ -n "$DESTDIR" ]; then
  exit 0
fi
case "$PREFIX" in
  /usr | /usr/local)
    # The loader searches PREFIX/lib already; ldconfig refreshes its cache
    # (and would create the SONAME link, had we not).
    if [ "$(id -u)" -eq 0 ] && command -v ldconfig >/dev/null; then
      ldconfig
      echo "ran ldconfig: programs find $SONAME without further flags"
    else
      echo "run 'sudo ldconfig' so the loader's cache lists $SONAME"
    fi
    ;;
  *)
    cat <<EOF
$PREFIX/lib is not on the loader's search path. Build programs with an rpath,
  cc app.c \$(PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig pkg-config --cflags --libs litepool) -Wl,-rpath,$PREFIX/lib
or run them with LD_LIBRARY_PATH=$PREFIX/lib.
EOF
    ;;
esac
