'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Pool } = require('..');
const { tempDir } = require('./helpers');

test('two tenants are isolated from each other', async () => {
  const dir = tempDir();
  const pool = new Pool(path.join(dir, 'main.db'), { max: 3 });
  pool.registerTenant('acme', path.join(dir, 'acme.db'));
  pool.registerTenant('globex', path.join(dir, 'globex.db'));
  for (const code of ['acme', 'globex']) {
    await pool.exec(`CREATE TABLE tenant_${code}.items (name TEXT)`, { tenant: code });
  }
  await pool.run('INSERT INTO tenant_acme.items VALUES (?)', ['anvil'], { tenant: 'acme' });
  await pool.run('INSERT INTO tenant_globex.items VALUES (?)', ['globe'], { tenant: 'globex' });
  assert.deepEqual(await pool.query('SELECT name FROM tenant_acme.items', [], { tenant: 'acme' }), [{ name: 'anvil' }]);
  assert.deepEqual(await pool.get('SELECT name FROM tenant_globex.items', [], { tenant: 'globex' }), { name: 'globe' });
  // each tenant's rows live in its own file
  assert.ok(require('node:fs').statSync(path.join(dir, 'acme.db')).size > 0);
  for (const [code, name] of [['acme', 'anvil'], ['globex', 'globe']]) {
    const conn = await pool.acquire({ tenant: code });
    assert.deepEqual(await conn.all(`SELECT name FROM tenant_${code}.items`), [{ name }]);
    // a tenant lease may not list the attached databases (other tenants' files)
    await assert.rejects(conn.all('SELECT file FROM pragma_database_list'), { code: 'SQLITE_AUTH', message: /other tenants/ });
    conn.release();
  }
  // an ordinary lease on the same connections sees each tenant's own file
  const files = await pool.query("SELECT name, file FROM pragma_database_list WHERE name LIKE 'tenant_%'");
  for (const { name, file } of files) assert.equal(file, path.join(dir, `${name.slice('tenant_'.length)}.db`));
  // a fresh pool opened for acme alone has no globex schema at all
  const solo = new Pool(path.join(dir, 'main.db'), { max: 1 });
  solo.registerTenant('acme', path.join(dir, 'acme.db'));
  await assert.rejects(solo.query('SELECT name FROM tenant_globex.items', [], { tenant: 'acme' }), { code: 'SQLITE_ERROR', message: /no such table/ });
  await solo.close();
  const stats = pool.tenantStats();
  assert.deepEqual(stats.map((s) => s.code), ['acme', 'globex']);
  assert.ok(stats.every((s) => s.acquired >= 2 && s.active === 0));
  await pool.removeTenant('globex', 1000);
  await assert.rejects(pool.query('SELECT 1', [], { tenant: 'globex' }), { code: 'LITEPOOL_UNKNOWN_TENANT' });
  await pool.close();
});

test('an invalid tenant code is refused', async () => {
  const dir = tempDir();
  const pool = new Pool(path.join(dir, 'main.db'));
  assert.throws(() => pool.registerTenant('Bad-Code', path.join(dir, 'x.db')), { code: 'LITEPOOL_INVALID_TENANT', message: /Bad-Code/ });
  await assert.rejects(pool.query('SELECT 1', [], { tenant: '../etc' }), { code: 'LITEPOOL_INVALID_TENANT' });
  await assert.rejects(pool.acquire({ tenant: 'nobody' }), { code: 'LITEPOOL_UNKNOWN_TENANT' });
  await pool.close();
});
