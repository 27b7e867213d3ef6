'use strict';
// The tenant service on litepool without its tenant support, and so without
// tenant affinity: one shared Pool with no tenant registered; every call
// leases a connection, ATTACHes the tenant's file as `tenant_<code>`, runs,
// DETACHes and releases. That is the cost tenant affinity saves (the core
// has no switch to turn affinity off: this is the nearest honest
// equivalent). Writers of one tenant take turns through a JS gate per tenant
// (what litepool's per-tenant write gates do for tenant leases), on an
// ordinary lease, in BEGIN DEFERRED transactions as in lib/store.js; writers
// of different tenants write different files and run side by side. What
// remains different, besides affinity: no authorizer confines the lease to
// its tenant.
//
// Same SQL (examples/tenant-service/lib/queries.js); each call is 3 jobs on
// the pool's executor (ATTACH, the statement, DETACH) instead of 1.
const { REGISTRY_SCHEMA } = require('../../examples/tenant-service/lib/schema');
const { withSqlLog } = require('../../examples/tenant-service/lib/sql-log');
const { poolExecutor } = require('../../examples/tenant-service/lib/store');

const WRITE = /^\s*(INSERT|UPDATE|DELETE|REPLACE)\b/i;

function attachedExecutor(pool, code, file, log) {
  const schema = `tenant_${code}`;
  let writers = Promise.resolve(); // this tenant's writers, one after the other
  function asWriter(fn) {
    const run = writers.then(fn);
    writers = run.catch(() => {});
    return run;
  }
  async function attached(fn) {
    const conn = await pool.acquire();
    try {
      await conn.run(`ATTACH DATABASE ? AS ${schema}`, [file]);
      try {
        return await fn(conn);
      } finally {
        if (conn.inTransaction) await conn.exec('ROLLBACK').catch(() => {});
        await conn.exec(`DETACH DATABASE ${schema}`);
      }
    } finally {
      conn.release();
    }
  }
  const call = (op) => (sql, params) =>
    withSqlLog(log, code, sql, params, () => {
      const run = () => attached((conn) => conn[op](sql, params));
      return WRITE.test(sql) ? asWriter(run) : run();
    });
  return {
    tenant: code,
    schema,
    all: call('all'),
    get: call('get'),
    run: call('run'),
    transaction: (fn) =>
      asWriter(() =>
        attached(async (conn) => {
          await conn.exec('BEGIN DEFERRED');
          const result = await fn(conn);
          await conn.exec('COMMIT');
          return result;
        }),
      ),
  };
}

function createAttachStore(pool, { log = () => {} } = {}) {
  const executors = new Map();
  return {
    kind: 'litepool Pool, ATTACH + DETACH per call (no tenant affinity)',
    main: poolExecutor(pool, null, log),
    init: () => pool.exec(REGISTRY_SCHEMA),
    registerTenant(code, file) {
      executors.set(code, attachedExecutor(pool, code, file, log));
    },
    async removeTenant(code) {
      executors.delete(code);
    },
    forTenant: (code) => executors.get(code),
    stats: () => pool.getStats(),
    tenantStats: () => [],
    health: () => pool.health(),
    metrics: () => pool.metrics(),
    get closed() {
      return pool.closed;
    },
    close: (timeoutMillis) => pool.close(timeoutMillis),
  };
}

module.exports = { createAttachStore };
