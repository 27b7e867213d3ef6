'use strict';
// In-memory databases: ':memory:' and '' are private to their Database; a
// shared-cache memory URI opened twice is one database.
const test = require('node:test');
const { compare, settle } = require('./helpers');

compare(test, 'two :memory: Databases are two databases', async (sqlite3, dir, log) => {
  const a = new sqlite3.Database(':memory:');
  const b = new sqlite3.Database(':memory:');
  await settle((done) => a.run('CREATE TABLE t (x)', done));
  await settle((done) => b.get("SELECT count(*) AS n FROM sqlite_master WHERE name = 't'", log.cb('b sees a\'s table?', done)));
  const c = new sqlite3.Database('');
  await settle((done) => c.get('SELECT 1 AS one', log.cb('empty filename opens a private database', done)));
  for (const db of [a, b, c]) await settle((done) => db.close(done));
});

compare(test, 'a shared-cache memory URI opened twice is one database', async (sqlite3, dir, log) => {
  const uri = `file:shared${process.pid}?mode=memory&cache=shared`;
  const flags = sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE | sqlite3.OPEN_URI;
  const a = new sqlite3.Database(uri, flags);
  const b = new sqlite3.Database(uri, flags);
  await settle((done) => a.exec('PRAGMA user_version = 7; CREATE TABLE t (x); INSERT INTO t VALUES (42)', done));
  await settle((done) => b.get('PRAGMA user_version', log.cb('b sees the user_version', done)));
  await settle((done) => b.get('SELECT x FROM t', log.cb('b sees the row', done)));
  await settle((done) => a.close(done));
  await settle((done) => b.get('SELECT x FROM t', log.cb('still there while b is open', done)));
  await settle((done) => b.close(done));
});
