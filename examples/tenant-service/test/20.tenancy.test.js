'use strict';
// The tenant resolver (Host -> tenant) and the auth middleware (bearer token
// checked in that tenant's users table only), and the pool's confinement of
// a tenant lease through the service's own store.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const path = require('node:path');
const { loadLitepool } = require('../lib/litepool');
const { createLitepoolStore } = require('../lib/store');
const { sha256 } = require('../lib/tokens');
const { tenantCodeFromHost } = require('../lib/tenant-resolver');
const { startService, stopService, provisionData, removeData, call, usersOf, DOMAIN } = require('./helpers');

const { Pool } = loadLitepool();

let data;
let service;
test.before(async () => {
  data = await provisionData({ tenants: 3, inactive: ['k003'] });
  service = await startService(data);
});
test.after(async () => {
  await stopService(service);
  removeData(data);
});

/** A request written by hand: without a Host header, which node:http always sends. */
function rawRequest(port, text) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(text));
    let out = '';
    socket.on('data', (d) => (out += d));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}

test('the tenant comes from the first label of Host; case, port and a trailing dot do not matter', async () => {
  const { admin } = usersOf(data, 'k001');
  for (const host of [`k001.${DOMAIN}`, `K001.${DOMAIN.toUpperCase()}`, `k001.${DOMAIN}:${service.port}`, `k001.${DOMAIN}.`]) {
    const res = await call(service, 'GET', '/api/me', { host, token: admin.token });
    assert.equal(res.status, 200, host);
    assert.deepEqual(res.body.tenant, { code: 'k001', name: 'Tenant k001' });
    assert.equal(res.body.user.email, 'admin@k001.example.test');
    assert.equal(res.body.user.role, 'admin');
    assert.equal(res.body.user.token_hash, undefined);
  }
});

test('hosts that name no tenant: 400 INVALID_HOST, 400 INVALID_TENANT_CODE, 404, 403', async () => {
  const { admin } = usersOf(data, 'k001');
  const cases = [
    [DOMAIN, 400, 'INVALID_HOST'],
    ['localhost', 400, 'INVALID_HOST'],
    [`k001.other.example`, 400, 'INVALID_HOST'],
    ['127.0.0.1', 400, 'INVALID_HOST'],
    ['[::1]:80', 400, 'INVALID_HOST'],
    [`k001.${DOMAIN}:port`, 400, 'INVALID_HOST'],
    [`bad-code.${DOMAIN}`, 400, 'INVALID_TENANT_CODE'],
    [`a.k001.${DOMAIN}`, 400, 'INVALID_TENANT_CODE'],
    [`${'k'.repeat(65)}.${DOMAIN}`, 400, 'INVALID_TENANT_CODE'],
    [`k999.${DOMAIN}`, 404, 'TENANT_NOT_FOUND'],
    [`k003.${DOMAIN}`, 403, 'TENANT_INACTIVE'],
  ];
  for (const [host, status, code] of cases) {
    const res = await call(service, 'GET', '/api/me', { host, token: admin.token });
    assert.equal(res.status, status, host);
    assert.equal(res.body.code, code, host);
    assert.equal(typeof res.body.error, 'string');
  }
  const raw = await rawRequest(service.port, 'GET /api/me HTTP/1.1\r\nConnection: close\r\n\r\n');
  assert.match(raw, /^HTTP\/1\.1 400/);
  assert.match(raw, /"code":"MISSING_HOST"/);
  assert.throws(() => tenantCodeFromHost(undefined, DOMAIN), { code: 'MISSING_HOST' });
});

test('the resolver runs before auth: an unknown tenant is 404 whatever the token', async () => {
  const res = await call(service, 'GET', '/api/users', { tenant: 'k999' });
  assert.equal(res.status, 404);
  assert.equal(res.body.code, 'TENANT_NOT_FOUND');
});

test('a missing, malformed or unknown token is 401 with its own code', async () => {
  const { admin } = usersOf(data, 'k001');
  const missing = await call(service, 'GET', '/api/me', { tenant: 'k001' });
  assert.equal(missing.status, 401);
  assert.equal(missing.body.code, 'MISSING_TOKEN');
  const basic = await call(service, 'GET', '/api/me', { tenant: 'k001', headers: { authorization: `Basic ${admin.token}` } });
  assert.equal(basic.status, 401);
  assert.equal(basic.body.code, 'INVALID_AUTHORIZATION');
  const [selector, secret] = admin.token.split('.');
  const flipped = secret[0] === 'A' ? `B${secret.slice(1)}` : `A${secret.slice(1)}`;
  for (const token of ['nope', `${selector}.${flipped}`, `${selector}.`, selector, `${admin.token}x`, admin.token.toUpperCase()]) {
    const res = await call(service, 'GET', '/api/me', { tenant: 'k001', token });
    assert.equal(res.status, 401, token);
    assert.equal(res.body.code, 'INVALID_TOKEN', token);
  }
});

test('a token of tenant A on tenant B\'s host is 401, for every user of A on every other tenant', async () => {
  for (const from of ['k001', 'k002']) {
    for (const to of ['k001', 'k002']) {
      for (const user of data.byCode[from].users) {
        const res = await call(service, 'GET', '/api/me', { tenant: to, token: user.token });
        if (from === to) {
          assert.equal(res.status, 200);
          assert.equal(res.body.user.email, user.email);
        } else {
          assert.equal(res.status, 401, `${user.email} on ${to}`);
          assert.equal(res.body.code, 'INVALID_TOKEN');
        }
      }
    }
  }
});

test('tokens are stored hashed: the tenant file holds the selector and SHA-256 of the secret only', async () => {
  const pool = new Pool(path.join(data.dir, 'tenants', 'k001.db'), { max: 1, min: 0 });
  try {
    const rows = await pool.query('SELECT email, token_selector, token_hash FROM users', []);
    for (const user of data.byCode.k001.users) {
      const [selector, secret] = user.token.split('.');
      const row = rows.find((r) => r.email === user.email);
      assert.equal(row.token_selector, selector);
      assert.equal(row.token_hash, sha256(secret).toString('hex'));
      assert.ok(!JSON.stringify(rows).includes(secret));
    }
  } finally {
    await pool.close();
  }
});

test('a tenant lease (the service\'s executor) cannot reach another tenant\'s schema or attach files', async () => {
  // One connection, so k002's attachment is certainly on the connection k001's lease gets.
  const pool = new Pool(data.dbPath, { max: 1, min: 1 });
  const logged = [];
  const store = createLitepoolStore(pool, { log: (m) => logged.push(m) });
  try {
    store.registerTenant('k001', path.join(data.dir, 'tenants', 'k001.db'));
    store.registerTenant('k002', path.join(data.dir, 'tenants', 'k002.db'));
    const k001 = store.forTenant('k001');
    const k002 = store.forTenant('k002');
    assert.equal((await k002.all('SELECT id FROM tenant_k002.users', [])).length, 3);
    const attached = await pool.query('SELECT name FROM pragma_database_list');
    assert.ok(attached.some((r) => r.name === 'tenant_k002'), 'k002 is attached to the one connection');
    // ...which a tenant lease may not even list (the pool's clean-leases rule)
    await assert.rejects(k001.all('SELECT name FROM pragma_database_list', []), { code: 'SQLITE_AUTH' });
    await assert.rejects(k001.all('SELECT email FROM tenant_k002.users', []), { code: 'SQLITE_AUTH' });
    await assert.rejects(k001.run('UPDATE tenant_k002.users SET name = ?', ['x']), { code: 'SQLITE_AUTH' });
    await assert.rejects(
      k001.run(`ATTACH DATABASE '${path.join(data.dir, 'tenants', 'k002.db')}' AS other`, []),
      { code: 'SQLITE_AUTH' },
    );
    await assert.rejects(
      k001.transaction((conn) => conn.run('DELETE FROM tenant_k002.orders', [])),
      { code: 'SQLITE_AUTH' },
    );
    assert.equal((await k002.get('SELECT count(*) AS n FROM tenant_k002.orders', [])).n, 2, 'nothing was deleted');
    // each refusal was logged with the tenant that tried and the statement
    assert.equal(logged.length, 5);
    assert.match(logged[1], /^SQL error tenant=k001 code=SQLITE_AUTH statement="SELECT email FROM tenant_k002.users" params=<0 redacted>/);
    assert.match(logged[2], /params=<1 redacted>/);
    assert.doesNotMatch(logged.join('\n'), /'x'/);
  } finally {
    await pool.close();
  }
});
