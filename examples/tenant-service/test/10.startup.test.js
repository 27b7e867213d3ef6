'use strict';
// Startup: refusals with their reasons, the design note's pool defaults and
// their DB_POOL_* overrides, and a registry with a broken tenant.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { loadLitepool } = require('../lib/litepool');
const { readConfig } = require('../lib/config');
const { runServer, startService, stopService, provisionData, removeData, tempDir, call, usersOf } = require('./helpers');

const { Pool } = loadLitepool();

let data;
test.before(async () => {
  data = await provisionData({ tenants: 2, inactive: ['k002'] });
});
test.after(() => removeData(data));

test('refuses to start without ADMIN_TOKEN (no default token)', async () => {
  const res = await runServer({ ADMIN_TOKEN: '', DB_PATH: data.dbPath });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /ADMIN_TOKEN is not set/);
  assert.doesNotMatch(res.stdout, /listening/);
});

test('a bad DB_POOL_* value stops startup with the pool error code, naming the variable', async () => {
  for (const [name, value] of [['DB_POOL_MAX', 'lots'], ['DB_POOL_ACQUIRE_TIMEOUT', '-5'], ['DB_POOL_IDLE_TIMEOUT', '1.5']]) {
    const res = await runServer({ DB_PATH: data.dbPath, [name]: value });
    assert.equal(res.code, 1, `${name}=${value}`);
    assert.match(res.stderr, /cannot start: LITEPOOL_INVALID_CONFIG/);
    assert.match(res.stderr, new RegExp(name));
  }
});

test('bad PORT, SHUTDOWN_TIMEOUT and TENANT_DOMAIN stop startup with a message', async () => {
  const cases = [
    [{ PORT: 'http' }, /PORT must be an integer/],
    [{ SHUTDOWN_TIMEOUT: 'soon' }, /SHUTDOWN_TIMEOUT must be a non-negative integer/],
    [{ TENANT_DOMAIN: 'not a domain' }, /TENANT_DOMAIN must be a domain name/],
    [{ TENANT_DOMAIN: '-bad.example' }, /TENANT_DOMAIN must be a domain name/],
  ];
  for (const [env, message] of cases) {
    const res = await runServer({ DB_PATH: data.dbPath, ...env });
    assert.equal(res.code, 2, JSON.stringify(env));
    assert.match(res.stderr, message);
  }
});

test('an unopenable DB_PATH stops startup with SQLite\'s code', async () => {
  const dir = tempDir();
  const res = await runServer({ DB_PATH: dir }); // a directory where the file should be
  assert.equal(res.code, 1);
  assert.match(res.stderr, /cannot start: SQLITE_CANTOPEN/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the pool has the design note\'s defaults: max 30, min 5, acquire 30 s, idle 10 s', async () => {
  const service = await startService(data);
  try {
    assert.match(service.stdout, /pool max=30 min=5 acquire=30000ms idle=10000ms/);
    assert.match(service.stdout, /2 tenants in the registry \(1 active, 1 inactive, 0 unavailable\)/);
    const stats = await call(service, 'GET', '/admin/db-pool-stats', { admin: true });
    assert.equal(stats.status, 200);
    // max and min as the pool itself reports them
    assert.equal(stats.body.max, 30);
    assert.equal(stats.body.min, 5);
    assert.deepEqual(stats.body.config, { max: 30, min: 5, connectionTimeoutMillis: 30000, idleTimeoutMillis: 10000 });
  } finally {
    await stopService(service);
  }
});

test('DB_POOL_* override the defaults; DB_POOL_MAX alone below 5 lowers min with it', async () => {
  const service = await startService(data, { DB_POOL_MAX: '3', DB_POOL_ACQUIRE_TIMEOUT: '1234' });
  try {
    assert.match(service.stdout, /pool max=3 min=3 acquire=1234ms idle=10000ms/);
    const stats = await call(service, 'GET', '/admin/db-pool-stats', { admin: true });
    assert.equal(stats.body.max, 3);
    assert.equal(stats.body.min, 3);
  } finally {
    await stopService(service);
  }
  assert.deepEqual(readConfig({ ADMIN_TOKEN: 'x', DB_POOL_MIN: '1', DB_POOL_IDLE_TIMEOUT: '0' }).poolOptions, {
    max: 30,
    connectionTimeoutMillis: 30000,
  });
});

test('a tenant whose file is missing is unavailable (503), logged at startup; the others are served', async () => {
  const broken = await provisionData({ tenants: 2 });
  fs.rmSync(path.join(broken.dir, 'tenants', 'k002.db'));
  const service = await startService(broken);
  try {
    assert.match(service.stderr, /tenant k002 is unavailable: no database file/);
    assert.match(service.stdout, /2 tenants in the registry \(1 active, 0 inactive, 1 unavailable\)/);
    const { admin } = usersOf(broken, 'k002');
    const res = await call(service, 'GET', '/api/me', { tenant: 'k002', token: admin.token });
    assert.equal(res.status, 503);
    assert.equal(res.body.code, 'TENANT_UNAVAILABLE');
    // the missing file was not created as an empty tenant
    assert.equal(fs.existsSync(path.join(broken.dir, 'tenants', 'k002.db')), false);
    const ok = await call(service, 'GET', '/api/me', { tenant: 'k001', token: usersOf(broken, 'k001').admin.token });
    assert.equal(ok.status, 200);
  } finally {
    await stopService(service);
    removeData(broken);
  }
});

test('an empty registry starts (the table is created) and serves health; every tenant host is 404', async () => {
  const dir = tempDir();
  const service = await startService({ dbPath: path.join(dir, 'sub', 'main.db') });
  try {
    assert.match(service.stdout, /0 tenants in the registry/);
    const health = await call(service, 'GET', '/healthz');
    assert.equal(health.status, 200);
    assert.equal(health.body.tenants.known, 0);
    const res = await call(service, 'GET', '/api/me', { tenant: 'k001', token: 'x' });
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'TENANT_NOT_FOUND');
  } finally {
    await stopService(service);
  }
  const pool = new Pool(path.join(dir, 'sub', 'main.db'), { max: 1, min: 0 });
  assert.deepEqual(await pool.query('SELECT count(*) AS n FROM tenants', []), [{ n: 0 }]);
  await pool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the provisioning and load scripts refuse bad arguments with a message', async () => {
  const { spawnSync } = require('node:child_process');
  const run = (script, args) => spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', script), ...args], { encoding: 'utf8' });
  const cases = [
    ['provision.js', [], 2, /--db is required/],
    ['provision.js', ['--db', path.join(data.dir, 'x.db'), '--tenants', 'many'], 2, /--tenants must be a non-negative integer/],
    ['provision.js', ['--db', path.join(data.dir, 'x.db'), '--prefix', 'K-'], 1, /is not a tenant code/],
    ['provision.js', ['--db', path.join(data.dir, 'x.db'), '--tenants', '2', '--inactive', 'k009'], 1, /--inactive names tenants not being provisioned: k009/],
    ['provision.js', ['--db', data.dbPath, '--tenants', '1'], 1, /tenant k001 is already in the registry/],
    ['provision.js', ['--bogus'], 2, /unknown argument --bogus/],
    ['load.js', ['--tokens', 'x.json'], 1, /--url is required/],
    ['load.js', ['--url', 'http://127.0.0.1:1', '--tokens', 'x.json', '--clients', '0'], 1, /--clients must be a positive integer/],
  ];
  for (const [script, args, code, message] of cases) {
    const res = run(script, args);
    assert.equal(res.status, code, `${script} ${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, message);
  }
  assert.equal(fs.existsSync(path.join(data.dir, 'x.db')), false, 'refused arguments create nothing');
});
