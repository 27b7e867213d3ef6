'use strict';
// The pool cannot serve in time: 503 DB_CONNECTION_FAILED with Retry-After
// (and /healthz says so); a lock outlasting busy_timeout: 503 DB_BUSY; SQL
// errors logged with tenant and statement, parameters redacted.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { loadLitepool } = require('../lib/litepool');
const { startService, stopService, provisionData, removeData, call, usersOf } = require('./helpers');

const { Pool } = loadLitepool();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let data;
test.before(async () => {
  data = await provisionData({ tenants: 2 });
});
test.after(() => removeData(data));

test('one connection held by a blocked write: others get 503 DB_CONNECTION_FAILED + Retry-After, the write 503 DB_BUSY', async () => {
  const service = await startService(data, {
    DB_POOL_MAX: '1',
    DB_POOL_MIN: '1',
    DB_POOL_ACQUIRE_TIMEOUT: '300',
    DB_POOL_BUSY_TIMEOUT: '1500',
  });
  // Another process's writer holds k001's file (BEGIN IMMEDIATE on it).
  const outside = new Pool(path.join(data.dir, 'tenants', 'k001.db'), { max: 1, min: 0 });
  const lock = await outside.acquire({ mode: 'write' });
  try {
    await lock.begin();
    const k001 = usersOf(data, 'k001').member.token;
    const k002 = usersOf(data, 'k002').member.token;
    // Its order waits in SQLite's busy handler, on the pool's only connection.
    const order = call(service, 'POST', '/api/orders', { tenant: 'k001', token: k001, body: { items: [{ product_id: 1, quantity: 1 }] } });
    await sleep(300);
    const started = Date.now();
    const starved = await call(service, 'GET', '/api/me', { tenant: 'k002', token: k002 });
    assert.equal(starved.status, 503);
    assert.equal(starved.body.code, 'DB_CONNECTION_FAILED');
    assert.match(starved.body.error, /LITEPOOL_TIMEOUT/);
    assert.equal(starved.headers['retry-after'], '1');
    assert.ok(Date.now() - started >= 250, 'it waited for the acquire timeout (300 ms)');
    const health = await call(service, 'GET', '/healthz');
    assert.equal(health.status, 503);
    assert.equal(health.body.ok, false);
    assert.equal(health.body.code, 'DB_CONNECTION_FAILED');
    assert.equal(health.body.database.connected, false);
    assert.equal(health.headers['retry-after'], '1');
    const busy = await order;
    assert.equal(busy.status, 503);
    assert.equal(busy.body.code, 'DB_BUSY');
    assert.equal(busy.headers['retry-after'], '1');
  } finally {
    await lock.exec('ROLLBACK');
    lock.release();
    await outside.close();
  }
  // The lock is gone: the same order goes through, and the pool is healthy again.
  const ok = await call(service, 'POST', '/api/orders', {
    tenant: 'k001',
    token: usersOf(data, 'k001').member.token,
    body: { items: [{ product_id: 1, quantity: 1 }] },
  });
  assert.equal(ok.status, 201);
  assert.equal((await call(service, 'GET', '/healthz')).status, 200);
  const stats = await call(service, 'GET', '/admin/db-pool-stats', { admin: true });
  assert.ok(stats.body.timeouts >= 2);
  await stopService(service);
  assert.match(service.stderr, /SQL error tenant=k002 code=LITEPOOL_TIMEOUT statement="SELECT id, name, email, role, created_at, updated_at, token_hash FROM tenant_k002.users WHERE token_selector = \?" params=<1 redacted>/);
  assert.match(service.stderr, /SQL error tenant=k001 code=SQLITE_BUSY statement="UPDATE tenant_k001.products SET stock = stock - \? WHERE id = \? AND stock >= \? RETURNING price_cents" params=<3 redacted>/);
  assert.match(service.stderr, /SQL error tenant=- code=LITEPOOL_TIMEOUT statement="SELECT count\(\*\) AS n FROM tenants WHERE active = 1"/);
  assert.doesNotMatch(service.stderr, /unexpected error/);
});

test('SQL errors are logged with the tenant and the statement; parameter values never appear', async () => {
  const service = await startService(data);
  const admin = usersOf(data, 'k002').admin;
  const body = { name: 'Very Secret Name', email: usersOf(data, 'k002').member.email };
  const res = await call(service, 'POST', '/api/users', { tenant: 'k002', token: admin.token, body });
  assert.equal(res.status, 409);
  await stopService(service);
  const line = service.stderr.split('\n').find((l) => l.includes('SQL error'));
  assert.match(
    line,
    /^tenant-service: SQL error tenant=k002 code=SQLITE_CONSTRAINT_UNIQUE statement="INSERT INTO tenant_k002\.users \(name, email, role, token_selector, token_hash, created_at, updated_at\) VALUES \(\?, \?, \?, \?, \?, \?, \?\) RETURNING [^"]+" params=<7 redacted>: UNIQUE constraint failed: users\.email$/,
  );
  assert.ok(!service.stderr.includes('Very Secret Name'));
  assert.ok(!service.stderr.includes(body.email));
  assert.ok(!service.stderr.includes(admin.token.split('.')[1]));
});
