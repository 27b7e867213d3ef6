'use strict';
// The admin API: authentication, keys, usage, pool stats, and bad input.
const test = require('node:test');
const assert = require('node:assert/strict');
const { ADMIN_TOKEN, startService, stopService, call, createKey, gateway } = require('./helpers');

let service;
test.before(async () => {
  service = await startService();
});
test.after(async () => {
  await stopService(service);
});

test('every admin endpoint needs the bearer token', async () => {
  const routes = [
    ['GET', '/admin/keys'],
    ['POST', '/admin/keys'],
    ['GET', '/admin/keys/sk-x'],
    ['DELETE', '/admin/keys/sk-x'],
    ['GET', '/admin/usage'],
    ['GET', '/admin/db-pool-stats'],
  ];
  for (const [method, route] of routes) {
    const missing = await call(service, method, route);
    assert.equal(missing.status, 401, `${method} ${route} without a token`);
    assert.equal(missing.body.code, 'MISSING_ADMIN_TOKEN');

    const malformed = await call(service, method, route, { headers: { authorization: `Basic ${ADMIN_TOKEN}` } });
    assert.equal(malformed.status, 401, `${method} ${route} with Basic auth`);
    assert.equal(malformed.body.code, 'INVALID_AUTHORIZATION');

    for (const wrong of ['nope', `${ADMIN_TOKEN}x`, ADMIN_TOKEN.slice(0, -1), ADMIN_TOKEN.toUpperCase()]) {
      const res = await call(service, method, route, { headers: { authorization: `Bearer ${wrong}` } });
      assert.equal(res.status, 403, `${method} ${route} with a wrong token`);
      assert.equal(res.body.code, 'INVALID_ADMIN_TOKEN');
    }
  }
});

test('the scheme is case-insensitive and the right token passes', async () => {
  const res = await call(service, 'GET', '/admin/keys', { headers: { authorization: `bearer ${ADMIN_TOKEN}` } });
  assert.equal(res.status, 200);
});

test('create, get, list and delete keys', async () => {
  const expires = new Date(Date.now() + 3600_000).toISOString();
  const created = await createKey(service, 100, { label: 'team-a', expires_at: expires });
  assert.match(created.key, /^sk-[A-Za-z0-9_-]{32}$/);
  assert.equal(created.label, 'team-a');
  assert.equal(created.total_quota, 100);
  assert.equal(created.used_quota, 0);
  assert.equal(created.remaining, 100);
  assert.equal(created.expires_at, expires);
  assert.ok(Date.parse(created.created_at) <= Date.now());

  const other = await createKey(service, 5);
  assert.notEqual(other.key, created.key);
  assert.equal(other.label, '');
  assert.equal(other.expires_at, null);

  const one = await call(service, 'GET', `/admin/keys/${created.key}`, { admin: true });
  assert.equal(one.status, 200);
  assert.deepEqual(one.body, created);

  const list = await call(service, 'GET', '/admin/keys', { admin: true });
  assert.equal(list.status, 200);
  const keys = list.body.keys.map((k) => k.key);
  assert.ok(keys.includes(created.key) && keys.includes(other.key));
  assert.equal(list.body.count, list.body.keys.length);

  const del = await call(service, 'DELETE', `/admin/keys/${other.key}`, { admin: true });
  assert.equal(del.status, 200);
  assert.deepEqual(del.body, { deleted: other.key });
  assert.equal((await call(service, 'GET', `/admin/keys/${other.key}`, { admin: true })).status, 404);
  const again = await call(service, 'DELETE', `/admin/keys/${other.key}`, { admin: true });
  assert.equal(again.status, 404);
  assert.equal(again.body.code, 'KEY_NOT_FOUND');
  // A deleted key no longer passes the gateway.
  assert.equal((await gateway(service, other.key)).status, 401);
});

test('expires_at accepts epoch milliseconds', async () => {
  const ms = Date.now() + 60_000;
  const created = await createKey(service, 1, { expires_at: ms });
  assert.equal(created.expires_at, new Date(ms).toISOString());
});

test('bad key definitions get a 400 naming the field, never a 500', async () => {
  const cases = [
    [{}, 'MISSING_FIELD', /total_quota/],
    [{ total_quota: 0 }, 'INVALID_FIELD', /total_quota/],
    [{ total_quota: -5 }, 'INVALID_FIELD', /total_quota/],
    [{ total_quota: 1.5 }, 'INVALID_FIELD', /total_quota/],
    [{ total_quota: '10' }, 'INVALID_FIELD', /total_quota/],
    [{ total_quota: 2 ** 60 }, 'INVALID_FIELD', /total_quota/],
    [{ total_quota: 1, label: 7 }, 'INVALID_FIELD', /label/],
    [{ total_quota: 1, label: 'x'.repeat(201) }, 'INVALID_FIELD', /label/],
    [{ total_quota: 1, expires_at: 'tomorrow-ish' }, 'INVALID_FIELD', /expires_at/],
    [{ total_quota: 1, expires_at: Date.now() - 1000 }, 'INVALID_FIELD', /future/],
    [{ total_quota: 1, expires_at: { at: 1 } }, 'INVALID_FIELD', /expires_at/],
  ];
  for (const [body, code, message] of cases) {
    const res = await call(service, 'POST', '/admin/keys', { admin: true, body });
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(res.body.code, code, JSON.stringify(body));
    assert.match(res.body.error, message);
  }
});

test('malformed, missing or non-object bodies get a 4xx JSON error', async () => {
  const headers = { 'content-type': 'application/json' };
  const malformed = await call(service, 'POST', '/admin/keys', { admin: true, headers, raw: '{"total_quota": 1' });
  assert.equal(malformed.status, 400);
  assert.equal(malformed.body.code, 'MALFORMED_JSON');

  const array = await call(service, 'POST', '/admin/keys', { admin: true, headers, raw: '[1, 2]' });
  assert.equal(array.status, 400);
  assert.equal(array.body.code, 'BODY_REQUIRED');

  const nullBody = await call(service, 'POST', '/admin/keys', { admin: true, headers, raw: 'null' });
  assert.equal(nullBody.status, 400);

  const none = await call(service, 'POST', '/admin/keys', { admin: true });
  assert.equal(none.status, 400);
  assert.equal(none.body.code, 'BODY_REQUIRED');

  const text = await call(service, 'POST', '/admin/keys', {
    admin: true,
    headers: { 'content-type': 'text/plain' },
    raw: 'total_quota=1',
  });
  assert.equal(text.status, 400);
  assert.equal(text.body.code, 'BODY_REQUIRED');

  const huge = await call(service, 'POST', '/admin/keys', {
    admin: true,
    headers,
    raw: JSON.stringify({ total_quota: 1, label: 'x'.repeat(100_000) }),
  });
  assert.equal(huge.status, 413);
  assert.equal(huge.body.code, 'BODY_TOO_LARGE');
});

test('GET /admin/usage lists recent usage, newest first, and validates its query', async () => {
  const key = await createKey(service, 10, { label: 'usage' });
  for (const endpoint of ['/v1/a', '/v1/b', '/v1/c']) {
    assert.equal((await gateway(service, key.key, endpoint)).status, 200);
  }
  const res = await call(service, 'GET', `/admin/usage?api_key=${key.key}&limit=2`, { admin: true });
  assert.equal(res.status, 200);
  assert.equal(res.body.limit, 2);
  assert.equal(res.body.count, 2);
  assert.deepEqual(
    res.body.usage.map((u) => [u.api_key, u.endpoint, u.status_code]),
    [
      [key.key, '/v1/c', 200],
      [key.key, '/v1/b', 200],
    ],
  );
  for (const u of res.body.usage) {
    assert.ok(!Number.isNaN(Date.parse(u.timestamp)));
    assert.equal(typeof u.response_time, 'number');
    assert.ok(u.response_time >= 0);
  }
  const all = await call(service, 'GET', '/admin/usage', { admin: true });
  assert.equal(all.status, 200);
  assert.equal(all.body.limit, 100);
  assert.ok(all.body.count >= 3);

  for (const bad of ['limit=0', 'limit=1001', 'limit=abc', 'limit=-1', 'limit=1&limit=2', 'api_key=a&api_key=b']) {
    const r = await call(service, 'GET', `/admin/usage?${bad}`, { admin: true });
    assert.equal(r.status, 400, bad);
    assert.equal(r.body.code, 'INVALID_QUERY', bad);
  }
});

test('GET /admin/db-pool-stats has the guide\'s fields and the pool\'s counters', async () => {
  const res = await call(service, 'GET', '/admin/db-pool-stats', { admin: true });
  assert.equal(res.status, 200);
  const s = res.body;
  for (const field of ['active', 'idle', 'total', 'max', 'min', 'waiting', 'acquired', 'timeouts', 'created', 'leaks']) {
    assert.equal(typeof s[field], 'number', field);
  }
  assert.equal(s.total, s.active + s.idle);
  assert.ok(s.total >= 1 && s.total <= s.max);
  assert.equal(s.max, 10);
  assert.ok(s.acquired > 0);
  assert.ok(['healthy', 'warning', 'degraded'].includes(s.health));
  assert.equal(s.health, 'healthy');
  assert.ok(Math.abs(Date.parse(s.timestamp) - Date.now()) < 60_000);
});
