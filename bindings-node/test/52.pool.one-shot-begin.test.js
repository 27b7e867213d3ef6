'use strict';
// Transaction control through a one-shot call is refused the same way on
// every path (async, *Sync, prepared, scripts): LITEPOOL_MISUSE, nothing
// silently rolled back. A script holding a whole transaction is fine.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Pool } = require('../lib');
const { tempDb } = require('./helpers');

test('BEGIN, COMMIT and a script leaving a transaction open are refused on every one-shot path', async () => {
  const pool = new Pool(tempDb(), { max: 2, min: 0 });
  await pool.exec('CREATE TABLE t (x)');
  const paths = {
    run: () => pool.run('BEGIN'),
    get: () => pool.get('BEGIN'),
    query: () => pool.query('BEGIN'),
    exec: () => pool.exec('BEGIN'),
    'exec, insert left open': () => pool.exec('BEGIN; INSERT INTO t VALUES (1)'),
    'exec, savepoint': () => pool.exec('SAVEPOINT a'),
    runSync: async () => pool.runSync('BEGIN'),
    getSync: async () => pool.getSync('BEGIN'),
    querySync: async () => pool.querySync('BEGIN'),
    execSync: async () => pool.execSync('BEGIN IMMEDIATE'),
    'prepare().run': () => pool.prepare('BEGIN').run(),
    'prepare().runSync': async () => pool.prepare('BEGIN').runSync(),
    'run COMMIT': () => pool.run('COMMIT'),
  };
  for (const [name, call] of Object.entries(paths)) {
    await assert.rejects(call(), { code: 'LITEPOOL_MISUSE' }, name);
  }
  assert.deepEqual(await pool.query('SELECT x FROM t'), [], 'nothing was written');
  await pool.exec('BEGIN; INSERT INTO t VALUES (2); COMMIT');
  pool.execSync('BEGIN; INSERT INTO t VALUES (3); COMMIT');
  assert.deepEqual(await pool.query('SELECT x FROM t ORDER BY x'), [{ x: 2 }, { x: 3 }]);
  await pool.close();
});

test('pool.closed is true as soon as close() was called', async () => {
  for (let i = 0; i < 50; i++) {
    const pool = new Pool(':memory:', { max: 1, min: 0 });
    const closing = pool.close();
    assert.equal(pool.closed, true);
    await closing;
  }
});
