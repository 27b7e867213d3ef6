// Before/after for Node's point select: two builds of the addon (BASE and
// the working tree) loaded side by side in one process, the same loops run
// in turn, ROUNDS times: async `pool.get` at concurrency 64, sync
// `pool.getSync` and a prepared `stmt.getSync`. Median of the per-round
// ratios (after ÷ before) with their range. Writes benches/results/before-after-node.md.
//
//   node benches/node/before-after.js BEFORE.node AFTER.node [ROUNDS] [SECONDS]
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const [beforePath, afterPath] = process.argv.slice(2, 4);
if (!beforePath || !afterPath) {
  console.error('usage: node before-after.js BEFORE.node AFTER.node [ROUNDS] [SECONDS]');
  process.exit(2);
}
const ROUNDS = Number(process.argv[4] || 5);
const SECONDS = Number(process.argv[5] || 0.5);
const SQL = 'SELECT name, quota FROM users WHERE id = ?';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'litepool-ba-'));
const file = path.join(dir, 'b.db');

function open(addonPath) {
  const { Pool } = require(path.resolve(addonPath));
  return new Pool(file, { max: 4 });
}

async function main() {
  const before = open(beforePath);
  // The schema, through the older build (its API is the common subset).
  await before.run('CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, quota INTEGER NOT NULL)');
  await before.run(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) INSERT OR IGNORE INTO users SELECT i, 'user' || i, i * 10 FROM n",
  );
  const after = open(afterPath);
  const pools = { before, after };
  const prepared = { before: before.prepare(SQL), after: after.prepare(SQL) };
  const cases = {
    'async pool.get, concurrency 64': async (p) => {
      let n = 0;
      let stop = false;
      const t0 = process.hrtime.bigint();
      setTimeout(() => (stop = true), SECONDS * 1000);
      const worker = async (k) => {
        while (!stop) {
          k = (k + 7) % 10000;
          await pools[p].get(SQL, [k + 1]);
          n++;
        }
      };
      await Promise.all(Array.from({ length: 64 }, (_, i) => worker(i * 13)));
      return n / (Number(process.hrtime.bigint() - t0) / 1e9);
    },
    'sync pool.getSync': async (p) => syncLoop((k) => pools[p].getSync(SQL, [k])),
    'sync prepared stmt.getSync': async (p) => syncLoop((k) => prepared[p].getSync([k])),
  };
  const ratios = {};
  const rates = {};
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, fn] of Object.entries(cases)) {
      const a = await fn('before');
      const b = await fn('after');
      (ratios[name] ||= []).push(b / a);
      (rates[name] ||= []).push([a, b]);
    }
  }
  const med = (v) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
  const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const out = [
    `Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0].model}), shared with other jobs (load average ${load}); ${ROUNDS} rounds of ${SECONDS} s per cell, before and after in turn.`,
    '',
    '| case | before (ops/s) | after (ops/s) | after ÷ before (median, range) |',
    '|---|---:|---:|---:|',
  ];
  for (const name of Object.keys(cases)) {
    const v = ratios[name];
    out.push(
      `| ${name} | ${Math.round(med(rates[name].map((x) => x[0]))).toLocaleString('en-US')} | ${Math.round(med(rates[name].map((x) => x[1]))).toLocaleString('en-US')} | **${med(v).toFixed(2)}×** (${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)}) |`,
    );
  }
  const text = out.join('\n');
  console.log(text);
  fs.writeFileSync(path.join(__dirname, '..', 'results', 'before-after-node.md'), text + '\n');
  before.close && (await before.close());
  after.close && (await after.close());
}

function syncLoop(op) {
  let n = 0;
  let k = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(SECONDS * 1e9));
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 100; i++) {
      k = (k + 7) % 10000;
      op(k + 1);
    }
    n += 100;
  }
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
