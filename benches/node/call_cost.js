// The cost of one call, for instruction counting (benches/bindings-instructions.sh
// runs it under callgrind with two builds of the addon):
//   node call_cost.js ADDON prepared|single|text|async|stmt-async|better N
// `prepared`: stmt.getSync([id]), `single`: stmt.getSync(id), `text`:
// pool.getSync(sql, [id]), `async`: pool.get(sql, [id]) at concurrency 64,
// `stmt-async`: stmt.get([id]) at concurrency 64, `better`: better-sqlite3@12's
// stmt.get(id) (the peer; ADDON is loaded but unused). Uses only API the
// older builds have too.
'use strict';
const fs = require('fs'), os = require('os'), path = require('path');
const addon = path.resolve(process.argv[2]);
const { Pool } = require(addon);
const Better = require(path.join(__dirname, 'node_modules', 'better-sqlite3'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'np-')); const file = path.join(dir, 'b.db');
const db = new Better(file); db.pragma('journal_mode = WAL');
db.exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, value INTEGER); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) INSERT INTO items SELECT i, 'item-' || i, i FROM n"); db.close();
const pool = new Pool(file, { max: 4 });
const mode = process.argv[3]; const N = Number(process.argv[4] || 0);
const SQL = 'SELECT id, name, value FROM items WHERE id = ?';
const stmt = pool.prepare(SQL);
stmt.getSync([1]); pool.getSync(SQL, [1]);
let k = 0;
if (mode === 'prepared') for (let i = 0; i < N; i++) { k = (k + 7919) % 10000; stmt.getSync([k + 1]); }
if (mode === 'single') for (let i = 0; i < N; i++) { k = (k + 7919) % 10000; stmt.getSync(k + 1); }
if (mode === 'text') for (let i = 0; i < N; i++) { k = (k + 7919) % 10000; pool.getSync(SQL, [k + 1]); }
if (mode === 'better') {
  const b = new Better(file); const bs = b.prepare(SQL); bs.get(1);
  for (let i = 0; i < N; i++) { k = (k + 7919) % 10000; bs.get(k + 1); }
}
if (mode === 'async' || mode === 'stmt-async') {
  const get = mode === 'async' ? (id) => pool.get(SQL, [id]) : (id) => stmt.get([id]);
  (async () => {
    let n = 0;
    await Promise.all(Array.from({ length: 64 }, async (_, j) => { let q = j; while (n < N) { n++; q = (q + 7919) % 10000; await get(q + 1); } }));
    await pool.close();
  })();
}
