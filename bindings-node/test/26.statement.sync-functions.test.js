'use strict';
// A prepared statement's getSync/allSync/runSync become raw functions on the
// object after their first call (src/sync_call.rs): the same results, errors
// and values as the async calls and the prototype's methods.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { Pool, Statement } = require('..');
const { tempDb } = require('./helpers');

async function withPool(options, fn) {
  const pool = new Pool(tempDb(), { max: 2, ...options });
  try {
    await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB, n)');
    await pool.run("INSERT INTO t VALUES (1, 'a', 1.5, x'00ff', NULL), (2, 'żółw ☃', NULL, x'', 9007199254740993)");
    await fn(pool);
  } finally {
    await pool.close();
  }
}

test('the first *Sync call puts raw functions on the statement; later calls give the same results', () => withPool({}, async (pool) => {
  const byId = pool.prepare('SELECT id, name, score, data FROM t WHERE id = ?');
  assert.equal(Object.hasOwn(byId, 'getSync'), false);
  const first = byId.getSync([1]);
  assert.equal(Object.hasOwn(byId, 'getSync'), true);
  assert.equal(Object.hasOwn(byId, 'allSync') && Object.hasOwn(byId, 'runSync'), true);
  assert.deepEqual(Object.keys(byId), [], 'not enumerable');
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(byId.getSync([1]), first);
    assert.deepEqual(byId.getSync(1), first, 'a single value binds as parameter 1');
    assert.deepEqual(byId.getSync([1]), await byId.get([1]));
  }
  assert.deepEqual(first, { id: 1, name: 'a', score: 1.5, data: Buffer.from([0, 255]) });
  assert.deepEqual(byId.getSync([2]), { id: 2, name: 'żółw ☃', score: null, data: Buffer.alloc(0) });
  assert.equal(byId.getSync([3]), undefined);
  // The prototype's method still works on the object.
  assert.deepEqual(Statement.prototype.getSync.call(byId, [2]), byId.getSync([2]));
  const all = pool.prepare('SELECT id FROM t WHERE id >= $min ORDER BY id');
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(all.allSync({ min: 1 }), [{ id: 1 }, { id: 2 }]);
    assert.deepEqual(all.allSync([2]), [{ id: 2 }]);
    assert.deepEqual(all.allSync([5]), []);
  }
  const insert = pool.prepare('INSERT INTO t (name) VALUES (?)');
  assert.deepEqual(insert.runSync(['x']), { changes: 1, lastInsertRowid: 3 });
  assert.deepEqual(insert.runSync(['y']), { changes: 1, lastInsertRowid: 4 });
  assert.deepEqual(await insert.run(['z']), { changes: 1, lastInsertRowid: 5 });
}));

test('raw functions throw the same errors, with codes, and a statement keeps working after one', () => withPool({}, async (pool) => {
  const insert = pool.prepare('INSERT INTO t (id, name) VALUES (?, ?)');
  insert.runSync([10, 'p']);
  for (let i = 0; i < 2; i++) {
    assert.throws(() => insert.runSync([10, 'q']), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY', errno: 1555 });
    assert.throws(() => insert.runSync([11]), { code: 'LITEPOOL_INVALID_ARGUMENT', message: /bindings supplied/ });
    assert.throws(() => insert.runSync([11, {}]), { name: 'TypeError', message: /parameter 2 must be/ });
    assert.throws(() => insert.runSync([11, Symbol('s')]), { name: 'TypeError', message: /got a symbol/ });
    assert.throws(() => insert.runSync([2n ** 64n, 'x']), { name: 'RangeError' });
    assert.throws(() => insert.runSync([11, 'x'], 'nope'), { name: 'TypeError', message: /options argument/ });
    assert.throws(() => insert.runSync([11, 'x'], { bogus: 1 }), { name: 'TypeError', message: /Unknown option "bogus"/ });
  }
  assert.deepEqual(insert.runSync([11, 'x'], { deadlineMillis: 5000 }), { changes: 1, lastInsertRowid: 11 });
  const begin = pool.prepare('BEGIN');
  assert.throws(() => begin.runSync(), { code: 'LITEPOOL_MISUSE' });
  assert.throws(() => begin.runSync(), { code: 'LITEPOOL_MISUSE' });
  assert.equal(pool.getStats().active, 0);
}));

test('text that is not UTF-8 fails in getSync as it does in get', () => withPool({}, async (pool) => {
  await pool.run("INSERT INTO t (id, name) VALUES (20, CAST(x'ff61' AS TEXT))");
  const bad = pool.prepare('SELECT name FROM t WHERE id = 20');
  const async = await bad.get().then(() => null, (e) => e);
  assert.ok(async, 'the async call rejects');
  for (let i = 0; i < 2; i++) {
    assert.throws(() => bad.getSync(), { code: async.code, message: async.message });
  }
}));

test('safeIntegers: integers come back as BigInt from the raw functions too', () => withPool({ safeIntegers: true }, async (pool) => {
  const big = pool.prepare('SELECT id, n FROM t WHERE id = ?');
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(big.getSync([2n]), { id: 2n, n: 9007199254740993n });
    assert.deepEqual(big.allSync([1]), [{ id: 1n, n: null }]);
  }
  assert.deepEqual(pool.prepare('INSERT INTO t (name) VALUES (1)').runSync(), { changes: 1, lastInsertRowid: 3n });
}));

test('rows wider than the stack buffer, and a column named __proto__ (no factory)', () => withPool({}, async (pool) => {
  const cols = Array.from({ length: 40 }, (_, i) => `${i} AS c${i}`).join(', ');
  const wide = pool.prepare(`SELECT ${cols}`);
  const expected = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`c${i}`, i]));
  for (let i = 0; i < 2; i++) assert.deepEqual(wide.getSync(), expected);
  const proto = pool.prepare('SELECT 1 AS "__proto__", 2 AS y UNION ALL SELECT 3, 4');
  for (let i = 0; i < 2; i++) {
    const rows = proto.allSync();
    assert.equal(rows.length, 2);
    for (const row of rows) assert.equal(Object.getPrototypeOf(row), Object.prototype);
    assert.deepEqual(rows.map((r) => r.y), [2, 4]);
  }
}));

test('a call made from inside another (a parameter getter) gets its own call and is right', () => withPool({}, async (pool) => {
  const byId = pool.prepare('SELECT name FROM t WHERE id = ?');
  byId.getSync([1]);
  const params = [];
  Object.defineProperty(params, 0, { enumerable: true, get: () => (byId.getSync([2]).name === 'żółw ☃' ? 1 : 0) });
  for (let i = 0; i < 2; i++) assert.deepEqual(byId.getSync(params), { name: 'a' });
  const thrower = [];
  Object.defineProperty(thrower, 0, { enumerable: true, get: () => { throw new Error('from a getter'); } });
  assert.throws(() => byId.getSync(thrower), { message: 'from a getter' });
  assert.deepEqual(byId.getSync([1]), { name: 'a' });
  assert.equal(pool.getStats().active, 0);
}));

test('statements and their raw functions are collected without crashing (finalizers, in a child with --expose-gc)', () => {
  const script = `
    const { Pool } = require(${JSON.stringify(path.join(__dirname, '..'))});
    const pool = new Pool(${JSON.stringify(tempDb())}, { max: 1 });
    let kept;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 50; i++) {
        const s = pool.prepare('SELECT ' + i + ' AS v');
        if (s.getSync().v !== i) throw new Error('wrong row');
        if (i === 7) kept = s.getSync; // a detached raw function outlives its statement object
      }
      global.gc();
    }
    if (kept().v !== 7) throw new Error('the kept function lost its statement');
    pool.close().then(() => console.log('done'));
  `;
  const out = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', env: process.env });
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout.trim(), 'done');
});
