'use strict';
// Opening and closing: callback and event order, modes, bad arguments,
// calls made while closing and after, closing with unfinalized statements.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { compare, dropIn, settle } = require('./helpers');

compare(test, 'open: the callback, then the open event, then queued calls', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(path.join(dir, 'a.db'), log.cb('open callback'));
  log('open right after the constructor', db.open);
  db.on('open', () => log('open event', db.open));
  db.get('SELECT 1 AS one', log.cb('get queued before open'));
  log('filename', path.basename(db.filename), 'mode', db.mode, 'keys', Object.keys(db));
  await settle((done) => db.close(log.cb('close', done)));
  log('open after close', db.open);
});

compare(test, 'open: modes (read-only, no create) and a bad directory', async (sqlite3, dir, log) => {
  const file = path.join(dir, 'ro.db');
  await settle((done) => new sqlite3.Database(path.join(dir, 'missing.db'), sqlite3.OPEN_READWRITE, log.cb('no create, missing file', done)));
  await settle((done) => new sqlite3.Database(path.join(dir, 'no', 'such', 'dir.db'), log.cb('bad directory', done)));
  const rw = new sqlite3.Database(file);
  await settle((done) => rw.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)', log.cb('setup', done)));
  await settle((done) => rw.close(done));
  const ro = new sqlite3.Database(file, sqlite3.OPEN_READONLY, log.cb('open read-only'));
  await settle((done) => ro.get('SELECT x FROM t', log.cb('read on read-only', done)));
  await settle((done) => ro.run('INSERT INTO t VALUES (2)', log.cb('write on read-only', done)));
  await settle((done) => ro.close(log.cb('close read-only', done)));
});

compare(test, 'open: an error event when no callback is given', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(path.join(dir, 'missing.db'), sqlite3.OPEN_READONLY);
  await settle((done) => db.on('error', log.cb('error event', done)));
  log('open', db.open);
});

compare(test, 'constructor arguments', async (sqlite3, dir, log) => {
  for (const [what, make] of [
    ['without new', () => sqlite3.Database(':memory:')],
    ['no filename', () => new sqlite3.Database()],
    ['number filename', () => new sqlite3.Database(42)],
  ]) {
    try {
      make();
      log(what, 'no throw');
    } catch (err) {
      log(what, err.constructor.name, err.message);
    }
  }
  // A mode that is not an integer is ignored, and the callback still found.
  const db = new sqlite3.Database(':memory:', 'x', log.cb('callback after a bad mode'));
  log('mode', db.mode);
  await settle((done) => db.close(done));
});

compare(test, 'close: twice, calls while closing and after, and the events', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(path.join(dir, 'c.db'));
  db.on('close', () => log('close event'));
  db.on('error', log.cb('db error event'));
  await settle((done) => db.run('CREATE TABLE t (x)', done));
  db.close(log.cb('close'));
  db.get('SELECT 1', log.cb('get while closing'));
  db.run('SELECT 2', log.cb('run while closing'));
  await settle((done) => setTimeout(done, 100));
  db.get('SELECT 1', log.cb('get after close'));
  db.exec('SELECT 1', log.cb('exec after close'));
  db.close(log.cb('close again'));
  db.run('SELECT 3'); // no callback: the Database emits 'error'
  await settle((done) => setTimeout(done, 50));
  try {
    db.interrupt();
  } catch (err) {
    log('interrupt after close', err.message);
  }
});

compare(test, 'close: refused while a prepared statement is not finalized', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(path.join(dir, 'u.db'));
  const stmt = db.prepare('SELECT 1 AS one');
  await settle((done) => stmt.get(log.cb('stmt get', done)));
  await settle((done) => db.close(log.cb('close with an unfinalized statement', done)));
  log('still open', db.open);
  await settle((done) => db.get('SELECT 2 AS two', log.cb('a call after the refused close', done)));
  await settle((done) => stmt.finalize(log.cb('finalize', done)));
  await settle((done) => db.close(log.cb('close after finalize', done)));
});

compare(test, 'cached.Database: one object per resolved path', async (sqlite3, dir, log) => {
  const file = path.join(dir, 'cached.db');
  const a = sqlite3.cached.Database(file, log.cb('first'));
  const b = sqlite3.cached.Database(path.relative(process.cwd(), file), log.cb('second'));
  const m = sqlite3.cached.Database(':memory:');
  log('same object', a === b, 'memory not cached', m !== sqlite3.cached.Database(':memory:'));
  await settle((done) => setTimeout(done, 20));
  await settle((done) => a.close(done));
  delete sqlite3.cached.objects[path.resolve(file)];
});

test('the drop-in shares one pool among the Databases on one file', async () => {
  const dir = require('../helpers').tempDir();
  const file = path.join(dir, 'shared.db');
  const a = new dropIn.Database(file);
  const b = new dropIn.Database(path.join(dir, '.', 'shared.db'));
  await settle((done) => a.run('CREATE TABLE t (x)', done));
  assert.equal(a._backend, b._backend, 'one backend');
  assert.equal(a._backend.refs, 2);
  await settle((done) => a.close(done));
  assert.equal(b._backend.refs, 1);
  await settle((done) => b.get('SELECT count(*) AS n FROM t', (err, row) => {
    assert.ifError(err);
    assert.deepEqual(row, { n: 0 });
    done();
  }));
  await settle((done) => b.close(done));
  assert.equal(b._backend.refs, 0);
});
