#!/usr/bin/env node
'use strict';
// The multi-tenant end-to-end benchmark: the design note's reason for one
// shared pool, measured. The tenant service (examples/tenant-service) with
// 200 tenants, on four stores (serve.js):
//   litepool        one shared litepool Pool, the design note's max 30 (tenant leases: affinity, LRU, per-tenant gates)
//   attach          the same Pool without tenant support: ATTACH + DETACH per call (no affinity)
//   sqlite3         node-sqlite3, one Database per tenant (the naive alternative)
//   litepool_max10  the shared Pool with DB_POOL_MAX=10 (open files scale with max, not with tenants)
// under the same load (examples/tenant-service/scripts/load.js: 20 clients,
// each request to a random tenant, every answer checked). Writes
// benches/results/e2e_tenants.md and .json (charted by scripts/charts.py).
//
//   node benches/e2e-tenants/bench.js [--duration 5] [--rounds 5] [--clients 20] [--tenants 200,1000]
//   node benches/e2e-tenants/bench.js --render   (rewrite the .md from the .json, e.g. after editing its notes)
//
// Each tenant count is a separate set of runs (fresh data, fresh servers): 200
// is the issue's load; 1000 shows how each store's open files and memory grow
// with the number of tenants.
//
// Candidates are interleaved: every round runs each store once, in an order
// rotated round by round (A B C D, B C D A, …), so drift in the shared
// machine's load hits them all alike. The servers run at once (separate
// processes, separate copies of the same data) and take turns. Reported:
// per store the median of the rounds; per pair the median of the per-round
// ratios with their min–max spread. Open file descriptors and RSS are read
// from /proc/<server pid> every 100 ms during each run (peak).
const { spawn, execFile } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { provision } = require('../../examples/tenant-service/scripts/provision');

const ROOT = path.join(__dirname, '..', '..');
const LOAD = path.join(ROOT, 'examples', 'tenant-service', 'scripts', 'load.js');
const RESULTS = path.join(ROOT, 'benches', 'results');
const ADMIN_TOKEN = crypto.randomBytes(16).toString('hex');
const STORES = [
  { id: 'litepool', backend: 'litepool', name: 'litepool, one shared Pool (max 30; tenant affinity)', short: 'litepool shared pool, max 30' },
  { id: 'attach', backend: 'attach', name: 'litepool, one shared Pool (max 30), ATTACH/DETACH per call: no affinity', short: 'same, no affinity\n(ATTACH/DETACH per call)' },
  { id: 'sqlite3', backend: 'sqlite3', name: 'node-sqlite3, one Database per tenant', short: 'node-sqlite3,\na Database per tenant' },
  { id: 'litepool_max10', backend: 'litepool', name: 'litepool, one shared Pool, DB_POOL_MAX=10', short: 'litepool shared pool, max 10', env: { DB_POOL_MAX: '10' } },
];

function parseArgs(argv) {
  const opts = { duration: 5, rounds: 5, clients: 20, tenants: [200, 1000] };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in opts)) throw new Error(`unknown argument ${argv[i]}`);
    opts[key] = key === 'tenants' ? String(argv[i + 1]).split(',').map(Number) : Number(argv[i + 1]);
  }
  if (!(opts.duration > 0) || !(opts.rounds >= 1) || !(opts.clients >= 1) || !opts.tenants.every((t) => Number.isInteger(t) && t >= 2)) {
    throw new Error('--duration, --rounds, --clients and --tenants must be positive (--tenants at least 2)');
  }
  return opts;
}

function startServer(store, dbPath) {
  const child = spawn(process.execPath, [path.join(__dirname, 'serve.js'), store.backend, dbPath], {
    env: { PATH: process.env.PATH, ADMIN_TOKEN, ...store.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve({ child, url: m[1], pid: child.pid });
    });
    child.on('exit', (code) => reject(new Error(`${store.id} server exited (${code}) before listening`)));
  });
}

/** Open file descriptors and resident memory (MiB) of process `pid`. */
function resources(pid) {
  const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
  return { fds, rss };
}

function load(url, tokensPath, clients, duration, out) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [LOAD, '--url', url, '--tokens', tokensPath, '--clients', String(clients), '--duration', String(duration), '--json', out, '--quiet'],
      { env: { PATH: process.env.PATH } },
      (err, _stdout, stderr) => (err ? reject(new Error(`load.js failed: ${stderr}`)) : resolve(JSON.parse(fs.readFileSync(out, 'utf8')))),
    );
  });
}

async function measuredRun(server, tokensPath, clients, duration, out) {
  const peak = resources(server.pid);
  const sampler = setInterval(() => {
    const r = resources(server.pid);
    peak.fds = Math.max(peak.fds, r.fds);
    peak.rss = Math.max(peak.rss, r.rss);
  }, 100);
  try {
    const s = await load(server.url, tokensPath, clients, duration, out);
    const f = s.failures;
    return {
      rps: s.requestsPerSecond,
      p50: s.latencyMs.p50,
      p99: s.latencyMs.p99,
      requests: s.requests,
      failed: f.serverErrors + f.unexpected + f.socketErrors,
      crossTenantRows: f.crossTenantRows,
      wrongTenantAuth: f.wrongTenantAuthSuccesses,
      fds: peak.fds,
      rss: Math.round(peak.rss * 10) / 10,
    };
  } finally {
    clearInterval(sampler);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function adminStats(url) {
  const res = await fetch(`${url}/admin/db-pool-stats`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  return res.json();
}

async function main() {
  if (process.argv[2] === '--render') {
    const data = JSON.parse(fs.readFileSync(path.join(RESULTS, 'e2e_tenants.json'), 'utf8'));
    const { duration, rounds, clients, tenants } = data;
    write({ duration, rounds, clients, tenants }, data.sets, { date: data.date, load: data.loadavg, cpuModel: data.cpuModel });
    return;
  }
  const opts = parseArgs(process.argv.slice(2));
  const sets = [];
  for (const tenants of opts.tenants) {
    process.stderr.write(`== ${tenants} tenants\n`);
    sets.push({ tenants, ...(await measureSet(opts, tenants)) });
  }
  write(opts, sets);
}

/** Every store with `tenants` tenants: { runs, summary, ratios, affinity }. */
async function measureSet(opts, tenants) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'litepool-e2e-tenants-'));
  const servers = {};
  try {
    for (const store of STORES) {
      const dbPath = path.join(dir, store.id, 'main.db');
      const { tokensPath } = await provision({ dbPath, tenants, users: 3, products: 6, orders: 2 });
      servers[store.id] = { ...(await startServer(store, dbPath)), tokensPath };
      const s = servers[store.id];
      s.idle = resources(s.pid);
      await load(s.url, tokensPath, opts.clients, 2, path.join(dir, 'warmup.json')); // warm up
      process.stderr.write(`  ${store.id}: started (pid ${s.pid}), idle ${s.idle.fds} fds, ${s.idle.rss.toFixed(1)} MiB; warmed up\n`);
    }
    const runs = Object.fromEntries(STORES.map((s) => [s.id, []]));
    for (let round = 0; round < opts.rounds; round += 1) {
      const order = STORES.map((_, i) => STORES[(i + round) % STORES.length]);
      for (const store of order) {
        const r = await measuredRun(servers[store.id], servers[store.id].tokensPath, opts.clients, opts.duration, path.join(dir, `${store.id}.json`));
        r.round = round + 1;
        runs[store.id].push(r);
        process.stderr.write(
          `  round ${round + 1}  ${store.name.padEnd(72)} ${String(r.rps).padStart(5)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  ` +
            `${r.fds} fds  ${r.rss} MiB${r.failed || r.crossTenantRows || r.wrongTenantAuth ? `  FAILED ${JSON.stringify(r)}` : ''}\n`,
        );
        await new Promise((res) => setTimeout(res, 300));
      }
    }
    const affinity = {};
    for (const id of ['litepool', 'litepool_max10']) {
      const s = await adminStats(servers[id].url);
      affinity[id] = {
        leases: s.tenantTotals.acquired,
        hits: s.tenantTotals.affinityHits,
        attaches: s.tenantTotals.attaches,
        detaches: s.tenantTotals.detaches,
        connections: s.total,
      };
    }
    const summary = Object.fromEntries(
      STORES.map((s) => {
        const r = runs[s.id];
        return [s.id, {
          rps: median(r.map((x) => x.rps)),
          p50: median(r.map((x) => x.p50)),
          p99: median(r.map((x) => x.p99)),
          fds: Math.max(...r.map((x) => x.fds)),
          rss: Math.max(...r.map((x) => x.rss)),
          idleFds: servers[s.id].idle.fds,
          idleRss: Math.round(servers[s.id].idle.rss * 10) / 10,
          requests: r.reduce((n, x) => n + x.requests, 0),
          failed: r.reduce((n, x) => n + x.failed, 0),
          crossTenantRows: r.reduce((n, x) => n + x.crossTenantRows, 0),
          wrongTenantAuth: r.reduce((n, x) => n + x.wrongTenantAuth, 0),
        }];
      }),
    );
    // Per-round ratios (the rounds pair the candidates up in time).
    const ratios = {};
    for (const other of ['sqlite3', 'attach', 'litepool_max10']) {
      const rps = runs.litepool.map((r, i) => r.rps / runs[other][i].rps);
      const p99 = runs.litepool.map((r, i) => runs[other][i].p99 / r.p99);
      ratios[other] = {
        rps: { median: median(rps), min: Math.min(...rps), max: Math.max(...rps) },
        p99: { median: median(p99), min: Math.min(...p99), max: Math.max(...p99) },
      };
    }
    return { runs, summary, ratios, affinity };
  } finally {
    await Promise.all(
      Object.values(servers).map(
        (s) =>
          new Promise((resolve) => {
            if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve();
            const kill = setTimeout(() => s.child.kill('SIGKILL'), 6000);
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

function write(opts, sets, measured = {}) {
  const date = measured.date || new Date().toISOString().slice(0, 10);
  const command = `bash benches/e2e-tenants/run.sh --duration ${opts.duration} --rounds ${opts.rounds} --clients ${opts.clients} --tenants ${opts.tenants.join(',')}`;
  const load = measured.load || os.loadavg().map((x) => x.toFixed(1)).join(' / ');
  const cpuModel = measured.cpuModel || os.cpus()[0].model;
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(
    path.join(RESULTS, 'e2e_tenants.json'),
    `${JSON.stringify({ date, command, ...opts, cpus: os.cpus().length, cpuModel, loadavg: load, stores: STORES, sets }, null, 2)}\n`,
  );
  const n = (x) => Math.round(x).toLocaleString('en-US');
  const x2 = (r) => `**${r.median.toFixed(2)}×** (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;
  const pct = (a) => `${Math.round((100 * a.hits) / Math.max(1, a.leases))} %`;
  const lines = [
    '## Multi-tenant end to end: one shared litepool pool vs a node-sqlite3 Database per tenant',
    '',
    `Command: \`${command}\` (release addon; scripts: \`benches/e2e-tenants/bench.js\`, \`serve.js\`, \`sqlite3-store.js\`, \`attach-store.js\`).`,
    `Measured ${date} on a shared ${os.cpus().length}-CPU machine (${cpuModel}; noisy: other engineers' jobs ran meanwhile; load average at the end ${load}),`,
    'the load generator on the same machine: compare ratios, not absolute numbers.',
    '',
    'The tenant service (`examples/tenant-service`, the second design note), each tenant one SQLite file (3 users, 6 products,',
    '2 orders), the same app and SQL on each store. Load: `scripts/load.js`, ' +
      `${opts.clients} clients, each request to a random tenant:`,
    'GET /api/me 25 %, /api/users 15 %, /api/products 15 %, /api/orders 15 %, POST /api/orders (a write transaction) 20 %,',
    "a token of another tenant 7 % (401), an unknown tenant 3 % (404); every answer checked for other tenants' rows.",
    `${opts.duration} s per run, ${opts.rounds} rounds per tenant count; each round runs every store once, the order rotated round by round.`,
    "Requests/s and latency: median of the rounds. Open fds and RSS: the server process's, at start (idle, after",
    'registering the tenants) and at peak (read from /proc every 100 ms during the runs); a bare Node + Express process',
    'holds ~20 fds and ~50 MiB of that.',
  ];
  for (const set of sets) {
    const { summary, ratios, affinity } = set;
    lines.push(
      '',
      `### ${set.tenants} tenants`,
      '',
      '| store | req/s | p50 / p99 ms | open fds (idle → peak) | RSS MiB (idle → peak) | failed |',
      '|---|---:|---:|---:|---:|---:|',
      ...STORES.map((s) => {
        const r = summary[s.id];
        return `| ${s.name} | ${n(r.rps)} | ${r.p50} / ${r.p99} | ${r.idleFds} → ${r.fds} | ${r.idleRss} → ${r.rss} | ${r.failed + r.crossTenantRows + r.wrongTenantAuth} |`;
      }),
      '',
      `Ratios with ${set.tenants} tenants, per round (median, min–max): the shared pool's requests/s ÷ the other store's, and the`,
      "other store's p99 ÷ the shared pool's (above 1: the shared pool is faster):",
      '',
      '| shared pool (max 30) vs | requests/s ratio | p99 ratio |',
      '|---|---:|---:|',
      `| node-sqlite3, one Database per tenant | ${x2(ratios.sqlite3.rps)} | ${x2(ratios.sqlite3.p99)} |`,
      `| ATTACH/DETACH per call (no affinity) | ${x2(ratios.attach.rps)} | ${x2(ratios.attach.p99)} |`,
      `| the shared pool with max 10 | ${x2(ratios.litepool_max10.rps)} | ${x2(ratios.litepool_max10.p99)} |`,
      '',
      `Tenant affinity (all runs, warm-up included): max 30: ${pct(affinity.litepool)} of ${n(affinity.litepool.leases)} tenant leases found their tenant`,
      `attached already (${n(affinity.litepool.attaches)} attaches, ${n(affinity.litepool.detaches)} detaches);`,
      `max 10: ${pct(affinity.litepool_max10)} (${n(affinity.litepool_max10.attaches)} attaches).`,
      '"failed": 5xx, unexpected statuses, socket errors, rows of another tenant and tokens accepted on the wrong tenant\'s',
      `host, over all rounds (of ${STORES.map((s) => n(summary[s.id].requests)).join(' / ')} requests).`,
    );
  }
  const findings = sets.map((set) => {
    const a = set.summary.litepool;
    const b = set.summary.sqlite3;
    return `with ${set.tenants} tenants the shared pool (max 30) peaked at ${n(a.fds)} open files and ${Math.round(a.rss)} MiB, a Database ` +
      `per tenant at ${n(b.fds)} and ${Math.round(b.rss)} MiB, and the shared pool served ${set.ratios.sqlite3.rps.median.toFixed(2)}× its requests/s`;
  });
  lines.push('', `What it shows: ${findings.join('; ')}. The shared pool's open files and memory stay bounded by its size`,
    'while a Database per tenant grows with the tenants: that is the design note\'s reason for a shared pool, and it holds',
    'as tenants grow. The shared pool did not serve faster than a Database per tenant at this load (see the notes for why).',
    'Every store answered every request correctly (the "failed" columns): no tenant saw another tenant\'s rows.');
  lines.push(
    '',
    "Notes. A shared pool's open files scale with its connections × attachments (each attached WAL database is 3 fds:",
    'the file, -wal, -shm; SQLite allows 10 attachments per connection, so max 30 can hold up to ~1,000), not with the',
    'number of tenants; a Database per tenant holds 3 fds per tenant from the moment it is opened, used or not (past',
    "~340 tenants that is more than a common `ulimit -n` of 1024; this machine's is 20000). \"ATTACH/DETACH per call\" is",
    "the shared pool without litepool's tenant support (the core has no switch to turn affinity off): every call",
    'attaches the file, which opens it and reads its schema; its writers of one tenant take turns through a JS gate (as',
    'the per-tenant write gates do), and it lacks the authorizer that confines a lease to its tenant. Where the shared',
    'pool is slower than a Database per tenant, the cost is tenant switching: a tenant lease on a connection that served',
    'another tenant last re-prepares its statements (the authorizer decides at prepare time), and with more tenants than',
    "the pool's attachment slots in use, leases attach (and the LRU detaches) files. Transactions are BEGIN DEFERRED on a",
    'tenant write lease in the service (`examples/tenant-service/lib/store.js`: BEGIN IMMEDIATE would lock every',
    'database attached to the connection).',
  );
  fs.writeFileSync(path.join(RESULTS, 'e2e_tenants.md'), `${lines.join('\n')}\n`);
  process.stderr.write('  wrote benches/results/e2e_tenants.md and e2e_tenants.json\n');
}

main().catch((err) => {
  console.error(`bench.js: ${err.stack || err.message}`);
  process.exit(1);
});
