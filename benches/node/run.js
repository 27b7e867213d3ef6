'use strict';
// Same file, same statements, five clients, concurrency 1 and 64.
// Prints a markdown report (ops/s and ratios) to stdout.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const { Pool } = require(path.join(root, 'bindings-node'));
const dropIn = require(path.join(root, 'bindings-node', 'lib', 'sqlite3'));
const sqlite3 = require('sqlite3');
const Better = require('better-sqlite3');

const SECONDS = Number(process.env.BENCH_SECONDS || 0.5);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 5);
const ROWS = 10000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'litepool-bench-'));
const file = path.join(dir, 'bench.db');
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

const POINT = 'SELECT id, name, value FROM items WHERE id = ?';
const RANGE = 'SELECT id, name, value FROM items WHERE id > ? ORDER BY id LIMIT 100';
const INSERT = 'INSERT INTO log (item, note) VALUES (?, ?)';
const rid = () => 1 + Math.floor(Math.random() * (ROWS - 101));

function setup() {
  const db = new Better(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, value INTEGER); CREATE TABLE log (id INTEGER PRIMARY KEY, item INTEGER, note TEXT)');
  const ins = db.prepare('INSERT INTO items (name, value) VALUES (?, ?)');
  db.transaction(() => { for (let i = 0; i < ROWS; i++) ins.run(`item-${i}`, i); })();
  db.close();
}

/** A one-at-a-time lock for clients whose transactions cannot overlap on one connection. */
function mutex() {
  let tail = Promise.resolve();
  return (fn) => {
    const run = tail.then(fn);
    tail = run.catch(() => {});
    return run;
  };
}

const cb = (fn) => new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

function sqlite3Client(mod) {
  const db = new mod.Database(file);
  db.configure('busyTimeout', 5000);
  // Like for like with litepool and better-sqlite3: WAL with synchronous=NORMAL
  // (queued first on this connection, so every later call sees it).
  db.exec('PRAGMA synchronous = NORMAL');
  const lock = mutex();
  return {
    point: () => cb((done) => db.get(POINT, [rid()], done)),
    range: () => cb((done) => db.all(RANGE, [rid()], done)),
    insert: () => cb((done) => db.run(INSERT, [1, 'x'], done)),
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

function litepoolAsync() {
  const pool = new Pool(file, { max: 8 });
  return {
    point: () => pool.get(POINT, [rid()]),
    range: () => pool.query(RANGE, [rid()]),
    insert: () => pool.run(INSERT, [1, 'x']),
    tx100: () => pool.transaction(async (conn) => {
      for (let i = 0; i < 100; i++) await conn.run(INSERT, [i, 'tx']);
    }),
    close: () => pool.close(),
  };
}

function litepoolSync() {
  const pool = new Pool(file, { max: 8 });
  return {
    point: () => pool.getSync(POINT, [rid()]),
    range: () => pool.querySync(RANGE, [rid()]),
    insert: () => pool.runSync(INSERT, [1, 'x']),
    tx100: async () => {
      const conn = await pool.acquire({ mode: 'write' });
      try {
        conn.execSync('BEGIN IMMEDIATE');
        for (let i = 0; i < 100; i++) conn.runSync(INSERT, [i, 'tx']);
        conn.execSync('COMMIT');
      } finally {
        conn.release();
      }
    },
    close: () => pool.close(),
  };
}

// Prepared once, each call leasing a connection (pool.prepare).
function litepoolPrepared() {
  const pool = new Pool(file, { max: 8 });
  const point = pool.prepare(POINT);
  const range = pool.prepare(RANGE);
  const insert = pool.prepare(INSERT);
  return {
    point: () => point.getSync([rid()]),
    range: () => range.allSync([rid()]),
    insert: () => insert.runSync([1, 'x']),
    tx100: async () => {
      const conn = await pool.acquire({ mode: 'write' });
      try {
        conn.execSync('BEGIN IMMEDIATE');
        for (let i = 0; i < 100; i++) conn.runSync(INSERT, [i, 'tx']);
        conn.execSync('COMMIT');
      } finally {
        conn.release();
      }
    },
    close: () => pool.close(),
  };
}

// better-sqlite3 the way litepool's one-call API is used: SQL text every call.
function betterSqlite3PerCall() {
  const db = new Better(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  const tx = db.transaction(() => { for (let i = 0; i < 100; i++) db.prepare(INSERT).run(i, 'tx'); });
  return {
    point: () => db.prepare(POINT).get(rid()),
    range: () => db.prepare(RANGE).all(rid()),
    insert: () => db.prepare(INSERT).run(1, 'x'),
    tx100: () => tx.immediate(),
    close: () => db.close(),
  };
}

function betterSqlite3() {
  const db = new Better(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  const point = db.prepare(POINT);
  const range = db.prepare(RANGE);
  const insert = db.prepare(INSERT);
  const tx = db.transaction(() => { for (let i = 0; i < 100; i++) insert.run(i, 'tx'); });
  return {
    point: () => point.get(rid()),
    range: () => range.all(rid()),
    insert: () => insert.run(1, 'x'),
    tx100: () => tx.immediate(),
    close: () => db.close(),
  };
}

const CLIENTS = [
  ['litepool async', litepoolAsync],
  ['litepool sync', litepoolSync],
  ['litepool sync, prepared', litepoolPrepared],
  ['litepool/sqlite3 drop-in', () => sqlite3Client(dropIn)],
  ['node-sqlite3', () => sqlite3Client(sqlite3)],
  ['better-sqlite3@12', betterSqlite3],
  ['better-sqlite3@12, prepare per call', betterSqlite3PerCall],
];
const WORKLOADS = [
  ['point select', 'point', 1],
  ['100-row select', 'range', 1],
  ['single insert', 'insert', 1],
  ['100 inserts in a transaction', 'tx100', 100],
];

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
  await run(performance.now() + 200); // warm-up
  ops = 0;
  const start = performance.now();
  await run(start + SECONDS * 1000);
  return ops / ((performance.now() - start) / 1000);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

(async () => {
  setup();
  // Every client stays open for the whole run, and each cell (workload x
  // concurrency) measures all clients back to back, ROUNDS times, keeping
  // the median: on a shared machine the load drifts by the minute, and a
  // ratio is only fair when both sides saw the same load.
  const clients = CLIENTS.map(([cname, make]) => [cname, make()]);
  await new Promise((r) => setTimeout(r, 100));
  const results = {}; // workload -> concurrency -> client -> ops/s
  const rounds = {}; // the same, every round's rate
  for (const [wname, key] of WORKLOADS) {
    for (const c of [1, 64]) {
      const samples = Object.fromEntries(clients.map(([cname]) => [cname, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const [cname, client] of clients) samples[cname].push(await measure(client[key], c));
      }
      for (const [cname] of clients) {
        const rate = median(samples[cname]);
        ((results[wname] ||= {})[c] ||= {})[cname] = rate;
        ((rounds[wname] ||= {})[c] ||= {})[cname] = samples[cname];
        const spread = samples[cname].map((x) => x.toFixed(0)).join(' ');
        process.stderr.write(`${cname.padEnd(26)} ${wname.padEnd(30)} c=${String(c).padEnd(3)} ${rate.toFixed(0)} ops/s (rounds: ${spread})\n`);
      }
    }
  }
  for (const [, client] of clients) await client.close();
  const out = [];
  out.push('# Node benchmark');
  out.push('');
  out.push(`Command: \`bash benches/node/run.sh\` (addon built with \`napi build --release\`). Each cell: every client in turn, ${SECONDS} s each after a 0.2 s warm-up, ${ROUNDS} rounds; the table shows each client's median.`);
  out.push(`Machine: ${os.cpus().length} cores (${os.cpus()[0].model}), Node ${process.version}, SQLite via each library's own build`);
  out.push('(litepool: the system libsqlite3; sqlite3 and better-sqlite3: their bundled copies).');
  out.push(`One WAL file with ${ROWS} rows; every client opens the same file. litepool pools have max 8 connections.`);
  out.push('Concurrency = calls in flight at once from one Node process. Ops/s counts calls (a transaction of 100 inserts is one op).');
  out.push('For the synchronous clients (litepool sync, better-sqlite3) concurrency 64 only interleaves the loop; their calls still run one at a time.');
  out.push('"litepool sync" passes SQL text each call (`pool.getSync(sql, params)`); "litepool sync, prepared" uses `pool.prepare(sql)` once and `stmt.getSync(params)`, each call still leasing a connection. "better-sqlite3@12" prepares once and calls `stmt.get()`; "better-sqlite3@12, prepare per call" calls `db.prepare(sql).get()` each time (better-sqlite3 keeps no statement cache). Its transaction row prepares each insert too.');
  out.push('node-sqlite3 and the drop-in run one transaction at a time (a JS lock), as application code on one `Database` must.');
  out.push('');
  out.push('| workload | conc. | client | ops/s | vs node-sqlite3 | vs better-sqlite3 |');
  out.push('|---|---:|---|---:|---:|---:|');
  for (const [wname] of WORKLOADS) {
    for (const c of [1, 64]) {
      const row = results[wname][c];
      for (const [cname] of CLIENTS) {
        const v = row[cname];
        out.push(`| ${wname} | ${c} | ${cname} | ${Math.round(v).toLocaleString('en-US')} | ${(v / row['node-sqlite3']).toFixed(2)}x | ${(v / row['better-sqlite3@12']).toFixed(2)}x |`);
      }
    }
  }
  out.push('');
  const a = results['point select'][64];
  const s = results['point select'][1];
  // Paired ratios: client A's and client B's rate in the same round.
  const perRound = (w, c, x, y) => {
    const r = rounds[w][c][x].map((v, i) => v / rounds[w][c][y][i]);
    return `${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)}x`;
  };
  out.push('Targets from the issue (ratio of medians; in brackets, the range of the ratio within each round):');
  out.push(`- litepool async vs node-sqlite3 at concurrency 64 (point select): ${(a['litepool async'] / a['node-sqlite3']).toFixed(2)}x (${perRound('point select', 64, 'litepool async', 'node-sqlite3')}; target ≥ 3x).`);
  out.push(`- litepool sync vs better-sqlite3 (point select, concurrency 1): ${(s['litepool sync'] / s['better-sqlite3@12']).toFixed(2)}x (${perRound('point select', 1, 'litepool sync', 'better-sqlite3@12')}; target ≥ 0.8x).`);
  out.push(`- the same with a prepared statement on both sides (litepool sync, prepared vs better-sqlite3): ${(s['litepool sync, prepared'] / s['better-sqlite3@12']).toFixed(2)}x (${perRound('point select', 1, 'litepool sync, prepared', 'better-sqlite3@12')}).`);
  out.push(`- the same with SQL text each call on both sides (litepool sync vs better-sqlite3, prepare per call): ${(s['litepool sync'] / s['better-sqlite3@12, prepare per call']).toFixed(2)}x (${perRound('point select', 1, 'litepool sync', 'better-sqlite3@12, prepare per call')}).`);
  console.log(out.join('\n'));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
