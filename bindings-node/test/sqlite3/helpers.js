'use strict';
// The node-sqlite3 comparison harness: a scenario runs against the real
// `sqlite3` package (built from source into bindings-node/.peers by
// run-tests.sh) and against the drop-in, logging every callback — its name,
// what `this` was, its arguments — and the test asserts the two logs are the
// same. Without the peer a comparison is skipped with the reason, never
// passed silently; each file also asserts its facts on the drop-in alone.
const path = require('node:path');
const fs = require('node:fs');
const assert = require('node:assert/strict');
const { tempDir } = require('../helpers');

const dropIn = require('../../lib/sqlite3');

let real = null;
let missing = false;
try {
  real = require(path.join(__dirname, '..', '..', '.peers', 'node_modules', 'sqlite3'));
} catch (err) {
  missing = `the real sqlite3 package could not be loaded from bindings-node/.peers (${err.message.split('\n')[0]}); run bindings-node/run-tests.sh to install it`;
}

/** What `this` was, by kind. */
function thisOf(self, sqlite3) {
  if (self === undefined) return 'undefined';
  if (self === globalThis) return 'global';
  if (self instanceof sqlite3.Database) return 'Database';
  if (self instanceof sqlite3.Statement) return 'Statement';
  if (sqlite3.Backup && self instanceof sqlite3.Backup) return 'Backup';
  return typeof self;
}

/** A value made comparable: errors by message/errno/code, Buffers as hex, undefined kept. */
function show(v) {
  if (v === undefined) return '<undefined>';
  if (v instanceof Error) return { error: v.message, errno: v.errno, code: v.code };
  if (Buffer.isBuffer(v)) return `<Buffer ${v.toString('hex')}>`;
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number' && !Number.isFinite(v)) return `<${v}>`;
  if (Array.isArray(v)) return v.map(show);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, show(x)]));
  return v;
}

/**
 * A log for one run of a scenario: `log(name, ...values)` records an entry;
 * `log.cb(name)` is a callback that records its `this` and arguments.
 */
function makeLog(sqlite3) {
  const entries = [];
  const log = (...entry) => entries.push(entry.map(show));
  log.cb = (name, then) =>
    function callback(...args) {
      entries.push([name, thisOf(this, sqlite3), args.length, ...args.map(show)]);
      if (then) then.apply(this, args);
    };
  log.entries = entries;
  return log;
}

/**
 * Runs `scenario(sqlite3, dir, log)` (it resolves when done) on `sqlite3`
 * in a fresh directory; resolves with the log.
 */
async function runScenario(sqlite3, scenario) {
  const dir = tempDir();
  const log = makeLog(sqlite3);
  await scenario(sqlite3, dir, log);
  return log.entries;
}

/**
 * A test that runs `scenario` on both and compares the logs (entries in
 * order; `sorted: true` compares them as sets, for parallel calls whose
 * callbacks node-sqlite3 fires in completion order). Returns the drop-in's
 * log to `check` for assertions of its own.
 */
function compare(test, name, scenario, { sorted = false, check } = {}) {
  test(`${name} (drop-in and node-sqlite3 agree)`, { skip: missing }, async () => {
    const expected = await runScenario(real, scenario);
    const actual = await runScenario(dropIn, scenario);
    const norm = (log) => (sorted ? log.map((e) => JSON.stringify(e)).sort() : log);
    assert.ok(expected.length > 0, 'the scenario logged nothing on node-sqlite3');
    assert.deepEqual(norm(actual), norm(expected));
  });
  if (check) {
    test(`${name} (drop-in)`, async () => {
      await check(await runScenario(dropIn, scenario));
    });
  }
}

/** Resolves when `db` closed (calls `db.close`). */
function closed(db) {
  return new Promise((resolve) => db.close(() => resolve()));
}

/** `fn(done)` as a promise. */
function settle(fn) {
  return new Promise((resolve) => fn(resolve));
}

/** The sqlite3 dev header's directory, when an extension can be built here. */
function sqliteHeader() {
  return ['/usr/include/sqlite3ext.h'].find((f) => fs.existsSync(f));
}

module.exports = { dropIn, real, missing, compare, runScenario, closed, settle, show, sqliteHeader };
