'use strict';
// The pool monitor (lib/monitor.js): JSON lines every interval, a `warn` line
// and a stderr warning while active >= max, configuration from the
// environment, and the service's monitor stopping on SIGTERM.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { loadLitepool } = require('../lib/litepool');
const { startPoolMonitor, readMonitorConfig } = require('../lib/monitor');
const { startService, stopService, runServer, tempDir, call } = require('./helpers');

const { Pool } = loadLitepool();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const readLines = (file) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));

test('a real pool: one JSON line per interval, warn while every connection is leased', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'logs', 'pool-stats.log');
  const pool = new Pool(path.join(dir, 'q.db'), { max: 2, min: 1 });
  const warnings = [];
  const monitor = startPoolMonitor({
    source: { stats: () => pool.getStats(), health: () => pool.health() },
    file,
    intervalMs: 100,
    warn: (m) => warnings.push(m),
  });
  try {
    await sleep(350); // ~3 samples with the pool idle
    const a = await pool.acquire();
    const b = await pool.acquire();
    await sleep(350); // ~3 samples with active == max: a "leak"
    a.release();
    b.release();
    await sleep(250);
  } finally {
    monitor.stop();
    monitor.stop(); // idempotent
    await pool.close();
  }
  const lines = readLines(file);
  assert.equal(lines[0].event, 'start');
  assert.equal(lines[0].intervalMs, 100);
  assert.equal(lines.at(-1).event, 'stop');
  const samples = lines.filter((l) => l.event === 'sample');
  assert.ok(samples.length >= 6, `at least 6 samples in ~950 ms, got ${samples.length}`);
  for (const s of samples) {
    assert.ok(!Number.isNaN(Date.parse(s.timestamp)));
    for (const k of ['active', 'idle', 'total', 'max', 'min', 'waiting', 'acquired', 'timeouts', 'leaks']) {
      assert.equal(typeof s[k], 'number', `${k} in ${JSON.stringify(s)}`);
    }
    assert.equal(s.max, 2);
    assert.equal(s.level, s.active >= s.max ? 'warn' : 'info', JSON.stringify(s));
  }
  const warns = samples.filter((s) => s.level === 'warn');
  assert.ok(warns.length >= 2, `warn samples while both connections were out: ${JSON.stringify(samples)}`);
  assert.match(warns[0].message, /connection pool full: active 2 >= max 2 .*possible connection leak/);
  assert.match(warns[1].message, /2 sample\(s\) in a row/);
  assert.equal(warnings.length, warns.length, 'one stderr warning per warn line');
  assert.match(warnings[0], /^quota-proxy: warning: connection pool full/);
  // Released: the samples after the warnings are info again.
  assert.equal(samples.at(-1).level, 'info');
  assert.equal(samples.at(-1).active, 0);
  // Stopped: nothing more is written.
  const size = fs.statSync(file).size;
  await sleep(250);
  assert.equal(fs.statSync(file).size, size);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a failing stats source is logged as a warn line, not thrown from the timer', () => {
  const dir = tempDir();
  const file = path.join(dir, 'stats.log');
  const monitor = startPoolMonitor({
    source: {
      stats: () => {
        throw new Error('the pool is closed');
      },
      health: () => 'degraded',
    },
    file,
    intervalMs: 1000,
  });
  assert.equal(monitor.sample(), null);
  monitor.stop();
  const [, error] = readLines(file);
  assert.equal(error.level, 'warn');
  assert.match(error.message, /reading the pool's stats failed: the pool is closed/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('configuration: defaults, overrides, refusals', () => {
  const db = path.join('/srv', 'q', 'quota.db');
  assert.deepEqual(readMonitorConfig({}, db), { intervalMs: 5000, file: path.join('/srv', 'q', 'pool-stats.log') });
  assert.deepEqual(readMonitorConfig({ POOL_STATS_INTERVAL: '0', POOL_STATS_LOG: '/var/log/qp.log' }, db), {
    intervalMs: 0,
    file: '/var/log/qp.log',
  });
  for (const bad of ['fast', '-5', '50', '1.5']) {
    assert.throws(() => readMonitorConfig({ POOL_STATS_INTERVAL: bad }, db), /POOL_STATS_INTERVAL must be 0 \(off\) or an integer/);
  }
  assert.throws(() => startPoolMonitor({ source: {}, file: '/tmp/x.log', intervalMs: 10 }), RangeError);
  // An unwritable path fails at once, naming it.
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'file'), '');
  assert.throws(
    () => startPoolMonitor({ source: {}, file: path.join(dir, 'file', 'x.log'), intervalMs: 1000 }),
    /ENOTDIR|EEXIST/,
  );
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the service samples its pool into POOL_STATS_LOG and stops the monitor on SIGTERM', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'monitor', 'stats.log');
  const service = await startService({ POOL_STATS_LOG: file, POOL_STATS_INTERVAL: '150', DB_POOL_MAX: '3' });
  assert.match(service.stdout, new RegExp(`pool monitor: stats every 150 ms to ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  await call(service, 'GET', '/admin/keys', { admin: true });
  await sleep(500);
  const { code } = await stopService(service);
  assert.equal(code, 0);
  const lines = readLines(file);
  assert.equal(lines[0].event, 'start');
  assert.equal(lines.at(-1).event, 'stop');
  const samples = lines.filter((l) => l.event === 'sample');
  assert.ok(samples.length >= 2, `samples: ${samples.length}`);
  assert.ok(samples.every((s) => s.max === 3 && s.level === 'info' && s.health === 'healthy'), JSON.stringify(samples));
  assert.ok(samples.at(-1).acquired >= 1);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('POOL_STATS_INTERVAL=0 turns the monitor off; a bad value stops startup', async () => {
  const dir = tempDir();
  const off = await startService({ POOL_STATS_INTERVAL: '0', POOL_STATS_LOG: path.join(dir, 'none.log') });
  assert.doesNotMatch(off.stdout, /pool monitor/);
  await stopService(off);
  assert.equal(fs.existsSync(path.join(dir, 'none.log')), false);
  const res = await runServer({ ADMIN_TOKEN: 'x', DB_PATH: path.join(dir, 'q.db'), POOL_STATS_INTERVAL: 'often' });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /POOL_STATS_INTERVAL must be 0 \(off\) or an integer of at least 100/);
  fs.rmSync(dir, { recursive: true, force: true });
});
