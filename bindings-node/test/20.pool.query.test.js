'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Pool } = require('..');
const { tempDb } = require('./helpers');

async function withPool(options, fn) {
  const pool = new Pool(tempDb(), { max: 4, ...options });
  try {
    await pool.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n, b BLOB)');
    await fn(pool);
  } finally {
    await pool.close();
  }
}

test('query, get, run and exec', () => withPool({}, async (pool) => {
  assert.deepEqual(await pool.run('INSERT INTO t (name, n) VALUES (?, ?)', ['a', 1]), { changes: 1, lastInsertRowid: 1 });
  assert.deepEqual(await pool.run('INSERT INTO t (name, n) VALUES (?, ?)', ['b', 2]), { changes: 1, lastInsertRowid: 2 });
  assert.deepEqual(await pool.query('SELECT name, n FROM t ORDER BY id'), [{ name: 'a', n: 1 }, { name: 'b', n: 2 }]);
  assert.deepEqual(await pool.get('SELECT name FROM t WHERE n = ?', [2]), { name: 'b' });
  assert.equal(await pool.get('SELECT name FROM t WHERE n = ?', [99]), undefined);
  assert.deepEqual(await pool.query('SELECT name FROM t WHERE n > 5'), []);
  assert.deepEqual(await pool.run('UPDATE t SET n = n + 10'), { changes: 2, lastInsertRowid: 2 });
  await pool.exec("INSERT INTO t (name) VALUES ('c'); INSERT INTO t (name) VALUES ('d');");
  assert.equal((await pool.get('SELECT count(*) AS c FROM t')).c, 4);
}));

test('named parameters with $, : and @ prefixes, with or without the prefix in the key', () => withPool({}, async (pool) => {
  await pool.run('INSERT INTO t (name, n) VALUES ($name, $n)', { name: 'x', n: 1 });
  await pool.run('INSERT INTO t (name, n) VALUES (:name, :n)', { ':name': 'y', ':n': 2 });
  await pool.run('INSERT INTO t (name, n) VALUES (@name, @n)', { name: 'z', '@n': 3 });
  assert.deepEqual(await pool.query('SELECT name, n FROM t ORDER BY n'), [
    { name: 'x', n: 1 }, { name: 'y', n: 2 }, { name: 'z', n: 3 },
  ]);
  await assert.rejects(pool.run('INSERT INTO t (name, n) VALUES ($name, $n)', { name: 'q' }), (err) => {
    assert.equal(err.code, 'LITEPOOL_INVALID_ARGUMENT');
    assert.match(err.message, /\$n/);
    return true;
  });
}));

test('a wrong number of positional parameters is an error', () => withPool({}, async (pool) => {
  await assert.rejects(pool.query('SELECT ?, ?', [1]), { code: 'LITEPOOL_INVALID_ARGUMENT', message: /uses 2, and there are 1 supplied/ });
  await assert.rejects(pool.query('SELECT ?', [1, 2]), { code: 'LITEPOOL_INVALID_ARGUMENT' });
  assert.deepEqual(await pool.get('SELECT ? AS v', 5), { v: 5 }, 'a single value binds as the first parameter');
}));

test('values round-trip: number, string, Buffer, null, boolean, BigInt', () => withPool({}, async (pool) => {
  const row = await pool.get(
    'SELECT ? AS i, ? AS f, ? AS s, ? AS b, ? AS z, ? AS t, ? AS big, ? AS u8',
    [42, 1.5, 'héllo', Buffer.from([0, 255]), null, true, 12n, new Uint8Array([7])],
  );
  assert.deepEqual(row, { i: 42, f: 1.5, s: 'héllo', b: Buffer.from([0, 255]), z: null, t: 1, big: 12, u8: Buffer.from([7]) });
  assert.equal(typeof (await pool.get('SELECT typeof(?) AS t', [3])).t, 'string');
  assert.equal((await pool.get('SELECT typeof(?) AS t', [3])).t, 'integer');
  assert.equal((await pool.get('SELECT typeof(?) AS t', [3.25])).t, 'real');
  // Bad arguments throw at the call, before anything is queued.
  assert.throws(() => pool.get('SELECT ?', [2n ** 70n]), { name: 'RangeError', message: /parameter 1 is a BigInt/ });
  assert.throws(() => pool.get('SELECT ?', [{ a: 1 }]), { name: 'TypeError', message: /parameter 1 must be/ });
  assert.throws(() => pool.get('SELECT ?', [() => 1]), { name: 'TypeError', message: /got a function/ });
}));

test('integers beyond 2^53 come back as BigInt with safeIntegers', async () => {
  const big = 2n ** 60n + 3n;
  await withPool({ safeIntegers: true }, async (pool) => {
    await pool.run('INSERT INTO t (id, n) VALUES (?, ?)', [big, 1]);
    const row = await pool.get('SELECT id, n FROM t');
    assert.equal(row.id, big);
    assert.equal(row.n, 1n);
    const res = await pool.run('INSERT INTO t (n) VALUES (2)');
    assert.equal(typeof res.lastInsertRowid, 'bigint');
  });
  await withPool({}, async (pool) => {
    await pool.run('INSERT INTO t (id) VALUES (?)', [big]);
    assert.equal(typeof (await pool.get('SELECT id FROM t')).id, 'number');
  });
});

test('SQLite errors carry code and errno', () => withPool({}, async (pool) => {
  await pool.run("INSERT INTO t (name) VALUES ('dup')");
  await assert.rejects(pool.run("INSERT INTO t (name) VALUES ('dup')"), (err) => {
    assert.ok(err instanceof Error);
    assert.equal(err.code, 'SQLITE_CONSTRAINT_UNIQUE');
    assert.equal(err.errno, 2067);
    assert.match(err.message, /UNIQUE constraint failed: t.name/);
    return true;
  });
  await assert.rejects(pool.query('SELECT * FROM nope'), { code: 'SQLITE_ERROR', errno: 1, message: /no such table: nope/ });
  await assert.rejects(pool.exec('CREATE TABLE x (a,'), { code: 'SQLITE_ERROR' });
  assert.throws(() => pool.query(42), { name: 'TypeError', message: /"sql" argument to be a string/ });
  assert.throws(() => pool.query('SELECT 1', [], { tenant: 3 }), { name: 'TypeError', message: /"tenant" option to be a string/ });
}));

test('sync twins', () => withPool({}, async (pool) => {
  assert.deepEqual(pool.runSync('INSERT INTO t (name) VALUES (?)', ['s']), { changes: 1, lastInsertRowid: 1 });
  assert.deepEqual(pool.querySync('SELECT name FROM t'), [{ name: 's' }]);
  assert.deepEqual(pool.getSync('SELECT name FROM t WHERE name = ?', ['s']), { name: 's' });
  assert.equal(pool.getSync('SELECT name FROM t WHERE 0'), undefined);
  pool.execSync('DELETE FROM t');
  assert.throws(() => pool.querySync('SELECT * FROM nope'), { code: 'SQLITE_ERROR' });
}));

test('writes are routed to the write lane, reads run concurrently', () => withPool({}, async (pool) => {
  const writes = [];
  for (let i = 0; i < 40; i++) writes.push(pool.run('INSERT INTO t (n) VALUES (?)', [i]));
  const reads = [];
  for (let i = 0; i < 40; i++) reads.push(pool.get('SELECT count(*) AS c FROM t'));
  await Promise.all([...writes, ...reads]);
  assert.equal((await pool.get('SELECT count(*) AS c FROM t')).c, 40);
  assert.equal(pool.getStats().active, 0);
}));
