'use strict';
// Values in and out, node-sqlite3's way: integers that are not 32-bit bind
// as REAL, BigInt/undefined/symbols are not bound, Buffers and typed arrays
// are BLOBs, Dates are milliseconds, RegExps their text, other objects
// '[object Object]' (their toString is never called).
const test = require('node:test');
const { compare, settle } = require('./helpers');

const VALUES = [
  ['small integer', 42],
  ['negative', -7],
  ['int32 max', 2147483647],
  ['int32 min', -2147483648],
  ['past int32', 2147483648],
  ['2^53 + 2', 2 ** 53 + 2],
  ['fraction', 1.5],
  ['negative zero', -0],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['true', true],
  ['false', false],
  ['null', null],
  ['undefined', undefined],
  ['string', 'héllo ✓'],
  ['empty string', ''],
  ['string with NUL', 'a\u0000b'],
  ['Buffer', Buffer.from([0, 1, 254, 255])],
  ['empty Buffer', Buffer.alloc(0)],
  ['Uint8Array', new Uint8Array([1, 2, 3])],
  ['Int32Array', new Int32Array([1, -1])],
  ['Float64Array', new Float64Array([1.5])],
  ['Date', new Date(86400000)],
  ['RegExp', /ab+c/gi],
  ['BigInt', 5n],
  ['huge BigInt', 2n ** 70n],
  ['Symbol', Symbol('s')],
  ['plain object', { a: 1 }],
  ['faulty toString', { toString() { throw new Error('never called'); } }],
  ['array inside', [1, 2]],
  ['function', () => 1],
  ['ArrayBuffer', new ArrayBuffer(2)],
  ['null-prototype object', Object.create(null)],
];

compare(test, 'each value bound and read back, with its SQL type', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(':memory:');
  for (const [name, value] of VALUES) {
    await settle((done) => db.get('SELECT ?1 AS v, typeof(?1) AS t', [value], log.cb(name, done)));
  }
  await settle((done) => db.close(done));
});

compare(test, 'values stored in a table and read back', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(':memory:');
  await settle((done) => db.run('CREATE TABLE v (name TEXT, x)', done));
  const ins = db.prepare('INSERT INTO v VALUES (?, ?)');
  for (const [name, value] of VALUES) ins.run(name, value);
  await settle((done) => ins.finalize(done));
  await settle((done) => db.all('SELECT name, x, typeof(x) AS t FROM v ORDER BY rowid', log.cb('rows', done)));
  await settle((done) => db.close(done));
});

compare(test, 'what comes out: 64-bit integers, reals, blobs, text, NULL', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(':memory:');
  await settle((done) => db.get(
    "SELECT 9007199254740993 AS big, -9223372036854775808 AS min, 1e308 * 10 AS inf, 0.1 + 0.2 AS r, x'00ff' AS b, zeroblob(0) AS empty, '' AS s, NULL AS n, 'x' || char(0) || 'y' AS nul",
    log.cb('row', done),
  ));
  await settle((done) => db.close(done));
});
