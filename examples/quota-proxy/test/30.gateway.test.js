'use strict';
// POST /gateway: the quota check, the usage log and the increment in one
// write-lane transaction; 429 once spent, and never over-spent under
// concurrency.
const test = require('node:test');
const assert = require('node:assert/strict');
const { loadLitepool } = require('../lib/litepool');
const { startService, stopService, call, createKey, gateway } = require('./helpers');

const { Pool } = loadLitepool();

let service;
let db; // a second pool on the service's database file, to check what it wrote
test.before(async () => {
  service = await startService();
  db = new Pool(service.dbPath, { max: 2, min: 0 });
});
test.after(async () => {
  await db.close();
  await stopService(service);
});

async function keyRow(key) {
  return db.get('SELECT total_quota, used_quota FROM api_keys WHERE key = ?', [key]);
}

async function logCounts(key) {
  const rows = await db.query(
    'SELECT status_code, count(*) AS n FROM usage_log WHERE api_key = ? GROUP BY status_code',
    [key],
  );
  return Object.fromEntries(rows.map((r) => [r.status_code, r.n]));
}

test('spends one unit per call, logs it, then answers 429 once the quota is spent', async () => {
  const { key } = await createKey(service, 3);
  for (let i = 1; i <= 3; i += 1) {
    const res = await gateway(service, key, '/v1/chat/completions');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { ok: true, endpoint: '/v1/chat/completions', quota: { total: 3, used: i, remaining: 3 - i } });
  }
  for (let i = 0; i < 2; i += 1) {
    const res = await gateway(service, key);
    assert.equal(res.status, 429);
    assert.equal(res.body.code, 'QUOTA_EXCEEDED');
    assert.deepEqual(res.body.quota, { total: 3, used: 3, remaining: 0 });
  }
  assert.deepEqual(await keyRow(key), { total_quota: 3, used_quota: 3 });
  assert.deepEqual(await logCounts(key), { 200: 3, 429: 2 });
  const listed = await call(service, 'GET', `/admin/keys/${key}`, { admin: true });
  assert.equal(listed.body.used_quota, 3);
  assert.equal(listed.body.remaining, 0);
});

test('missing, unknown and oversized API keys are refused with JSON', async () => {
  const missing = await gateway(service, undefined);
  assert.equal(missing.status, 401);
  assert.equal(missing.body.code, 'MISSING_API_KEY');

  const unknown = await gateway(service, 'sk-not-a-key');
  assert.equal(unknown.status, 401);
  assert.equal(unknown.body.code, 'INVALID_API_KEY');
  assert.deepEqual(await logCounts('sk-not-a-key'), {}); // unknown keys are not logged

  const huge = await gateway(service, 'k'.repeat(201));
  assert.equal(huge.status, 400);
  assert.equal(huge.body.code, 'INVALID_API_KEY');
});

test('bad bodies get a 400 and spend nothing', async () => {
  const { key } = await createKey(service, 5);
  const headers = { 'x-api-key': key, 'content-type': 'application/json' };
  const cases = [
    [{ raw: '{"endpoint": ', headers }, 'MALFORMED_JSON'],
    [{ raw: '"just a string"', headers }, 'MALFORMED_JSON'], // express.json is strict: objects and arrays only
    [{ raw: '[1, 2]', headers }, 'BODY_REQUIRED'],
    [{ raw: undefined, headers: { 'x-api-key': key } }, 'BODY_REQUIRED'],
    [{ body: {}, headers: { 'x-api-key': key } }, 'MISSING_FIELD'],
    [{ body: { endpoint: 42 }, headers: { 'x-api-key': key } }, 'INVALID_FIELD'],
    [{ body: { endpoint: '' }, headers: { 'x-api-key': key } }, 'INVALID_FIELD'],
    [{ body: { endpoint: `/${'x'.repeat(300)}` }, headers: { 'x-api-key': key } }, 'INVALID_FIELD'],
  ];
  for (const [opts, code] of cases) {
    const res = await call(service, 'POST', '/gateway', opts);
    assert.equal(res.status, 400, JSON.stringify(opts));
    assert.equal(res.body.code, code, JSON.stringify(opts));
  }
  assert.deepEqual(await keyRow(key), { total_quota: 5, used_quota: 0 });
  assert.deepEqual(await logCounts(key), {});
});

test('an expired key gets a 403 and spends nothing', async () => {
  const { key } = await createKey(service, 5, { expires_at: Date.now() + 300 });
  assert.equal((await gateway(service, key)).status, 200);
  await new Promise((r) => setTimeout(r, 400));
  const res = await gateway(service, key);
  assert.equal(res.status, 403);
  assert.equal(res.body.code, 'KEY_EXPIRED');
  assert.deepEqual(await keyRow(key), { total_quota: 5, used_quota: 1 });
  assert.deepEqual(await logCounts(key), { 200: 1, 403: 1 });
});

test('200 concurrent requests on a quota of 50: exactly 50 succeed, 150 get 429, nothing over-spent', async () => {
  const quota = 50;
  const { key } = await createKey(service, quota);
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => gateway(service, key, `/v1/e${i % 4}`)));
  const byStatus = {};
  for (const r of results) byStatus[r.status] = (byStatus[r.status] || 0) + 1;
  assert.deepEqual(byStatus, { 200: quota, 429: 200 - quota });
  // Every success saw a distinct `used` value: 1..50, each exactly once.
  const used = results.filter((r) => r.status === 200).map((r) => r.body.quota.used).sort((a, b) => a - b);
  assert.deepEqual(used, Array.from({ length: quota }, (_, i) => i + 1));
  assert.deepEqual(await keyRow(key), { total_quota: quota, used_quota: quota });
  assert.deepEqual(await logCounts(key), { 200: quota, 429: 200 - quota });
});

test('several keys spent concurrently stay exact, with reads running alongside', async () => {
  const quotas = [7, 30, 64];
  const keys = await Promise.all(quotas.map((q) => createKey(service, q)));
  const calls = [];
  for (let i = 0; i < 240; i += 1) {
    const k = keys[i % keys.length].key;
    calls.push(gateway(service, k));
    if (i % 8 === 0) calls.push(call(service, 'GET', `/admin/usage?api_key=${k}&limit=5`, { admin: true }));
  }
  const results = await Promise.all(calls);
  assert.ok(results.every((r) => r.status === 200 || r.status === 429), 'only 200 and 429');
  for (const [i, { key }] of keys.entries()) {
    assert.deepEqual(await keyRow(key), { total_quota: quotas[i], used_quota: quotas[i] });
    assert.deepEqual(await logCounts(key), { 200: quotas[i], 429: 80 - quotas[i] });
  }
});
