'use strict';
// Waiting for a connection must not block the event loop nor occupy a
// thread: a queued call is only an entry in the pool's queue until a
// connection frees, and its SQL then runs on the pool's own worker threads,
// never on the libuv threadpool (which stays free for fs and dns work).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Pool } = require('..');
const { tempDb, tempDir, sleep } = require('./helpers');

test('timers keep firing while 50 queries wait on a 2-connection pool', async () => {
  const pool = new Pool(tempDb(), { max: 2, min: 2, connectionTimeoutMillis: 10000 });
  const held = [await pool.acquire(), await pool.acquire()];
  let settled = 0;
  const queries = Array.from({ length: 50 }, (_, i) =>
    pool.get('SELECT ? AS i', [i]).then((row) => { settled++; return row.i; }));
  assert.equal(pool.getStats().waiting, 50);
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 10);
  await sleep(300);
  clearInterval(timer);
  assert.ok(ticks >= 10, `only ${ticks} timer ticks in 300 ms while queries waited`);
  assert.equal(settled, 0, 'no query can run while both connections are held');
  held.forEach((c) => c.release());
  assert.deepEqual(await Promise.all(queries), Array.from({ length: 50 }, (_, i) => i));
  assert.equal(pool.getStats().waiting, 0);
  await pool.close();
});

test('fs work on the libuv threadpool proceeds while many queries wait', async () => {
  const pool = new Pool(tempDb(), { max: 2, min: 2, connectionTimeoutMillis: 10000 });
  const held = [await pool.acquire(), await pool.acquire()];
  // Far more waiters than libuv threads (4 by default): had each parked a
  // worker, the fs calls below could never run.
  const queries = Array.from({ length: 64 }, () => pool.get('SELECT 1 AS one'));
  const file = path.join(tempDir(), 'data.txt');
  await fs.promises.writeFile(file, 'x'.repeat(1000));
  const reads = await Promise.all(Array.from({ length: 32 }, () => fs.promises.readFile(file, 'utf8')));
  assert.equal(reads.length, 32);
  assert.equal(pool.getStats().waiting, 64, 'queries were still waiting while fs work completed');
  held.forEach((c) => c.release());
  assert.equal((await Promise.all(queries)).length, 64);
  await pool.close();
});

test('waiters are served first come, first served', async () => {
  const pool = new Pool(tempDb(), { max: 1, min: 1 });
  await pool.exec('CREATE TABLE log (i)');
  const held = await pool.acquire();
  const order = [];
  const waiters = Array.from({ length: 10 }, (_, i) => pool.acquire().then(async (c) => {
    order.push(i);
    c.release();
  }));
  await sleep(20);
  held.release();
  await Promise.all(waiters);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  await pool.close();
});
