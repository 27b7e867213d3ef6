#!/usr/bin/env node
'use strict';
// The multi-tenant part of `make demo` (run by scripts/demo.sh, which builds
// first): provisions 200 tenants in a temporary directory, starts the service
// on one shared pool (the design note's defaults: max 30, min 5), shows a few
// requests, drives concurrent load at random tenants while printing the pool,
// then shows requests/s, latency, the pool's and the per-tenant stats,
// health and metrics, stops the service with SIGTERM and sums up.
//
//   TENANT_DEMO_SECONDS=6 TENANT_DEMO_CLIENTS=20 TENANT_DEMO_TENANTS=200 node scripts/demo.js
//
// Loopback only; the service is stopped and the directory removed at the end
// (TENANT_DEMO_KEEP=1 keeps it). Exits non-zero if any check fails: a row of
// another tenant, a token accepted on the wrong tenant's host, a 5xx, stats
// that do not add up, or an unclean shutdown.
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { provision } = require('./provision');
const { runLoad, checkTenantStats } = require('./load');

const SERVER = path.join(__dirname, '..', 'server.js');
const SECONDS = Number(process.env.TENANT_DEMO_SECONDS || 6);
const CLIENTS = Number(process.env.TENANT_DEMO_CLIENTS || 20);
const TENANTS = Number(process.env.TENANT_DEMO_TENANTS || 200);
const DOMAIN = 'localhost';
const ADMIN_TOKEN = crypto.randomBytes(24).toString('hex');

const tty = process.stdout.isTTY;
const bold = (s) => (tty ? `\u001b[1m${s}\u001b[0m` : s);
const say = (s = '') => console.log(s);
const indent = (text, n = 4) => text.split('\n').filter(Boolean).map((l) => ' '.repeat(n) + l).join('\n');
let stepNo = 0;
const step = (title) => say(`\n${bold(`[tenants ${(stepNo += 1)}/6] ${title}`)}`);
const fmt = (n) => Number(n).toLocaleString('en-US');

function get(port, urlPath, { host = DOMAIN, token } = {}) {
  return new Promise((resolve, reject) => {
    const headers = { host };
    if (token) headers.authorization = `Bearer ${token}`;
    http
      .get({ host: '127.0.0.1', port, path: urlPath, headers, agent: false }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, text, body: (() => { try { return JSON.parse(text); } catch { return undefined; } })() }));
      })
      .on('error', reject);
  });
}

function startServer(env) {
  const child = spawn(process.execPath, [SERVER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const service = { child, log: '', exited: new Promise((r) => child.on('exit', (code, signal) => r({ code, signal }))) };
  child.stdout.on('data', (d) => (service.log += d));
  child.stderr.on('data', (d) => (service.log += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the service did not start:\n${service.log}`)), 20000);
    child.stdout.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(service.log);
      if (m && !service.url) {
        clearTimeout(timer);
        service.url = m[1];
        service.port = Number(new URL(m[1]).port);
        resolve(service);
      }
    });
    child.on('exit', () => reject(new Error(`the service exited before listening:\n${service.log}`)));
  });
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'litepool-tenant-demo-'));
  const dbPath = path.join(work, 'main.db');
  let service;
  try {
    say(bold(`litepool demo, multi-tenant: the second design note's service, ${TENANTS} tenants on one shared pool`));

    step(`provision ${TENANTS} tenant databases and the tenant registry`);
    let t = Date.now();
    const { tenants, tokensPath } = await provision({ dbPath, tenants: TENANTS, users: 3, products: 6, orders: 2 });
    say(`    node scripts/provision.js --db ${dbPath} --tenants ${TENANTS} --users 3 --products 6 --orders 2`);
    say(`    ${TENANTS} SQLite files tenants/k001.db … in ${Date.now() - t} ms; registry table "tenants" in main.db;`);
    say(`    3 users each (tokens stored hashed; the demo tokens are in ${path.basename(tokensPath)}), 6 products, 2 orders`);

    step('start the service: one litepool Pool for every tenant (DB_POOL_* unset: the note\'s max 30, min 5, 30 s, 10 s)');
    service = await startServer({
      PATH: process.env.PATH,
      ADMIN_TOKEN,
      DB_PATH: dbPath,
      HOST: '127.0.0.1',
      PORT: '0',
      TENANT_DOMAIN: DOMAIN,
    });
    say(indent(service.log.trim()));
    const k001 = tenants[0];
    const k002 = tenants[1];
    const show = async (label, urlPath, opts) => {
      const r = await get(service.port, urlPath, opts);
      const text = r.text.length > 150 ? `${r.text.slice(0, 150)}…` : r.text;
      say(`    ${label.padEnd(54)} -> ${r.status} ${text}`);
      return r;
    };
    await show(`GET /api/me  Host: k001.${DOMAIN}, k001's token`, '/api/me', { host: `k001.${DOMAIN}`, token: k001.users[1].token });
    await show(`GET /api/me  Host: k002.${DOMAIN}, k001's token`, '/api/me', { host: `k002.${DOMAIN}`, token: k001.users[1].token });
    await show(`GET /api/me  Host: k999.${DOMAIN}`, '/api/me', { host: `k999.${DOMAIN}`, token: k002.users[0].token });
    await show('GET /healthz', '/healthz');

    step(`load: ${SECONDS} s from ${CLIENTS} concurrent clients, each request to a random tenant of ${TENANTS}`);
    say('    GET /api/me, /api/users, /api/products, /api/orders; POST /api/orders (a write transaction on the tenant\'s');
    say('    file); a token of another tenant (must be 401); an unknown tenant (must be 404). Every answer is checked.');
    const before = (await get(service.port, '/admin/db-pool-stats', { token: ADMIN_TOKEN })).body;
    let peakActive = 0;
    let peakWaiting = 0;
    const summary = await runLoad({
      url: service.url,
      tokens: { tenants },
      domain: DOMAIN,
      clients: CLIENTS,
      durationMs: SECONDS * 1000,
      onTick: async ({ elapsed, done, rate }) => {
        const s = (await get(service.port, '/admin/db-pool-stats', { token: ADMIN_TOKEN }).catch(() => ({}))).body;
        if (!s) return;
        peakActive = Math.max(peakActive, s.active);
        peakWaiting = Math.max(peakWaiting, s.waiting);
        say(
          `    load ${String(Math.min(elapsed, SECONDS)).padStart(2)}/${SECONDS} s | ${String(rate).padStart(5)} req/s | ${String(done).padStart(6)} done` +
            ` | pool active ${s.active}/${s.max} idle ${s.idle} waiting ${s.waiting} (${s.health}) | attaches ${fmt(s.tenantTotals.attaches)}`,
        );
      },
    });
    const after = (await get(service.port, '/admin/db-pool-stats', { token: ADMIN_TOKEN })).body;
    const check = checkTenantStats(summary, before, after);
    const lat = summary.latencyMs;
    const f = summary.failures;
    say(`    ${fmt(summary.requests)} requests in ${summary.durationSec} s = ${fmt(summary.requestsPerSecond)} req/s; latency p50 ${lat.p50} ms, p90 ${lat.p90} ms, p99 ${lat.p99} ms, max ${lat.max} ms`);
    say(`    status codes: ${Object.entries(summary.statusCounts).map(([c, n]) => `${c} x ${fmt(n)}`).join(', ')}`);

    step('the pool and the tenants after the load (GET /admin/db-pool-stats, /healthz, /metrics)');
    say(`    pool now:   active ${after.active}, idle ${after.idle}, total ${after.total} of max ${after.max} (min ${after.min}), waiting ${after.waiting} -> ${after.health}`);
    say(`    counters:   ${fmt(after.acquired)} leases (${fmt(after.acquiredWaited)} after queueing), ${after.created} connections opened, ${after.timeouts} timeouts, ${after.leaks} leaks`);
    const tt = after.tenantTotals;
    const hits = tt.affinityHits - before.tenantTotals.affinityHits;
    const leases = tt.acquired - before.tenantTotals.acquired;
    say(`    tenants:    ${after.tenantCounts.active} active; during the load ${fmt(leases)} tenant leases, ${fmt(hits)} of them (${Math.round((100 * hits) / Math.max(1, leases))} %) on a`);
    say(`                connection that had the tenant attached already; ${fmt(tt.attaches - before.tenantTotals.attaches)} attaches, ${fmt(tt.detaches - before.tenantTotals.detaches)} detaches (SQLite allows 10 per connection)`);
    const top = [...after.tenants].sort((a, b) => b.requests - a.requests).slice(0, 5);
    say('    busiest tenants (requests served; the pool\'s leases, attaches, affinity hits for it):');
    for (const x of top) say(`      ${x.code}: ${x.requests} requests, ${x.acquired} leases, ${x.attaches} attaches, ${x.affinityHits} affinity hits`);
    say(`    per-tenant stats vs the load: ${fmt(check.requests)} requests and ${fmt(check.leases)} leases over ${check.tenantsHit} tenants; ` +
      `mismatching tenants: ${check.requestMismatches.length} (requests), ${check.leaseMismatches.length} (leases)`);
    const health = (await get(service.port, '/healthz')).body;
    say(`    GET /healthz -> ok ${health.ok}, query ${health.database.latencyMs} ms, connections ${JSON.stringify(health.database.connections)}, ${health.database.health}`);
    const metrics = (await get(service.port, '/metrics')).text;
    say('    GET /metrics (a few of its lines):');
    say(indent(metrics.split('\n').filter((l) => /^(litepool_connections_(active|max)|litepool_tenants|litepool_tenant_(attach|detach|affinity_hits)_total|tenant_service_tenant_resolutions_total|tenant_service_auth_total)/.test(l)).join('\n'), 6));

    step('stop the service with SIGTERM');
    const stopAt = Date.now();
    service.child.kill('SIGTERM');
    const exit = await service.exited;
    const logTail = service.log.slice(service.log.indexOf('SIGTERM received'));
    say(indent(logTail.trim().replace(/^tenant-service: /gm, 'tenant-service: ')));
    say(`    exit status ${exit.code} after ${((Date.now() - stopAt) / 1000).toFixed(2)} s`);
    const clean = exit.code === 0;
    service = undefined;

    step('summary');
    const ok = (cond) => (cond ? 'yes' : 'NO');
    const isolated = f.crossTenantRows === 0 && f.wrongTenantAuthSuccesses === 0;
    const addsUp = check.requestMismatches.length === 0 && check.leaseMismatches.length === 0;
    const fine = f.serverErrors === 0 && f.unexpected === 0 && f.socketErrors === 0;
    say(`  - ${TENANTS} tenants, one pool of at most ${after.max} connections: ${fmt(summary.requestsPerSecond)} requests/s from ${CLIENTS} clients, p99 ${lat.p99} ms`);
    say(`    (pool peak, sampled each second: ${peakActive} leased, ${peakWaiting} waiting).`);
    say(`  - Isolation: ${f.crossTenantRows} rows of another tenant in ${fmt(summary.requests)} answers, ${f.wrongTenantAuthSuccesses} tokens accepted on the wrong tenant's host: ${ok(isolated)}.`);
    say(`  - ${f.serverErrors} 5xx, ${f.unexpected} unexpected statuses, ${f.socketErrors} socket errors: ${ok(fine)}.`);
    say(`  - The per-tenant stats add up (service's requests and pool's leases, tenant by tenant): ${ok(addsUp)}.`);
    say(`  - SIGTERM: HTTP server closed, then the pool; exit status ${exit.code} (${clean ? 'clean' : 'NOT clean'}).`);
    for (const s of f.samples) say(`  ! ${JSON.stringify(s).slice(0, 300)}`);
    process.exitCode = isolated && addsUp && fine && clean ? 0 : 1;
  } finally {
    if (service) {
      service.child.kill('SIGKILL');
      await service.exited;
    }
    if (process.env.TENANT_DEMO_KEEP === '1') say(`(kept ${work})`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`tenant demo: ${err.code ? `${err.code}: ` : ''}${err.message}`);
  process.exit(1);
});
