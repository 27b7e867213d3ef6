'use strict';
// The node-sqlite3 drop-in against the real `sqlite3` package: the same
// scripted sequence of calls must give the same results, errors, `this`
// values and callback order. run-tests.sh installs sqlite3 (built from
// source) into bindings-node/.peers; if that was impossible the comparison
// is skipped with the reason, never passed silently.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { tempDb } = require('./helpers');

const dropIn = require('../lib/sqlite3');
let real = null;
let missing = null;
try {
  real = require(path.join(__dirname, '..', '.peers', 'node_modules', 'sqlite3'));
} catch (err) {
  missing = `the real sqlite3 package could not be loaded from bindings-node/.peers (${err.message.split('\n')[0]}); run bindings-node/run-tests.sh to install it`;
}

function show(value) {
  return JSON.parse(JSON.stringify(value === undefined ? '<undefined>' : value, (k, v) => {
    if (v && v.type === 'Buffer' && Array.isArray(v.data)) return `<Buffer ${Buffer.from(v.data).toString('hex')}>`;
    return v;
  }));
}

function errInfo(err) {
  return err ? { message: err.message, errno: err.errno, code: err.code } : null;
}

/** Runs one scripted sequence against `sqlite3`; resolves with the log of callbacks, in firing order. */
function script(sqlite3, file) {
  return new Promise((resolve) => {
    const log = [];
    const note = (...entry) => log.push(show(entry));
    const db = new sqlite3.Database(file, (err) => note('open', errInfo(err)));
    db.on('error', (err) => note('db error event', errInfo(err)));

    db.serialize(() => {
      db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n, b BLOB)', function (err) {
        note('create', errInfo(err), this.changes);
      });
      db.run('INSERT INTO t (name, n) VALUES (?, ?)', 'a', 1, function (err) {
        note('insert a', errInfo(err), this.lastID, this.changes);
      });
      db.run('INSERT INTO t (name, n) VALUES (?, ?)', ['b', 2], function (err) {
        note('insert b', errInfo(err), this.lastID, this.changes, this.sql);
      });
      db.run('INSERT INTO t (name, n) VALUES ($name, $n)', { $name: 'c', $n: 3.5 }, function (err) {
        note('insert c', errInfo(err), this.lastID);
      });
      db.run('INSERT INTO t (name, n) VALUES (:name, :n)', { ':name': 'd', ':n': null }, (err) => note('insert d', errInfo(err)));
      db.run('INSERT INTO t (name, n, b) VALUES (@name, @n, @b)', { '@name': 'e', '@n': true, '@b': Buffer.from('hi') },
        (err) => note('insert e', errInfo(err)));
      db.run('INSERT INTO t (name, n) VALUES (?, ?)', 'f', (err) => note('insert f missing param', errInfo(err)));
      db.run('INSERT INTO t (name) VALUES (?)', 'g', 'extra', (err) => note('too many params', errInfo(err)));
      db.run('INSERT INTO t (name) VALUES (?)', 'a', function (err) { note('duplicate', errInfo(err), this.lastID); });
      db.run('UPDATE t SET n = n + 1 WHERE n IS NOT NULL', function (err) { note('update', errInfo(err), this.changes); });
    });

    // Parallel: node-sqlite3 fires these in completion order, so they are
    // compared as a set (tagged 'parallel'); everything else is serialized
    // and compared in order.
    db.parallelize(() => {
      const note = (...entry) => log.push(show(['parallel', ...entry]));
      db.all('SELECT name, n, b FROM t ORDER BY id', (err, rows) => note('all', errInfo(err), rows));
      db.get('SELECT name FROM t WHERE name = ?', 'zzz', (err, row) => note('get none', errInfo(err), row));
      db.get('SELECT * FROM nope', (err, row) => note('no such table', errInfo(err), row));
      db.all('SELEC 1', (err) => note('syntax error', errInfo(err)));
      db.each('SELECT name FROM t WHERE n > ? ORDER BY id', 2, (err, row) => note('each row', errInfo(err), row),
        (err, count) => note('each done', errInfo(err), count));
      db.map('SELECT name, n FROM t WHERE n IS NOT NULL ORDER BY id', (err, map) => note('map', errInfo(err), map));
      db.get('SELECT ? AS big, ? AS d', [2 ** 53 + 2, new Date(86400000)], (err, row) => note('values', errInfo(err), row));
    });

    db.serialize();
    db.run('INSERT INTO t (name, n) VALUES (?, ?)', ['p', 10], function (err) { note('insert p', errInfo(err), this.lastID); });
    db.get('SELECT count(*) AS c FROM t', (err, row) => note('count sees the insert before it', errInfo(err), row));
    db.exec('CREATE TABLE u (x); INSERT INTO u VALUES (1); INSERT INTO u VALUES (2);', (err) => note('exec', errInfo(err)));
    db.exec('INSERT INTO u VALUES (3); INSERT INTO nope VALUES (1);', (err) => note('exec error', errInfo(err)));

    // A transaction through run(): the statements after BEGIN see its writes.
    db.run('BEGIN', (err) => note('begin', errInfo(err)));
    db.run('INSERT INTO u VALUES (100)', function (err) { note('tx insert', errInfo(err), this.changes); });
    db.get('SELECT count(*) AS c FROM u', (err, row) => note('tx count', errInfo(err), row));
    db.run('ROLLBACK', (err) => note('rollback', errInfo(err)));
    db.get('SELECT count(*) AS c FROM u', (err, row) => note('after rollback', errInfo(err), row));
    db.exec('BEGIN; INSERT INTO u VALUES (200);', (err) => note('exec begin', errInfo(err)));
    db.all('SELECT x FROM u ORDER BY x', (err, rows) => note('in exec tx', errInfo(err), rows));
    db.run('COMMIT', (err) => note('commit', errInfo(err)));

    // Prepared statements: bind, get stepping, reset, run, finalize.
    const stmt = db.prepare('SELECT name FROM t WHERE id <= ? ORDER BY id', 2, (err) => note('prepare+bind', errInfo(err)));
    stmt.get((err, row) => note('step 1', errInfo(err), row));
    stmt.get((err, row) => note('step 2', errInfo(err), row));
    stmt.get((err, row) => note('step 3', errInfo(err), row));
    stmt.get((err, row) => note('step 4', errInfo(err), row));
    stmt.reset((err) => note('reset', errInfo(err)));
    stmt.get((err, row) => note('step after reset', errInfo(err), row));
    stmt.all(3, (err, rows) => note('stmt all rebinds', errInfo(err), rows));
    stmt.finalize((err) => note('finalize', errInfo(err)));
    const ins = db.prepare('INSERT INTO u VALUES (?)');
    ins.run(7, function (err) { note('stmt run', errInfo(err), this.lastID, this.changes); });
    ins.run(8, function (err) { note('stmt run 2', errInfo(err), this.lastID, this.changes); });
    ins.finalize();
    const bad = db.prepare('SELECT * FROM missing_table', (err) => note('prepare error', errInfo(err)));
    bad.all((err, rows) => note('all on bad statement (node-sqlite3 drops it)', errInfo(err), rows));
    bad.finalize();

    db.wait(() => note('wait'));
    let pending = 2;
    const finish = () => { if (--pending === 0) resolve(log); };
    db.close((err) => {
      note('close', errInfo(err));
      db.get('SELECT 1', (err2) => {
        note('after close', errInfo(err2));
        finish();
      });
    });
    db.on('close', () => { note('close event'); finish(); });
  });
}

test('the drop-in runs the scripted sequence like node-sqlite3', { skip: missing || false }, async () => {
  const split = (log) => ({
    ordered: log.filter((e) => e[0] !== 'parallel'),
    parallel: log.filter((e) => e[0] === 'parallel').map((e) => JSON.stringify(e)).sort(),
  });
  const expected = split(await script(real, tempDb('real.db')));
  const actual = split(await script(dropIn, tempDb('dropin.db')));
  assert.ok(expected.ordered.length > 30, `the script logged only ${expected.ordered.length} ordered callbacks`);
  for (let i = 0; i < Math.max(expected.ordered.length, actual.ordered.length); i++) {
    assert.deepEqual(actual.ordered[i], expected.ordered[i], `callback #${i + 1} differs (${JSON.stringify(expected.ordered[i])})`);
  }
  assert.deepEqual(actual.parallel, expected.parallel);
});

test('the drop-in runs the script on its own (sanity, also without the peer)', async () => {
  const log = await script(dropIn, tempDb('alone.db'));
  const names = log.map((e) => e[0]);
  assert.equal(names[0], 'open');
  assert.ok(names.indexOf('begin') < names.indexOf('tx count'));
  const txCount = log.find((e) => e[0] === 'tx count');
  const afterRollback = log.find((e) => e[0] === 'after rollback');
  assert.equal(txCount[2].c, afterRollback[2].c + 1, 'a read after BEGIN+INSERT sees the uncommitted row');
  assert.deepEqual(log.find((e) => e[0] === 'duplicate')[1].code, 'SQLITE_CONSTRAINT');
});

test('reads with no write pending run concurrently on several connections', async () => {
  const file = tempDb('concurrent.db');
  const db = new dropIn.Database(file);
  await new Promise((resolve, reject) => db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)', (e) => (e ? reject(e) : resolve())));
  await new Promise((resolve) => db.get('SELECT x FROM t', resolve)); // teaches the pool the statement is read-only
  const results = Promise.all(Array.from({ length: 32 }, () =>
    new Promise((resolve, reject) => db.get('SELECT x FROM t', (e, row) => (e ? reject(e) : resolve(row.x))))));
  assert.equal(db._oneShot, 32, 'all 32 reads started at once, none queued behind another');
  const write = new Promise((resolve) => db.run('INSERT INTO t VALUES (2)', resolve));
  assert.equal(db._sessionCalls, 1, "the write went to the Database's own connection");
  assert.deepEqual(await results, Array(32).fill(1));
  await write;
  await new Promise((resolve) => db.close(resolve));
});
