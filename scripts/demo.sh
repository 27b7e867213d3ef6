#!/usr/bin/env bash
# `make demo`: quota-proxy on litepool, under load, with its pool visible.
#
# Builds what it needs (release; seconds when already built), starts the
# service on 127.0.0.1 with a fresh database in a temporary directory,
# creates API keys, drives ~15 s of concurrent load with autocannon while
# the Python report and the C reader read the same database file, prints
# throughput, latency, the pool's stats and health, stops the service with
# SIGTERM and shows it shut down cleanly, then sums up.
#
#   DEMO_SECONDS=15 DEMO_CONNECTIONS=32 bash scripts/demo.sh
# Loopback only; everything it starts is stopped; the temporary directory is
# removed at the end (DEMO_KEEP=1 keeps it, to look at the database). Needs
# only what `make test` needs (no curl: HTTP calls go through node).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SECONDS_OF_LOAD=${DEMO_SECONDS:-15}
CONNECTIONS=${DEMO_CONNECTIONS:-32}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/litepool-demo.XXXXXX")
DB="$WORK/quota.db"
SERVICE_PID=
BACKGROUND=()
cleanup() {
  for pid in "${BACKGROUND[@]}" $SERVICE_PID; do
    kill "$pid" 2>/dev/null || true
  done
  if [ "${DEMO_KEEP:-0}" = 1 ]; then echo "(kept $WORK)"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

bold() { if [ -t 1 ]; then printf '\033[1m%s\033[0m\n' "$*"; else printf '%s\n' "$*"; fi; }
step() { echo; bold "[$1/7] $2"; }
indent() { sed 's/^/    /'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" -v d="${2:-1}" 'BEGIN { printf "%.*f", d, b - a }'; }
# Seconds for people: "40 ms", "8.4 s", "3 min 12 s".
human_secs() {
  awk -v s="$1" 'BEGIN {
    if (s >= 59.95) { r = int(s + 0.5); printf "%d min %d s", r / 60, r % 60 }
    else if (s < 1) printf "%d ms", s * 1000 + 0.5
    else printf "%.1f s", s }'
}

bold "litepool demo: quota-proxy's server on a litepool pool, under load, with its pool visible"
echo "(node $(node --version), $(cargo --version | cut -d' ' -f1-2), $(python3 --version), $(nproc) CPUs; work dir $WORK)"

# ---------------------------------------------------------------------------
step 1 "build what the demo needs (release builds: a few minutes the first time, seconds after)"
t_build=$(now)
# shellcheck source=examples/build-lib.sh
PROFILE=release
source examples/build-lib.sh
echo "    liblitepool (C ABI)      cargo build --release -p litepool-ffi"
build_ffi
echo "    Node addon               bindings-node: napi build --platform --release"
build_node_addon
echo "    Python extension         maturin develop into .venv"
PROFILE=debug build_python
echo "    service packages         examples/quota-proxy: npm ci (express, autocannon)"
install_service_deps
echo "    C reader                 cc examples/c/quota_reader.c -llitepool"
READER=$(build_c_reader)
BUILD_TIME=$(elapsed "$t_build")
echo "    built in $(human_secs "$BUILD_TIME")"
t_demo=$(now)

# ---------------------------------------------------------------------------
step 2 "start the service on loopback with a fresh database"
ADMIN_TOKEN=$(node -e "process.stdout.write(require('crypto').randomBytes(24).toString('hex'))")
export ADMIN_TOKEN
echo "    ADMIN_TOKEN=<random, 48 hex digits> DB_PATH=$DB DB_POOL_MAX=8 HOST=127.0.0.1 PORT=0 node examples/quota-proxy/server.js"
HOST=127.0.0.1 PORT=0 DB_PATH="$DB" DB_POOL_MAX=8 DB_POOL_MIN=2 \
  node examples/quota-proxy/server.js >"$WORK/service.log" 2>&1 &
SERVICE_PID=$!
for _ in $(seq 1 100); do
  grep -q 'listening on' "$WORK/service.log" && break
  kill -0 "$SERVICE_PID" 2>/dev/null || { cat "$WORK/service.log"; echo "the service did not start" >&2; exit 1; }
  sleep 0.1
done
URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$WORK/service.log")
[ -n "$URL" ] || { cat "$WORK/service.log"; echo "the service did not start" >&2; exit 1; }
indent <"$WORK/service.log"
HTTP=(node examples/quota-proxy/scripts/http.js)
echo "    GET /healthz -> $("${HTTP[@]}" GET "$URL/healthz")"

# ---------------------------------------------------------------------------
step 3 "create API keys through the admin API"
KEYS=()
create_key() { # label quota
  "${HTTP[@]}" POST "$URL/admin/keys" "{\"label\": \"$1\", \"total_quota\": $2}" --admin --field key
}
for team in alpha beta gamma delta; do KEYS+=("$(create_key "team-$team" 1000000)"); done
for trial in one two; do KEYS+=("$(create_key "trial-$trial" 500)"); done
echo "    4 keys \"team-*\" with 1,000,000 units each, 2 keys \"trial-*\" with 500 units each"
echo "    (the trial keys run out during the load: from then on the gateway answers 429 for them)"
echo "    POST /admin/keys {\"label\": \"team-alpha\", \"total_quota\": 1000000} -> ${KEYS[0]:0:7}...${KEYS[0]: -4}"

# ---------------------------------------------------------------------------
step 4 "load: ${SECONDS_OF_LOAD} s from ${CONNECTIONS} concurrent connections (autocannon)"
echo "    9 in 10 requests: POST /gateway (x-api-key in turn; quota check + usage row + increment"
echo "    in one write-lane transaction); 1 in 10: GET /admin/usage (reads, concurrently)."
PY_AT=$(( SECONDS_OF_LOAD / 3 )); C_AT=$(( 2 * SECONDS_OF_LOAD / 3 ))
echo "    While it runs, the Python report starts at ${PY_AT} s and the C reader at ${C_AT} s, on the same file."
(sleep "$PY_AT"; "$VENV_PY" examples/python/quota_report.py "$DB" --check >"$WORK/python.out" 2>&1; echo $? >"$WORK/python.rc") &
BACKGROUND+=($!)
(sleep "$C_AT"; "$READER" "$DB" >"$WORK/c.out" 2>&1; echo $? >"$WORK/c.rc") &
BACKGROUND+=($!)
KEY_LIST=$(IFS=,; echo "${KEYS[*]}")
node examples/quota-proxy/scripts/load.js --url "$URL" --keys "$KEY_LIST" --duration "$SECONDS_OF_LOAD" \
  --connections "$CONNECTIONS" --mix mixed --usage-every 10 --json "$WORK/load.json"
wait "${BACKGROUND[@]}" 2>/dev/null || true
BACKGROUND=()

# ---------------------------------------------------------------------------
step 5 "what Python and C read from the same database while the load ran"
echo "    --- examples/python/quota_report.py (litepool for Python), started at ${PY_AT} s, exit $(cat "$WORK/python.rc" 2>/dev/null || echo '?') ---"
indent <"$WORK/python.out"
echo "    --- examples/c/quota_reader (liblitepool, a leased sqlite3 *), started at ${C_AT} s, exit $(cat "$WORK/c.rc" 2>/dev/null || echo '?') ---"
indent <"$WORK/c.out"

# ---------------------------------------------------------------------------
step 6 "the pool after the load"
echo "    GET /admin/db-pool-stats"
"${HTTP[@]}" GET "$URL/admin/db-pool-stats" --admin >"$WORK/pool.json"
node -e "
const { formatCount: n, formatMillis: ms } = require('./examples/quota-proxy/scripts/format');
const s = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));
console.log('      now:      active %d, idle %d, total %d of max %d, waiting %d -> health: %s', s.active, s.idle, s.total, s.max, s.waiting, s.health);
console.log('      counters: %s leases (%s served at once, %s after queueing), %s connections opened,', n(s.acquired), n(s.acquiredDirect), n(s.acquiredWaited), n(s.created));
console.log('                %s acquire timeouts, %s leaks, %s rolled back on return, %s spent waiting in all', n(s.timeouts), n(s.leaks), n(s.rolledBackOnReturn), ms(s.waitTimeMillis));
" "$WORK/pool.json"
echo "      (waiting counts callers queued for a connection or for the write lane; gateway requests queue for the"
echo "      write lane without holding a connection, so \"active\" stays low while writes are serialised)"
echo "    GET /healthz"
echo "      $("${HTTP[@]}" GET "$URL/healthz")"
echo "    GET /metrics (Prometheus text; a few of its lines)"
"${HTTP[@]}" GET "$URL/metrics" | grep -E '^(litepool_connections_(active|idle|max)|litepool_connection_(acquired|timeout)_total|litepool_connection_acquire_seconds_count|quota_proxy_gateway_requests_total)' | sed 's/^/      /'
echo "    the pool monitor: a JSON line every 5 s in $WORK/pool-stats.log (warn when active >= max)"
node -e "
const lines = require('fs').readFileSync(process.argv[1], 'utf8').trim().split('\\n').map(JSON.parse);
const samples = lines.filter((l) => l.event === 'sample');
const warns = samples.filter((l) => l.level === 'warn');
console.log('      %d samples so far, %d warnings%s', samples.length, warns.length, warns.length ? ': ' + warns[0].message : '');
if (samples.length) console.log('      last: %s', JSON.stringify(samples.at(-1)));
" "$WORK/pool-stats.log"

# ---------------------------------------------------------------------------
step 7 "stop the service with SIGTERM"
t_stop=$(now)
kill -TERM "$SERVICE_PID"
set +e
wait "$SERVICE_PID"
SERVICE_RC=$?
set -e
SERVICE_PID=
STOP_TIME=$(elapsed "$t_stop" 2)
sed -n '/SIGTERM received/,$p' "$WORK/service.log" | indent
echo "    exit status $SERVICE_RC after $(human_secs "$STOP_TIME")"
# The final word on the data, from the closed database.
"$VENV_PY" examples/python/quota_report.py "$DB" --json >"$WORK/final.json" 2>"$WORK/final.err" || true
DEMO_TIME=$(elapsed "$t_demo")

# ---------------------------------------------------------------------------
echo
bold "Summary"
"$VENV_PY" - "$WORK/load.json" "$WORK/final.json" "$WORK/pool.json" "$SERVICE_RC" "$BUILD_TIME" "$DEMO_TIME" \
  "$(cat "$WORK/python.rc" 2>/dev/null || echo 1)" "$(cat "$WORK/c.rc" 2>/dev/null || echo 1)" <<'PY'
import json, sys
load_path, final_path, pool_path, service_rc, build_s, demo_s, py_rc, c_rc = sys.argv[1:]


def ms(v):
    """A duration in ms, as scripts/format.js prints it: 0.4 ms, 13 ms, 1.23 s, 7 min 27 s."""
    if v >= 59950:
        r = round(v / 1000)
        return f"{r // 60} min {r % 60} s"
    if v >= 10000:
        return f"{v / 1000:.1f} s"
    if v >= 1000:
        return f"{v / 1000:.2f} s"
    if v >= 10 or float(v).is_integer():
        return f"{round(v)} ms"
    return f"{v:.1f} ms"


def secs(s):
    return ms(float(s) * 1000)


load = json.load(open(load_path))
final = json.load(open(final_path))
pool = json.load(open(pool_path))
codes = load["statusCounts"]
trials = [k for k in final["keys"] if k["label"].startswith("trial-")]
lat = load["latencyMs"]
ok = lambda cond: "yes" if cond else "NO"
print(f"""  - The service (Express on litepool's Node Pool) answered {load['requests']:,} requests in {load['duration']:.1f} s:
    {load['requestsPerSecond']:,} requests/s from {load['connections']} connections; latency p50 {ms(lat['p50'])}, p90 {ms(lat['p90'])}, p99 {ms(lat['p99'])}.
    Status codes: {', '.join(f'{c} x {n:,}' for c, n in sorted(codes.items()))}; socket errors: {load['errors']}.
  - Quotas held under concurrency: each trial key was spent to exactly its quota
    ({', '.join(f"{k['label']} {k['used_quota']}/{k['total_quota']}" for k in trials)}), the rest were refused with 429
    ({sum(k['rejected_429'] for k in final['keys']):,} in all). Every key's used_quota equals its logged successes: {ok(final['consistent'])}.
  - The pool: up to {load['poolPeak']['active']} of {pool['max']} connections leased and {load['poolPeak']['waiting']} callers queued (sampled each second):
    gateway writes queue for the write lane (one writer at a time, first come first served) without
    holding a connection, reads share the rest; {pool['acquired']:,} leases, {pool['created']} connections opened,
    {pool['timeouts']} timeouts, {pool['leaks']} leaks; health "{pool['health']}".
  - Python and C read the same file while the service wrote to it, each from one consistent snapshot:
    Python report exit {py_rc}, C reader exit {c_rc} (0 = consistent).
  - SIGTERM: the HTTP server closed, then the pool; exit status {service_rc} ({'clean' if service_rc == '0' else 'NOT clean'}).
  - Time: build {secs(build_s)}, then the demo itself {secs(demo_s)}.""")
sys.exit(0 if service_rc == "0" and final["consistent"] and py_rc == "0" and c_rc == "0" else 1)
PY

# ---------------------------------------------------------------------------
# The second design note's multi-tenant service: 200 tenants on one pool, under load.
echo
bash examples/tenant-service/scripts/demo.sh
