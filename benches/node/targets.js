// The performance issue's Node targets, candidates interleaved round by
// round: a prepared point select, sync (litepool stmt.getSync vs
// better-sqlite3@12 stmt.get) and async at concurrency 64 (litepool vs
// node-sqlite3, and vs better-sqlite3's sync throughput), with the event
// loop's delay (perf_hooks.monitorEventLoopDelay, p99) while the 64 calls
// are in flight. Median of the per-round ratios with their range; writes
// benches/results/node_targets.md. Run by benches/node/run.sh.
//
//   node benches/node/targets.js [ROUNDS] [SECONDS]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { monitorEventLoopDelay, performance } = require('perf_hooks');
const { Pool } = require('../../bindings-node');
const sqlite3 = require('sqlite3');
const Better = require('better-sqlite3');

const ROUNDS = Number(process.argv[2] || 5);
const SECONDS = Number(process.argv[3] || 0.5);
const ROWS = 10000;
const POINT = 'SELECT id, name, value FROM items WHERE id = ?';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'litepool-targets-'));
const file = path.join(dir, 'bench.db');
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
let k = 0;
const rid = () => (k = (k + 7919) % ROWS) + 1;

function setup() {
  const db = new Better(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, value INTEGER)');
  const ins = db.prepare('INSERT INTO items (name, value) VALUES (?, ?)');
  db.transaction(() => { for (let i = 0; i < ROWS; i++) ins.run(`item-${i}`, i); })();
  db.close();
}

function sync(op) {
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) op();
    n += 100;
  }
  return { rate: n / ((performance.now() - t0) / 1000) };
}

async function concurrent(op, concurrency) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  let n = 0;
  const until = performance.now() + SECONDS * 1000;
  h.enable();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < until) {
      await op();
      n++;
    }
  }));
  h.disable();
  return { rate: n / ((performance.now() - t0) / 1000), p99ms: h.percentile(99) / 1e6 };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
  setup();
  const pool = new Pool(file, { max: 4 });
  const stmt = pool.prepare(POINT);
  const better = new Better(file);
  better.pragma('journal_mode = WAL');
  const bstmt = better.prepare(POINT);
  const nodeDb = new sqlite3.Database(file);
  const cb = (fn) => new Promise((resolve, reject) => fn((e, v) => (e ? reject(e) : resolve(v))));
  for (let i = 0; i < 2000; i++) { stmt.getSync([rid()]); bstmt.get(rid()); }
  await Promise.all(Array.from({ length: 64 }, () => stmt.get([rid()])));
  const cells = {
    'sync: litepool stmt.getSync': () => sync(() => stmt.getSync([rid()])),
    'sync: better-sqlite3@12 stmt.get': () => sync(() => bstmt.get(rid())),
    'async c64: litepool stmt.get': () => concurrent(() => stmt.get([rid()]), 64),
    'async c64: litepool pool.get (SQL text)': () => concurrent(() => pool.get(POINT, [rid()]), 64),
    'async c64: node-sqlite3 db.get': () => concurrent(() => cb((done) => nodeDb.get(POINT, [rid()], done)), 64),
  };
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const row = {};
    for (const [name, fn] of Object.entries(cells)) row[name] = await fn();
    rounds.push(row);
  }
  const ratio = (a, b) => rounds.map((r) => r[a].rate / r[b].rate);
  const fmt = (v) => `**${median(v).toFixed(2)}×** (${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)})`;
  const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const out = [
    '## Node: the performance issue\'s targets',
    '',
    'Command: `node benches/node/targets.js` (run by `bash benches/node/run.sh`; release addon).',
    '',
    `Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0].model}), shared with other jobs (load average at the end ${load}); ${ROUNDS} rounds, ${SECONDS} s per cell, every cell in turn within a round. Point select by primary key on a 10,000-row WAL file; litepool max 4 connections.`,
    '',
    '| cell | ops/s (median) | event-loop delay p99 ms (median) |',
    '|---|---:|---:|',
  ];
  for (const name of Object.keys(cells)) {
    const p99 = rounds[0][name].p99ms === undefined ? '–' : median(rounds.map((r) => r[name].p99ms)).toFixed(2);
    out.push(`| ${name} | ${Math.round(median(rounds.map((r) => r[name].rate))).toLocaleString('en-US')} | ${p99} |`);
  }
  out.push('', '| target | measured (median of rounds, range) |', '|---|---|');
  out.push(`| prepared point select sync ≥ 1.0× better-sqlite3@12 stmt.get() | ${fmt(ratio('sync: litepool stmt.getSync', 'sync: better-sqlite3@12 stmt.get'))} |`);
  out.push(`| async at concurrency 64 ≥ 6× node-sqlite3 | ${fmt(ratio('async c64: litepool stmt.get', 'async c64: node-sqlite3 db.get'))} |`);
  out.push(`| async at concurrency 64 ≥ 0.7× better-sqlite3 sync throughput | ${fmt(ratio('async c64: litepool stmt.get', 'sync: better-sqlite3@12 stmt.get'))} |`);
  out.push(`| event-loop delay p99 ≤ 5 ms with 64 in flight | ${median(rounds.map((r) => r['async c64: litepool stmt.get'].p99ms)).toFixed(2)} ms |`);
  const text = out.join('\n');
  console.log(text);
  fs.writeFileSync(path.join(__dirname, '..', 'results', 'node_targets.md'), text + '\n');
  await pool.close();
  better.close();
  await cb((done) => nodeDb.close(done));
})().catch((e) => { console.error(e); process.exit(1); });
