#!/usr/bin/env bash
# The examples' suites (`make test-examples`), run from anywhere:
#   1. builds what they need (debug): liblitepool, the Node addon, the Python
#      extension in .venv, the service's npm packages, the C reader
#   2. examples/quota-proxy: node --test (every endpoint, auth, bad input,
#      no over-spend under 200 concurrent requests, graceful SIGTERM, the
#      Python report and C reader on the live database, the pool monitor,
#      and the Prometheus alert rules: promtool check/test rules, fetched by
#      scripts/promtool.sh, and their metrics against a live /metrics)
#   3. examples/tenant-service: node --test (every endpoint and error code,
#      isolation of 200 tenants on one pool under 20 concurrent clients,
#      SIGTERM under load)
#   4. examples/python: pytest for quota_report.py
#   5. examples/c: test_quota_reader.sh (exact output, valgrind, a writer
#      in another process)
# Prints "examples: N passed, M failed" (tests) and exits non-zero on any failure.
# EXAMPLES_SKIP_BUILD=1 skips step 1 (to rerun the suites on what is built).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=examples/build-lib.sh
source examples/build-lib.sh
WORK=$(mktemp -d "${TMPDIR:-/tmp}/litepool-examples.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
step() { printf '\n== %s\n' "$*"; }

build_all() {
  build_ffi && build_node_addon && build_python && install_service_deps && install_tenant_service_deps &&
    build_c_reader >/dev/null
}
step "build (debug): liblitepool, Node addon, Python extension, service packages, C reader"
if [ "${EXAMPLES_SKIP_BUILD:-0}" = 1 ]; then
  echo "skipped (EXAMPLES_SKIP_BUILD=1): using what is built"
elif ! build_all; then
  echo
  echo "examples: 0 passed, 1 failed (the build failed; see above)"
  exit 1
fi
READER="$TARGET/examples/quota_reader-$PROFILE"
# The debug Node addon (build_node_addon puts it apart from the release one).
[ "$PROFILE" = release ] || export NAPI_RS_NATIVE_LIBRARY_PATH="$NODE_DEBUG_ADDON"
[ -x "$READER" ] || READER=$(build_c_reader)
echo "ok"

passed=0
failed=0
count() { # count PASSED FAILED SUITE_EXIT_CODE
  passed=$((passed + $1))
  failed=$((failed + $2))
  # A suite that failed without reporting a failed test (a crash) counts as one.
  if [ "$3" -ne 0 ] && [ "$2" -eq 0 ]; then failed=$((failed + 1)); fi
}

step "examples/quota-proxy: node --test"
# promtool for the alert rules' checks (test/80.alerts.test.js); without one
# that test is skipped, which counts as a failure below.
PROMTOOL=$(bash examples/quota-proxy/scripts/promtool.sh) || PROMTOOL=
(cd examples/quota-proxy && PROMTOOL="$PROMTOOL" QUOTA_REPORT_PYTHON="$VENV_PY" QUOTA_READER="$READER" \
  node --test --test-timeout=600000 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$WORK/node.tap" test/*.test.js)
rc=$?
count "$(sed -n 's/^# pass //p' "$WORK/node.tap" | tail -1)" "$(sed -n 's/^# fail //p' "$WORK/node.tap" | tail -1)" "$rc"
skipped=$(sed -n 's/^# skipped //p' "$WORK/node.tap" | tail -1)
if [ "${skipped:-0}" -ne 0 ]; then echo "examples: $skipped node test(s) skipped"; failed=$((failed + skipped)); fi

step "examples/tenant-service: node --test"
(cd examples/tenant-service && node --test --test-timeout=600000 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$WORK/tenant.tap" test/*.test.js)
rc=$?
count "$(sed -n 's/^# pass //p' "$WORK/tenant.tap" | tail -1)" "$(sed -n 's/^# fail //p' "$WORK/tenant.tap" | tail -1)" "$rc"
skipped=$(sed -n 's/^# skipped //p' "$WORK/tenant.tap" | tail -1)
if [ "${skipped:-0}" -ne 0 ]; then echo "examples: $skipped tenant-service test(s) skipped"; failed=$((failed + skipped)); fi

step "examples/python: pytest"
"$VENV_PY" -m pytest -q -p no:cacheprovider examples/python 2>&1 | tee "$WORK/pytest.out"
rc=${PIPESTATUS[0]}
summary=$(tail -1 "$WORK/pytest.out")
p=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
f=$(grep -oE '[0-9]+ (failed|errors?)' <<<"$summary" | awk '{ s += $1 } END { print s + 0 }')
count "${p:-0}" "${f:-0}" "$rc"

step "examples/c: test_quota_reader.sh"
PYTHON="$VENV_PY" bash examples/c/test_quota_reader.sh "$READER" 2>&1 | tee "$WORK/c.out"
rc=${PIPESTATUS[0]}
count "$(grep -c '^ok ' "$WORK/c.out")" "$(grep -c '^not ok' "$WORK/c.out")" "$rc"

echo
echo "examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
