#!/usr/bin/env bash
# `make test-readme`: runs every runnable block of README.md and
# pool-core/README.md (scripts/check-readme.py) after the builds those
# READMEs tell a new user to do:
#   - the Python extension in .venv (maturin develop, as bindings-python/run-tests.sh)
#   - the Node addon in release (`npx napi build --platform --release`)
#   - `make install PREFIX=$HOME/.local` is itself a runnable block (into a
#     temporary HOME), so the C quick start links against an installed copy
# First it checks the checker: a README whose Python block has a top-level
# `async with` (a SyntaxError), one that writes to stderr, and one lacking a
# required language must each fail, with the reason.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/litepool-readme-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PROFILE=release
# shellcheck source=examples/build-lib.sh
source examples/build-lib.sh
# The README's Node block must load what `npm pack` ships, not a debug build.
unset NAPI_RS_NATIVE_LIBRARY_PATH

echo "== build: Python extension (.venv), Node addon (release)"
PROFILE=debug build_python
build_node_addon

echo "== the checker fails on broken blocks"
expect_failure() { # NAME PATTERN [checker args...]
  local name=$1 pattern=$2
  shift 2
  if python3 scripts/check-readme.py "$@" >"$WORK/$name.out" 2>&1; then
    echo "check-readme passed on $name:"; cat "$WORK/$name.out"; exit 1
  fi
  grep -qE "$pattern" "$WORK/$name.out" || { echo "check-readme failed on $name without saying $pattern:"; cat "$WORK/$name.out"; exit 1; }
  echo "ok: $name fails ($(grep -oE "$pattern" "$WORK/$name.out" | head -1))"
}
fence='```'
printf '## Python\n<!-- runnable -->\n%spython\nimport litepool\nasync with litepool.Pool(":memory:").aconnection() as conn:\n    pass\n%s\n' "$fence" "$fence" >"$WORK/syntax.md"
expect_failure syntax 'SyntaxError' "$WORK/syntax.md"
printf '## Node\n<!-- runnable -->\n%sjs\nconsole.error("warning: something");\n%s\n' "$fence" "$fence" >"$WORK/stderr.md"
expect_failure stderr 'text on stderr' "$WORK/stderr.md"
printf '## Rust\n%srust\nfn main() {}\n%s\n' "$fence" "$fence" >"$WORK/unmarked.md"
expect_failure unmarked 'no runnable block for rust' --require rust "$WORK/unmarked.md"
printf '## C\n<!-- runnable -->\n%sc\nint main(void) { return 0; }\n%s\n' "$fence" "$fence" >"$WORK/c-unbuilt.md"
expect_failure c-unbuilt 'no sh block that builds it' "$WORK/c-unbuilt.md"

echo "== README.md and pool-core/README.md"
python3 scripts/check-readme.py --require rust,python,js,c README.md
python3 scripts/check-readme.py --require rust pool-core/README.md
