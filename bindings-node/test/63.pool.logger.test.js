'use strict';
// The pool's warnings (a leak, a failed open, a failed validation…) go to
// the `logger` option — a function, or an object with warn() — or, by
// default, to process.emitWarning as a LitepoolWarning; `false` silences
// them. The 'warning' event carries them too.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Pool } = require('../lib');
const { tempDb, tempDir, sleep } = require('./helpers');

async function until(what, cond) {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function leakOnce(options) {
  const pool = new Pool(tempDb(), { max: 1, min: 0, leakDetectionMillis: 20, ...options });
  const conn = await pool.acquire();
  return { pool, conn };
}

test('logger as a function gets the leak warning with the acquire site', async () => {
  const lines = [];
  const { pool, conn } = await leakOnce({ logger: (message) => lines.push(message) });
  await until('the warning', () => lines.length === 1);
  assert.match(lines[0], /^litepool: apparent connection leak detected: connection \d+ held for \d+ ms, acquired at Error: acquired here/);
  assert.match(lines[0], /63\.pool\.logger\.test\.js/);
  conn.release();
  await pool.close();
});

test('logger as an object with warn(), e.g. console or pino', async () => {
  const lines = [];
  const { pool, conn } = await leakOnce({ logger: { warn: (m) => lines.push(m), info() {} } });
  await until('the warning', () => lines.length === 1);
  conn.release();
  await pool.close();
});

test('by default a LitepoolWarning through process.emitWarning', async () => {
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  const { pool, conn } = await leakOnce({});
  await until('the process warning', () => warnings.some((w) => w.name === 'LitepoolWarning'));
  process.off('warning', onWarning);
  const w = warnings.find((x) => x.name === 'LitepoolWarning');
  assert.equal(w.code, 'LITEPOOL_WARNING');
  assert.match(w.message, /apparent connection leak detected/);
  conn.release();
  await pool.close();
});

test('the default logger repeats one kind of warning at most once a minute', async () => {
  const warnings = [];
  const onWarning = (w) => w.name === 'LitepoolWarning' && warnings.push(w);
  process.on('warning', onWarning);
  const pool = new Pool(tempDb(), { max: 2, min: 0, leakDetectionMillis: 20 });
  const events = [];
  pool.on('leak', (p) => events.push(p));
  const a = await pool.acquire();
  const b = await pool.acquire();
  await until('two leak events', () => events.length === 2);
  await sleep(20);
  process.off('warning', onWarning);
  assert.equal(warnings.length, 1, 'one process warning for two leaks');
  a.release();
  b.release();
  await pool.close();
});

test('logger: false silences them; the warning event still carries them', async () => {
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  const pool = new Pool(tempDb(), { max: 1, min: 0, leakDetectionMillis: 20, logger: false });
  const events = [];
  pool.on('warning', (p) => events.push(p.message));
  const conn = await pool.acquire();
  await until('the warning event', () => events.length === 1);
  await sleep(20);
  process.off('warning', onWarning);
  assert.equal(warnings.filter((w) => w.name === 'LitepoolWarning').length, 0);
  conn.release();
  await pool.close();
});

test('a connection the pool cannot open is warned about', async () => {
  const dir = tempDir();
  const lines = [];
  const pool = new Pool(path.join(dir, 'w.db'), { max: 2, min: 0, logger: (m) => lines.push(m), connectionTimeoutMillis: 300 });
  const first = await pool.acquire();
  fs.rmSync(dir, { recursive: true, force: true }); // a new connection cannot open now
  await assert.rejects(pool.acquire(), { code: 'LITEPOOL_TIMEOUT' });
  await until('the warning', () => lines.some((l) => l.includes('cannot open a connection')));
  first.release();
  await pool.close();
});

test('a bad logger option is refused', () => {
  assert.throws(() => new Pool(':memory:', { logger: 42 }), { name: 'TypeError', message: /"logger" option/ });
  assert.throws(() => new Pool(':memory:', { loggr: () => {} }), TypeError);
});
