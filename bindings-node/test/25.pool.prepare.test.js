'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Pool, Statement } = require('..');
const { tempDb } = require('./helpers');

async function withPool(options, fn) {
  const pool = new Pool(tempDb(), { max: 4, ...options });
  try {
    await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n)');
    await fn(pool);
  } finally {
    await pool.close();
  }
}

test('prepare: sync and async calls, reused', () => withPool({}, async (pool) => {
  const insert = pool.prepare('INSERT INTO t (name, n) VALUES (?, ?)');
  assert.ok(insert instanceof Statement);
  assert.equal(insert.source, 'INSERT INTO t (name, n) VALUES (?, ?)');
  assert.deepEqual(insert.runSync(['a', 1]), { changes: 1, lastInsertRowid: 1 });
  assert.deepEqual(await insert.run(['b', 2]), { changes: 1, lastInsertRowid: 2 });
  const byN = pool.prepare('SELECT name, n FROM t WHERE n = ?');
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(byN.getSync([1]), { name: 'a', n: 1 });
    assert.deepEqual(byN.getSync(2), { name: 'b', n: 2 }); // a single value binds as parameter 1
    assert.deepEqual(await byN.get([2]), { name: 'b', n: 2 });
  }
  assert.equal(byN.getSync([99]), undefined);
  const all = pool.prepare('SELECT name FROM t WHERE n >= $min ORDER BY id');
  assert.deepEqual(all.allSync({ min: 1 }), [{ name: 'a' }, { name: 'b' }]);
  assert.deepEqual(await all.all({ $min: 2 }), [{ name: 'b' }]);
  assert.deepEqual(all.allSync({ min: 5 }), []);
}));

test('prepare: new column names after a schema change are used', () => withPool({}, async (pool) => {
  await pool.run("INSERT INTO t (name, n) VALUES ('a', 1)");
  const star = pool.prepare('SELECT * FROM t');
  assert.deepEqual(star.getSync(), { id: 1, name: 'a', n: 1 });
  await pool.exec('ALTER TABLE t RENAME COLUMN n TO m');
  assert.deepEqual(star.getSync(), { id: 1, name: 'a', m: 1 });
  assert.deepEqual(star.allSync(), [{ id: 1, name: 'a', m: 1 }]);
}));

test('prepare: errors surface at the call, with codes', () => withPool({}, async (pool) => {
  assert.throws(() => pool.prepare(42), { name: 'TypeError', message: 'Expected the "sql" argument to be a string' });
  const bad = pool.prepare('SELECT nope FROM t');
  assert.throws(() => bad.getSync(), { code: 'SQLITE_ERROR', message: /no such column: nope/ });
  await assert.rejects(bad.get(), { code: 'SQLITE_ERROR' });
  const begin = pool.prepare('BEGIN');
  assert.throws(() => begin.runSync(), { code: 'LITEPOOL_MISUSE' });
  assert.throws(() => begin.runSync(), { code: 'LITEPOOL_MISUSE' }); // still refused on a second call
  const insert = pool.prepare('INSERT INTO t (name) VALUES (?)');
  insert.runSync(['x']);
  assert.throws(() => insert.runSync(['x']), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
  assert.throws(() => insert.runSync([]), { code: 'LITEPOOL_INVALID_ARGUMENT', message: /bindings supplied/ });
  assert.throws(() => insert.runSync([{}]), { name: 'TypeError' });
}));

test('prepare: writes take the write lane, reads see them; safeIntegers applies', () => withPool({ safeIntegers: true }, async (pool) => {
  const insert = pool.prepare('INSERT INTO t (name, n) VALUES (?, ?)');
  await Promise.all(Array.from({ length: 20 }, (_, i) => insert.run([`r${i}`, i])));
  const count = pool.prepare('SELECT count(*) AS c FROM t');
  assert.deepEqual(count.getSync(), { c: 20n });
  assert.deepEqual(await count.get(), { c: 20n });
  assert.equal(pool.classify('INSERT INTO t (name, n) VALUES (?, ?)').readOnly, false);
  assert.equal(pool.getStats().active, 0);
}));

test('prepare: calls on a closed pool fail with LITEPOOL_CLOSED', async () => {
  const pool = new Pool(tempDb(), { max: 2 });
  const one = pool.prepare('SELECT 1 AS x');
  assert.deepEqual(one.getSync(), { x: 1 });
  await pool.close();
  assert.throws(() => one.getSync(), { code: 'LITEPOOL_CLOSED' });
  await assert.rejects(one.get(), { code: 'LITEPOOL_CLOSED' });
});

test('getSync rows are built from a row factory: any column name, the shape follows the columns', () => withPool({}, async (pool) => {
  const odd = pool.prepare('SELECT 1 AS "we""ird\\", 2 AS "a b", 3 AS "x\ny", 4 AS "constructor", 5 AS "0"');
  assert.deepEqual(odd.getSync(), { 'we"ird\\': 1, 'a b': 2, 'x\ny': 3, constructor: 4, 0: 5 });
  const proto = pool.prepare('SELECT 1 AS "__proto__", 2 AS y');
  const row = proto.getSync();
  assert.equal(Object.getPrototypeOf(row), Object.prototype, 'a column named __proto__ never sets the prototype');
  assert.equal(row.y, 2);
  // The same statement after a schema change under SELECT *: new columns, new shape.
  await pool.exec('CREATE TABLE s (a INTEGER)');
  await pool.run('INSERT INTO s VALUES (1)');
  const star = pool.prepare('SELECT * FROM s');
  assert.deepEqual(star.getSync(), { a: 1 });
  await pool.exec('ALTER TABLE s ADD COLUMN b TEXT DEFAULT \'x\'');
  assert.deepEqual(star.getSync(), { a: 1, b: 'x' });
}));
