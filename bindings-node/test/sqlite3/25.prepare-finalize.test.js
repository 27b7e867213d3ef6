'use strict';
// Prepared statements: prepare callbacks and errors, bindings that persist,
// get() stepping, reset, finalize and calls after it.
const test = require('node:test');
const path = require('node:path');
const { compare, settle } = require('./helpers');

async function setup(sqlite3, dir) {
  const db = new sqlite3.Database(path.join(dir, 'p.db'));
  await settle((done) => db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t (name) VALUES ('a'), ('b'), ('c')", done));
  return db;
}

compare(test, 'prepare: callback, bind at prepare, errors', async (sqlite3, dir, log) => {
  const db = await setup(sqlite3, dir);
  let a;
  let b;
  await settle((done) => { a = db.prepare('SELECT name FROM t WHERE id > ?', log.cb('prepare callback', done)); });
  await settle((done) => { b = db.prepare('SELECT name FROM t WHERE id > ? ORDER BY id', 1, log.cb('prepare with a binding', done)); });
  const bad = db.prepare('SELECT * FROM nope', log.cb('prepare error'));
  bad.run(log.cb('run after a failed prepare (never called)'));
  bad.finalize(log.cb('finalize after a failed prepare (never called)'));
  await settle((done) => setTimeout(done, 50));
  await settle((done) => b.all(log.cb('all with the prepared binding', done)));
  await settle((done) => a.all(2, log.cb('all with a new binding', done)));
  await settle((done) => a.finalize(log.cb('finalize', done)));
  await settle((done) => b.finalize(done));
  const noCallback = db.prepare('SELECT * FROM nope');
  await settle((done) => noCallback.on('error', log.cb('statement error event', done)));
  await settle((done) => db.close(log.cb('close', done)));
});

compare(test, 'get steps through the rows; reset and new bindings start over', async (sqlite3, dir, log) => {
  const db = await setup(sqlite3, dir);
  const s = db.prepare('SELECT name FROM t WHERE id >= ? ORDER BY id', 1);
  for (let i = 0; i < 5; i++) s.get(log.cb(`step ${i + 1}`));
  s.reset(log.cb('reset'));
  s.get(log.cb('after reset'));
  s.get(2, log.cb('new binding'));
  s.get(log.cb('next after new binding'));
  s.all(log.cb('all (from the start, same binding)'));
  s.get(log.cb('get after all (stepped to the end)'));
  s.run(log.cb('run'));
  s.get(log.cb('get after run'));
  await settle((done) => s.finalize(log.cb('finalize', done)));
  await settle((done) => db.close(done));
});

compare(test, 'bind: persists, replaces, and reports a bad binding', async (sqlite3, dir, log) => {
  const db = await setup(sqlite3, dir);
  const s = db.prepare('SELECT name FROM t WHERE id = $id');
  s.bind({ $id: 2 }, log.cb('bind'));
  s.get(log.cb('get with the bound value'));
  s.all(log.cb('all with the bound value'));
  s.bind({ $id: 3 });
  s.get(log.cb('get after rebinding'));
  s.bind({ $nope: 1 }, log.cb('bind a name the statement lacks'));
  s.bind(1, 2, log.cb('bind too many'));
  s.all({ $id: 1 }, log.cb('all with its own binding'));
  await settle((done) => s.finalize(done));
  await settle((done) => db.close(done));
});

compare(test, 'finalize: returns the Database; calls after it fail', async (sqlite3, dir, log) => {
  const db = await setup(sqlite3, dir);
  const s = db.prepare('SELECT 1 AS one');
  log('finalize returns the Database', s.finalize(log.cb('finalize')) === db);
  s.get(log.cb('get after finalize'));
  s.run(log.cb('run after finalize'));
  s.finalize(log.cb('finalize again'));
  const quiet = db.prepare('SELECT 1');
  quiet.finalize();
  quiet.get(); // no callback: the statement emits 'error'
  await settle((done) => quiet.on('error', log.cb('statement error event', done)));
  const t = db.prepare('SELECT 2 AS two');
  t.get(log.cb('queued before finalize'));
  t.finalize(log.cb('finalize with a call queued'));
  await settle((done) => db.close(log.cb('close', done)));
});

compare(test, 'run on a statement: lastID and changes on the statement', async (sqlite3, dir, log) => {
  const db = await setup(sqlite3, dir);
  const ins = db.prepare('INSERT INTO t (name) VALUES (?)');
  for (const name of ['x', 'y', 'z']) {
    ins.run(name, log.cb(`insert ${name}`, function () { log('this', this.lastID, this.changes, this === ins); }));
  }
  await settle((done) => ins.finalize(done));
  await settle((done) => db.all('SELECT count(*) AS n FROM t', log.cb('count', done)));
  await settle((done) => db.close(done));
});

compare(test, 'new Statement(): the prepare error-back', async (sqlite3, dir, log) => {
  const db = await setup(sqlite3, dir);
  const s = new sqlite3.Statement(db, 'SELECT * FROM nope', log.cb('error-back'));
  await settle((done) => setTimeout(done, 50));
  void s;
  const ok = new sqlite3.Statement(db, 'SELECT 7 AS seven', log.cb('callback on success'));
  await settle((done) => ok.get(log.cb('get', done)));
  await settle((done) => ok.finalize(done));
  await settle((done) => db.close(done));
});

// node-sqlite3 6.0.1 crashes (SIGSEGV) when its Statement constructor
// refuses its arguments, so these are checked on the drop-in alone, with
// node-sqlite3's messages.
test('new Statement() with bad arguments throws node-sqlite3\'s TypeErrors', async () => {
  const { dropIn } = require('./helpers');
  const assert = require('node:assert/strict');
  const db = new dropIn.Database(':memory:');
  assert.throws(() => new dropIn.Statement({}, 'SELECT 1'), { name: 'TypeError', message: 'Database object expected' });
  assert.throws(() => new dropIn.Statement(db), { name: 'TypeError', message: 'SQL query expected' });
  assert.throws(() => new dropIn.Statement(db, 'SELECT 1', 42), { name: 'TypeError', message: 'Callback expected' });
  assert.throws(() => dropIn.Statement(db, 'SELECT 1'), { name: 'TypeError' });
  await settle((done) => db.close(done));
});
