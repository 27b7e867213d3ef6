'use strict';
// serialize() / parallelize(): what runs after what, callbacks in order,
// the callback form restoring the mode, exclusive calls (exec, wait).
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { compare, settle, dropIn } = require('./helpers');

compare(test, 'serialize: each call sees the one before and callbacks come in order', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(path.join(dir, 's.db'));
  await settle((done) => {
    db.serialize(() => {
      db.run('CREATE TABLE t (x)', log.cb('create'));
      for (let i = 0; i < 20; i++) db.run('INSERT INTO t VALUES (?)', i, log.cb(`insert ${i}`));
      db.get('SELECT count(*) AS n, sum(x) AS s FROM t', log.cb('sum'));
      db.run('UPDATE t SET x = x + 1', log.cb('update'));
      db.get('SELECT sum(x) AS s FROM t', log.cb('sum after update', done));
    });
  });
  await settle((done) => db.close(done));
});

compare(test, 'serialize(callback) restores the mode; serialize() without one keeps it', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(':memory:');
  db.serialize(function serialized() {
    log('inside, this is the db', this === db);
  });
  log('returns the db', db.serialize(() => {}) === db, db.parallelize(() => {}) === db);
  db.serialize();
  db.parallelize(() => {
    log('parallelize inside serialize');
  });
  await settle((done) => db.run('CREATE TABLE t (x)', log.cb('create')).run('INSERT INTO t VALUES (1)', log.cb('insert')).get('SELECT x FROM t', log.cb('get', done)));
  try {
    db.serialize(() => {
      throw new Error('thrown inside');
    });
  } catch (err) {
    log('the exception propagates', err.message);
  }
  await settle((done) => db.close(done));
});

compare(test, 'exec: a started exec holds back later calls; a waiting one waits for those before it', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(path.join(dir, 'e.db'));
  await settle((done) => db.run('CREATE TABLE t (x)', done));
  // Nothing in flight: exec starts at once and the get waits for it.
  db.exec('INSERT INTO t VALUES (2); INSERT INTO t VALUES (3)', log.cb('exec'));
  await settle((done) => db.get('SELECT count(*) AS n FROM t', log.cb('count after a started exec', done)));
  // A write in flight: the exec waits for it (its count includes it).
  db.run('INSERT INTO t VALUES (1)', log.cb('insert'));
  db.exec('INSERT INTO t SELECT count(*) FROM t', log.cb('exec after the insert'));
  await settle((done) => db.wait(log.cb('wait', done)));
  await settle((done) => db.all('SELECT x FROM t ORDER BY rowid', log.cb('rows', done)));
  await settle((done) => db.close(done));
});

compare(test, 'parallel reads all answer; a write and the reads after it', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(path.join(dir, 'p.db'));
  await settle((done) => db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3)', done));
  await settle((done) => {
    let left = 10;
    for (let i = 0; i < 10; i++) db.get('SELECT sum(x) AS s FROM t WHERE x >= ?', i % 3, log.cb(`read ${i}`, () => --left === 0 && done()));
  });
  await settle((done) => db.close(done));
}, { sorted: true });

test('the drop-in pipelines a Database\'s writes on its connection, in order, with no JS wait between', async () => {
  const dir = require('../helpers').tempDir();
  const db = new dropIn.Database(path.join(dir, 'w.db'));
  await settle((done) => db.run('CREATE TABLE t (i INTEGER)', done));
  const order = [];
  const all = Array.from({ length: 50 }, (_, i) => settle((done) => db.run('INSERT INTO t VALUES (?)', i, (err) => {
    assert.ifError(err);
    order.push(i);
    done();
  })));
  assert.equal(db._sessionCalls, 50, 'all 50 writes are queued on the connection at once');
  await Promise.all(all);
  assert.deepEqual(order, Array.from({ length: 50 }, (_, i) => i), 'callbacks in call order');
  const rows = await settle((done) => db.all('SELECT i FROM t', (err, r) => done(r)));
  assert.deepEqual(rows.map((r) => r.i), Array.from({ length: 50 }, (_, i) => i), 'rows in call order');
  await settle((done) => db.close(done));
});
