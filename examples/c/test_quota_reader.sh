#!/usr/bin/env bash
# Tests examples/c/quota_reader: exact output on a seeded database, the
# consistency check, bad databases, a run under valgrind, and reads while
# another process keeps writing.
# Usage: test_quota_reader.sh path/to/quota_reader   (PYTHON seeds the database;
# default: the repo's .venv python, else python3 — only its stdlib sqlite3 is used)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
READER=${1:?usage: test_quota_reader.sh path/to/quota_reader}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
WORK=$(mktemp -d "${TMPDIR:-/tmp}/quota-reader-test.XXXXXX")
WRITER_PID=
cleanup() {
  if [ -n "$WRITER_PID" ]; then kill "$WRITER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
DB="$WORK/quota.db"
passed=0
ok() { passed=$((passed + 1)); echo "ok $passed - $*"; }
fail() { echo "not ok - $*" >&2; exit 1; }

# The service's own schema (examples/quota-proxy/lib/schema.js), three keys
# and their usage, written by a separate process with Python's sqlite3.
"$PYTHON" - "$DB" "$ROOT/examples/quota-proxy/lib/schema.js" <<'PY'
import re, sqlite3, sys
db, schema_js = sys.argv[1], sys.argv[2]
schema = re.search(r"const SCHEMA = `(.*?)`;", open(schema_js).read(), re.S).group(1)
c = sqlite3.connect(db)
c.execute("PRAGMA journal_mode=WAL")
c.executescript(schema)
for key, label, quota in [("sk-alpha-000000000001", "alpha", 10), ("sk-beta-0000000000002", "beta", 3), ("short", "", 5)]:
    c.execute("INSERT INTO api_keys (key, label, total_quota, used_quota, created_at) VALUES (?, ?, ?, 0, 0)", (key, label, quota))
def spend(key, status):
    c.execute("INSERT INTO usage_log (api_key, endpoint, timestamp, response_time, status_code) VALUES (?, '/v1/x', 0, 1.0, ?)", (key, status))
    if status == 200:
        c.execute("UPDATE api_keys SET used_quota = used_quota + 1 WHERE key = ?", (key,))
for _ in range(6): spend("sk-alpha-000000000001", 200)
for _ in range(3): spend("sk-beta-0000000000002", 200)
for _ in range(2): spend("sk-beta-0000000000002", 429)
c.commit()
c.close()
PY

out=$("$READER" "$DB") || fail "reader exited $? on a consistent database"
grep -Eq '^sk-alph\.\.\.0001 +alpha +10 +6 +6 +6$' <<<"$out" || fail "alpha row: $out"
grep -Eq '^sk-beta\.\.\.0002 +beta +3 +3 +3 +5$' <<<"$out" || fail "beta row: $out"
grep -Eq '^short +- +5 +0 +0 +0$' <<<"$out" || fail "short key row: $out"
grep -q '^totals: 3 keys, 9 units used, 9 ok rows, 11 requests logged$' <<<"$out" || fail "totals: $out"
grep -q '^consistency: ok$' <<<"$out" || fail "consistency line: $out"
grep -Eq "^reader's pool: active=0 idle=[01] total=[01] max=2 acquired=1 health=healthy$" <<<"$out" || fail "pool line: $out"
if grep -q 'sk-alpha-000000000001' <<<"$out"; then fail "a full key was printed"; fi
ok "exact per-key rows, totals, consistency and pool stats"

if command -v valgrind >/dev/null; then
  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    "$READER" "$DB" >"$WORK/valgrind.out" 2>&1 || fail "valgrind: $(cat "$WORK/valgrind.out")"
  ok "valgrind: no errors, no definite or indirect leaks"
else
  echo "# valgrind not installed: skipped the valgrind run (make deps installs it)"
fi

# Reads while another process keeps running gateway-style transactions.
"$PYTHON" - "$DB" <<'PY' &
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)
while True:
    c.execute("BEGIN IMMEDIATE")
    c.execute("INSERT INTO usage_log (api_key, endpoint, timestamp, response_time, status_code) VALUES ('sk-alpha-000000000001', '/v1/y', 0, 1.0, 200)")
    c.execute("UPDATE api_keys SET total_quota = total_quota + 1, used_quota = used_quota + 1 WHERE key = 'sk-alpha-000000000001'")
    c.execute("COMMIT")
PY
WRITER_PID=$!
sleep 0.5
last=0
for i in 1 2 3 4 5; do
  out=$("$READER" "$DB") || fail "reader exited $? while a writer runs: $out"
  grep -q '^consistency: ok$' <<<"$out" || fail "inconsistent snapshot while a writer runs: $out"
  used=$(sed -nE 's/^sk-alph\.\.\.0001 +alpha +[0-9]+ +([0-9]+) .*/\1/p' <<<"$out")
  [ "$used" -ge "$last" ] || fail "used went backwards: $last then $used"
  last=$used
  sleep 0.2
done
kill "$WRITER_PID"; wait "$WRITER_PID" 2>/dev/null || true; WRITER_PID=
[ "$last" -gt 6 ] || fail "the reader never saw the writer's rows (used=$last)"
ok "five consistent snapshots while another process writes (alpha used reached $last)"

"$PYTHON" - "$DB" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE api_keys SET used_quota = 2 WHERE key = 'short'")  # no usage rows for it
c.commit()
PY
set +e
out=$("$READER" "$DB" 2>"$WORK/err"); rc=$?
set -e
[ "$rc" -eq 1 ] || fail "expected exit 1 on an inconsistent database, got $rc"
grep -q '^consistency: FAILED (1 problems)$' <<<"$out" || fail "FAILED line: $out"
grep -q 'short: used_quota 2 but 0 successful requests logged' "$WORK/err" || fail "problem message: $(cat "$WORK/err")"
ok "exit 1 and a message naming the key when used_quota and the log disagree"

set +e
"$READER" "$WORK/missing.db" >/dev/null 2>"$WORK/err"; rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q 'no database at' "$WORK/err" || fail "missing database: rc=$rc $(cat "$WORK/err")"
[ ! -e "$WORK/missing.db" ] || fail "the reader created the missing database"
ok "exit 2 on a missing database, which it does not create"

"$PYTHON" -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('CREATE TABLE t (x)'); c.commit()" "$WORK/other.db"
set +e
"$READER" "$WORK/other.db" >/dev/null 2>"$WORK/err"; rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q 'not a quota-proxy database' "$WORK/err" || fail "other database: rc=$rc $(cat "$WORK/err")"
ok "exit 2 on a database that is not quota-proxy's"

set +e
"$READER" >/dev/null 2>"$WORK/err"; rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q '^usage:' "$WORK/err" || fail "no arguments: rc=$rc"
ok "usage message without arguments"

echo "quota_reader: $passed passed"
