#!/usr/bin/env bash
# The C ABI suite (`make test-c`), run from anywhere:
#   1. cargo build -p litepool-ffi (debug)
#   2. checks every function in include/litepool.h is used by a test
#   3. compiles each tests/c/test_*.c with -Wall -Wextra -Wpedantic -Werror
#      against liblitepool.so and runs it
#   4. runs them again under valgrind (0 errors; definitely, indirectly and
#      possibly lost all count — see valgrind.supp for the one std exception).
#      test_threads runs LITEPOOL_VALGRIND_ITERATIONS (default 300) leases per
#      thread there instead of 10,000, and test_tenant_threads
#      LITEPOOL_VALGRIND_TENANT_ITERATIONS (default 100) instead of 1,000:
#      valgrind serialises threads.
#   5. rebuilds them with -fsanitize=address,undefined, linked against
#      liblitepool.a (a static link keeps ASan's runtime first), and runs them
#   6. installs a release build into a temporary PREFIX with
#      scripts/install.sh (checks the SONAME, the .so.X.Y.Z/.so.X/.so links
#      and the rpath guidance), builds examples/c/example.c with pkg-config
#      and an rpath and runs it (no LD_LIBRARY_PATH), then links it
#      statically through `pkg-config --static`
# Exits non-zero on the first failure.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
LIB="$TARGET/debug"
OUT="$TARGET/c-tests"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/litepool-c.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export TMPDIR="$WORK"
mkdir -p "$OUT"

CC=${CC:-cc}
CFLAGS=(-std=c11 -g -O1 -Wall -Wextra -Wpedantic -Werror -I"$ROOT/include" -I"$ROOT/tests/c")
# What a Rust staticlib needs besides itself (rustc --print native-static-libs).
STATIC_LIBS=(-lsqlite3 -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc)
TESTS=()
for src in tests/c/test_*.c; do TESTS+=("$(basename "$src" .c)"); done
VALGRIND_ITERATIONS=${LITEPOOL_VALGRIND_ITERATIONS:-300}
VALGRIND_TENANT_ITERATIONS=${LITEPOOL_VALGRIND_TENANT_ITERATIONS:-100}

step() { printf '\n== %s\n' "$*"; }

step "cargo build -p litepool-ffi"
cargo build -p litepool-ffi

step "every exported function is exercised by a C test"
missing=0
for fn in $(grep -oE '\blitepool_[a-z_]+\(' include/litepool.h | tr -d '(' | sort -u); do
  if ! grep -q "\b$fn(" tests/c/test_*.c; then echo "not tested: $fn"; missing=1; fi
done
[ "$missing" -eq 0 ] || exit 1
echo "ok"

step "compile with -Wall -Wextra -Wpedantic -Werror and run"
for t in "${TESTS[@]}"; do
  "$CC" "${CFLAGS[@]}" "tests/c/$t.c" -L"$LIB" -llitepool -lsqlite3 -lpthread -Wl,-rpath,"$LIB" -o "$OUT/$t"
done
for t in "${TESTS[@]}"; do "$OUT/$t"; done

step "valgrind (leases per thread: test_threads $VALGRIND_ITERATIONS, test_tenant_threads $VALGRIND_TENANT_ITERATIONS)"
for t in "${TESTS[@]}"; do
  args=()
  case "$t" in
    test_threads) args=("$VALGRIND_ITERATIONS") ;;
    test_tenant_threads) args=("$VALGRIND_TENANT_ITERATIONS") ;;
  esac
  valgrind -q --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --suppressions="$ROOT/tests/c/valgrind.supp" \
    "$OUT/$t" "${args[@]}"
done

step "AddressSanitizer + UndefinedBehaviorSanitizer (static liblitepool.a)"
for t in "${TESTS[@]}"; do
  "$CC" "${CFLAGS[@]}" -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
    "tests/c/$t.c" "$LIB/liblitepool.a" "${STATIC_LIBS[@]}" -o "$OUT/$t-asan"
done
for t in "${TESTS[@]}"; do
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 "$OUT/$t-asan"
done

step "make install into a temporary PREFIX: SONAME, symlinks, pkg-config; build examples/c/example.c"
PREFIX="$WORK/prefix"
bash scripts/install.sh "$PREFIX" | tee "$WORK/install.out"
VERSION=$(sed -n 's/^#define LITEPOOL_VERSION "\(.*\)"$/\1/p' include/litepool.h)
SONAME="liblitepool.so.${VERSION%%.*}"
[ -f "$PREFIX/lib/liblitepool.so.$VERSION" ] && [ ! -L "$PREFIX/lib/liblitepool.so.$VERSION" ] ||
  { echo "not a file: liblitepool.so.$VERSION"; exit 1; }
[ "$(readlink "$PREFIX/lib/$SONAME")" = "liblitepool.so.$VERSION" ] || { echo "$SONAME is not a link to liblitepool.so.$VERSION"; exit 1; }
[ "$(readlink "$PREFIX/lib/liblitepool.so")" = "$SONAME" ] || { echo "liblitepool.so is not a link to $SONAME"; exit 1; }
readelf -d "$PREFIX/lib/liblitepool.so.$VERSION" | grep -F "Library soname: [$SONAME]" ||
  { echo "no SONAME $SONAME"; readelf -d "$PREFIX/lib/liblitepool.so.$VERSION"; exit 1; }
grep -qF -- "-Wl,-rpath,$PREFIX/lib" "$WORK/install.out" || { echo "install printed no rpath guidance"; exit 1; }
# Installing again over an installed copy replaces it (links and all).
bash scripts/install.sh "$PREFIX" >/dev/null
[ "$(readlink "$PREFIX/lib/liblitepool.so")" = "$SONAME" ] || { echo "reinstall broke liblitepool.so"; exit 1; }
flags=$(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --cflags --libs litepool)
echo "cc examples/c/example.c $flags -Wl,-rpath,$PREFIX/lib"
# shellcheck disable=SC2086 # pkg-config output is a list of flags
"$CC" -std=c11 -Wall -Wextra -Wpedantic -Werror examples/c/example.c $flags -Wl,-rpath,"$PREFIX/lib" -o "$OUT/example"
# The program records the SONAME, not the development name, and finds it
# through its rpath alone.
readelf -d "$OUT/example" | grep -F "Shared library: [$SONAME]" || { echo "example does not need $SONAME"; exit 1; }
env -u LD_LIBRARY_PATH "$OUT/example" "$WORK/example.db" | tee "$WORK/example.out"
grep -q "user2 used 300" "$WORK/example.out"
grep -q "active=0" "$WORK/example.out"
# A static link through pkg-config --static and the installed archive.
static_flags=$(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --static --cflags --libs-only-other --libs-only-L litepool)
static_libs=$(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --static --libs-only-l litepool | sed 's/-llitepool//')
# shellcheck disable=SC2086
"$CC" -std=c11 examples/c/example.c $static_flags "$PREFIX/lib/liblitepool.a" $static_libs -o "$OUT/example-static"
if readelf -d "$OUT/example-static" | grep -q liblitepool; then echo "static example links liblitepool.so"; exit 1; fi
"$OUT/example-static" "$WORK/example-static.db" | grep -q "user2 used 300"
echo "static link through pkg-config --static: ok"

printf '\nC ABI suite: all passed\n'
