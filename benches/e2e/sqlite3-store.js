'use strict';
// The quota-proxy service's storage the way the pool guide found it: a new
// node-sqlite3 connection opened for every request and closed after it (the
// guide's "每次查询都可能创建新连接"). Same SQL as the litepool store
// (examples/quota-proxy/lib/queries.js), so the benchmark compares only how
// connections are had.
//
// Each connection gets busy_timeout=5000 (litepool's default; without it,
// concurrent gateway transactions fail at once with SQLITE_BUSY) and
// synchronous=NORMAL (what litepool sets; the journal mode, WAL, is a
// property of the file and set once).
const path = require('node:path');
const queries = require('../../examples/quota-proxy/lib/queries');
const { SCHEMA } = require('../../examples/quota-proxy/lib/schema');

/** node-sqlite3: benches/e2e's own install, else one a sibling suite built. */
function loadSqlite3() {
  const candidates = [
    'sqlite3',
    path.join(__dirname, '..', 'node', 'node_modules', 'sqlite3'),
    path.join(__dirname, '..', '..', 'bindings-node', '.peers', 'node_modules', 'sqlite3'),
  ];
  for (const c of candidates) {
    try {
      return require(c);
    } catch {
      // try the next one
    }
  }
  throw new Error('node-sqlite3 is not installed: run benches/e2e/run.sh (npm install sqlite3@6 from source)');
}

function promisify(db) {
  return {
    all: (sql, params) => new Promise((res, rej) => db.all(sql, params, (e, rows) => (e ? rej(e) : res(rows)))),
    get: (sql, params) => new Promise((res, rej) => db.get(sql, params, (e, row) => (e ? rej(e) : res(row)))),
    run: (sql, params) =>
      new Promise((res, rej) => {
        db.run(sql, params, function done(e) {
          if (e) rej(e);
          else res({ changes: this.changes, lastInsertRowid: this.lastID });
        });
      }),
    exec: (sql) => new Promise((res, rej) => db.exec(sql, (e) => (e ? rej(e) : res()))),
    close: () => new Promise((res, rej) => db.close((e) => (e ? rej(e) : res()))),
  };
}

function createSqlite3Store(dbPath) {
  const sqlite3 = loadSqlite3();
  let open = 0;
  let opened = 0;

  async function withConnection(fn) {
    const db = await new Promise((res, rej) => {
      const d = new sqlite3.Database(dbPath, (e) => (e ? rej(e) : res(d)));
    });
    open += 1;
    opened += 1;
    db.configure('busyTimeout', 5000);
    const conn = promisify(db);
    try {
      await conn.exec('PRAGMA synchronous=NORMAL');
      return await fn(conn);
    } finally {
      open -= 1;
      await conn.close();
    }
  }

  async function transaction(conn, fn) {
    await conn.exec('BEGIN IMMEDIATE');
    try {
      const result = await fn(conn);
      await conn.exec('COMMIT');
      return result;
    } catch (err) {
      await conn.exec('ROLLBACK').catch(() => {});
      throw err;
    }
  }

  const stats = () => ({ active: open, idle: 0, total: open, max: null, min: 0, waiting: 0, acquired: opened, created: opened });
  return {
    kind: 'node-sqlite3, a connection per request',
    init: () => withConnection((c) => c.exec(`PRAGMA journal_mode=WAL; ${SCHEMA}`)),
    insertKey: (key) => withConnection((c) => queries.insertKey(c, key)),
    listKeys: () => withConnection((c) => queries.listKeys(c)),
    getKey: (key) => withConnection((c) => queries.getKey(c, key)),
    deleteKey: (key) => withConnection((c) => queries.deleteKey(c, key)),
    recentUsage: (opts) => withConnection((c) => queries.recentUsage(c, opts)),
    spend: (req) => withConnection((c) => transaction(c, () => queries.spend(c, req))),
    stats,
    health: () => 'healthy',
    metrics: () => '',
    closed: false,
    close: async () => {},
  };
}

module.exports = { createSqlite3Store };
