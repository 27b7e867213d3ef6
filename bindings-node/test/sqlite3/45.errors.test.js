'use strict';
// Error objects (message prefix, errno, code) and which object emits
// 'error' when no callback takes it; verbose() stack augmentation.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { compare, settle, dropIn } = require('./helpers');

compare(test, 'error objects for each kind of failure', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(path.join(dir, 'e.db'));
  await settle((done) => db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, u TEXT UNIQUE, n INTEGER NOT NULL CHECK (n > 0)); CREATE TABLE c (pid REFERENCES t(id))', done));
  const cases = [
    ['syntax', 'SELEC 1'],
    ['no such table', 'SELECT * FROM nope'],
    ['no such column', 'SELECT nope FROM t'],
    ['unique', "INSERT INTO t (u, n) VALUES ('a', 1), ('a', 2)"],
    ['not null', 'INSERT INTO t (u) VALUES (\'b\')'],
    ['check', "INSERT INTO t (u, n) VALUES ('c', -1)"],
    ['datatype mismatch', "INSERT INTO t (id, n) VALUES ('x', 1)"],
    ['range', 'SELECT ?'],
    ['raise', "SELECT RAISE(ABORT, 'custom')"],
  ];
  for (const [name, sql] of cases) {
    await settle((done) => db.run(sql, ...(name === 'range' ? [1, 2] : []), log.cb(name, done)));
  }
  await settle((done) => db.close(done));
});

compare(test, "'error' on the object node-sqlite3 emits it on", async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(path.join(dir, 'w.db'));
  db.on('error', log.cb('Database error event'));
  // exec without a callback: the Database.
  db.exec('SELEC 1');
  await settle((done) => setTimeout(done, 50));
  // A prepared statement's call without a callback: the Statement.
  const s = db.prepare('INSERT INTO nope VALUES (1)');
  await settle((done) => s.on('error', log.cb('Statement error event (prepare)', done)));
  const t = db.prepare('SELECT ? AS x');
  t.on('error', log.cb('Statement error event (run)'));
  t.run(1, 2);
  await settle((done) => setTimeout(done, 50));
  await settle((done) => t.finalize(done));
  // db.run without a callback: its (internal) Statement, so nobody hears
  // it here — node-sqlite3 then throws it as an uncaught exception (checked
  // below on the drop-in alone).
  await settle((done) => db.close(done));
});

compare(test, 'errors from SQLite while running: busy, readonly, interrupt-free', async (sqlite3, dir, log) => {
  const file = path.join(dir, 'b.db');
  const a = new sqlite3.Database(file);
  await settle((done) => a.exec('CREATE TABLE t (x)', done));
  const ro = new sqlite3.Database(file, sqlite3.OPEN_READONLY);
  await settle((done) => ro.run('INSERT INTO t VALUES (1)', log.cb('write on a read-only database', done)));
  await settle((done) => ro.exec('CREATE TABLE u (x)', log.cb('exec on a read-only database', done)));
  await settle((done) => ro.close(done));
  await settle((done) => a.close(done));
});

test('a one-call method with no callback throws its error as uncaught (as node-sqlite3 does)', async () => {
  const db = new dropIn.Database(':memory:');
  const seen = await new Promise((resolve) => {
    const listeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.once('uncaughtException', (err) => {
      for (const l of listeners) process.on('uncaughtException', l);
      resolve(err);
    });
    db.run('SELECT * FROM nope');
  });
  assert.equal(seen.message, 'SQLITE_ERROR: no such table: nope');
  assert.equal(seen.code, 'SQLITE_ERROR');
  await settle((done) => db.close(done));
});

test('verbose(): errors carry the stack of the call that led to them', async () => {
  const sqlite3 = dropIn.verbose();
  assert.equal(sqlite3, dropIn);
  const db = new sqlite3.Database(':memory:');
  const err = await new Promise((resolve) => db.get('SELECT * FROM nope', resolve));
  assert.match(err.stack, /--> in Database#get\('SELECT \* FROM nope', \[Function/);
  assert.match(err.stack, /45\.errors\.test\.js/);
  const s = db.prepare('SELECT ? AS x');
  const err2 = await new Promise((resolve) => s.run(1, 2, resolve));
  assert.match(err2.stack, /--> in Statement#run\(1, 2, \[Function/);
  await settle((done) => s.finalize(done));
  await settle((done) => db.close(done));
});

compare(test, 'verbose(): the augmented stack on node-sqlite3 too', async (sqlite3, dir, log) => {
  sqlite3.verbose();
  const db = new sqlite3.Database(':memory:');
  await settle((done) => db.all('SELECT * FROM nope', (err) => {
    log('augmented', err.__augmented, /--> in Database#all\('SELECT \* FROM nope', \[Function/.test(err.stack));
    done();
  }));
  await settle((done) => db.close(done));
});
