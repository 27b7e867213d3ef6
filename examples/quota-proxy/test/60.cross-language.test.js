'use strict';
// The Python report (examples/python/quota_report.py) and the C reader
// (examples/c/quota_reader) read the service's database while it serves
// gateway traffic, and agree with the service afterwards.
//
// Needs QUOTA_REPORT_PYTHON (a python with litepool installed) and
// QUOTA_READER (the built reader); examples/run-tests.sh sets both.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const path = require('node:path');
const { startService, stopService, call, createKey, gateway } = require('./helpers');

const PYTHON = process.env.QUOTA_REPORT_PYTHON;
const READER = process.env.QUOTA_READER;
const REPORT = path.join(__dirname, '..', '..', 'python', 'quota_report.py');
const skip = PYTHON && READER ? false : 'set QUOTA_REPORT_PYTHON and QUOTA_READER (examples/run-tests.sh does)';

function run(file, args) {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

function readerRows(stdout) {
  // "sk-abcd...wxyz   label   quota   used   ok rows   requests"
  const rows = {};
  for (const m of stdout.matchAll(/^(sk-\S+)\s+\S+\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/gm)) {
    rows[m[1]] = { total: Number(m[2]), used: Number(m[3]), ok: Number(m[4]), requests: Number(m[5]) };
  }
  return rows;
}

const mask = (key) => `${key.slice(0, 7)}...${key.slice(-4)}`;

test('Python and C read the live database consistently and agree with the service', { skip }, async () => {
  const service = await startService();
  try {
    const keys = [await createKey(service, 40, { label: 'small' }), await createKey(service, 1e6, { label: 'big' })];
    let stop = false;
    let answered = 0;
    const clients = Array.from({ length: 16 }, async (_, c) => {
      while (!stop) {
        const r = await gateway(service, keys[c % 2].key, `/v1/e${c % 3}`);
        assert.ok(r.status === 200 || r.status === 429, `status ${r.status}`);
        answered += 1;
      }
    });
    try {
      // While the load runs: both readers see one consistent snapshot each.
      await new Promise((r) => setTimeout(r, 300));
      const [py, c] = await Promise.all([
        run(PYTHON, [REPORT, service.dbPath, '--json', '--check']),
        run(READER, [service.dbPath]),
      ]);
      assert.equal(py.code, 0, py.stdout + py.stderr);
      assert.equal(c.code, 0, c.stdout + c.stderr);
      assert.match(c.stdout, /^consistency: ok$/m);
      assert.equal(JSON.parse(py.stdout).consistent, true);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    assert.ok(answered > 40, `only ${answered} requests answered`);

    // After the load: the three views agree exactly.
    const listed = (await call(service, 'GET', '/admin/keys', { admin: true })).body.keys;
    const [py, c] = await Promise.all([run(PYTHON, [REPORT, service.dbPath, '--json', '--check']), run(READER, [service.dbPath])]);
    assert.equal(py.code, 0, py.stderr);
    assert.equal(c.code, 0, c.stderr);
    const pyKeys = Object.fromEntries(JSON.parse(py.stdout).keys.map((k) => [k.key, k]));
    const cRows = readerRows(c.stdout);
    for (const k of listed) {
      assert.equal(pyKeys[k.key].used_quota, k.used_quota, `python vs service for ${k.label}`);
      assert.equal(pyKeys[k.key].ok, k.used_quota);
      assert.equal(cRows[mask(k.key)].used, k.used_quota, `C vs service for ${k.label}`);
      assert.equal(cRows[mask(k.key)].requests, pyKeys[k.key].requests);
    }
    const small = listed.find((k) => k.label === 'small');
    assert.equal(small.used_quota, 40, 'the small key was spent exactly to its quota');
    assert.ok(pyKeys[small.key].rejected_429 > 0);
    const total = JSON.parse(py.stdout).totals.requests;
    assert.equal(total, answered, 'every answered gateway request was logged once');
  } finally {
    await stopService(service);
  }
});
