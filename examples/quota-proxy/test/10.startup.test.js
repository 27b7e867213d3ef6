'use strict';
// The service refuses to start without an admin token or with bad
// configuration, and says why.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { runServer, startService, stopService, tempDir, call } = require('./helpers');

test('refuses to start without ADMIN_TOKEN (no default token)', async () => {
  const dir = tempDir();
  const res = await runServer({ DB_PATH: path.join(dir, 'q.db') });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /ADMIN_TOKEN is not set/);
  assert.doesNotMatch(res.stdout, /listening/);
});

test('refuses to start with an empty ADMIN_TOKEN', async () => {
  const dir = tempDir();
  const res = await runServer({ ADMIN_TOKEN: '   ', DB_PATH: path.join(dir, 'q.db') });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /ADMIN_TOKEN is not set/);
});

test('a bad DB_POOL_* value stops startup with the pool error code', async () => {
  const dir = tempDir();
  const res = await runServer({ ADMIN_TOKEN: 'x', DB_PATH: path.join(dir, 'q.db'), DB_POOL_MAX: 'lots' });
  assert.equal(res.code, 1);
  assert.match(res.stderr, /cannot start: LITEPOOL_INVALID_CONFIG/);
  assert.match(res.stderr, /DB_POOL_MAX/);
});

test('a bad PORT stops startup', async () => {
  const dir = tempDir();
  const res = await runServer({ ADMIN_TOKEN: 'x', DB_PATH: path.join(dir, 'q.db'), PORT: 'http' });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /PORT must be an integer/);
});

test('an unopenable DB_PATH stops startup with SQLite\'s code', async () => {
  const dir = tempDir();
  // A directory where the database file should be.
  const res = await runServer({ ADMIN_TOKEN: 'x', DB_PATH: dir });
  assert.equal(res.code, 1);
  assert.match(res.stderr, /cannot start: SQLITE_CANTOPEN/);
});

test('DB_POOL_* configures the pool; the database directory is created', async () => {
  const dir = tempDir();
  const service = await startService({ DB_POOL_MAX: '3', DB_POOL_MIN: '1', DB_PATH: path.join(dir, 'sub', 'dir', 'q.db') });
  try {
    assert.match(service.stdout, /pool max=3 min=1/);
    const stats = await call(service, 'GET', '/admin/db-pool-stats', { admin: true });
    assert.equal(stats.status, 200);
    assert.equal(stats.body.max, 3);
    assert.equal(stats.body.min, 1);
  } finally {
    await stopService(service);
  }
});
