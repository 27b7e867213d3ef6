'use strict';
// SIGTERM/SIGINT: the HTTP server closes first (in-flight requests finish and
// are committed), then the pool, then the process exits 0.
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { loadLitepool } = require('../lib/litepool');
const { startService, stopService, createKey, gateway } = require('./helpers');

const { Pool } = loadLitepool();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts a gateway request but holds back the end of its body. */
function partialGateway(service, key) {
  const body = JSON.stringify({ endpoint: '/v1/slow-client' });
  const url = new URL(service.url);
  const req = http.request({
    host: url.hostname,
    port: url.port,
    path: '/gateway',
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    agent: false,
  });
  const response = new Promise((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: JSON.parse(text) }));
    });
    req.on('error', reject);
  });
  req.write(body.slice(0, 10));
  req.flushHeaders();
  return { finish: () => req.end(body.slice(10)), response };
}

function assertShutdownLog(stdout, signal) {
  const lines = stdout.split('\n');
  const at = (re) => lines.findIndex((l) => re.test(l));
  const received = at(new RegExp(`${signal} received: closing the HTTP server`));
  const httpClosed = at(/HTTP server closed; closing the pool/);
  const poolClosed = at(/pool closed \(served \d+ leases/);
  assert.ok(received >= 0 && httpClosed > received && poolClosed > httpClosed, `shutdown log in order:\n${stdout}`);
}

test('SIGTERM lets an in-flight request finish and commit, then closes the pool and exits 0', async () => {
  const service = await startService();
  const { key } = await createKey(service, 10);
  assert.equal((await gateway(service, key)).status, 200);
  const slow = partialGateway(service, key);
  await sleep(200); // the server has accepted the request and is reading its body
  service.child.kill('SIGTERM');
  await sleep(200); // the server is closing; the request is still in flight
  slow.finish();
  const res = await slow.response;
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.quota, { total: 10, used: 2, remaining: 8 });
  assert.equal(res.headers.connection, 'close');
  const { dbPath } = service;
  const exit = await service.exited;
  assert.deepEqual(exit, { code: 0, signal: null });
  assertShutdownLog(service.stdout, 'SIGTERM');
  assert.equal(service.stderr, '');

  // What the client was told is what was committed.
  const db = new Pool(dbPath, { max: 1, min: 0 });
  try {
    assert.deepEqual(await db.get('SELECT used_quota FROM api_keys WHERE key = ?', [key]), { used_quota: 2 });
    assert.deepEqual(await db.get('SELECT count(*) AS n FROM usage_log WHERE api_key = ?', [key]), { n: 2 });
  } finally {
    await db.close();
    await stopService(service);
  }
});

test('SIGTERM under load: every answered request is committed, none fails with a 5xx', async () => {
  const service = await startService();
  const { key } = await createKey(service, 1_000_000);
  const { dbPath } = service;
  const outcomes = [];
  let stop = false;
  const clients = Array.from({ length: 16 }, async () => {
    while (!stop) {
      try {
        const r = await gateway(service, key);
        outcomes.push(r.status);
      } catch {
        outcomes.push('refused'); // connecting after the server stopped listening
        stop = true;
      }
    }
  });
  await sleep(500);
  service.child.kill('SIGTERM');
  const exit = await service.exited;
  stop = true;
  await Promise.all(clients);
  assert.deepEqual(exit, { code: 0, signal: null });
  assertShutdownLog(service.stdout, 'SIGTERM');
  const ok = outcomes.filter((s) => s === 200).length;
  assert.ok(ok > 0);
  assert.deepEqual(outcomes.filter((s) => s !== 200 && s !== 'refused'), []);
  const db = new Pool(dbPath, { max: 1, min: 0 });
  try {
    const row = await db.get('SELECT used_quota FROM api_keys WHERE key = ?', [key]);
    assert.equal(row.used_quota, ok);
  } finally {
    await db.close();
    await stopService(service);
  }
});

test('SIGINT shuts down the same way', async () => {
  const service = await startService();
  await createKey(service, 1);
  const exit = await stopService(service, 'SIGINT');
  assert.deepEqual(exit, { code: 0, signal: null });
  assertShutdownLog(service.stdout, 'SIGINT');
});

test('an idle keep-alive connection does not hold the shutdown', async () => {
  const service = await startService({ SHUTDOWN_TIMEOUT: '20000' });
  const agent = new http.Agent({ keepAlive: true });
  const url = new URL(`${service.url}/healthz`);
  await new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    }).on('error', reject);
  });
  const started = Date.now();
  const exit = await stopService(service);
  agent.destroy();
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(Date.now() - started < 5000, 'exited without waiting for SHUTDOWN_TIMEOUT');
});

test('a request stuck past SHUTDOWN_TIMEOUT is cut and the service still exits 0', async () => {
  const service = await startService({ SHUTDOWN_TIMEOUT: '300' });
  const { key } = await createKey(service, 5);
  const stuck = partialGateway(service, key);
  stuck.response.catch(() => {}); // its connection is cut: that is the point
  await sleep(200);
  const exit = await stopService(service);
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.match(service.stdout, /still open after 300 ms: closing their connections/);
  assertShutdownLog(service.stdout, 'SIGTERM');
});
