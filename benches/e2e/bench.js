#!/usr/bin/env node
'use strict';
// The end-to-end benchmark: the quota-proxy service's GET /admin/usage and
// POST /gateway throughput on litepool versus the same service opening a
// node-sqlite3 connection per request. Writes benches/results/e2e.md and
// benches/results/e2e.json (read by scripts/charts.py).
//
//   node benches/e2e/bench.js [--duration 5] [--connections 1,4,16,64]
//
// Both services run at once (separate processes, fresh databases) and the
// runs alternate between them, so a change in the machine's load hits both.
// autocannon (examples/quota-proxy/scripts/load.js) drives each run.
const { spawn, execFile } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const LOAD = path.join(ROOT, 'examples', 'quota-proxy', 'scripts', 'load.js');
const RESULTS = path.join(ROOT, 'benches', 'results');
const ADMIN_TOKEN = crypto.randomBytes(16).toString('hex');
const BACKENDS = [
  { id: 'litepool', name: 'litepool Pool' },
  { id: 'sqlite3', name: 'node-sqlite3, connection per request' },
];
const ENDPOINTS = [
  { mix: 'usage', name: 'GET /admin/usage' },
  { mix: 'gateway', name: 'POST /gateway' },
];

function parseArgs(argv) {
  const opts = { duration: 5, connections: [1, 4, 16, 64] };
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--duration') opts.duration = Number(argv[i + 1]);
    else if (argv[i] === '--connections') opts.connections = argv[i + 1].split(',').map(Number);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!(opts.duration > 0) || !opts.connections.every((c) => Number.isInteger(c) && c > 0)) {
    throw new Error('--duration must be positive and --connections a list of positive integers');
  }
  return opts;
}

function startServer(backend, dir) {
  const child = spawn(process.execPath, [path.join(__dirname, 'serve.js'), backend, path.join(dir, `${backend}.db`)], {
    env: { ...process.env, ADMIN_TOKEN },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`${backend} server exited (${code}) before listening`)));
  });
}

async function api(url, method, route, body, headers = {}) {
  const res = await fetch(url + route, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`);
  return res.json();
}

function load(url, keys, mix, connections, duration, out) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [LOAD, '--url', url, '--keys', keys.join(','), '--mix', mix, '--connections', String(connections),
        '--duration', String(duration), '--json', out, '--quiet'],
      { env: { ...process.env, ADMIN_TOKEN } },
      (err, _stdout, stderr) => (err ? reject(new Error(`load.js failed: ${stderr}`)) : resolve(JSON.parse(fs.readFileSync(out, 'utf8')))),
    );
  });
}

function cell(r) {
  const ok = r.statusCounts['200'] || 0;
  return {
    rps: Math.round(ok / r.duration),
    p50: r.latencyMs.p50,
    p99: r.latencyMs.p99,
    failed: r.requests - ok + r.errors + r.timeouts,
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'litepool-e2e-'));
  const servers = {};
  try {
    for (const b of BACKENDS) {
      servers[b.id] = await startServer(b.id, dir);
      const s = servers[b.id];
      s.keys = [];
      for (let i = 0; i < 4; i += 1) {
        s.keys.push((await api(s.url, 'POST', '/admin/keys', { label: `bench-${i}`, total_quota: 1e12 })).key);
      }
      // Warm up, and give /admin/usage a log to read.
      await load(s.url, s.keys, 'gateway', 8, 2, path.join(dir, 'warmup.json'));
    }
    const rows = [];
    for (const e of ENDPOINTS) {
      for (const c of opts.connections) {
        const row = { endpoint: e.name, connections: c };
        for (const b of BACKENDS) {
          const s = servers[b.id];
          const r = await load(s.url, s.keys, e.mix, c, opts.duration, path.join(dir, `${b.id}.json`));
          row[b.id] = cell(r);
          process.stderr.write(`  ${e.name.padEnd(17)} ${String(c).padStart(3)} connections  ${b.name.padEnd(38)} ${String(row[b.id].rps).padStart(6)} req/s  p50 ${row[b.id].p50} ms  p99 ${row[b.id].p99} ms${row[b.id].failed ? `  failed ${row[b.id].failed}` : ''}\n`);
        }
        row.ratio = row.sqlite3.rps > 0 ? row.litepool.rps / row.sqlite3.rps : null;
        rows.push(row);
      }
    }
    // Check the litepool service's books after all that load.
    const keys = (await api(servers.litepool.url, 'GET', '/admin/keys')).keys;
    const used = keys.reduce((n, k) => n + k.used_quota, 0);
    write(opts, rows, used);
  } finally {
    for (const s of Object.values(servers)) s.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function write(opts, rows, litepoolUsed) {
  const date = new Date().toISOString().slice(0, 10);
  const command = `bash benches/e2e/run.sh --duration ${opts.duration} --connections ${opts.connections.join(',')}`;
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(
    path.join(RESULTS, 'e2e.json'),
    `${JSON.stringify({ date, command, duration: opts.duration, cpus: os.cpus().length, backends: BACKENDS, rows }, null, 2)}\n`,
  );
  const fmtRatio = (r) => (r === null ? 'n/a' : `**${r.toFixed(2)}×**`);
  const lat = (c) => (c.rps === 0 && c.p99 === 0 ? '–' : `${c.p50} / ${c.p99}`);
  const lines = [
    '## End to end: the quota-proxy service on litepool vs a node-sqlite3 connection per request',
    '',
    `Command: \`${command}\` (release addon; scripts: \`benches/e2e/bench.js\`, \`serve.js\`, \`sqlite3-store.js\`).`,
    `Measured ${date} on a shared ${os.cpus().length}-CPU machine, autocannon on the same machine: numbers are noisy, compare ratios.`,
    '',
    'The same Express app (`examples/quota-proxy/lib/app.js`) and the same SQL (`lib/queries.js`) on two stores:',
    "litepool's Node `Pool` (defaults: max 10; the gateway's check + usage row + increment in `pool.transaction`",
    'on the write lane), and a new node-sqlite3 connection opened and closed for every request, as in the pool',
    "guide's starting point (with `busy_timeout` 5000 and `synchronous=NORMAL` like litepool, WAL; the gateway in",
    '`BEGIN IMMEDIATE` … `COMMIT`). `GET /admin/usage` reads the 20 newest usage rows; `POST /gateway` spends',
    `one unit of one of 4 keys. ${opts.duration} s per cell; the two services alternate run by run. Requests/s counts 200 answers only.`,
    '',
    '| endpoint | connections | litepool (req/s) | p50 / p99 (ms) | connection per request (req/s) | p50 / p99 (ms) | litepool ÷ per request | failed (litepool / per request) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.endpoint} | ${r.connections} | ${r.litepool.rps.toLocaleString('en-US')} | ${lat(r.litepool)} | ` +
        `${r.sqlite3.rps.toLocaleString('en-US')} | ${lat(r.sqlite3)} | ${fmtRatio(r.ratio)} | ${r.litepool.failed} / ${r.sqlite3.failed} |`,
    );
  }
  lines.push(
    '',
    '"failed" counts answers other than 200 (503 when SQLite stayed busy past `busy_timeout`), socket errors and',
    "requests autocannon gave up on. A node-sqlite3 connection per request runs every statement on libuv's 4",
    'threads: with more concurrent gateway transactions than that, the threads fill with `BEGIN IMMEDIATE`s',
    "sleeping in SQLite's busy handler while the transaction holding the lock waits for a thread to run its",
    'next statement, so the gateway stalls until `busy_timeout` expires. litepool queues writers for its write',
    'lane without occupying a thread.',
  );
  lines.push('', `After the runs the litepool service's keys had spent ${litepoolUsed.toLocaleString('en-US')} units, one per successful gateway request.`, '');
  fs.writeFileSync(path.join(RESULTS, 'e2e.md'), lines.join('\n'));
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err) => {
  console.error(`bench.js: ${err.message}`);
  process.exit(1);
});
