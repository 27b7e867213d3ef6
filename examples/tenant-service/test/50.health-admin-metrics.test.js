'use strict';
// /healthz, /metrics and the admin API: auth, pool and per-tenant stats,
// the registry (activate, deactivate, reload).
const test = require('node:test');
const assert = require('node:assert/strict');
const { provision } = require('../scripts/provision');
const { ADMIN_TOKEN, startService, stopService, provisionData, removeData, call, usersOf } = require('./helpers');

let data;
let service;
test.before(async () => {
  data = await provisionData({ tenants: 3 });
  service = await startService(data, { DB_POOL_MAX: '4', DB_POOL_MIN: '1' });
});
test.after(async () => {
  await stopService(service);
  removeData(data);
});

const me = (code) => call(service, 'GET', '/api/me', { tenant: code, token: usersOf(data, code).admin.token });

test('GET /healthz: a real query plus the pool\'s health, on any host, no token', async () => {
  const res = await call(service, 'GET', '/healthz', { host: 'whatever.example' });
  assert.equal(res.status, 200);
  assert.equal(res.body.ok, true);
  assert.ok(!Number.isNaN(Date.parse(res.body.timestamp)));
  const { database, tenants } = res.body;
  assert.equal(database.connected, true);
  assert.equal(database.health, 'healthy');
  assert.ok(database.latencyMs >= 0);
  const c = database.connections;
  assert.equal(c.max, 4);
  assert.equal(c.total, c.active + c.idle);
  assert.equal(typeof c.waiting, 'number');
  assert.deepEqual(tenants, { known: 3, active: 3, inactive: 0, unavailable: 0, activeInRegistry: 3 });
});

test('GET /metrics: the pool\'s series (tenant ones included) and the service\'s', async () => {
  await me('k001');
  await call(service, 'GET', '/api/me', { tenant: 'k999' });
  const res = await call(service, 'GET', '/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  for (const re of [
    /^litepool_connections_max\{pool="tenant_service"\} 4$/m,
    /^litepool_tenants\{pool="tenant_service"\} 3$/m,
    /^litepool_tenant_attach_total\{pool="tenant_service"\} [1-9]\d*$/m,
    /^tenant_service_http_requests_total\{method="GET",route="\/api\/me",status="200"\} [1-9]\d*$/m,
    /^tenant_service_http_request_duration_seconds_count\{route="\/api\/me"\} [1-9]\d*$/m,
    /^tenant_service_tenant_resolutions_total\{outcome="not_found"\} [1-9]\d*$/m,
    /^tenant_service_auth_total\{outcome="ok"\} [1-9]\d*$/m,
  ]) {
    assert.match(res.text, re);
  }
  assert.doesNotMatch(res.text, /tenant="k00[23]"/, 'no per-tenant series for tenants without a lease out');
});

test('every admin route needs the admin token (a tenant user\'s token is not one)', async () => {
  const routes = [['GET', '/admin/db-pool-stats'], ['GET', '/admin/tenants'], ['PATCH', '/admin/tenants/k001'], ['POST', '/admin/tenants/reload']];
  for (const [method, route] of routes) {
    const missing = await call(service, method, route);
    assert.equal(missing.status, 401, `${method} ${route}`);
    assert.equal(missing.body.code, 'MISSING_ADMIN_TOKEN');
    const basic = await call(service, method, route, { headers: { authorization: `Basic ${ADMIN_TOKEN}` } });
    assert.equal(basic.body.code, 'INVALID_AUTHORIZATION');
    for (const token of ['nope', `${ADMIN_TOKEN}x`, ADMIN_TOKEN.slice(0, -1), usersOf(data, 'k001').admin.token]) {
      const res = await call(service, method, route, { token });
      assert.equal(res.status, 403, `${method} ${route} with ${token}`);
      assert.equal(res.body.code, 'INVALID_ADMIN_TOKEN');
    }
  }
});

test('GET /admin/db-pool-stats: the pool\'s stats and, per tenant, requests beside the pool\'s tenant counters', async () => {
  const before = (await call(service, 'GET', '/admin/db-pool-stats', { admin: true })).body;
  for (let i = 0; i < 3; i += 1) assert.equal((await me('k002')).status, 200);
  const res = await call(service, 'GET', '/admin/db-pool-stats', { admin: true });
  assert.equal(res.status, 200);
  const s = res.body;
  for (const k of ['active', 'idle', 'total', 'max', 'min', 'waiting', 'acquired', 'timeouts', 'leaks', 'created']) {
    assert.equal(typeof s[k], 'number', k);
  }
  assert.equal(s.health, 'healthy');
  assert.deepEqual(s.tenantCounts, { known: 3, active: 3, inactive: 0, unavailable: 0 });
  assert.deepEqual(s.tenants.map((t) => t.code), ['k001', 'k002', 'k003']);
  const k002 = s.tenants.find((t) => t.code === 'k002');
  const k002Before = before.tenants.find((t) => t.code === 'k002');
  assert.equal(k002.status, 'active');
  assert.equal(k002.requests - k002Before.requests, 3);
  assert.equal(k002.acquired - k002Before.acquired, 3, 'GET /api/me takes one lease (the token lookup)');
  assert.equal(k002.active, 0);
  assert.ok(k002.attaches >= 1);
  assert.equal(s.tenantTotals.requests, s.tenants.reduce((n, t) => n + t.requests, 0));
  assert.equal(s.tenantTotals.acquired, s.tenants.reduce((n, t) => n + t.acquired, 0));
  assert.ok(s.acquired >= s.tenantTotals.acquired, 'tenant leases are leases of the one pool');
  const one = await call(service, 'GET', '/admin/db-pool-stats?tenant=k002', { admin: true });
  assert.deepEqual(one.body.tenants.map((t) => t.code), ['k002']);
  assert.equal((await call(service, 'GET', '/admin/db-pool-stats?tenant=k999', { admin: true })).body.code, 'TENANT_NOT_FOUND');
  assert.equal((await call(service, 'GET', '/admin/db-pool-stats?tenant=K-1', { admin: true })).body.code, 'INVALID_TENANT_CODE');
});

test('PATCH /admin/tenants/:code deactivates (403 TENANT_INACTIVE) and reactivates, in the registry table too', async () => {
  const off = await call(service, 'PATCH', '/admin/tenants/k003', { admin: true, body: { active: false } });
  assert.equal(off.status, 200);
  assert.deepEqual(off.body, { code: 'k003', status: 'inactive', unavailable: null });
  const refused = await me('k003');
  assert.equal(refused.status, 403);
  assert.equal(refused.body.code, 'TENANT_INACTIVE');
  const health = await call(service, 'GET', '/healthz');
  assert.equal(health.body.tenants.activeInRegistry, 2, 'the flag is in the table');
  const on = await call(service, 'PATCH', '/admin/tenants/k003', { admin: true, body: { active: true } });
  assert.equal(on.body.status, 'active');
  assert.equal((await me('k003')).status, 200);
  assert.equal((await call(service, 'PATCH', '/admin/tenants/k999', { admin: true, body: { active: true } })).body.code, 'TENANT_NOT_FOUND');
  for (const body of [{}, { active: 'yes' }, { active: 1 }]) {
    const bad = await call(service, 'PATCH', '/admin/tenants/k003', { admin: true, body });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'INVALID_FIELD');
  }
  assert.equal((await call(service, 'PATCH', '/admin/tenants/Bad', { admin: true, body: { active: true } })).body.code, 'INVALID_TENANT_CODE');
});

test('POST /admin/tenants/reload picks up tenants provisioned while the service runs', async () => {
  const { tenants } = await provision({ dbPath: data.dbPath, tenants: 2, start: 4, users: 1, products: 1, orders: 0, inactive: ['k005'] });
  const k004 = tenants.find((t) => t.code === 'k004').users[0].token;
  const before = await call(service, 'GET', '/api/me', { tenant: 'k004', token: k004 });
  assert.equal(before.status, 404);
  const res = await call(service, 'POST', '/admin/tenants/reload', { admin: true });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.added, ['k004', 'k005']);
  assert.deepEqual(res.body.removed, []);
  assert.deepEqual(res.body.counts, { known: 5, active: 4, inactive: 1, unavailable: 0 });
  assert.equal((await call(service, 'GET', '/api/me', { tenant: 'k004', token: k004 })).status, 200);
  assert.equal((await call(service, 'GET', '/api/me', { tenant: 'k005', token: k004 })).body.code, 'TENANT_INACTIVE');
  const list = await call(service, 'GET', '/admin/tenants', { admin: true });
  assert.deepEqual(list.body.tenants.map((t) => [t.code, t.status]), [
    ['k001', 'active'], ['k002', 'active'], ['k003', 'active'], ['k004', 'active'], ['k005', 'inactive'],
  ]);
  assert.match(list.body.tenants[0].file, /tenants\/k001\.db$/);
});

test('provisioning refuses codes already in the registry', async () => {
  await assert.rejects(provision({ dbPath: data.dbPath, tenants: 1, start: 2 }), /tenant k002 is already in the registry/);
});

test('unknown routes are 404 JSON', async () => {
  const res = await call(service, 'GET', '/nothing');
  assert.equal(res.status, 404);
  assert.deepEqual(res.body, { error: 'no route for GET /nothing', code: 'NOT_FOUND' });
});
