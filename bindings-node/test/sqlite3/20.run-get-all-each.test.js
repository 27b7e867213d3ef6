'use strict';
// Database#run/get/all/each/map: results, `this` (lastID, changes), the
// arguments each callback gets, and where errors go.
const test = require('node:test');
const path = require('node:path');
const { compare, settle } = require('./helpers');

async function setup(sqlite3, dir) {
  const db = new sqlite3.Database(path.join(dir, 'q.db'));
  await settle((done) => db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n INTEGER); INSERT INTO t (name, n) VALUES (\'a\', 1), (\'b\', 2), (\'c\', 3)', done));
  return db;
}

compare(test, 'run: this.lastID and this.changes, and only when there is a callback', async (sqlite3, dir, log) => {
  const db = await setup(sqlite3, dir);
  await settle((done) => db.run('INSERT INTO t (name, n) VALUES (?, ?)', 'd', 4, log.cb('insert', function () { log('this', this.lastID, this.changes, this.sql, Object.keys(this)); done(); })));
  await settle((done) => db.run('UPDATE t SET n = n * 10 WHERE n > ?', 1, log.cb('update', function () { log('this', this.changes, Object.keys(this)); done(); })));
  await settle((done) => db.run('DELETE FROM t WHERE id = 99', log.cb('delete none', function () { log('this', this.changes); done(); })));
  // serialize(): without it node-sqlite3 may run the SELECT before the
  // INSERT (parallel mode) and the two logs differ by chance.
  await settle((done) => db.serialize(() => {
    db.run('INSERT INTO t (name) VALUES (\'e\')');
    db.all('SELECT name, n FROM t ORDER BY id', log.cb('all', done));
  }));
  await settle((done) => db.close(done));
});

compare(test, 'get: the first row, or no row argument at all', async (sqlite3, dir, log) => {
  const db = await setup(sqlite3, dir);
  await settle((done) => db.get('SELECT * FROM t ORDER BY id', log.cb('first row', done)));
  await settle((done) => db.get('SELECT * FROM t WHERE id = ?', 42, log.cb('no row', done)));
  await settle((done) => db.get('SELECT 1 AS a, 2 AS a, NULL AS b', log.cb('duplicate names', done)));
  await settle((done) => db.get('INSERT INTO t (name) VALUES (\'z\')', log.cb('get on an insert', done)));
  await settle((done) => db.close(done));
});

compare(test, 'all and map', async (sqlite3, dir, log) => {
  const db = await setup(sqlite3, dir);
  await settle((done) => db.all('SELECT * FROM t WHERE n > ? ORDER BY id', 1, log.cb('all', done)));
  await settle((done) => db.all('SELECT * FROM t WHERE 0', log.cb('all none', done)));
  await settle((done) => db.map('SELECT name, n FROM t', log.cb('map two columns', done)));
  await settle((done) => db.map('SELECT id, name, n FROM t', log.cb('map rows', done)));
  await settle((done) => db.map('SELECT * FROM nope', log.cb('map error', done)));
  await settle((done) => db.close(done));
});

compare(test, 'each: rows, then the count; errors to the right callback', async (sqlite3, dir, log) => {
  const db = await setup(sqlite3, dir);
  await settle((done) => db.each('SELECT name FROM t ORDER BY id', log.cb('row'), log.cb('complete', done)));
  await settle((done) => db.each('SELECT name FROM t WHERE n > ? ORDER BY id', [1], log.cb('row'), log.cb('complete', done)));
  await settle((done) => db.each('SELECT * FROM t WHERE 0', log.cb('row'), log.cb('complete none', done)));
  // A statement that fails to prepare: the last function hears of it.
  await settle((done) => db.each('SELECT * FROM nope', log.cb('row (prepare error)'), log.cb('complete (prepare error)', done)));
  await settle((done) => db.each('SELECT * FROM nope', log.cb('only callback (prepare error)', done)));
  await settle((done) => db.close(done));
});

// node-sqlite3 fires the step error and `complete` from two sources, in
// either order: compared as a set.
compare(test, 'each: an error while stepping reaches the row callback, and complete still runs', async (sqlite3, dir, log) => {
  const db = await setup(sqlite3, dir);
  await settle((done) => db.exec("CREATE TABLE big (x); INSERT INTO big VALUES (1), ('x'), (3)", done));
  let pending = 2;
  await settle((done) => {
    const end = () => --pending === 0 && done();
    db.each('SELECT abs(x) + json(x) AS v FROM big', log.cb('row (step error)', (err) => err && end()), log.cb('complete (step error)', end));
  });
  await settle((done) => db.close(done));
}, { sorted: true });

compare(test, 'each: many rows arrive in order', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(':memory:');
  let n = 0;
  let inOrder = true;
  await settle((done) => db.each(
    'WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c LIMIT 5000) SELECT i FROM c',
    (err, row) => {
      n++;
      if (row.i !== n) inOrder = false;
    },
    log.cb('complete', done),
  ));
  log('rows', n, 'in order', inOrder);
  await settle((done) => db.close(done));
});

compare(test, 'methods return the Database and callbacks are optional', async (sqlite3, dir, log) => {
  const db = await setup(sqlite3, dir);
  log('run returns db', db.run('SELECT 1') === db);
  log('get returns db', db.get('SELECT 1') === db);
  log('all returns db', db.all('SELECT 1') === db);
  log('each returns db', db.each('SELECT 1') === db);
  log('exec returns db', db.exec('SELECT 1') === db);
  log('prepare returns a Statement', db.prepare('SELECT 1') instanceof sqlite3.Statement);
  await settle((done) => db.wait(log.cb('wait', done)));
  await settle((done) => setTimeout(done, 20));
  await settle((done) => db.close(log.cb('close (after the prepared statement was collected or not)', done)));
}, { sorted: true });
