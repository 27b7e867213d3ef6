'use strict';
// configure(): busyTimeout, limit, and bad options; the settings apply to
// every call of the Database, whichever pooled connection runs it.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { compare, settle, dropIn } = require('./helpers');

compare(test, 'limit: SQLITE_LIMIT_LENGTH and SQLITE_LIMIT_VARIABLE_NUMBER', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(path.join(dir, 'l.db'));
  log('constants', sqlite3.LIMIT_LENGTH, sqlite3.LIMIT_SQL_LENGTH, sqlite3.LIMIT_VARIABLE_NUMBER, sqlite3.LIMIT_WORKER_THREADS);
  // (SQLite 3.43+ clamps LIMIT_LENGTH to at least 30; SQLite's own error
  // messages are subject to it too.)
  log('returns db', db.configure('limit', sqlite3.LIMIT_LENGTH, 40) === db);
  await settle((done) => db.get('SELECT hex(zeroblob(30)) AS s', log.cb('too long', done)));
  await settle((done) => db.get('SELECT hex(zeroblob(5)) AS s', log.cb('short enough', done)));
  db.configure('limit', sqlite3.LIMIT_VARIABLE_NUMBER, 2);
  await settle((done) => db.get('SELECT ?, ?, ?', 1, 2, 3, log.cb('three variables', done)));
  await settle((done) => db.get('SELECT ?, ?', 1, 2, log.cb('two variables', done)));
  await settle((done) => db.close(done));
});

compare(test, 'configure: argument checks', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(':memory:');
  for (const [what, args] of [
    ['no value', ['busyTimeout']],
    ['busyTimeout string', ['busyTimeout', 'x']],
    ['limit without value', ['limit', 1]],
    ['limit bad id', ['limit', 'x', 1]],
    ['limit bad value', ['limit', 1, 'x']],
    ['unknown option', ['nope', 1]],
  ]) {
    try {
      db.configure(...args);
      log(what, 'ok');
    } catch (err) {
      log(what, err.constructor.name, err.message);
    }
  }
  log('busyTimeout returns db', db.configure('busyTimeout', 100) === db);
  await settle((done) => db.close(done));
});

/** Another process holding the write lock on `file` until it is killed. */
async function lockHolder(file) {
  const { spawn } = require('node:child_process');
  const child = spawn('python3', ['-c', [
    'import sqlite3, sys, time',
    'c = sqlite3.connect(sys.argv[1], isolation_level=None)',
    "c.execute('BEGIN IMMEDIATE')",
    "c.execute('INSERT INTO t VALUES (1)')",
    "print('locked', flush=True)",
    'time.sleep(30)',
  ].join('\n'), file], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout.once('data', resolve));
  return child;
}

compare(test, 'busyTimeout: a write blocked by another process gives up after it', async (sqlite3, dir, log) => {
  const file = path.join(dir, 'b.db');
  const setup = new sqlite3.Database(file);
  await settle((done) => setup.exec('PRAGMA journal_mode = WAL; CREATE TABLE t (x)', done));
  await settle((done) => setup.close(done));
  const holder = await lockHolder(file);
  const db = new sqlite3.Database(file);
  db.configure('busyTimeout', 30);
  const start = Date.now();
  await settle((done) => db.run('INSERT INTO t VALUES (2)', log.cb('blocked write', done)));
  log('gave up within a second', Date.now() - start < 1000);
  holder.kill();
  await settle((done) => holder.once('exit', done));
  await settle((done) => db.run('INSERT INTO t VALUES (3)', log.cb('write once the lock is gone', done)));
  await settle((done) => db.close(done));
});

test('the drop-in applies a Database\'s limits to its calls only', async () => {
  const dir = require('../helpers').tempDir();
  const file = path.join(dir, 'only.db');
  const a = new dropIn.Database(file);
  const b = new dropIn.Database(file);
  a.configure('limit', dropIn.LIMIT_LENGTH, 40);
  const err = await new Promise((resolve) => a.get('SELECT hex(zeroblob(30)) AS s', resolve));
  assert.equal(err.message, 'SQLITE_TOOBIG: string or blob too big');
  const row = await new Promise((resolve) => b.get('SELECT hex(zeroblob(30)) AS s', (e, r) => resolve(r)));
  assert.deepEqual(row, { s: '0'.repeat(60) });
  await settle((done) => a.close(done));
  await settle((done) => b.close(done));
});
