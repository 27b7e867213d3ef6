'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const v8 = require('node:v8');
const vm = require('node:vm');
const { Pool } = require('..');
const { tempDb, sleep } = require('./helpers');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

async function collect() {
  for (let i = 0; i < 5; i++) {
    gc();
    await sleep(20);
  }
}

async function acquireAndForget(pool) {
  const conn = await pool.acquire();
  await conn.get('SELECT 1');
  // dropped without release()
}

test('a connection garbage-collected without release goes back to the pool with a warning naming its acquire stack', async () => {
  const pool = new Pool(tempDb(), { max: 2, leakDetectionMillis: 60000 });
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  await acquireAndForget(pool);
  assert.equal(pool.getStats().active, 1);
  await collect();
  process.off('warning', onWarning);
  assert.equal(pool.getStats().active, 0, 'the lease went back to the pool');
  const leak = warnings.find((w) => w.code === 'LITEPOOL_LEAK');
  assert.ok(leak, `no LITEPOOL_LEAK warning among ${warnings.map((w) => w.message)}`);
  assert.equal(leak.name, 'LitepoolLeakWarning');
  assert.match(leak.message, /garbage-collected without release/);
  assert.match(leak.message, /acquireAndForget/, 'the warning names the acquiring function');
  await pool.close();
});

test('without leak detection the connection still goes back, silently', async () => {
  const pool = new Pool(tempDb(), { max: 2 });
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  await acquireAndForget(pool);
  await collect();
  process.off('warning', onWarning);
  assert.equal(pool.getStats().active, 0);
  assert.equal(warnings.filter((w) => w.code === 'LITEPOOL_LEAK').length, 0);
  await pool.close();
});

test('a lease held past leakDetectionMillis is counted as a leak by the core', async () => {
  const pool = new Pool(tempDb(), { max: 2, leakDetectionMillis: 50 });
  const conn = await pool.acquire();
  await sleep(1500);
  assert.ok(pool.getStats().leaks >= 1);
  conn.release();
  await pool.close();
});
