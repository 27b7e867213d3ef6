'use strict';
// scripts/format.js: what the load summary and `make demo` print.
const test = require('node:test');
const assert = require('node:assert/strict');
const { formatCount, formatMillis } = require('../scripts/format');

test('counts get thousands separators and no fraction', () => {
  assert.equal(formatCount(0), '0');
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(1234567.8), '1,234,568');
});

test('durations get a unit and sensible precision, never a raw float', () => {
  const cases = [
    [0.42, '0.4 ms'],
    [2, '2 ms'],
    [12.6, '13 ms'],
    [999.4, '999 ms'],
    [1234, '1.23 s'],
    [14700, '14.7 s'],
    [59999.6, '1 min 0 s'],
    [447242.742056, '7 min 27 s'],
  ];
  for (const [ms, want] of cases) assert.equal(formatMillis(ms), want, `${ms}`);
  assert.equal(formatMillis(NaN), 'NaN');
});
