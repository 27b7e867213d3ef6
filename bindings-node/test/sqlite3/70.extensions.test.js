'use strict';
// loadExtension(): a tiny extension (fixtures/half.c, built here with the
// system's C compiler against the system SQLite's header) loads, its
// function works on the Database's later calls, a bad path fails.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { compare, settle, dropIn, sqliteHeader } = require('./helpers');
const { tempDir } = require('../helpers');

let library = null;
let cannot = false;
if (!sqliteHeader()) {
  cannot = 'sqlite3ext.h is not installed (libsqlite3-dev): cannot build the test extension';
} else {
  try {
    library = path.join(tempDir(), 'half.so');
    execFileSync('cc', ['-shared', '-fPIC', '-O1', '-o', library, path.join(__dirname, 'fixtures', 'half.c')], { stdio: 'pipe' });
  } catch (err) {
    cannot = `cannot build the test extension: ${err.message.split('\n')[0]}`;
  }
}

const scenario = async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(path.join(dir, 'x.db'));
  await settle((done) => db.get('SELECT half(3) AS h', log.cb('before loading', done)));
  await settle((done) => db.loadExtension(library, log.cb('load', done)));
  log('returns db', db.loadExtension(library) === db);
  await settle((done) => db.get('SELECT half(3) AS h', log.cb('after loading', done)));
  for (let i = 0; i < 5; i++) await settle((done) => db.get('SELECT half(?) AS h', i, log.cb(`again ${i}`, done)));
  await settle((done) => db.loadExtension(path.join(dir, 'nope.so'), (err) => { log('a bad path fails', err.code, err.errno); done(); }));
  try {
    db.loadExtension(42);
  } catch (err) {
    log('bad argument', err.constructor.name, err.message);
  }
  await settle((done) => db.close(log.cb('close', done)));
};

if (cannot) test('loadExtension', { skip: cannot }, () => {});
else compare(test, 'loadExtension: a real extension, on the Database\'s calls', scenario);

test('an extension is loaded into the Database\'s own connection, which the pool then retires', { skip: cannot }, async () => {
  const dir = tempDir();
  const file = path.join(dir, 'y.db');
  const a = new dropIn.Database(file);
  const b = new dropIn.Database(file);
  await settle((done) => a.loadExtension(library, done));
  const other = await new Promise((resolve) => b.get('SELECT half(1) AS h', (err) => resolve(err)));
  assert.equal(other && other.message, 'SQLITE_ERROR: no such function: half', 'another Database on the same file does not see it');
  const pool = a._backend.pool;
  await settle((done) => a.close(done));
  assert.ok(pool.getStats().closedDirty >= 1, 'the connection that loaded it was closed, not handed on');
  await settle((done) => b.close(done));
  assert.ok(fs.existsSync(file));
});
