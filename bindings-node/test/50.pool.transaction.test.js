'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Pool } = require('..');
const { tempDb } = require('./helpers');

test('transaction commits when the callback resolves', async () => {
  const pool = new Pool(tempDb(), { max: 3 });
  await pool.exec('CREATE TABLE t (x)');
  const out = await pool.transaction(async (conn) => {
    assert.equal(conn.mode, 'write');
    assert.equal(conn.inTransaction, true);
    await conn.run('INSERT INTO t VALUES (1)');
    await conn.run('INSERT INTO t VALUES (2)');
    // not visible outside before COMMIT
    assert.equal((await pool.get('SELECT count(*) AS c FROM t')).c, 0);
    return 'done';
  });
  assert.equal(out, 'done');
  assert.equal((await pool.get('SELECT count(*) AS c FROM t')).c, 2);
  assert.equal(pool.getStats().active, 0);
  await pool.close();
});

test('transaction rolls back and rethrows when the callback throws', async () => {
  const pool = new Pool(tempDb(), { max: 3 });
  await pool.exec('CREATE TABLE t (x UNIQUE)');
  await assert.rejects(pool.transaction(async (conn) => {
    await conn.run('INSERT INTO t VALUES (1)');
    await conn.run('INSERT INTO t VALUES (1)');
  }), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
  await assert.rejects(pool.transaction(() => { throw new Error('boom'); }), { message: 'boom' });
  assert.equal((await pool.get('SELECT count(*) AS c FROM t')).c, 0);
  assert.equal(pool.getStats().active, 0);
  assert.equal(pool.getStats().rolledBackOnReturn, 0, 'rolled back explicitly, not by the pool on return');
  await assert.rejects(pool.transaction('nope'), { name: 'TypeError' });
  await pool.close();
});

test('concurrent transactions queue on the write gate and all commit', async () => {
  const pool = new Pool(tempDb(), { max: 4 });
  await pool.exec('CREATE TABLE c (n INTEGER)');
  await pool.run('INSERT INTO c VALUES (0)');
  await Promise.all(Array.from({ length: 20 }, () => pool.transaction(async (conn) => {
    const { n } = await conn.get('SELECT n FROM c');
    await conn.run('UPDATE c SET n = ?', [n + 1]);
  })));
  assert.equal((await pool.get('SELECT n FROM c')).n, 20);
  await pool.close();
});
