'use strict';
// Connection state made through a Database — TEMP tables, ATTACH, pragmas,
// transactions — is seen by all of its later calls, however many run at
// once (the Database keeps the connection that holds the state), and by no
// other Database.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { compare, settle, dropIn } = require('./helpers');
const { tempDir } = require('../helpers');

function parallelReads(db, sql, n, log, name) {
  return Promise.all(Array.from({ length: n }, (_, i) => settle((done) => db.get(sql, log.cb(`${name} ${i}`, done)))));
}

compare(test, 'a TEMP table, read by 6 concurrent calls', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(path.join(dir, 't.db'));
  await settle((done) => db.exec('CREATE TEMP TABLE scratch (x); INSERT INTO scratch VALUES (1), (2)', log.cb('create temp', done)));
  await parallelReads(db, 'SELECT count(*) AS n FROM scratch', 6, log, 'read');
  await settle((done) => db.run('CREATE TEMP VIEW v AS SELECT x * 10 AS y FROM scratch', done));
  await parallelReads(db, 'SELECT sum(y) AS s FROM v', 6, log, 'view');
  await settle((done) => db.close(done));
}, { sorted: true });

compare(test, 'ATTACH, read and written by concurrent calls, then DETACH', async (sqlite3, dir, log) => {
  const other = new sqlite3.Database(path.join(dir, 'other.db'));
  await settle((done) => other.exec('CREATE TABLE o (v); INSERT INTO o VALUES (7)', done));
  await settle((done) => other.close(done));
  const db = new sqlite3.Database(path.join(dir, 'main.db'));
  await settle((done) => db.run('ATTACH DATABASE ? AS other', path.join(dir, 'other.db'), log.cb('attach', done)));
  await parallelReads(db, 'SELECT v FROM other.o', 6, log, 'read attached');
  await settle((done) => db.run('INSERT INTO other.o VALUES (8)', log.cb('write attached', done)));
  await parallelReads(db, 'SELECT count(*) AS n FROM other.o', 3, log, 'count');
  await settle((done) => db.run('DETACH DATABASE other', log.cb('detach', done)));
  // (A statement run before DETACH and again after fails while running on
  // the drop-in — its connection cached it — where node-sqlite3 fails to
  // prepare it: the same error, `this` differs. A new one fails alike.)
  await settle((done) => db.get('SELECT v AS again FROM other.o', log.cb('after detach', done)));
  await settle((done) => db.close(done));
}, { sorted: true });

compare(test, 'a pragma set through the Database holds for its later calls', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(path.join(dir, 'p.db'));
  await settle((done) => db.run('PRAGMA cache_size = 1234', done));
  await parallelReads(db, 'PRAGMA cache_size', 4, log, 'cache_size');
  await settle((done) => db.run('PRAGMA case_sensitive_like = 1', done));
  await parallelReads(db, "SELECT 'a' LIKE 'A' AS ci", 4, log, 'like');
  await settle((done) => db.close(done));
}, { sorted: true });

compare(test, 'a transaction through run(): concurrent reads in it see its writes', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(path.join(dir, 'x.db'));
  await settle((done) => db.run('CREATE TABLE t (x)', done));
  await settle((done) => db.run('BEGIN', log.cb('begin', done)));
  await settle((done) => db.run('INSERT INTO t VALUES (1)', done));
  await parallelReads(db, 'SELECT count(*) AS n FROM t', 5, log, 'in transaction');
  await settle((done) => db.run('ROLLBACK', log.cb('rollback', done)));
  await parallelReads(db, 'SELECT count(*) AS n FROM t', 3, log, 'after rollback');
  await settle((done) => db.close(done));
}, { sorted: true });

test('state made by one Database is not seen by another on the same file, nor left on pooled connections', async () => {
  const dir = tempDir();
  const file = path.join(dir, 's.db');
  const a = new dropIn.Database(file);
  const b = new dropIn.Database(file);
  await settle((done) => a.exec('CREATE TEMP TABLE mine (x); PRAGMA cache_size = 77', done));
  const seen = await new Promise((resolve) => b.get('SELECT * FROM mine', (err) => resolve(err)));
  assert.equal(seen && seen.message, 'SQLITE_ERROR: no such table: mine');
  const size = await new Promise((resolve) => b.get('PRAGMA cache_size', (err, row) => resolve(row)));
  assert.notEqual(size.cache_size, 77);
  assert.ok(a._statePinned, 'a keeps its connection');
  await settle((done) => a.close(done));
  // The connection a held was reset (TEMP dropped, pragma restored) on return.
  const pool = b._backend.pool;
  const stats = pool.getStats();
  assert.ok(stats.resetOnReturn + stats.closedDirty >= 1, JSON.stringify(stats));
  for (let i = 0; i < 4; i++) {
    const err = await new Promise((resolve) => b.get('SELECT * FROM mine', (e) => resolve(e)));
    assert.ok(err, 'no pooled connection kept the TEMP table');
  }
  await settle((done) => b.close(done));
});
