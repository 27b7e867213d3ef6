'use strict';
// SIGTERM/SIGINT: the HTTP server stops accepting, in-flight requests finish
// (and are committed), then the pool closes, then the process exits 0.
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const path = require('node:path');
const { loadLitepool } = require('../lib/litepool');
const { startService, stopService, provisionData, removeData, call, usersOf, hostOf } = require('./helpers');

const { Pool } = loadLitepool();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let data;
test.before(async () => {
  data = await provisionData({ tenants: 6, users: 2, products: 2, orders: 0 });
});
test.after(() => removeData(data));

function assertShutdownLog(stdout, signal) {
  const lines = stdout.split('\n');
  const at = (re) => lines.findIndex((l) => re.test(l));
  const received = at(new RegExp(`${signal} received: closing the HTTP server`));
  const httpClosed = at(/HTTP server closed \(\d+ requests answered, \d+ cut off\); closing the pool/);
  const poolClosed = at(/pool closed \(served \d+ leases, \d+ of them for tenants/);
  assert.ok(received >= 0 && httpClosed > received && poolClosed > httpClosed, `shutdown log in order:\n${stdout}`);
}

async function ordersIn(code) {
  const pool = new Pool(path.join(data.dir, 'tenants', `${code}.db`), { max: 1, min: 0 });
  try {
    return (await pool.query('SELECT reference FROM orders', [])).map((r) => r.reference);
  } finally {
    await pool.close();
  }
}

/** Starts an order whose body is held back; `finish()` sends the rest. */
function partialOrder(service, code, reference) {
  const body = JSON.stringify({ reference, items: [{ product_id: 1, quantity: 1 }] });
  const req = http.request({
    host: '127.0.0.1',
    port: service.port,
    path: '/api/orders',
    method: 'POST',
    agent: false,
    headers: {
      host: hostOf(code),
      authorization: `Bearer ${usersOf(data, code).member.token}`,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    },
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

test('SIGTERM lets an in-flight order finish and commit, then closes the pool and exits 0', async () => {
  const service = await startService(data);
  const slow = partialOrder(service, 'k001', 'k001-slow-1');
  await sleep(300); // past the resolver and auth, reading the body
  service.child.kill('SIGTERM');
  await sleep(200); // the server is closing; the request is still in flight
  slow.finish();
  const res = await slow.response;
  assert.equal(res.status, 201);
  assert.equal(res.headers.connection, 'close');
  assert.deepEqual(await service.exited, { code: 0, signal: null });
  assertShutdownLog(service.stdout, 'SIGTERM');
  assert.equal(service.stderr, '');
  assert.ok((await ordersIn('k001')).includes('k001-slow-1'), 'what the client was told is what was committed');
});

test('SIGTERM under load: 0 failed in-flight requests, every 201 committed, exit 0', async () => {
  const service = await startService(data);
  const codes = Object.keys(data.byCode);
  const answered = [];
  const refused = [];
  const failed = [];
  let stop = false;
  let n = 0;
  // 16 clients, a new connection per request. Once the server stops
  // accepting, a new connection is refused, or reset if it was still in the
  // kernel's accept queue (or accepted, with its request not read yet): those
  // requests were never begun, and the server's count below proves it.
  // Anything the server began must be answered.
  const clients = Array.from({ length: 16 }, async (_, id) => {
    while (!stop) {
      const code = codes[(id + n) % codes.length];
      n += 1;
      const write = n % 2 === 0;
      const reference = `${code}-term-${id}-${n}`;
      try {
        const res = write
          ? await call(service, 'POST', '/api/orders', { tenant: code, token: usersOf(data, code).member.token, body: { reference, items: [{ product_id: 2, quantity: 1 }] } })
          : await call(service, 'GET', '/api/orders?limit=5', { tenant: code, token: usersOf(data, code).member.token });
        answered.push({ status: res.status, code, reference: write ? reference : undefined });
      } catch (err) {
        if (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET') refused.push(err.code);
        else failed.push(err.code || err.message);
        stop = true;
      }
    }
  });
  await sleep(800);
  service.child.kill('SIGTERM');
  const exit = await service.exited;
  stop = true;
  await Promise.all(clients);
  assert.deepEqual(exit, { code: 0, signal: null });
  assertShutdownLog(service.stdout, 'SIGTERM');
  assert.deepEqual(failed, [], 'no request failed otherwise');
  // The server answered every request it began: none cut off, as many answers as the clients got.
  const counts = /HTTP server closed \((\d+) requests answered, (\d+) cut off\)/.exec(service.stdout);
  assert.equal(Number(counts[2]), 0, 'no in-flight request was cut off');
  assert.equal(Number(counts[1]), answered.length, 'every request the server began was answered to its client');
  assert.ok(answered.length > 20, `requests were answered (${answered.length})`);
  assert.deepEqual([...new Set(answered.map((a) => a.status))].sort(), [200, 201]);
  assert.ok(refused.length > 0, 'clients were refused once the server stopped listening');
  for (const code of codes) {
    const committed = new Set((await ordersIn(code)).filter((r) => r.includes('-term-')));
    const told = answered.filter((a) => a.code === code && a.status === 201).map((a) => a.reference);
    assert.deepEqual([...committed].sort(), [...told].sort(), `${code}: committed orders are the 201s`);
  }
  assert.equal(service.stderr, '');
});

test('SIGINT shuts down the same way', async () => {
  const service = await startService(data);
  assert.equal((await call(service, 'GET', '/healthz')).status, 200);
  const exit = await stopService(service, 'SIGINT');
  assert.deepEqual(exit, { code: 0, signal: null });
  assertShutdownLog(service.stdout, 'SIGINT');
});

test('an idle keep-alive connection does not hold the shutdown', async () => {
  const service = await startService(data, { SHUTDOWN_TIMEOUT: '20000' });
  const agent = new http.Agent({ keepAlive: true });
  assert.equal((await call(service, 'GET', '/healthz', { agent })).status, 200);
  const started = Date.now();
  const exit = await stopService(service);
  agent.destroy();
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(Date.now() - started < 5000, 'exited without waiting for SHUTDOWN_TIMEOUT');
});

test('a request stuck past SHUTDOWN_TIMEOUT is cut and the service still exits 0', async () => {
  const service = await startService(data, { SHUTDOWN_TIMEOUT: '300' });
  const stuck = partialOrder(service, 'k002', 'k002-stuck');
  stuck.response.catch(() => {}); // its connection is cut: that is the point
  await sleep(200);
  const exit = await stopService(service);
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.match(service.stdout, /still open after 300 ms: closing their connections/);
  assertShutdownLog(service.stdout, 'SIGTERM');
  assert.ok(!(await ordersIn('k002')).includes('k002-stuck'));
});
