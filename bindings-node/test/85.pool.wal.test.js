'use strict';
// The pool owns the WAL (issue 13): the checkpoint options, the WAL counters
// in getStats(), and commit tokens for read-your-writes (a primary sees its
// own tokens at once; a replica waits for them, tested with the real
// Litestream in pool-core/tests/replica.rs and the Python suite).
const test = require('node:test');
const assert = require('node:assert/strict');
const { Pool } = require('..');
const { tempDb } = require('./helpers');

test('checkpoint options are checked by the core and the WAL shows in getStats()', async () => {
  assert.throws(() => new Pool(tempDb(), { checkpoint: 'always' }), (err) => {
    assert.equal(err.code, 'LITEPOOL_INVALID_CONFIG');
    assert.match(err.message, /checkpoint/);
    return true;
  });
  assert.throws(() => new Pool(tempDb(), { checkpointPages: 0 }), { name: 'RangeError' });
  const pool = new Pool(tempDb(), { checkpoint: 'external', walHighWater: 1 << 20 });
  await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  for (let i = 0; i < 50; i++) await pool.run('INSERT INTO t (v) VALUES (?)', ['x'.repeat(500)]);
  const s = pool.getStats();
  assert.ok(s.walBytes >= 50 * 4096, `walBytes ${s.walBytes}`);
  assert.ok(s.walPeakBytes >= s.walBytes);
  assert.equal(s.checkpointsPassive + s.checkpointsTruncate, 0, 'external: the pool runs no checkpoints');
  assert.match(pool.metrics(), /litepool_wal_bytes\{pool="litepool"\} \d+/);
  await pool.close();
});

test('commitToken() counts up and readAtLeast() leases a connection that sees it', async () => {
  const pool = new Pool(tempDb(), { max: 2 });
  await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
  await pool.run('INSERT INTO t DEFAULT VALUES');
  const first = await pool.commitToken();
  const second = await pool.commitToken();
  assert.equal(second, first + 1);
  const conn = await pool.readAtLeast(second);
  assert.deepEqual(await conn.all('SELECT count(*) AS n FROM t'), [{ n: 1 }]);
  conn.release();
  assert.throws(() => pool.readAtLeast(-1), { name: 'RangeError', message: /"token" argument/ });
  await pool.close();
});
