'use strict';
// The service's storage on a litepool Pool. Reads go through `pool.query`
// and `pool.get` (any connection, concurrently); writes through `pool.run`;
// the gateway's check-log-increment runs in `pool.transaction` on the write
// lane (BEGIN IMMEDIATE, one writer at a time, first come first served).
const queries = require('./queries');
const { SCHEMA } = require('./schema');

/** Adapts a Pool to the executor interface of lib/queries.js. */
function poolExecutor(pool) {
  return {
    all: (sql, params) => pool.query(sql, params),
    get: (sql, params) => pool.get(sql, params),
    run: (sql, params) => pool.run(sql, params),
  };
}

function createLitepoolStore(pool) {
  const db = poolExecutor(pool);
  return {
    kind: 'litepool',
    init: () => pool.exec(SCHEMA),
    insertKey: (key) => queries.insertKey(db, key),
    listKeys: () => queries.listKeys(db),
    getKey: (key) => queries.getKey(db, key),
    deleteKey: (key) => queries.deleteKey(db, key),
    recentUsage: (opts) => queries.recentUsage(db, opts),
    // A Connection already has all/get/run with the executor's signatures.
    spend: (req) => pool.transaction((conn) => queries.spend(conn, req)),
    stats: () => pool.getStats(),
    health: () => pool.health(),
    metrics: () => pool.metrics(),
    get closed() {
      return pool.closed;
    },
    close: (timeoutMillis) => pool.close(timeoutMillis),
  };
}

module.exports = { createLitepoolStore, poolExecutor };
