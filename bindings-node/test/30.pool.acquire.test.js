'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Pool } = require('..');
const { tempDb } = require('./helpers');

test('acquire, use and release a connection', async () => {
  const pool = new Pool(tempDb(), { max: 2 });
  const conn = await pool.acquire();
  assert.equal(conn.mode, 'any');
  assert.equal(pool.getStats().active, 1);
  await conn.exec('CREATE TABLE t (x)');
  assert.deepEqual(await conn.run('INSERT INTO t VALUES (?)', [1]), { changes: 1, lastInsertRowid: 1 });
  assert.deepEqual(await conn.all('SELECT x FROM t'), [{ x: 1 }]);
  assert.deepEqual(await conn.get('SELECT x FROM t'), { x: 1 });
  assert.deepEqual(conn.allSync('SELECT x FROM t'), [{ x: 1 }]);
  conn.release();
  conn.release(); // harmless
  assert.equal(conn.released, true);
  assert.equal(pool.getStats().active, 0);
  await assert.rejects(conn.all('SELECT 1'), { code: 'LITEPOOL_RELEASED' });
  assert.throws(() => conn.getSync('SELECT 1'), { code: 'LITEPOOL_RELEASED' });
  await pool.close();
});

test('calls on one connection run in the order they were made', async () => {
  const pool = new Pool(tempDb(), { max: 1 });
  const conn = await pool.acquire({ mode: 'write' });
  await conn.exec('CREATE TABLE t (x)');
  const calls = [];
  for (let i = 0; i < 20; i++) calls.push(conn.run('INSERT INTO t VALUES (?)', [i]));
  const rows = conn.all('SELECT x FROM t ORDER BY rowid');
  const results = await Promise.all(calls);
  assert.deepEqual(results.map((r) => r.lastInsertRowid), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.equal((await rows).length, 20);
  // a sync call while an async one runs is refused, not raced
  const running = conn.all('SELECT x FROM t');
  assert.throws(() => conn.allSync('SELECT 1'), { code: 'LITEPOOL_CONNECTION_BUSY' });
  await running;
  // calls queued when release() comes reject
  const a = conn.get('SELECT 1 AS one');
  const b = conn.get('SELECT 2 AS two');
  conn.release();
  const settled = await Promise.allSettled([a, b]);
  assert.equal(settled[1].status, 'rejected');
  assert.equal(settled[1].reason.code, 'LITEPOOL_RELEASED');
  await pool.close();
});

test('read leases refuse writes; write leases begin IMMEDIATE transactions', async () => {
  const pool = new Pool(tempDb(), { max: 3 });
  await pool.exec('CREATE TABLE t (x)');
  const reader = await pool.acquire({ mode: 'read' });
  assert.equal(reader.mode, 'read');
  await assert.rejects(reader.run('INSERT INTO t VALUES (1)'), { code: 'LITEPOOL_READ_ONLY_LANE' });
  reader.release();
  const writer = await pool.acquire({ mode: 'write' });
  await writer.begin();
  assert.equal(writer.inTransaction, true);
  await writer.run('INSERT INTO t VALUES (1)');
  await writer.exec('COMMIT');
  assert.equal(writer.inTransaction, false);
  writer.release();
  assert.throws(() => pool.acquire({ mode: 'readonly' }), { name: 'RangeError', message: /"mode" option/ });
  await pool.close();
});

test('an acquire that waits past its timeout fails with LITEPOOL_TIMEOUT, stating the pool', async () => {
  const pool = new Pool(tempDb(), { max: 1, min: 0, connectionTimeoutMillis: 100 });
  const held = await pool.acquire();
  const started = Date.now();
  await assert.rejects(pool.query('SELECT 1'), (err) => {
    assert.equal(err.code, 'LITEPOOL_TIMEOUT');
    assert.match(err.message, /timed out after \d+ ms .*total=1, active=1/);
    return true;
  });
  assert.ok(Date.now() - started >= 90);
  await assert.rejects(pool.acquire({ timeoutMillis: 30 }), { code: 'LITEPOOL_TIMEOUT' });
  assert.equal(pool.getStats().timeouts, 2);
  held.release();
  assert.deepEqual(await pool.get('SELECT 1 AS one'), { one: 1 });
  await pool.close();
});

test('close fails waiters and later calls with LITEPOOL_CLOSED', async () => {
  const pool = new Pool(tempDb(), { max: 1 });
  const held = await pool.acquire();
  const waiting = pool.query('SELECT 1');
  const closing = pool.close(2000);
  await assert.rejects(waiting, { code: 'LITEPOOL_CLOSED' });
  held.release();
  await closing;
  await assert.rejects(pool.query('SELECT 1'), { code: 'LITEPOOL_CLOSED' });
  assert.throws(() => pool.querySync('SELECT 1'), { code: 'LITEPOOL_CLOSED' });
  assert.equal(pool.health(), 'degraded');
});

test('close rejects with LITEPOOL_CLOSE_TIMEOUT while a lease stays out', async () => {
  const pool = new Pool(tempDb(), { max: 1 });
  const held = await pool.acquire();
  await assert.rejects(pool.close(50), { code: 'LITEPOOL_CLOSE_TIMEOUT' });
  held.release();
});
