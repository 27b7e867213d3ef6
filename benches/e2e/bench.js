#!/usr/bin/env node
'use strict';
// The end-to-end benchmark: the quota-proxy service's GET /admin/usage and
// POST /gateway throughput on litepool versus the same service opening a
// node-sqlite3 connection per request. Writes benches/results/e2e.md and
// benches/results/e2e.json (read by scripts/charts.py).
//
//   node benches/e2e/bench.js [--duration 4] [--rounds 2] [--connections 1,4,16,64]
//
// Each cell is run --rounds times (all cells of a round before the next
// round) and the best round is kept: on a shared machine the best run is the
// one least disturbed by other work.
//
// The services run at once (separate processes, fresh databases) and take
// turns run by run, so a change in the machine's load hits all of them.
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
  { id: 'litepool', store: 'litepool', name: 'litepool Pool' },
  { id: 'sqlite3', store: 'sqlite3', name: 'node-sqlite3, connection per request' },
  // The same, with libuv's thread pool raised from 4 to 64 threads (see the notes in e2e.md).
  { id: 'sqlite3_64', store: 'sqlite3', name: 'connection per request, 64 libuv threads', env: { UV_THREADPOOL_SIZE: '64' } },
];
const ENDPOINTS = [
  { mix: 'usage', name: 'GET /admin/usage' },
  { mix: 'gateway', name: 'POST /gateway' },
];

function parseArgs(argv) {
  const opts = { duration: 4, rounds: 2, connections: [1, 4, 16, 64] };
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--duration') opts.duration = Number(argv[i + 1]);
    else if (argv[i] === '--rounds') opts.rounds = Number(argv[i + 1]);
    else if (argv[i] === '--connections') opts.connections = argv[i + 1].split(',').map(Number);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!(opts.duration > 0) || !(opts.rounds >= 1) || !opts.connections.every((c) => Number.isInteger(c) && c > 0)) {
    throw new Error('--duration and --rounds must be positive and --connections a list of positive integers');
  }
  return opts;
}

function startServer(backend, dir) {
  const child = spawn(process.execPath, [path.join(__dirname, 'serve.js'), backend.store, path.join(dir, `${backend.id}.db`)], {
    env: { ...process.env, ...backend.env, ADMIN_TOKEN },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`${backend.id} server exited (${code}) before listening`)));
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

/** Waits until the server has finished every request of the last run (stalled ones included). */
async function drain(url, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const s = await api(url, 'GET', '/admin/db-pool-stats').catch(() => undefined);
    if (s && s.active === 0 && s.waiting === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function cell(r) {
  const ok = r.statusCounts['200'] || 0;
  return {
    rps: Math.round(ok / r.duration),
    p50: r.latencyMs.p50,
    p99: r.latencyMs.p99,
    failed: r.requests - ok + r.errors + r.timeouts,
    // Nothing answered at all in the run: the server stalled.
    stalled: r.requests === 0 && (r.unanswered || 0) > 0,
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'litepool-e2e-'));
  const servers = {};
  try {
    for (const b of BACKENDS) {
      servers[b.id] = await startServer(b, dir);
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
      for (const c of opts.connections) rows.push({ endpoint: e.name, mix: e.mix, connections: c });
    }
    for (let round = 1; round <= opts.rounds; round += 1) {
      for (const row of rows) {
        for (const b of BACKENDS) {
          const s = servers[b.id];
          await drain(s.url);
          const r = cell(await load(s.url, s.keys, row.mix, row.connections, opts.duration, path.join(dir, `${b.id}.json`)));
          await drain(s.url); // a stalled server answers its last requests late: not in the next run
          process.stderr.write(
            `  round ${round}  ${row.endpoint.padEnd(17)} ${String(row.connections).padStart(3)} connections  ${b.name.padEnd(42)} ` +
              `${String(r.rps).padStart(6)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms${r.failed ? `  failed ${r.failed}` : ''}${r.stalled ? '  STALLED' : ''}\n`,
          );
          if (row[b.id] === undefined || r.rps > row[b.id].rps) row[b.id] = r;
        }
      }
    }
    for (const row of rows) {
      delete row.mix;
      row.ratio = row.sqlite3.rps > 0 ? row.litepool.rps / row.sqlite3.rps : null;
      row.ratio64 = row.sqlite3_64.rps > 0 ? row.litepool.rps / row.sqlite3_64.rps : null;
    }
    // Check the litepool service's books after all that load.
    const keys = (await api(servers.litepool.url, 'GET', '/admin/keys')).keys;
    const used = keys.reduce((n, k) => n + k.used_quota, 0);
    write(opts, rows, used);
  } finally {
    await Promise.all(
      Object.values(servers).map(
        (s) =>
          new Promise((resolve) => {
            if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve();
            const kill = setTimeout(() => s.child.kill('SIGKILL'), 5000);
            s.child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            s.child.kill('SIGTERM');
          }),
      ),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function write(opts, rows, litepoolUsed) {
  const date = new Date().toISOString().slice(0, 10);
  const command = `bash benches/e2e/run.sh --duration ${opts.duration} --rounds ${opts.rounds} --connections ${opts.connections.join(',')}`;
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(
    path.join(RESULTS, 'e2e.json'),
    `${JSON.stringify({ date, command, duration: opts.duration, rounds: opts.rounds, cpus: os.cpus().length, backends: BACKENDS, rows }, null, 2)}\n`,
  );
  const fmtRatio = (r) => (r === null ? 'n/a' : `**${r.toFixed(2)}×**`);
  const lat = (c) => (c.rps === 0 && c.p99 === 0 ? '–' : `${c.p50} / ${c.p99}`);
  const rps = (c) => (c.stalled ? '0 (stalled)' : c.rps.toLocaleString('en-US'));
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
    '`BEGIN IMMEDIATE` … `COMMIT`), run twice: with libuv\'s default 4 threads and with 64. `GET /admin/usage`',
    'reads the 20 newest usage rows; `POST /gateway` spends one unit of one of 4 keys. ' +
      `${opts.duration} s per cell, best of ${opts.rounds} rounds; the three services run at once and take turns, run by run.`,
    'Requests/s counts 200 answers only.',
    '',
    '| endpoint | conn. | litepool (req/s) | p50 / p99 ms | per request (req/s) | p50 / p99 ms | litepool ÷ per request | per request, 64 threads (req/s) | p50 / p99 ms | litepool ÷ that | failed |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.endpoint} | ${r.connections} | ${rps(r.litepool)} | ${lat(r.litepool)} | ` +
        `${rps(r.sqlite3)} | ${lat(r.sqlite3)} | ${fmtRatio(r.ratio)} | ` +
        `${rps(r.sqlite3_64)} | ${lat(r.sqlite3_64)} | ${fmtRatio(r.ratio64)} | ` +
        `${r.litepool.failed} / ${r.sqlite3.failed} / ${r.sqlite3_64.failed} |`,
    );
  }
  lines.push(
    '',
    '"failed" (litepool / per request / per request with 64 threads) counts answers other than 200 (503 when',
    'SQLite stayed busy past `busy_timeout`) and socket errors; "stalled" means not one request was answered in the run.',
    "A node-sqlite3 connection per request runs every statement on libuv's thread pool (4 threads): with more",
    'concurrent gateway transactions than threads, the threads fill with `BEGIN IMMEDIATE`s sleeping in',
    "SQLite's busy handler while the transaction holding the lock waits for a thread to run its next statement,",
    'so the gateway stalls until `busy_timeout` (5 s) expires and answers 503. The third service is the same',
    'code with `UV_THREADPOOL_SIZE=64`, which removes that stall (a tuning the guide does not mention).',
    'litepool queues writers for its write lane without occupying a thread.',
  );
  lines.push('', `After the runs the litepool service's keys had spent ${litepoolUsed.toLocaleString('en-US')} units, one per successful gateway request.`, '');
  fs.writeFileSync(path.join(RESULTS, 'e2e.md'), lines.join('\n'));
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err) => {
  console.error(`bench.js: ${err.message}`);
  process.exit(1);
});
