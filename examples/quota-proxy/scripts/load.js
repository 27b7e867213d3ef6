#!/usr/bin/env node
'use strict';
// Drives a concurrent load at a running quota-proxy with autocannon and
// prints a progress line every second (requests/s, the pool's active and
// waiting connections from /admin/db-pool-stats), then the totals.
//
//   node scripts/load.js --url http://127.0.0.1:8787 --keys k1,k2 \
//        [--duration 15] [--connections 32] [--mix mixed|gateway|usage] \
//        [--usage-every 10] [--json result.json] [--quiet]
//
// ADMIN_TOKEN (environment) is needed for the /admin/usage reads and the
// pool stats on the progress line. --mix mixed sends one GET /admin/usage
// for every --usage-every requests, the rest are POST /gateway with the
// keys in turn.
const fs = require('node:fs');
const autocannon = require('autocannon');
const { formatCount, formatMillis } = require('./format');

function parseArgs(argv) {
  const opts = { duration: 15, connections: 32, mix: 'mixed', usageEvery: 10, quiet: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      i += 1;
      if (i >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[i];
    };
    switch (arg) {
      case '--url': opts.url = value(); break;
      case '--keys': opts.keys = value().split(',').filter(Boolean); break;
      case '--duration': opts.duration = Number(value()); break;
      case '--connections': opts.connections = Number(value()); break;
      case '--mix': opts.mix = value(); break;
      case '--usage-every': opts.usageEvery = Number(value()); break;
      case '--json': opts.json = value(); break;
      case '--quiet': opts.quiet = true; break;
      default: throw new Error(`unknown argument ${arg}`);
    }
  }
  if (!opts.url) throw new Error('--url is required');
  if (!['mixed', 'gateway', 'usage'].includes(opts.mix)) throw new Error('--mix is mixed, gateway or usage');
  if (opts.mix !== 'usage' && (!opts.keys || opts.keys.length === 0)) throw new Error('--keys is required');
  for (const k of ['duration', 'connections', 'usageEvery']) {
    if (!Number.isFinite(opts[k]) || opts[k] <= 0) throw new Error(`--${k} must be a positive number`);
  }
  return opts;
}

function requestsFor(opts, adminToken) {
  const admin = { authorization: `Bearer ${adminToken}` };
  const usage = { method: 'GET', path: '/admin/usage?limit=20', headers: admin };
  if (opts.mix === 'usage') return [usage];
  let next = 0;
  const gateway = {
    method: 'POST',
    path: '/gateway',
    headers: { 'content-type': 'application/json' },
    setupRequest: (req) => {
      const key = opts.keys[next % opts.keys.length];
      const endpoint = ENDPOINTS[next % ENDPOINTS.length];
      next += 1;
      return { ...req, headers: { ...req.headers, 'x-api-key': key }, body: JSON.stringify({ endpoint }) };
    },
  };
  if (opts.mix === 'gateway') return [gateway];
  return [...Array.from({ length: opts.usageEvery - 1 }, () => gateway), usage];
}

const ENDPOINTS = ['/v1/chat/completions', '/v1/chat/completions', '/v1/embeddings', '/v1/completions', '/v1/models'];

async function poolStats(url, adminToken) {
  try {
    const res = await fetch(`${url}/admin/db-pool-stats`, { headers: { authorization: `Bearer ${adminToken}` } });
    return res.ok ? await res.json() : undefined;
  } catch {
    return undefined;
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const adminToken = process.env.ADMIN_TOKEN || '';
  if (opts.mix !== 'gateway' && adminToken === '') throw new Error('ADMIN_TOKEN must be set for /admin/usage reads');
  const tty = process.stdout.isTTY;
  let done = 0;
  let lastDone = 0;
  let peakActive = 0;
  let peakWaiting = 0;
  const started = Date.now();

  const instance = autocannon({
    url: opts.url,
    connections: opts.connections,
    duration: opts.duration,
    requests: requestsFor(opts, adminToken),
  });
  instance.on('response', () => {
    done += 1;
  });
  const progress = setInterval(async () => {
    const elapsed = Math.min(opts.duration, Math.round((Date.now() - started) / 1000));
    const rate = done - lastDone;
    lastDone = done;
    const stats = adminToken ? await poolStats(opts.url, adminToken) : undefined;
    let pool = '';
    if (stats) {
      peakActive = Math.max(peakActive, stats.active);
      peakWaiting = Math.max(peakWaiting, stats.waiting);
      pool = ` | pool active ${stats.active}/${stats.max} idle ${stats.idle} waiting ${stats.waiting} (${stats.health})`;
    }
    if (!opts.quiet) {
      const line = `  load ${String(elapsed).padStart(2)}/${opts.duration} s | ${formatCount(rate).padStart(6)} req/s | ${formatCount(done).padStart(9)} done${pool}`;
      if (tty) process.stdout.write(`\r${line}\u001b[K`);
      else process.stdout.write(`${line}\n`);
    }
  }, 1000);

  const result = await instance;
  clearInterval(progress);
  if (!opts.quiet && tty) process.stdout.write('\n');

  const statusCounts = Object.fromEntries(Object.entries(result.statusCodeStats || {}).map(([k, v]) => [k, v.count]));
  const summary = {
    url: opts.url,
    mix: opts.mix,
    connections: opts.connections,
    duration: result.duration,
    requests: result.requests.total,
    // Sent but not answered when the run ended (a stalled server shows here).
    unanswered: Math.max(0, (result.requests.sent || 0) - result.requests.total),
    requestsPerSecond: Math.round(result.requests.total / result.duration),
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.average,
    },
    statusCounts,
    errors: result.errors,
    timeouts: result.timeouts,
    poolPeak: { active: peakActive, waiting: peakWaiting },
  };
  if (opts.json) fs.writeFileSync(opts.json, `${JSON.stringify(summary, null, 2)}\n`);
  if (!opts.quiet) {
    const codes = Object.entries(statusCounts).map(([k, v]) => `${k}: ${formatCount(v)}`).join(', ');
    const l = summary.latencyMs;
    console.log(
      `  ${formatCount(summary.requests)} requests in ${summary.duration.toFixed(1)} s = ` +
        `${formatCount(summary.requestsPerSecond)} req/s with ${opts.connections} connections`,
    );
    console.log(`  latency: p50 ${formatMillis(l.p50)}, p90 ${formatMillis(l.p90)}, p99 ${formatMillis(l.p99)}, max ${formatMillis(l.max)}`);
    console.log(`  status codes: ${codes || 'none'}; socket errors: ${summary.errors}, timeouts: ${summary.timeouts}`);
  }
}

main().catch((err) => {
  console.error(`load.js: ${err.message}`);
  process.exit(1);
});
