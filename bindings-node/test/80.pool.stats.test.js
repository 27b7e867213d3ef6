'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Pool } = require('..');
const { tempDb } = require('./helpers');

test('getStats, health and metrics follow the pool', async () => {
  const pool = new Pool(tempDb(), { max: 10, min: 0, name: 'quota' });
  assert.equal(pool.health(), 'healthy');
  const held = await Promise.all(Array.from({ length: 9 }, () => pool.acquire()));
  const s = pool.getStats();
  assert.equal(s.active, 9);
  assert.equal(s.total, s.active + s.idle);
  assert.equal(pool.health(), 'degraded');
  held.pop().release();
  assert.equal(pool.health(), 'warning');
  held.forEach((c) => c.release());
  assert.equal(pool.health(), 'healthy');
  const stats = pool.getStats();
  assert.ok(stats.acquired >= 9);
  assert.equal(typeof stats.waitTimeMillis, 'number');
  const text = pool.metrics();
  assert.match(text, /# TYPE litepool_\w+/);
  assert.match(text, /pool="quota"/);
  await pool.close();
});

test('resize() and evict() change a live pool; health counts queued calls', async () => {
  const pool = new Pool(tempDb(), { max: 1, min: 0 });
  const held = await pool.acquire();
  const waiting = pool.get('SELECT 1 AS one');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(pool.getStats().waiting, 1);
  assert.equal(pool.health(), 'degraded', 'every connection out and a queue');
  pool.resize(2, 0);
  assert.deepEqual(await waiting, { one: 1 }, 'the new room served the queued call');
  assert.equal(pool.getStats().max, 2);
  assert.equal(pool.evict(), 1, 'the idle connection closed at once');
  held.release();
  assert.equal(pool.getStats().total, 0, 'the leased one closed when released');
  assert.equal(pool.getStats().closedEvicted, 2);
  assert.throws(() => pool.resize(0, 0), { code: 'LITEPOOL_INVALID_CONFIG' });
  await pool.close();
});
