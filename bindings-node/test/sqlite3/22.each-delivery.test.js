'use strict';
// The drop-in's `each` rows come through the pool's delivery, a bounded
// share per event-loop turn (about 512 row callbacks), so 64 `each` calls
// in flight do not hold the loop for thousands of row callbacks at once
// (event-loop delay p99 8.4 ms before, when every batch that had piled up
// ran in one turn). Checked on the drop-in alone.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { dropIn, settle } = require('./helpers');
const { tempDir } = require('../helpers');

test('each: 64 calls of 100 rows are delivered a bounded share per loop turn, in order', async () => {
  const db = new dropIn.Database(path.join(tempDir(), 'each.db'));
  await settle((done) => db.exec(`CREATE TABLE t (x INTEGER);
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) INSERT INTO t SELECT i FROM n;`, done));
  let turn = 0;
  let ticking = true;
  const tick = () => {
    turn++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const perTurn = new Map();
  const calls = [];
  for (let c = 0; c < 64; c++) {
    const seen = [];
    calls.push(settle((done) => db.each('SELECT x FROM t ORDER BY x', (err, row) => {
      assert.equal(err, null);
      seen.push(row.x);
      perTurn.set(turn, (perTurn.get(turn) || 0) + 1);
    }, (err, n) => {
      assert.equal(err, null);
      assert.equal(n, 100);
      assert.deepEqual(seen, Array.from({ length: 100 }, (_, i) => i + 1), 'rows in order, all before complete');
      done();
    })));
  }
  await Promise.all(calls);
  ticking = false;
  const rows = [...perTurn.values()];
  assert.equal(rows.reduce((a, b) => a + b, 0), 6400);
  assert.ok(Math.max(...rows) <= 512, `at most a share of row callbacks a turn; saw ${Math.max(...rows)} (per turn: ${rows})`);
  await settle((done) => db.close(done));
});
