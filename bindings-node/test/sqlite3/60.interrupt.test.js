'use strict';
// interrupt(): a long query in flight fails with SQLITE_INTERRUPT; before
// open, while closing and after close it throws.
const test = require('node:test');
const assert = require('node:assert/strict');
const { compare, settle, dropIn } = require('./helpers');

const HUGE = 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 100000000) SELECT i FROM n';

compare(test, 'each: interrupted from its own row callback (node-sqlite3\'s own test)', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(':memory:');
  await settle((done) => db.on('open', done));
  let interrupted = false;
  let saved = null;
  db.serialize();
  await settle((done) => {
    db.each(HUGE, (err) => {
      if (err) saved = err;
      else if (!interrupted) {
        interrupted = true;
        db.interrupt();
      }
    }, () => done());
  });
  await settle((done) => setTimeout(done, 20));
  log('saved', saved);
  await settle((done) => db.close(log.cb('close', done)));
});

compare(test, 'a long all() interrupted from a timer', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(':memory:');
  await settle((done) => db.on('open', done));
  setTimeout(() => db.interrupt(), 50);
  await settle((done) => db.all('WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n', log.cb('all', done)));
  await settle((done) => db.get('SELECT 1 AS still', log.cb('the next call runs', done)));
  await settle((done) => db.close(done));
});

compare(test, 'interrupt before open, while closing, after close', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(':memory:');
  try {
    db.interrupt();
  } catch (err) {
    log('before open', err.message);
  }
  await settle((done) => db.on('open', done));
  log('open: returns', db.interrupt() === db);
  db.close();
  try {
    db.interrupt();
  } catch (err) {
    log('while closing', err.message);
  }
  await settle((done) => db.on('close', done));
  try {
    db.interrupt();
  } catch (err) {
    log('after close', err.message);
  }
});

test('interrupt reaches one-shot reads running on other pooled connections', async () => {
  const db = new dropIn.Database(require('path').join(require('../helpers').tempDir(), 'i.db'));
  const sql = 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n';
  // Teach the pool the statement is a read, so the calls run one-shot.
  await settle((done) => db.get('SELECT 1', done));
  db._sql(sql).route = 1;
  const results = Promise.all([1, 2].map(() => new Promise((resolve) => db.get(sql, (err) => resolve(err)))));
  assert.equal(db._oneShot, 2, 'both run one-shot');
  // interrupt() stops what runs now: repeat until both ran and stopped.
  const timer = setInterval(() => db.interrupt(), 20);
  const errors = await results;
  clearInterval(timer);
  assert.deepEqual(errors.map((e) => e && e.code), ['SQLITE_INTERRUPT', 'SQLITE_INTERRUPT']);
  await settle((done) => db.close(done));
});
