'use strict';
// /api/me and /api/users: list, get, create, update, delete within the
// tenant; roles; bad input.
const test = require('node:test');
const assert = require('node:assert/strict');
const { startService, stopService, provisionData, removeData, call, usersOf } = require('./helpers');

let data;
let service;
let k001;
let k002;
test.before(async () => {
  data = await provisionData({ tenants: 2, users: 4 });
  service = await startService(data);
  k001 = usersOf(data, 'k001');
  k002 = usersOf(data, 'k002');
});
test.after(async () => {
  await stopService(service);
  removeData(data);
});

const as = (user, tenant = 'k001') => ({ tenant, token: user.token });

test('GET /api/me: the user behind the token, any role', async () => {
  const res = await call(service, 'GET', '/api/me', as(k001.member));
  assert.equal(res.status, 200);
  assert.equal(res.body.user.email, k001.member.email);
  assert.equal(res.body.user.role, 'member');
  assert.ok(!Number.isNaN(Date.parse(res.body.user.created_at)));
});

test('GET /api/users lists the tenant\'s users only, with limit and offset', async () => {
  const all = await call(service, 'GET', '/api/users', as(k001.member));
  assert.equal(all.status, 200);
  assert.deepEqual(all.body.users.map((u) => u.email), data.byCode.k001.users.map((u) => u.email));
  assert.deepEqual([all.body.limit, all.body.offset], [50, 0]);
  const page = await call(service, 'GET', '/api/users?limit=2&offset=1', as(k001.member));
  assert.deepEqual(page.body.users.map((u) => u.id), [2, 3]);
  for (const q of ['limit=0', 'limit=101', 'limit=x', 'offset=-1', 'limit=1&limit=2']) {
    const res = await call(service, 'GET', `/api/users?${q}`, as(k001.member));
    assert.equal(res.status, 400, q);
    assert.equal(res.body.code, 'INVALID_QUERY', q);
  }
});

test('GET /api/users/:id: 404 for an unknown id, 400 for a bad one', async () => {
  const one = await call(service, 'GET', '/api/users/2', as(k001.member));
  assert.equal(one.status, 200);
  assert.equal(one.body.email, 'user2@k001.example.test');
  const missing = await call(service, 'GET', '/api/users/999', as(k001.member));
  assert.equal(missing.status, 404);
  assert.equal(missing.body.code, 'USER_NOT_FOUND');
  for (const id of ['0', 'abc', '1e3', '99999999999999999999']) {
    const res = await call(service, 'GET', `/api/users/${id}`, as(k001.member));
    assert.equal(res.status, 400, id);
    assert.equal(res.body.code, 'INVALID_ID');
  }
});

test('POST /api/users (admin): 201 with a token that works on this tenant only', async () => {
  const res = await call(service, 'POST', '/api/users', { ...as(k001.admin), body: { name: ' Ada ', email: 'ada@k001.example.test' } });
  assert.equal(res.status, 201);
  assert.equal(res.body.user.name, 'Ada');
  assert.equal(res.body.user.role, 'member');
  assert.match(res.body.token, /^[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{32}$/);
  const me = await call(service, 'GET', '/api/me', { tenant: 'k001', token: res.body.token });
  assert.equal(me.status, 200);
  assert.equal(me.body.user.email, 'ada@k001.example.test');
  const elsewhere = await call(service, 'GET', '/api/me', { tenant: 'k002', token: res.body.token });
  assert.equal(elsewhere.status, 401);
  const k002Users = await call(service, 'GET', '/api/users', as(k002.admin, 'k002'));
  assert.ok(!k002Users.body.users.some((u) => u.email === 'ada@k001.example.test'));
  // The same email in another tenant is another user.
  const other = await call(service, 'POST', '/api/users', { ...as(k002.admin, 'k002'), body: { name: 'Ada', email: 'ada@k001.example.test', role: 'admin' } });
  assert.equal(other.status, 201);
  assert.equal(other.body.user.role, 'admin');
});

test('POST /api/users: 403 for members, 409 for a taken email (any case), 400 for bad fields', async () => {
  const forbidden = await call(service, 'POST', '/api/users', { ...as(k001.member), body: { name: 'x', email: 'x@k001.example.test' } });
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.body.code, 'FORBIDDEN');
  const taken = await call(service, 'POST', '/api/users', { ...as(k001.admin), body: { name: 'x', email: k001.member.email.toUpperCase() } });
  assert.equal(taken.status, 409);
  assert.equal(taken.body.code, 'EMAIL_TAKEN');
  const cases = [
    [{ email: 'a@b.co' }, 'MISSING_FIELD'],
    [{ name: 'a' }, 'MISSING_FIELD'],
    [{ name: '', email: 'a@b.co' }, 'INVALID_FIELD'],
    [{ name: 'a'.repeat(101), email: 'a@b.co' }, 'INVALID_FIELD'],
    [{ name: 'a', email: 'not-an-email' }, 'INVALID_FIELD'],
    [{ name: 'a', email: 'a@b.co', role: 'owner' }, 'INVALID_FIELD'],
    [{ name: 'a', email: 'a@b.co', token_hash: 'x' }, 'UNKNOWN_FIELD'],
    [{ name: 7, email: 'a@b.co' }, 'INVALID_FIELD'],
  ];
  for (const [body, code] of cases) {
    const res = await call(service, 'POST', '/api/users', { ...as(k001.admin), body });
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(res.body.code, code, JSON.stringify(body));
  }
  const malformed = await call(service, 'POST', '/api/users', { ...as(k001.admin), raw: '{"name":', headers: { 'content-type': 'application/json' } });
  assert.equal(malformed.status, 400);
  assert.equal(malformed.body.code, 'MALFORMED_JSON');
  const none = await call(service, 'POST', '/api/users', as(k001.admin));
  assert.equal(none.status, 400);
  assert.equal(none.body.code, 'BODY_REQUIRED');
  const big = await call(service, 'POST', '/api/users', { ...as(k001.admin), raw: JSON.stringify({ name: 'x'.repeat(70000) }), headers: { 'content-type': 'application/json' } });
  assert.equal(big.status, 413);
  assert.equal(big.body.code, 'BODY_TOO_LARGE');
});

test('PATCH /api/users/:id (admin): changes fields; 404, 409, 400 NO_FIELDS', async () => {
  const res = await call(service, 'PATCH', '/api/users/3', { ...as(k001.admin), body: { name: 'Renamed', role: 'admin' } });
  assert.equal(res.status, 200);
  assert.equal(res.body.name, 'Renamed');
  assert.equal(res.body.role, 'admin');
  assert.ok(Date.parse(res.body.updated_at) >= Date.parse(res.body.created_at));
  const again = await call(service, 'GET', '/api/users/3', as(k001.member));
  assert.equal(again.body.name, 'Renamed');
  assert.equal((await call(service, 'PATCH', '/api/users/999', { ...as(k001.admin), body: { name: 'x' } })).body.code, 'USER_NOT_FOUND');
  const taken = await call(service, 'PATCH', '/api/users/3', { ...as(k001.admin), body: { email: k001.admin.email } });
  assert.equal(taken.status, 409);
  assert.equal(taken.body.code, 'EMAIL_TAKEN');
  const empty = await call(service, 'PATCH', '/api/users/3', { ...as(k001.admin), body: {} });
  assert.equal(empty.status, 400);
  assert.equal(empty.body.code, 'NO_FIELDS');
  const member = await call(service, 'PATCH', '/api/users/3', { ...as(k001.member), body: { name: 'x' } });
  assert.equal(member.status, 403);
  // k002's user 3 is untouched
  const k002User = await call(service, 'GET', '/api/users/3', as(k002.member, 'k002'));
  assert.equal(k002User.body.name, 'User 3 of k002');
});

test('DELETE /api/users/:id (admin): the user and its token are gone; not yourself; 404 after', async () => {
  const created = await call(service, 'POST', '/api/users', { ...as(k001.admin), body: { name: 'Temp', email: 'temp@k001.example.test' } });
  const id = created.body.user.id;
  const del = await call(service, 'DELETE', `/api/users/${id}`, as(k001.admin));
  assert.equal(del.status, 200);
  assert.deepEqual(del.body, { deleted: id });
  assert.equal((await call(service, 'GET', '/api/me', { tenant: 'k001', token: created.body.token })).status, 401);
  assert.equal((await call(service, 'DELETE', `/api/users/${id}`, as(k001.admin))).body.code, 'USER_NOT_FOUND');
  const self = await call(service, 'DELETE', '/api/users/1', as(k001.admin));
  assert.equal(self.status, 409);
  assert.equal(self.body.code, 'CANNOT_DELETE_SELF');
  assert.equal((await call(service, 'DELETE', '/api/users/2', as(k001.member))).status, 403);
});

test('unknown API routes are 404 JSON, after the tenant and the token are checked', async () => {
  const res = await call(service, 'GET', '/api/nothing', as(k001.member));
  assert.equal(res.status, 404);
  assert.equal(res.body.code, 'NOT_FOUND');
  const anonymous = await call(service, 'GET', '/api/nothing', { tenant: 'k001' });
  assert.equal(anonymous.status, 401);
});
