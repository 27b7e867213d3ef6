'use strict';
// The service's storage on one shared litepool Pool, as the design note
// has it: every tenant's database is registered on the same pool and
// attached to whichever connection serves a call for it, as schema
// `tenant_<code>`. A tenant's executor passes `{ tenant: code }` on every
// call, so each lease carries its tenant: the pool attaches the file (an LRU
// under SQLite's limit of 10 attachments per connection, preferring a
// connection that has it already) and confines the lease to main, temp and
// that schema. Reads run on any connection; writes and transactions take the
// tenant's own write gate (writers of different tenants do not queue behind
// each other).
//
// Transactions are BEGIN DEFERRED on a tenant write lease, not litepool's
// `pool.transaction()` (BEGIN IMMEDIATE): SQLite's BEGIN IMMEDIATE takes the
// write lock of *every* database on the connection — main and each tenant
// the LRU keeps attached there — so two tenants' transactions on two
// connections collide in SQLite's busy handler although their write gates
// are different, and under load they can stall until busy_timeout (a core
// issue, reported with the example). A deferred transaction takes a write
// lock only on the file it writes, at its first write; the tenant's write
// gate already keeps other writers of that tenant out. The transactions of
// lib/queries.js start with a write, so none upgrades a read snapshot.
//
// Store interface (also implemented by benches/e2e-tenants/ for its peers):
//   init(), main (executor on the main database), registerTenant(code, file),
//   removeTenant(code, timeoutMillis), forTenant(code) -> executor
//   (lib/queries.js), stats(), tenantStats(), health(), metrics(), closed,
//   close(timeoutMillis)
const { REGISTRY_SCHEMA } = require('./schema');
const { withSqlLog } = require('./sql-log');

/** A leased connection's all/get/run, logging failures for `tenant`. */
function loggedConnection(conn, tenant, log) {
  return {
    all: (sql, params) => withSqlLog(log, tenant, sql, params, () => conn.all(sql, params)),
    get: (sql, params) => withSqlLog(log, tenant, sql, params, () => conn.get(sql, params)),
    run: (sql, params) => withSqlLog(log, tenant, sql, params, () => conn.run(sql, params)),
    exec: (sql) => withSqlLog(log, tenant, sql, [], () => conn.exec(sql)),
  };
}

/**
 * Runs `fn(conn)` in a write transaction for `tenant` (null: the main
 * database): a write lease (the tenant's write gate, then a connection with
 * the tenant attached), BEGIN DEFERRED, COMMIT when fn resolves, ROLLBACK
 * (and rethrow) when it throws; the lease is released either way. One lease.
 */
async function writeTransaction(pool, tenant, fn, log = () => {}) {
  const conn = await withSqlLog(log, tenant, '(write lease)', [], () =>
    pool.acquire(tenant === null ? { mode: 'write' } : { mode: 'write', tenant }),
  );
  try {
    await withSqlLog(log, tenant, 'BEGIN DEFERRED', [], () => conn.exec('BEGIN DEFERRED'));
    let result;
    try {
      result = await fn(loggedConnection(conn, tenant, log));
    } catch (err) {
      if (conn.inTransaction) await conn.exec('ROLLBACK').catch(() => {});
      throw err;
    }
    await withSqlLog(log, tenant, 'COMMIT', [], () => conn.exec('COMMIT'));
    return result;
  } finally {
    conn.release();
  }
}

/** The executor of lib/queries.js for `tenant` (null: the main database, unconfined). */
function poolExecutor(pool, tenant, log) {
  const opts = tenant === null ? undefined : { tenant };
  return {
    tenant,
    schema: tenant === null ? 'main' : `tenant_${tenant}`,
    all: (sql, params) => withSqlLog(log, tenant, sql, params, () => pool.query(sql, params, opts)),
    get: (sql, params) => withSqlLog(log, tenant, sql, params, () => pool.get(sql, params, opts)),
    run: (sql, params) => withSqlLog(log, tenant, sql, params, () => pool.run(sql, params, opts)),
    transaction: (fn) => writeTransaction(pool, tenant, fn, log),
  };
}

function createLitepoolStore(pool, { log = () => {} } = {}) {
  const executors = new Map();
  return {
    kind: 'litepool shared pool',
    main: poolExecutor(pool, null, log),
    init: () => withSqlLog(log, null, REGISTRY_SCHEMA, [], () => pool.exec(REGISTRY_SCHEMA)),
    /** Throws (with litepool's code) if the file cannot be opened. */
    registerTenant(code, file) {
      pool.registerTenant(code, file);
    },
    async removeTenant(code, timeoutMillis) {
      executors.delete(code);
      await pool.removeTenant(code, timeoutMillis);
    },
    forTenant(code) {
      let db = executors.get(code);
      if (db === undefined) {
        db = poolExecutor(pool, code, log);
        executors.set(code, db);
      }
      return db;
    },
    stats: () => pool.getStats(),
    tenantStats: () => pool.tenantStats(),
    health: () => pool.health(),
    metrics: () => pool.metrics(),
    get closed() {
      return pool.closed;
    },
    close: (timeoutMillis) => pool.close(timeoutMillis),
  };
}

module.exports = { createLitepoolStore, poolExecutor, writeTransaction };
