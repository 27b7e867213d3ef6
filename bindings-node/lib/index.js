'use strict';
// The package entry: the native classes, plus `pool.transaction()`, which
// awaits a JS callback between BEGIN and COMMIT and so is written in JS over
// the native `acquire({ mode: 'write' })` / `conn.begin()` / `conn.exec()`.
const native = require('../index.js');

const { Pool } = native;

/**
 * Runs `fn(conn)` inside a managed transaction on the write lane: BEGIN
 * IMMEDIATE, then COMMIT when the promise `fn` returns resolves, or ROLLBACK
 * (and rethrow) when it rejects or throws. The connection is released
 * either way. Inside, `BEGIN`/`COMMIT`/`ROLLBACK` are refused with
 * LITEPOOL_MISUSE (the transaction's end is this function's to decide, so
 * the caller is never told it failed when it committed); savepoints work.
 */
Pool.prototype.transaction = async function transaction(fn, options) {
  if (typeof fn !== 'function') {
    throw new TypeError('Expected the first argument to be a function');
  }
  const conn = await this.acquire({ ...options, mode: 'write' });
  try {
    await conn.beginManaged();
    let result;
    try {
      result = await fn(conn);
    } catch (err) {
      await conn.rollback().catch(() => {});
      throw err;
    }
    await conn.commit();
    return result;
  } finally {
    conn.release();
  }
};

module.exports = native;
