'use strict';
// Callbacks run in the async context (AsyncLocalStorage) of the call that
// made them — whether the call ran at once, waited for the Database to
// open, for its connection, or behind an exclusive call.
const test = require('node:test');
const path = require('node:path');
const { AsyncLocalStorage } = require('node:async_hooks');
const { compare, settle } = require('./helpers');

// node-sqlite3 keeps the caller's context where it creates its async work
// at the call (run/get/all, prepared statements, close); it loses it for
// each()'s rows (an async handle: no context) and for calls that waited in
// its queue (the context of whatever dequeued them). The drop-in keeps the
// caller's context everywhere: compared where node-sqlite3 keeps it,
// checked on the drop-in alone for the rest.
compare(test, 'AsyncLocalStorage: run, get, all, prepared statements, close', async (sqlite3, dir, log) => {
  const als = new AsyncLocalStorage();
  const db = new sqlite3.Database(path.join(dir, 'a.db'));
  await settle((done) => db.on('open', done));
  await als.run('create', () => settle((done) => db.run('CREATE TABLE t (x)', () => { log('create', als.getStore()); done(); })));
  const calls = [];
  for (let i = 0; i < 5; i++) {
    calls.push(als.run(`write ${i}`, () => settle((done) => db.run('INSERT INTO t VALUES (?)', i, () => { log(`write ${i}`, als.getStore()); done(); }))));
    calls.push(als.run(`read ${i}`, () => settle((done) => db.all('SELECT count(*) AS n FROM t', () => { log(`read ${i}`, als.getStore()); done(); }))));
  }
  calls.push(als.run('prepared', () => {
    const s = db.prepare('SELECT x FROM t WHERE x = ?');
    return settle((done) => s.get(1, () => { log('prepared get', als.getStore()); s.finalize(() => { log('finalize', als.getStore()); done(); }); }));
  }));
  await Promise.all(calls);
  await als.run('close', () => settle((done) => db.close(() => { log('close', als.getStore()); done(); })));
}, { sorted: true });

test('AsyncLocalStorage: every callback of the drop-in runs in its call\'s context', async () => {
  const assert = require('node:assert/strict');
  const { dropIn } = require('./helpers');
  const dir = require('../helpers').tempDir();
  const als = new AsyncLocalStorage();
  const db = new dropIn.Database(path.join(dir, 'b.db'));
  const seen = [];
  const note = (name) => () => seen.push([name, als.getStore()]);
  const call = (name, fn) => als.run(name, () => settle((done) => fn(done)));
  const calls = [call('before open', (done) => db.run('CREATE TABLE t (x)', (e) => { note('before open')(); done(e); }))];
  for (let i = 0; i < 5; i++) {
    calls.push(call(`write ${i}`, (done) => db.run('INSERT INTO t VALUES (?)', i, () => { note(`write ${i}`)(); done(); })));
    calls.push(call(`read ${i}`, (done) => db.get('SELECT count(*) AS n FROM t', () => { note(`read ${i}`)(); done(); })));
  }
  calls.push(call('exec', (done) => db.exec('SELECT 1', () => { note('exec')(); done(); })));
  calls.push(call('each', (done) => db.each('SELECT x FROM t', () => note('each')(), () => { note('each')(); done(); })));
  // A second each from another context on the same Database: its rows run
  // in its own context, not the first call's.
  calls.push(call('each again', (done) => db.each('SELECT x FROM t', () => note('each again')(), () => { note('each again')(); done(); })));
  calls.push(call('serialized', (done) => db.serialize(() => db.get('SELECT 1', () => { note('serialized')(); done(); }))));
  calls.push(call('wait', (done) => db.wait(() => { note('wait')(); done(); })));
  await Promise.all(calls);
  await call('close', (done) => db.close(() => { note('close')(); done(); }));
  const wrong = seen.filter(([name, store]) => name !== store);
  assert.deepEqual(wrong, [], 'callbacks that ran in another context');
  assert.ok(seen.length >= 20, `only ${seen.length} callbacks seen`);
});
