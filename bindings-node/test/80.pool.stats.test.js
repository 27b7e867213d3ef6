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
