#!/usr/bin/env node
'use strict';
// Drives concurrent load at a running tenant service and checks every answer:
// each client picks a random tenant (and one of its users) per request, sends
// it to that tenant's host, and verifies that every row that comes back
// belongs to that tenant. Used by the isolation test, `make demo` and the
// benchmark (benches/e2e-tenants/).
//
//   node scripts/load.js --url http://127.0.0.1:8788 --tokens data/tokens.json \
//        [--domain localhost] [--clients 20] [--duration 5] [--json out.json] [--quiet]
//
// ADMIN_TOKEN (environment), when set, adds the pool's counts to the progress
// line and checks at the end that the service's per-tenant stats
// (/admin/db-pool-stats) grew by exactly the requests and leases made.
//
// The mix (per request, by weight): GET /api/me 25, GET /api/users 15,
// GET /api/products 15, GET /api/orders 15, POST /api/orders 20 (a write
// transaction), a token of another tenant on this tenant's host 7 (must be
// 401), an unknown tenant's host 3 (must be 404).
//
// Checks: a row of another tenant in any answer (users' emails are
// user<i>@<code>.example.test, SKUs and order references start with <code>-,
// as scripts/provision.js makes them) counts as a cross-tenant row; a 200 for
// a token on the wrong tenant's host counts as a wrong-tenant auth success;
// any other status than the one expected is unexpected (5xx counted apart).
const fs = require('node:fs');
const http = require('node:http');
const crypto = require('node:crypto');

/** Request kinds: weight, the status expected, and the pool leases each takes (lib/queries.js: one per statement or transaction). */
const KINDS = {
  me: { weight: 25, status: 200, leases: 1 },
  users: { weight: 15, status: 200, leases: 2 },
  products: { weight: 15, status: 200, leases: 2 },
  orders: { weight: 15, status: 200, leases: 2 },
  order_create: { weight: 20, status: 201, leases: 2 },
  wrong_tenant: { weight: 7, status: 401, leases: 1 },
  unknown_tenant: { weight: 3, status: 404, leases: 0 },
};
const LEASES = Object.fromEntries(Object.entries(KINDS).map(([k, v]) => [k, v.leases]));

function parseArgs(argv) {
  const opts = { clients: 20, duration: 5, domain: 'localhost', quiet: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      i += 1;
      if (i >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[i];
    };
    switch (arg) {
      case '--url': opts.url = value(); break;
      case '--tokens': opts.tokensPath = value(); break;
      case '--domain': opts.domain = value(); break;
      case '--clients': opts.clients = Number(value()); break;
      case '--duration': opts.duration = Number(value()); break;
      case '--json': opts.json = value(); break;
      case '--quiet': opts.quiet = true; break;
      default: throw new Error(`unknown argument ${arg}`);
    }
  }
  if (!opts.url) throw new Error('--url is required');
  if (!opts.tokensPath) throw new Error('--tokens is required (the file scripts/provision.js wrote)');
  if (!Number.isInteger(opts.clients) || opts.clients < 1) throw new Error('--clients must be a positive integer');
  if (!(opts.duration > 0)) throw new Error('--duration must be a positive number of seconds');
  return opts;
}

function pickKind(rand) {
  const total = Object.values(KINDS).reduce((n, k) => n + k.weight, 0);
  let r = rand() * total;
  for (const [name, k] of Object.entries(KINDS)) {
    r -= k.weight;
    if (r < 0) return name;
  }
  return 'me';
}

/** One HTTP request on `agent`: resolves with { status, body (parsed JSON or undefined) }. */
function request(agent, target, { method, path, host, token, body }) {
  return new Promise((resolve, reject) => {
    const headers = { host };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let payload;
    if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    const req = http.request({ host: target.hostname, port: target.port, method, path, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        let json;
        try {
          json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, body: json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** How many rows of `rows` do not belong to tenant `code` (by the marks provision.js puts on them). */
function foreignRows(kind, code, body) {
  const email = (e) => typeof e === 'string' && e.endsWith(`@${code}.example.test`);
  const mine = (s) => typeof s === 'string' && s.startsWith(`${code}-`);
  if (body === undefined || body === null) return 1;
  switch (kind) {
    case 'me':
      return body.tenant && body.tenant.code === code && body.user && email(body.user.email) ? 0 : 1;
    case 'users':
      return Array.isArray(body.users) ? body.users.filter((u) => !email(u.email)).length : 1;
    case 'products':
      return Array.isArray(body.products) ? body.products.filter((p) => !mine(p.sku)).length : 1;
    case 'orders':
      if (!Array.isArray(body.orders)) return 1;
      return body.orders.filter(
        (o) => (o.user_email !== null && !email(o.user_email)) || !mine(o.reference) || !o.items.every((i) => mine(i.sku)),
      ).length;
    case 'order_create':
      return mine(body.reference) && email(body.user_email) ? 0 : 1;
    default:
      return 0;
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[i] * 100) / 100;
}

/**
 * Runs the load. `tokens` is the tokens file's content. Resolves with the
 * summary (see the fields at the end); `onTick({ elapsed, done, rate })`
 * is called every second.
 */
async function runLoad({ url, tokens, domain = 'localhost', clients = 20, durationMs = 5000, onTick }) {
  const target = new URL(url);
  const tenants = tokens.tenants.filter((t) => t.active && t.users.length > 0);
  if (tenants.length < 2) throw new Error('the load needs at least 2 active tenants in the tokens file');
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const runId = crypto.randomBytes(4).toString('hex');
  const rand = Math.random;
  const latencies = [];
  const statusCounts = {};
  const byKind = Object.fromEntries(Object.keys(KINDS).map((k) => [k, { requests: 0, unexpected: 0 }]));
  const perTenant = {};
  const failures = { crossTenantRows: 0, wrongTenantAuthSuccesses: 0, serverErrors: 0, unexpected: 0, socketErrors: 0, samples: [] };
  let done = 0;
  const started = Date.now();
  const deadline = started + durationMs;
  let lastDone = 0;
  const ticker = setInterval(() => {
    const rate = done - lastDone;
    lastDone = done;
    if (onTick) onTick({ elapsed: Math.round((Date.now() - started) / 1000), done, rate });
  }, 1000);

  const sample = (what) => {
    if (failures.samples.length < 10) failures.samples.push(what);
  };

  async function client(id) {
    let seq = 0;
    while (Date.now() < deadline) {
      seq += 1;
      const kind = pickKind(rand);
      const tenant = tenants[Math.floor(rand() * tenants.length)];
      const user = tenant.users[Math.floor(rand() * tenant.users.length)];
      let host = `${tenant.code}.${domain}`;
      let token = user.token;
      let req = { method: 'GET', path: '/api/me' };
      switch (kind) {
        case 'users': req = { method: 'GET', path: '/api/users?limit=50' }; break;
        case 'products': req = { method: 'GET', path: '/api/products' }; break;
        case 'orders': req = { method: 'GET', path: '/api/orders?limit=10' }; break;
        case 'order_create':
          req = {
            method: 'POST',
            path: '/api/orders',
            body: {
              reference: `${tenant.code}-load-${runId}-${id}-${seq}`,
              items: [{ product_id: 1 + Math.floor(rand() * tenant.products), quantity: 1 + Math.floor(rand() * 2) }],
            },
          };
          break;
        case 'wrong_tenant': {
          let other = tenant;
          while (other === tenant) other = tenants[Math.floor(rand() * tenants.length)];
          token = other.users[Math.floor(rand() * other.users.length)].token;
          break;
        }
        case 'unknown_tenant':
          host = `unknown${Math.floor(rand() * 1e6)}.${domain}`;
          break;
        default:
          break;
      }
      const t0 = process.hrtime.bigint();
      let res;
      try {
        res = await request(agent, target, { ...req, host, token });
      } catch (err) {
        failures.socketErrors += 1;
        sample({ kind, tenant: tenant.code, error: err.message });
        continue;
      }
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      done += 1;
      statusCounts[res.status] = (statusCounts[res.status] || 0) + 1;
      byKind[kind].requests += 1;
      if (kind !== 'unknown_tenant') {
        const t = perTenant[tenant.code] || (perTenant[tenant.code] = { requests: 0, leases: 0 });
        t.requests += 1;
        t.leases += KINDS[kind].leases;
      }
      if (res.status >= 500) failures.serverErrors += 1;
      if (kind === 'wrong_tenant' && res.status === 200) failures.wrongTenantAuthSuccesses += 1;
      if (res.status !== KINDS[kind].status) {
        failures.unexpected += 1;
        byKind[kind].unexpected += 1;
        sample({ kind, tenant: tenant.code, status: res.status, body: res.body });
      } else {
        const foreign = foreignRows(kind, tenant.code, res.body);
        if (foreign > 0) {
          failures.crossTenantRows += foreign;
          sample({ kind, tenant: tenant.code, crossTenantRows: foreign, body: res.body });
        }
      }
    }
  }

  try {
    await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  } finally {
    clearInterval(ticker);
    agent.destroy();
  }
  const durationSec = (Date.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    url,
    clients,
    tenants: tenants.length,
    durationSec: Math.round(durationSec * 100) / 100,
    requests: done,
    requestsPerSecond: Math.round(done / durationSec),
    latencyMs: {
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: percentile(latencies, 100),
      mean: Math.round((latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length)) * 100) / 100,
    },
    statusCounts,
    byKind,
    perTenant,
    failures,
  };
}

/**
 * Compares the growth of the service's per-tenant stats between `before`
 * and `after` (GET /admin/db-pool-stats bodies) with what the load made
 * (`summary.perTenant`): the service's `requests` and the pool's `acquired`
 * for each tenant. Resolves the mismatches (empty lists when they add up).
 */
function checkTenantStats(summary, before, after) {
  const index = (stats) => new Map(stats.tenants.map((t) => [t.code, t]));
  const b = index(before);
  const a = index(after);
  const requestMismatches = [];
  const leaseMismatches = [];
  let requests = 0;
  let leases = 0;
  for (const [code, t] of a) {
    const prev = b.get(code) || { requests: 0, acquired: 0 };
    const made = summary.perTenant[code] || { requests: 0, leases: 0 };
    const servedRequests = t.requests - prev.requests;
    const servedLeases = t.acquired - prev.acquired;
    requests += servedRequests;
    leases += servedLeases;
    if (servedRequests !== made.requests) requestMismatches.push({ code, made: made.requests, counted: servedRequests });
    if (servedLeases !== made.leases) leaseMismatches.push({ code, expected: made.leases, acquired: servedLeases });
  }
  const tenantsHit = Object.keys(summary.perTenant).length;
  return { tenantsHit, requests, leases, requestMismatches, leaseMismatches };
}

async function fetchStats(url, adminToken) {
  const res = await fetch(`${url}/admin/db-pool-stats`, { headers: { authorization: `Bearer ${adminToken}` } });
  if (!res.ok) throw new Error(`GET /admin/db-pool-stats: ${res.status} ${await res.text()}`);
  return res.json();
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const tokens = JSON.parse(fs.readFileSync(opts.tokensPath, 'utf8'));
  const adminToken = process.env.ADMIN_TOKEN || '';
  const tty = process.stdout.isTTY;
  const before = adminToken ? await fetchStats(opts.url, adminToken) : undefined;
  let peakActive = 0;
  let peakWaiting = 0;
  const summary = await runLoad({
    url: opts.url,
    tokens,
    domain: opts.domain,
    clients: opts.clients,
    durationMs: opts.duration * 1000,
    onTick: async ({ elapsed, done, rate }) => {
      let pool = '';
      if (adminToken) {
        const s = await fetchStats(opts.url, adminToken).catch(() => undefined);
        if (s) {
          peakActive = Math.max(peakActive, s.active);
          peakWaiting = Math.max(peakWaiting, s.waiting);
          pool = ` | pool active ${s.active}/${s.max} idle ${s.idle} waiting ${s.waiting} (${s.health})`;
        }
      }
      if (opts.quiet) return;
      const line = `  load ${String(Math.min(elapsed, opts.duration)).padStart(2)}/${opts.duration} s | ${String(rate).padStart(6)} req/s | ${String(done).padStart(7)} done${pool}`;
      process.stdout.write(tty ? `\r${line}\u001b[K` : `${line}\n`);
    },
  });
  if (!opts.quiet && tty) process.stdout.write('\n');
  summary.poolPeak = { active: peakActive, waiting: peakWaiting };
  if (adminToken) summary.tenantStatsCheck = checkTenantStats(summary, before, await fetchStats(opts.url, adminToken));
  if (opts.json) fs.writeFileSync(opts.json, `${JSON.stringify(summary, null, 2)}\n`);
  if (!opts.quiet) {
    const f = summary.failures;
    const codes = Object.entries(summary.statusCounts).map(([k, v]) => `${k}: ${v}`).join(', ');
    console.log(`  ${summary.requests} requests in ${summary.durationSec} s = ${summary.requestsPerSecond} req/s from ${summary.clients} clients over ${summary.tenants} tenants`);
    console.log(`  latency ms: p50 ${summary.latencyMs.p50}, p90 ${summary.latencyMs.p90}, p99 ${summary.latencyMs.p99}, max ${summary.latencyMs.max}`);
    console.log(`  status codes: ${codes}`);
    console.log(`  cross-tenant rows: ${f.crossTenantRows}, wrong-tenant auth successes: ${f.wrongTenantAuthSuccesses}, 5xx: ${f.serverErrors}, unexpected statuses: ${f.unexpected}, socket errors: ${f.socketErrors}`);
    if (summary.tenantStatsCheck) {
      const c = summary.tenantStatsCheck;
      console.log(
        `  per-tenant stats: ${c.requests} requests and ${c.leases} leases counted over ${c.tenantsHit} tenants; ` +
          `mismatches: ${c.requestMismatches.length} (requests), ${c.leaseMismatches.length} (leases)`,
      );
    }
    for (const s of f.samples) console.log(`  sample failure: ${JSON.stringify(s).slice(0, 300)}`);
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`load.js: ${err.message}`);
    process.exit(1);
  });
}

module.exports = { runLoad, checkTenantStats, KINDS, LEASES };
