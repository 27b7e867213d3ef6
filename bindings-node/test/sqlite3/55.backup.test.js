'use strict';
// Backup: step by step to a file (and back), the progress getters,
// retryErrors, finish, calls after finish, init failures, and the
// Database refusing to close while a backup is unfinished.
const test = require('node:test');
const path = require('node:path');
const { compare, settle } = require('./helpers');

async function source(sqlite3, dir) {
  const db = new sqlite3.Database(path.join(dir, 'src.db'));
  await settle((done) => db.exec(
    'PRAGMA page_size = 1024; CREATE TABLE t (x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 500) INSERT INTO t SELECT zeroblob(200) FROM n',
    done,
  ));
  return db;
}

compare(test, 'backup to a file, a page at a time, then the whole rest', async (sqlite3, dir, log) => {
  const db = await source(sqlite3, dir);
  const backup = db.backup(path.join(dir, 'copy.db'), log.cb('init'));
  log('retryErrors', backup.retryErrors, 'props', backup.filename === path.join(dir, 'copy.db'), backup.sourceName, backup.destName, backup.filenameIsDest);
  log('before init', backup.idle, backup.completed, backup.failed, backup.remaining, backup.pageCount);
  await settle((done) => backup.step(1, log.cb('step 1', done)));
  log('after one page', backup.idle, backup.completed, backup.failed, backup.remaining > 0, backup.pageCount > 1, backup.remaining === backup.pageCount - 1);
  await settle((done) => backup.step(-1, log.cb('step all', done)));
  log('after all', backup.completed, backup.failed, backup.remaining);
  await settle((done) => backup.step(1, log.cb('step after done', done)));
  await settle((done) => backup.finish(log.cb('finish', done)));
  log('after finish', backup.idle, backup.completed, backup.failed);
  await settle((done) => backup.step(1, log.cb('step after finish', done)));
  const copy = new sqlite3.Database(path.join(dir, 'copy.db'));
  await settle((done) => copy.get('SELECT count(*) AS n FROM t', log.cb('rows in the copy', done)));
  await settle((done) => copy.close(done));
  await settle((done) => db.close(log.cb('close', done)));
});

compare(test, 'restore from a file into the database', async (sqlite3, dir, log) => {
  const src = await source(sqlite3, dir);
  await settle((done) => src.close(done));
  const db = new sqlite3.Database(path.join(dir, 'target.db'));
  await settle((done) => db.run('CREATE TABLE old (y)', done));
  const backup = db.backup(path.join(dir, 'src.db'), 'main', 'main', false, log.cb('init'));
  await settle((done) => backup.step(-1, log.cb('step', done)));
  await settle((done) => backup.finish(log.cb('finish', done)));
  await settle((done) => db.all("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", log.cb('tables after restore', done)));
  await settle((done) => db.get('SELECT count(*) AS n FROM t', log.cb('rows', done)));
  await settle((done) => db.close(done));
});

compare(test, 'a backup that cannot start, and one not finished when closing', async (sqlite3, dir, log) => {
  const db = await source(sqlite3, dir);
  const bad = db.backup(path.join(dir, 'no', 'such', 'dir.db'), log.cb('init into a bad path'));
  await settle((done) => setTimeout(done, 50));
  log('bad backup', bad.idle, bad.completed, bad.failed);
  bad.step(1, log.cb('step on a failed backup (never called)'));
  const open = db.backup(path.join(dir, 'open.db'));
  await settle((done) => open.step(1, log.cb('step', done)));
  await settle((done) => db.close(log.cb('close with an unfinished backup', done)));
  await settle((done) => open.finish(log.cb('finish', done)));
  await settle((done) => db.close(log.cb('close after finish', done)));
});

compare(test, 'retryErrors must be an array; step needs an integer', async (sqlite3, dir, log) => {
  const db = await source(sqlite3, dir);
  const b = db.backup(path.join(dir, 'r.db'));
  for (const [what, fn] of [
    ['retryErrors = 5', () => { b.retryErrors = 5; }],
    ['step()', () => b.step()],
    ["step('x')", () => b.step('x')],
  ]) {
    try {
      fn();
      log(what, 'ok');
    } catch (err) {
      log(what, err.constructor.name, err.message);
    }
  }
  b.retryErrors = [];
  log('retryErrors set', b.retryErrors);
  await settle((done) => b.step(-1, log.cb('step', done)));
  await settle((done) => b.finish(done));
  await settle((done) => db.close(done));
});
