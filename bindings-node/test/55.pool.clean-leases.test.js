'use strict';
// A lease is a clean connection, and a transaction never reports failure
// after it committed (the clean-leases issue, from Node).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Pool, poolOptions } = require('..');
const { tempDb, tempDir } = require('./helpers');

test('transaction(fn): COMMIT or ROLLBACK inside fn is refused, and nothing is committed behind the caller', async () => {
  const pool = new Pool(tempDb(), { max: 2 });
  await pool.exec('CREATE TABLE t (x)');
  for (const sql of ['COMMIT', '/* note */ rollback', 'BEGIN']) {
    await assert.rejects(pool.transaction(async (conn) => {
      await conn.run('INSERT INTO t VALUES (1)');
      await conn.run(sql);
    }), { code: 'LITEPOOL_MISUSE', message: /managed transaction/ });
  }
  assert.equal((await pool.get('SELECT count(*) AS n FROM t')).n, 0, 'every refused body was rolled back');
  // savepoints are fine inside
  await pool.transaction(async (conn) => {
    await conn.run('SAVEPOINT a');
    await conn.run('INSERT INTO t VALUES (2)');
    await conn.run('RELEASE a');
  });
  assert.equal((await pool.get('SELECT count(*) AS n FROM t')).n, 1);
  await pool.close();
});

test('transaction(fn): read-modify-write from 40 concurrent transactions loses no update', async () => {
  const pool = new Pool(tempDb(), { max: 4 });
  await pool.exec('CREATE TABLE c (n INTEGER); INSERT INTO c VALUES (0)');
  await Promise.all(Array.from({ length: 40 }, () => pool.transaction(async (conn) => {
    const { n } = await conn.get('SELECT n FROM c');
    await conn.run('UPDATE c SET n = ?', [n + 1]);
  })));
  assert.equal((await pool.get('SELECT n FROM c')).n, 40);
  await pool.close();
});

test('pragmas and TEMP objects of one lease do not reach the next', async () => {
  const pool = new Pool(tempDb(), { max: 1 });
  await pool.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (p INTEGER REFERENCES parent(id))');
  const careless = await pool.acquire();
  await careless.exec('PRAGMA foreign_keys = OFF; CREATE TEMP TABLE scratch (x)');
  careless.release();
  await assert.rejects(pool.run('INSERT INTO child VALUES (7)'), { code: 'SQLITE_CONSTRAINT_FOREIGNKEY' });
  await assert.rejects(pool.query('SELECT * FROM temp.scratch'), /no such table/);
  assert.equal(pool.getStats().resetOnReturn, 1);
  await pool.close();
});

test('a tenant cannot plant a TEMP trigger that later reads another tenant', async () => {
  const dir = tempDir();
  const pool = new Pool(path.join(dir, 'main.db'), { max: 1 });
  await pool.exec('CREATE TABLE usage_log (who TEXT)');
  for (const code of ['k001', 'k002']) {
    pool.registerTenant(code, path.join(dir, `${code}.db`));
    await pool.exec(`CREATE TABLE tenant_${code}.users (name TEXT); INSERT INTO tenant_${code}.users VALUES ('secret of ${code}')`, { tenant: code });
  }
  const attacker = await pool.acquire({ mode: 'write', tenant: 'k001' });
  await attacker.run('CREATE TEMP TABLE loot (name TEXT)');
  await assert.rejects(attacker.run('CREATE TEMP TRIGGER grab AFTER INSERT ON main.usage_log BEGIN INSERT INTO loot SELECT name FROM tenant_k002.users; END'),
    { code: 'SQLITE_AUTH', message: /TEMP triggers and views cannot be created on a tenant lease/ });
  attacker.release();
  await pool.run("INSERT INTO usage_log VALUES ('k002')", [], { tenant: 'k002' });
  await assert.rejects(pool.query('SELECT * FROM temp.loot', [], { tenant: 'k001' }), /no such table/);
  await pool.close();
});

test('pool options come from the core\'s option table, and the .d.ts documents each with its default', () => {
  const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8');
  const block = dts.slice(dts.indexOf('export interface PoolOptions'));
  const body = block.slice(0, block.indexOf('\n}'));
  const options = poolOptions();
  assert.ok(options.length >= 15);
  for (const { key, defaultValue } of options) {
    const at = body.indexOf(`  ${key}?:`);
    assert.ok(at > 0, `PoolOptions lacks ${key}`);
    const doc = body.slice(body.lastIndexOf('/**', at), at).replace(/\s*\*\s*/g, ' ');
    assert.ok(doc.includes(`(default: ${defaultValue})`), `${key}: the .d.ts should say (default: ${defaultValue}): ${doc}`);
  }
  assert.throws(() => new Pool(tempDb(), { maxx: 2 }), { name: 'TypeError', message: /Unknown option "maxx"/ });
  assert.throws(() => new Pool(tempDb(), { workers: -1 }), { name: 'RangeError' });
  const pool = new Pool(tempDb(), { housekeepingPeriodMillis: 50, workers: 1, validationWindowMillis: 0 });
  assert.equal(pool.closed, false);
  const closing = pool.close();
  assert.equal(pool.closed, true, 'closed reads true as soon as close() was called');
  return closing;
});
