'use strict';
// The trace, profile and change events: what they carry, when they are on
// (a listener turns its hook on; each configure call toggles it), and that
// registering one of trace/profile silences the other (SQLite's legacy
// sqlite3_trace/sqlite3_profile share one slot).
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { compare, settle, dropIn } = require('./helpers');

/** Runs the statements in order, then gives the async events time to land. */
async function workload(db) {
  await settle((done) => db.run('CREATE TABLE t (a, b)', done));
  await settle((done) => db.run('INSERT INTO t VALUES (?, ?)', 1, "x'y", done));
  await settle((done) => db.run('UPDATE t SET a = ? WHERE b = ?', 2, "x'y", done));
  await settle((done) => db.get('SELECT ? AS v, $n AS n', [1.5, null], done));
  await settle((done) => db.exec('INSERT INTO t VALUES (3, 4); DELETE FROM t WHERE a = 3', done));
  await settle((done) => setTimeout(done, 50));
}

compare(test, 'trace: the SQL with its parameters expanded', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(path.join(dir, 'tr.db'));
  db.on('trace', (sql) => log('trace', sql));
  await workload(db);
  await settle((done) => db.close(done));
});

compare(test, 'profile: the SQL as written and a time in milliseconds', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(path.join(dir, 'pr.db'));
  db.on('profile', (sql, ms) => log('profile', sql, typeof ms, ms >= 0));
  await workload(db);
  await settle((done) => db.close(done));
});

compare(test, 'change: insert, update, delete with database, table and rowid', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(path.join(dir, 'ch.db'));
  db.on('change', (...args) => log('change', ...args));
  await workload(db);
  await settle((done) => db.close(done));
});

compare(test, 'trace then profile: only profile fires (one legacy slot)', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(path.join(dir, 'both.db'));
  db.on('trace', (sql) => log('trace', sql));
  db.on('profile', (sql) => log('profile', sql));
  await workload(db);
  await settle((done) => db.close(done));
});

compare(test, 'listeners toggle their hook; removing the last turns it off', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(path.join(dir, 'tog.db'));
  const a = (sql) => log('a', sql);
  const b = (sql) => log('b', sql);
  // (Events arrive asynchronously: each step waits for them to land.)
  const step = (sql) => settle((done) => db.get(sql, () => setTimeout(done, 30)));
  db.on('trace', a);
  await step('SELECT 1');
  db.on('trace', b); // a second listener toggles the hook off
  await step('SELECT 2');
  db.removeListener('trace', a);
  db.removeListener('trace', b); // none left: configure(false) toggles it on again
  db.on('trace', a); // and this toggles it off
  await step('SELECT 3');
  db.removeAllListeners('trace');
  await step('SELECT 4');
  db.configure('change', true);
  await settle((done) => db.run('CREATE TABLE t (x)', done));
  await settle((done) => db.run('INSERT INTO t VALUES (1)', done));
  await settle((done) => setTimeout(done, 50));
  await settle((done) => db.close(done));
});

test('events reach only the Database whose calls caused them', async () => {
  const dir = require('../helpers').tempDir();
  const file = path.join(dir, 'two.db');
  const a = new dropIn.Database(file);
  const b = new dropIn.Database(file);
  const seen = [];
  a.on('change', (type, db, table, rowid) => seen.push(['a', type, rowid]));
  b.on('change', (type, db, table, rowid) => seen.push(['b', type, rowid]));
  await settle((done) => a.run('CREATE TABLE t (x)', done));
  await settle((done) => a.run('INSERT INTO t VALUES (1)', done));
  await settle((done) => b.run('INSERT INTO t VALUES (2)', done));
  await settle((done) => setTimeout(done, 50));
  assert.deepEqual(seen, [['a', 'insert', 1], ['b', 'insert', 2]]);
  await settle((done) => a.close(done));
  await settle((done) => b.close(done));
});
