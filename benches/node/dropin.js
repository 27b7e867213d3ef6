'use strict';
// The node-sqlite3 swap: `require('litepool/sqlite3')` against the real
// node-sqlite3 6, same statements, same data, concurrency 1, 8 and 64.
// Candidates interleave within each round (their order alternating), each
// on its own copy of the database (two SQLite libraries must not share a
// file in one process: their POSIX locks do not see each other). Reports
// ops/s medians, the median of the per-round ratios with their range, and
// the event-loop delay p99 while the calls are in flight. Markdown to stdout.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { monitorEventLoopDelay } = require('node:perf_hooks');

const root = path.join(__dirname, '..', '..');
const dropIn = require(path.join(root, 'bindings-node', 'lib', 'sqlite3'));
const sqlite3 = require(process.env.SQLITE3_MODULE || 'sqlite3');

const SECONDS = Number(process.env.BENCH_SECONDS || 0.5);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 5);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY || '1,8,64').split(',').map(Number);
const ONLY = process.env.BENCH_WORKLOADS ? process.env.BENCH_WORKLOADS.split(',') : null;
const ROWS = 10000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'litepool-dropin-bench-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

const POINT = 'SELECT id, name, value FROM items WHERE id = ?';
const RANGE = 'SELECT id, name, value FROM items WHERE id > ? ORDER BY id LIMIT 100';
const INSERT = 'INSERT INTO log (item, note) VALUES (?, ?)';
const rid = () => 1 + Math.floor(Math.random() * (ROWS - 101));

const cb = (fn) => new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

async function setup(file) {
  const db = new sqlite3.Database(file);
  await cb((d) => db.exec('PRAGMA journal_mode = WAL', d));
  await cb((d) => db.exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, value INTEGER);
    CREATE TABLE log (id INTEGER PRIMARY KEY, item INTEGER, note TEXT);
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT ${ROWS})
    INSERT INTO items (name, value) SELECT 'item-' || i, i FROM n`, d));
  await cb((d) => db.close(d));
}

/** One at a time: a Database runs one transaction at a time, as application code must. */
function mutex() {
  let tail = Promise.resolve();
  return (fn) => {
    const run = tail.then(fn);
    tail = run.catch(() => {});
    return run;
  };
}

function client(mod, file) {
  const db = new mod.Database(file);
  db.configure('busyTimeout', 5000);
  // Like for like: litepool's pool runs WAL with synchronous=NORMAL.
  db.exec('PRAGMA synchronous = NORMAL');
  const lock = mutex();
  return {
    get: () => cb((done) => db.get(POINT, [rid()], done)),
    run: () => cb((done) => db.run(INSERT, [1, 'x'], done)),
    all: () => cb((done) => db.all(RANGE, [rid()], done)),
    each: () => new Promise((resolve, reject) => {
      let rows = 0;
      db.each(RANGE, [rid()], () => rows++, (err, n) => (err ? reject(err) : resolve(n + rows * 0)));
    }),
    tx100: () => lock(() => new Promise((resolve, reject) => {
      db.serialize(() => {
        db.run('BEGIN');
        for (let i = 0; i < 100; i++) db.run(INSERT, [i, 'tx']);
        db.run('COMMIT', (err) => (err ? reject(err) : resolve()));
      });
    })),
    close: () => cb((done) => db.close(done)),
  };
}

const WORKLOADS = [
  ['point select (get)', 'get'],
  ['single-row insert (run)', 'run'],
  ['100-row select (all)', 'all'],
  ['100-row select (each)', 'each'],
  ['transaction of 100 inserts', 'tx100'],
].filter(([, key]) => !ONLY || ONLY.includes(key));

/** ops/s of `fn` at `concurrency`, and the event loop's delay p99 (ms) meanwhile. */
async function measure(fn, concurrency) {
  let ops = 0;
  const run = async (until) => {
    const worker = async () => {
      while (performance.now() < until) {
        await fn();
        ops++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  await run(performance.now() + 150); // warm-up
  ops = 0;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const start = performance.now();
  await run(start + SECONDS * 1000);
  const rate = ops / ((performance.now() - start) / 1000);
  delay.disable();
  return { rate, p99: delay.percentile(99) / 1e6 };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

(async () => {
  const files = { real: path.join(dir, 'real.db'), dropIn: path.join(dir, 'dropin.db') };
  await setup(files.real);
  fs.copyFileSync(files.real, files.dropIn);
  const candidates = [['node-sqlite3', client(sqlite3, files.real)], ['litepool/sqlite3', client(dropIn, files.dropIn)]];
  await new Promise((r) => setTimeout(r, 100));
  const rows = [];
  for (const [wname, key] of WORKLOADS) {
    for (const c of CONCURRENCY) {
      const samples = { 'node-sqlite3': [], 'litepool/sqlite3': [] };
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 ? [...candidates].reverse() : candidates;
        for (const [name, cl] of order) samples[name].push(await measure(cl[key], c));
      }
      const ratios = samples['litepool/sqlite3'].map((s, i) => s.rate / samples['node-sqlite3'][i].rate);
      const row = {
        wname, c,
        real: median(samples['node-sqlite3'].map((s) => s.rate)),
        mine: median(samples['litepool/sqlite3'].map((s) => s.rate)),
        ratio: median(ratios), lo: Math.min(...ratios), hi: Math.max(...ratios),
        p99real: median(samples['node-sqlite3'].map((s) => s.p99)),
        p99mine: median(samples['litepool/sqlite3'].map((s) => s.p99)),
      };
      rows.push(row);
      process.stderr.write(`${wname.padEnd(28)} c=${String(c).padEnd(3)} node-sqlite3 ${row.real.toFixed(0)} drop-in ${row.mine.toFixed(0)} ratio ${row.ratio.toFixed(2)} (${row.lo.toFixed(2)}-${row.hi.toFixed(2)}) p99 ${row.p99real.toFixed(1)}/${row.p99mine.toFixed(1)} ms\n`);
    }
  }
  for (const [, cl] of candidates) await cl.close();
  const fmt = (v) => Math.round(v).toLocaleString('en-US');
  const out = [];
  out.push('# Node: the node-sqlite3 drop-in against node-sqlite3');
  out.push('');
  out.push(`Command: \`bash benches/node/run.sh\` (runs \`benches/node/dropin.js\`; release addon). Each cell: both candidates in turn (order alternating), ${SECONDS} s each after a 0.15 s warm-up, ${ROUNDS} rounds; medians. Machine: ${os.cpus().length} cores (${os.cpus()[0].model}), Node ${process.version}, shared with other jobs while measured.`);
  out.push('Each candidate has its own copy of one WAL database (10,000 rows), `synchronous=NORMAL`, `busyTimeout` 5000; node-sqlite3 uses its bundled SQLite, the drop-in the system libsqlite3 through a pool (defaults: max 10). Concurrency = calls in flight from one `Database`; a transaction is `serialize()`d `BEGIN`, 100 `run`s, `COMMIT`, one at a time per Database (a JS lock), and counts as one op. Ratio = drop-in ÷ node-sqlite3 per round: median (range). Event-loop delay: p99 of `monitorEventLoopDelay` while the calls run.');
  out.push('');
  out.push('| workload | conc. | node-sqlite3 ops/s | drop-in ops/s | ratio |');
  out.push('|---|---:|---:|---:|---:|');
  for (const r of rows) {
    out.push(`| ${r.wname} | ${r.c} | ${fmt(r.real)} | ${fmt(r.mine)} | ${r.ratio.toFixed(2)}x (${r.lo.toFixed(2)}–${r.hi.toFixed(2)}) |`);
  }
  out.push('');
  out.push('Event-loop delay while those calls ran (p99 of `monitorEventLoopDelay`, ms; median of the rounds):');
  out.push('');
  out.push('| workload | conc. | node-sqlite3 delay p99 (ms) | drop-in delay p99 (ms) |');
  out.push('|---|---:|---:|---:|');
  for (const r of rows) out.push(`| ${r.wname} | ${r.c} | ${r.p99real.toFixed(1)} | ${r.p99mine.toFixed(1)} |`);
  console.log(out.join('\n'));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
