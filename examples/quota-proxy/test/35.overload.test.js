'use strict';
// Load shedding: with DB_POOL_MAX_WAITING, a burst the pool cannot queue is
// answered at once with 503 OVERLOADED and a Retry-After, instead of every
// request queueing to time out; the requests admitted succeed.
const test = require('node:test');
const assert = require('node:assert/strict');
const { startService, stopService, createKey, gateway } = require('./helpers');

test('a burst past DB_POOL_MAX_WAITING gets 503 OVERLOADED with Retry-After, the rest is served', async () => {
  const service = await startService({ DB_POOL_MAX: '2', DB_POOL_MAX_WAITING: '2', DB_POOL_ACQUIRE_TIMEOUT: '5000' });
  try {
    const { key } = await createKey(service, 1000);
    const responses = await Promise.all(Array.from({ length: 60 }, () => gateway(service, key)));
    const shed = responses.filter((r) => r.status === 503);
    const served = responses.filter((r) => r.status === 200);
    assert.equal(shed.length + served.length, 60, `statuses: ${responses.map((r) => r.status)}`);
    assert.ok(shed.length > 0, 'some requests were shed');
    assert.ok(served.length >= 2, 'the admitted requests were served');
    for (const r of shed) {
      assert.equal(r.body.code, 'OVERLOADED');
      assert.match(r.headers.get('retry-after'), /^[1-9]\d*$/);
    }
    // Only the served requests spent quota.
    const after = await gateway(service, key);
    assert.equal(after.body.quota.used, served.length + 1);
  } finally {
    await stopService(service);
  }
});
