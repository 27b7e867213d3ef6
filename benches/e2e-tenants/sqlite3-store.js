'use strict';
// The tenant service's storage the naive way the design note argues against:
// one node-sqlite3 `Database` (one SQLite connection) per tenant, opened when
// the tenant is registered and kept open, plus one for the main database.
// Same SQL as the shared pool (examples/tenant-service/lib/queries.js); the
// tenant's tables are its file's `main` schema.
//
// A Database is one connection: two requests' transactions on it would
// interleave, so each tenant has a JS gate: a transaction waits for the one
// before it, and a read waits while one is open (it would otherwise read the
// other request's uncommitted rows). Each connection gets busy_timeout=5000
// and synchronous=NORMAL, as litepool sets; the files are WAL (provisioning
// set it, it persists). Statements run on libuv's threadpool (node-sqlite3).
const path = require('node:path');
const { REGISTRY_SCHEMA } = require('../../examples/tenant-service/lib/schema');
const { withSqlLog } = require('../../examples/tenant-service/lib/sql-log');

/** node-sqlite3: this suite's install, else one a sibling suite built. */
function loadSqlite3() {
  const candidates = [
    path.join(__dirname, 'node_modules', 'sqlite3'),
    path.join(__dirname, '..', 'e2e', 'node_modules', 'sqlite3'),
    path.join(__dirname, '..', 'node', 'node_modules', 'sqlite3'),
  ];
  for (const c of candidates) {
    try {
      return require(c);
    } catch {
      // try the next one
    }
  }
  throw new Error('node-sqlite3 is not installed: run benches/e2e-tenants/run.sh (npm install sqlite3@6 from source)');
}

/** Opens `file`; resolves with promise-returning all/get/run/exec/close. */
function open(sqlite3, file) {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READWRITE, (err) => {
      if (err) return reject(err);
      db.configure('busyTimeout', 5000);
      const conn = {
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
      conn.exec('PRAGMA synchronous=NORMAL').then(() => resolve(conn), reject);
    });
  });
}

/** An executor (lib/queries.js) over one connection, with the gate described above. */
function gatedExecutor(opened, tenant, log) {
  let chain = Promise.resolve(); // transactions, one after the other
  let current = null; // the transaction in progress, if any
  const ready = async () => {
    const conn = await opened;
    while (current !== null) await current.catch(() => {});
    return conn;
  };
  const call = (op) => (sql, params) => withSqlLog(log, tenant, sql, params, async () => (await ready())[op](sql, params));
  return {
    tenant,
    schema: 'main',
    all: call('all'),
    get: call('get'),
    run: call('run'),
    transaction(fn) {
      const run = chain.then(async () => {
        const conn = await opened;
        const body = (async () => {
          await conn.exec('BEGIN IMMEDIATE');
          try {
            const result = await fn(conn);
            await conn.exec('COMMIT');
            return result;
          } catch (err) {
            await conn.exec('ROLLBACK').catch(() => {});
            throw err;
          }
        })();
        current = body;
        try {
          return await body;
        } finally {
          current = null;
        }
      });
      chain = run.catch(() => {});
      return run;
    },
  };
}

function createSqlite3Store(dbPath, { log = () => {} } = {}) {
  const sqlite3 = loadSqlite3();
  const mainConn = open(sqlite3, dbPath);
  mainConn.catch(() => {});
  const tenants = new Map(); // code -> { conn: Promise, db }
  let operations = 0;
  return {
    kind: 'node-sqlite3, a Database per tenant',
    main: gatedExecutor(mainConn, null, log),
    async init() {
      await (await mainConn).exec(REGISTRY_SCHEMA);
    },
    registerTenant(code, file) {
      const conn = open(sqlite3, file);
      conn.catch((err) => log(`cannot open tenant ${code}: ${err.message}`));
      tenants.set(code, { conn, db: gatedExecutor(conn, code, log) });
    },
    async removeTenant(code) {
      const t = tenants.get(code);
      tenants.delete(code);
      if (t) await (await t.conn).close();
    },
    /** Resolves once every tenant's Database is open (serve.js waits for it before listening). */
    ready: () => Promise.all([mainConn, ...[...tenants.values()].map((t) => t.conn)]).then(() => undefined),
    forTenant(code) {
      operations += 1;
      return tenants.get(code).db;
    },
    stats: () => ({ active: 0, idle: tenants.size + 1, total: tenants.size + 1, max: null, min: 0, waiting: 0, acquired: operations }),
    tenantStats: () => [],
    health: () => 'healthy',
    metrics: () => '',
    closed: false,
    async close() {
      const all = [mainConn, ...[...tenants.values()].map((t) => t.conn)];
      await Promise.all(all.map(async (c) => (await c).close().catch(() => {})));
    },
  };
}

module.exports = { createSqlite3Store };
