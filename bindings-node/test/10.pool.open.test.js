'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Pool } = require('..');
const { tempDb, tempDir } = require('./helpers');

test('opens a file and reports its configured sizes', async () => {
  const pool = new Pool(tempDb(), { max: 4, min: 1 });
  const stats = pool.getStats();
  assert.equal(stats.max, 4);
  assert.equal(stats.min, 1);
  assert.ok(stats.total >= 1);
  assert.equal(pool.closed, false);
  await pool.close();
  assert.equal(pool.closed, true);
});

test('opens :memory: as one database shared by the pool', async () => {
  const pool = new Pool(':memory:', { max: 3 });
  await pool.exec('CREATE TABLE t (x)');
  await pool.run('INSERT INTO t VALUES (1)');
  const conns = await Promise.all([pool.acquire(), pool.acquire()]);
  for (const c of conns) assert.deepEqual(await c.all('SELECT x FROM t'), [{ x: 1 }]);
  conns.forEach((c) => c.release());
  await pool.close();
});

test('a path that cannot be opened throws at construction, naming it', () => {
  const bad = `${tempDir()}/missing-dir/x.db`;
  assert.throws(() => new Pool(bad), (err) => {
    assert.equal(err.code, 'SQLITE_CANTOPEN');
    assert.match(err.message, /missing-dir/);
    return true;
  });
});

test('bad options throw precise TypeErrors and RangeErrors', () => {
  const path = tempDb();
  const cases = [
    [{ max: -1 }, RangeError, 'Expected the "max" option to be a positive integer'],
    [{ max: 0 }, RangeError, 'Expected the "max" option to be a positive integer'],
    [{ max: 1.5 }, RangeError, 'Expected the "max" option to be a positive integer'],
    [{ max: '10' }, TypeError, 'Expected the "max" option to be a positive integer'],
    [{ min: -2 }, RangeError, 'Expected the "min" option to be a non-negative integer'],
    [{ connectionTimeoutMillis: 0 }, RangeError, 'Expected the "connectionTimeoutMillis" option to be a positive integer'],
    [{ busyTimeoutMillis: null }, TypeError, 'Expected the "busyTimeoutMillis" option to be a non-negative integer'],
    [{ initSql: 5 }, TypeError, 'Expected the "initSql" option to be a string'],
    [{ safeIntegers: 1 }, TypeError, 'Expected the "safeIntegers" option to be a boolean'],
    [{ idleTimeoutMillis: 2 ** 40 }, RangeError, 'The "idleTimeoutMillis" option cannot be greater than 2147483647'],
  ];
  for (const [options, type, message] of cases) {
    assert.throws(() => new Pool(path, options), (err) => {
      assert.ok(err instanceof type, `${JSON.stringify(options)}: got ${err.constructor.name}`);
      assert.equal(err.message, message);
      return true;
    });
  }
  assert.throws(() => new Pool(path, { maxx: 1 }), { name: 'TypeError', message: /Unknown option "maxx"/ });
  assert.throws(() => new Pool(path, 'max=1'), { name: 'TypeError', message: /options argument to be an object/ });
  assert.throws(() => new Pool(42), { name: 'TypeError', message: /"path" argument to be a string/ });
});

test('an inconsistent config is refused by the core with LITEPOOL_INVALID_CONFIG', () => {
  assert.throws(() => new Pool(tempDb(), { max: 2, min: 5 }), (err) => {
    assert.equal(err.code, 'LITEPOOL_INVALID_CONFIG');
    assert.match(err.message, /min_idle/);
    return true;
  });
});

test('initSql runs on every new connection', async () => {
  const pool = new Pool(tempDb(), { max: 2, initSql: 'PRAGMA user_version = 7' });
  assert.deepEqual(await pool.get('PRAGMA user_version'), { user_version: 7 });
  await pool.close();
});

test('Pool.fromEnv reads DB_POOL_* and lets options override them', async () => {
  const saved = { ...process.env };
  try {
    process.env.DB_POOL_MAX = '7';
    process.env.DB_POOL_MIN = '1';
    const pool = Pool.fromEnv(tempDb());
    assert.equal(pool.getStats().max, 7);
    assert.equal(pool.getStats().min, 1);
    await pool.close();
    const overridden = Pool.fromEnv(tempDb(), { max: 3 });
    assert.equal(overridden.getStats().max, 3);
    await overridden.close();
    process.env.DB_POOL_MAX = 'ten';
    assert.throws(() => Pool.fromEnv(tempDb()), (err) => {
      assert.equal(err.code, 'LITEPOOL_INVALID_CONFIG');
      assert.match(err.message, /DB_POOL_MAX/);
      return true;
    });
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

test('max alone lowers the default min; an explicit min above max is an error naming it', () => {
  const one = new Pool(tempDb(), { max: 1 });
  assert.equal(one.getStats().min, 1);
  one.close();
  assert.throws(
    () => new Pool(tempDb(), { max: 1, min: 2 }),
    (e) => e.code === 'LITEPOOL_INVALID_CONFIG' && /min_idle/.test(e.message),
  );
});
