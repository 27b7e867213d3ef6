'use strict';
// Pool events, EventEmitter style (as pg.Pool), named as the core's
// PoolEvents: create, acquire, release, close, timeout, leak (with the
// acquire site), walPinned, warning.
const test = require('node:test');
const assert = require('node:assert/strict');
const { EventEmitter } = require('node:events');
const { Pool } = require('../lib');
const { tempDb, sleep } = require('./helpers');

/** Collects events of `names` from `pool`. */
function recorder(pool, names) {
  const seen = [];
  for (const name of names) pool.on(name, (payload) => seen.push([name, payload]));
  return seen;
}

async function until(what, cond) {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(5);
  }
}

test('a Pool is an EventEmitter; instanceof and fromEnv still work', () => {
  const pool = new Pool(':memory:', { max: 1, min: 0 });
  assert.ok(pool instanceof EventEmitter);
  assert.ok(pool instanceof Pool);
  assert.ok(Pool.fromEnv(':memory:') instanceof Pool);
  assert.throws(() => Pool(':memory:'), TypeError);
  return pool.close();
});

test('create, acquire, release and close, with their details', async () => {
  const pool = new Pool(tempDb(), { max: 2, min: 0 });
  const seen = recorder(pool, ['create', 'acquire', 'release', 'close']);
  const a = await pool.acquire();
  const b = await pool.acquire();
  a.release();
  b.release();
  await pool.close();
  await until('the close events', () => seen.filter(([n]) => n === 'close').length === 2);
  const names = seen.map(([n]) => n);
  assert.equal(names.filter((n) => n === 'create').length, 1, 'the second connection was opened (the first at construction)');
  assert.equal(names.filter((n) => n === 'acquire').length, 2);
  assert.equal(names.filter((n) => n === 'release').length, 2);
  const acquire = seen.find(([n]) => n === 'acquire')[1];
  assert.equal(typeof acquire.connectionId, 'number');
  assert.ok(acquire.waitedMillis >= 0);
  assert.ok(seen.find(([n]) => n === 'release')[1].heldMillis >= 0);
  assert.deepEqual(seen.filter(([n]) => n === 'close').map(([, p]) => p.reason), ['poolClosed', 'poolClosed']);
});

test('timeout: with the wait and the pool\'s state', async () => {
  const pool = new Pool(tempDb(), { max: 1, min: 0, connectionTimeoutMillis: 50 });
  const seen = recorder(pool, ['timeout']);
  const held = await pool.acquire();
  await assert.rejects(pool.acquire(), { code: 'LITEPOOL_TIMEOUT' });
  await until('the timeout event', () => seen.length === 1);
  const [, payload] = seen[0];
  assert.ok(payload.waitedMillis >= 40, JSON.stringify(payload));
  assert.deepEqual({ active: payload.state.active, max: payload.state.max }, { active: 1, max: 1 });
  held.release();
  await pool.close();
});

test('leak: a lease held past leakDetectionMillis, with the stack that acquired it', async () => {
  const pool = new Pool(tempDb(), { max: 1, min: 0, leakDetectionMillis: 30, logger: false });
  const seen = recorder(pool, ['leak']);
  const conn = await pool.acquire(); // this line is in the reported stack
  await until('the leak event', () => seen.length === 1);
  const [, leak] = seen[0];
  assert.equal(leak.connectionId, conn.id);
  assert.ok(leak.heldMillis >= 30);
  assert.match(leak.site, /62\.pool\.events\.test\.js/);
  conn.release();
  await pool.close();
});

test('kinds nobody listens to are not sent; removing the last listener stops them', async () => {
  const pool = new Pool(tempDb(), { max: 1, min: 0 });
  let n = 0;
  const count = () => n++;
  pool.on('acquire', count);
  await pool.get('SELECT 1');
  await until('one acquire event', () => n === 1);
  pool.off('acquire', count);
  await pool.get('SELECT 1');
  await sleep(30);
  assert.equal(n, 1);
  pool.once('acquire', count);
  await pool.get('SELECT 1');
  await pool.get('SELECT 1');
  await until('the once listener', () => n === 2);
  await sleep(30);
  assert.equal(n, 2, 'once fired once');
  await pool.close();
});

test('a listener that throws is an uncaught exception, and later events still come', async () => {
  const pool = new Pool(tempDb(), { max: 1, min: 0 });
  let after = 0;
  pool.on('acquire', () => {
    throw new Error('listener failed');
  });
  pool.on('release', () => after++);
  const caught = new Promise((resolve) => {
    const listeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.once('uncaughtException', (err) => {
      for (const l of listeners) process.on('uncaughtException', l);
      resolve(err);
    });
  });
  await pool.get('SELECT 1');
  assert.equal((await caught).message, 'listener failed');
  await until('the release event', () => after === 1);
  await pool.close();
});
