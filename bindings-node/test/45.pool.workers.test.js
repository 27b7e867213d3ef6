'use strict';
// Each Pool runs the SQL of its async calls on worker threads of its own
// (named "sql-<pool name>", at most `max`, started on demand). They must
// neither keep the process alive nor outlive the pool; a call still in
// flight must keep it alive until it settles.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');
const { spawnSync } = require('node:child_process');
const { Pool } = require('..');
const { tempDb, sleep } = require('./helpers');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

/** Threads of this process named like the pool's workers. */
function workerThreads() {
  return fs.readdirSync('/proc/self/task')
    .filter((tid) => {
      try {
        return fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'sql-litepool';
      } catch {
        return false; // the thread exited while we looked
      }
    }).length;
}

async function waitFor(predicate, ms = 3000) {
  const until = Date.now() + ms;
  while (!predicate() && Date.now() < until) await sleep(20);
  return predicate();
}

/** Runs `body` (an async function's source) in a fresh node process. */
function runScript(body) {
  const pkg = path.join(__dirname, '..');
  const script = `const { Pool } = require(${JSON.stringify(pkg)});\n(async () => {\n${body}\n})();`;
  return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 15000 });
}

const linux = process.platform === 'linux';

test('async calls run on at most `max` worker threads, which stop when the pool closes', { skip: !linux && 'reads /proc' }, async () => {
  const before = workerThreads();
  const pool = new Pool(tempDb(), { max: 3 });
  assert.equal(workerThreads(), before, 'no worker before the first call');
  await pool.exec('CREATE TABLE t (x)');
  await Promise.all(Array.from({ length: 200 }, (_, i) => pool.run('INSERT INTO t VALUES (?)', [i])));
  await Promise.all(Array.from({ length: 200 }, () => pool.get('SELECT count(*) AS n FROM t')));
  const running = workerThreads() - before;
  assert.ok(running >= 1 && running <= 3, `${running} workers for a pool of max 3`);
  await pool.close();
  assert.ok(await waitFor(() => workerThreads() === before), 'workers still running after close()');
});

test('a pool garbage-collected without close() stops its workers', { skip: !linux && 'reads /proc' }, async () => {
  const before = workerThreads();
  await (async () => {
    const pool = new Pool(tempDb(), { max: 2 });
    await Promise.all(Array.from({ length: 20 }, () => pool.get('SELECT 1 AS one')));
  })();
  assert.ok(workerThreads() > before);
  const stopped = await waitFor(() => {
    gc();
    return workerThreads() === before;
  });
  assert.ok(stopped, 'workers still running after the pool was collected');
});

test('a script that never closes its pool exits once its calls have settled', () => {
  const db = tempDb();
  const out = runScript(`
    const pool = new Pool(${JSON.stringify(db)}, { max: 4 });
    await pool.exec('CREATE TABLE t (x)');
    await Promise.all([1, 2, 3].map((x) => pool.run('INSERT INTO t VALUES (?)', [x])));
    const conn = await pool.acquire();
    await conn.get('SELECT 1');
    conn.release();
    console.log(JSON.stringify(await pool.query('SELECT x FROM t ORDER BY x')));
  `);
  assert.equal(out.error, undefined, `the script did not exit: ${out.error}`);
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout.trim(), '[{"x":1},{"x":2},{"x":3}]');
});

test('a call waiting for a connection keeps the process alive until it settles', () => {
  // Nothing else keeps this script's loop alive: the timer that releases
  // the held connection is unref()ed.
  const out = runScript(`
    const pool = new Pool(':memory:', { max: 1, connectionTimeoutMillis: 10000 });
    const held = await pool.acquire();
    pool.get('SELECT 42 AS answer').then((row) => console.log(row.answer));
    setTimeout(() => held.release(), 200).unref();
  `);
  assert.equal(out.error, undefined, `the script did not exit: ${out.error}`);
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout.trim(), '42');
});

test('acquire() returns a promise, also when a connection is idle', async () => {
  const pool = new Pool(tempDb(), { max: 1 });
  const pending = pool.acquire();
  assert.ok(pending instanceof Promise);
  const conn = await pending;
  conn.release();
  await pool.close();
});
