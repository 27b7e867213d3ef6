'use strict';
// Parameters by position and by name, node-sqlite3's way: arrays, lists,
// objects with prefixed names, numeric keys, missing and extra values.
const test = require('node:test');
const { compare, settle } = require('./helpers');

const CASES = [
  ['list', 'SELECT ? AS a, ? AS b', [1, 'two']],
  ['array', 'SELECT ? AS a, ? AS b', [[1, 'two']]],
  ['numbered', 'SELECT ?2 AS a, ?1 AS b', [[1, 2]]],
  ['$ names', 'SELECT $x AS a, $y AS b', [{ $x: 1, $y: 2 }]],
  [': names', 'SELECT :x AS a', [{ ':x': 'colon' }]],
  ['@ names', 'SELECT @x AS a', [{ '@x': 'at' }]],
  ['names without their prefix', 'SELECT $x AS a', [{ x: 1 }]],
  ['a name the statement lacks', 'SELECT $x AS a', [{ $x: 1, $z: 2 }]],
  ['numeric keys', 'SELECT ?1 AS a, ?2 AS b', [{ 1: 'one', 2: 'two' }]],
  ['a numeric key out of range', 'SELECT ? AS a', [{ 2: 'x' }]],
  ['inherited names', 'SELECT $x AS a', [Object.create({ $x: 'inherited' })]],
  ['missing values are NULL', 'SELECT ? AS a, ? AS b, ? AS c', [1]],
  ['a missing name is NULL', 'SELECT $x AS a, $y AS b', [{ $y: 2 }]],
  ['too many values', 'SELECT ? AS a', [1, 2]],
  ['a trailing undefined is not bound', 'SELECT ? AS a', [[1, undefined]]],
  ['a trailing null is', 'SELECT ? AS a', [[1, null]]],
  ['an empty array binds nothing', 'SELECT ? AS a', [[]]],
  ['a boxed string binds by name', 'SELECT ? AS a', [new String('x')]],
  ['the same ? twice', 'SELECT ?1 AS a, ?1 AS b', [7]],
];

compare(test, 'Database#get with each form of parameters', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(':memory:');
  for (const [name, sql, params] of CASES) {
    await settle((done) => db.get(sql, ...params, log.cb(name, done)));
  }
  await settle((done) => db.close(done));
});

compare(test, 'Statement#run, #bind and #all with each form of parameters', async (sqlite3, dir, log) => {
  const db = new sqlite3.Database(':memory:');
  for (const [name, sql, params] of CASES) {
    const s = db.prepare(sql);
    await settle((done) => s.bind(...params, log.cb(`bind: ${name}`, done)));
    await settle((done) => s.all(log.cb(`all after bind: ${name}`, done)));
    await settle((done) => s.all(...params, log.cb(`all: ${name}`, done)));
    await settle((done) => s.finalize(done));
  }
  await settle((done) => db.close(done));
});
