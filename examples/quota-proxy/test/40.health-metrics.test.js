'use strict';
// /healthz, /metrics and unknown routes.
const test = require('node:test');
const assert = require('node:assert/strict');
const { startService, stopService, call, createKey, gateway } = require('./helpers');

let service;
test.before(async () => {
  service = await startService({ DB_POOL_MAX: '4' });
});
test.after(async () => {
  await stopService(service);
});

test('GET /healthz reports the database block of the pool guide', async () => {
  const res = await call(service, 'GET', '/healthz');
  assert.equal(res.status, 200);
  assert.equal(res.body.ok, true);
  assert.ok(!Number.isNaN(Date.parse(res.body.timestamp)));
  const { database } = res.body;
  assert.equal(database.connected, true);
  assert.equal(database.health, 'healthy');
  const c = database.connections;
  assert.equal(c.max, 4);
  assert.equal(c.total, c.active + c.idle);
  assert.ok(c.total >= 1);
  assert.equal(typeof c.waiting, 'number');
});

test('GET /healthz needs no token', async () => {
  const res = await call(service, 'GET', '/healthz', { headers: { authorization: 'Bearer wrong' } });
  assert.equal(res.status, 200);
});

test('GET /metrics is Prometheus text with the pool\'s and the service\'s metrics', async () => {
  const { key } = await createKey(service, 1);
  await gateway(service, key);
  await gateway(service, key); // 429
  await gateway(service, 'sk-unknown');
  const res = await call(service, 'GET', '/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = res.text;
  assert.match(text, /^# TYPE litepool_connections_active gauge$/m);
  assert.match(text, /^litepool_connections_max\{pool="quota_proxy"\} 4$/m);
  assert.match(text, /^litepool_connection_acquired_total\{pool="quota_proxy"\} [1-9]\d*$/m);
  assert.match(text, /^quota_proxy_connections_active \d+$/m);
  assert.match(text, /^quota_proxy_gateway_requests_total\{outcome="ok"\} 1$/m);
  assert.match(text, /^quota_proxy_gateway_requests_total\{outcome="spent"\} 1$/m);
  assert.match(text, /^quota_proxy_gateway_requests_total\{outcome="unknown"\} 1$/m);
  assert.match(text, /^quota_proxy_http_requests_total\{method="POST",route="\/gateway",status="429"\} 1$/m);
  assert.match(text, /^quota_proxy_http_request_duration_seconds_count\{route="\/gateway"\} 3$/m);
  // Every sample line is `name{labels} value` or `name value`.
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEInf]+$/, line);
  }
});

test('unknown routes and methods get a 404 JSON error', async () => {
  for (const [method, route] of [
    ['GET', '/nope'],
    ['GET', '/gateway'],
    ['PUT', '/healthz'],
  ]) {
    const res = await call(service, method, route);
    assert.equal(res.status, 404, `${method} ${route}`);
    assert.equal(res.body.code, 'NOT_FOUND');
  }
});
