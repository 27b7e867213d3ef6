'use strict';
// Isolation under load: 200 tenants on one pool of at most 30 connections
// (each connection can hold 10 attachments, so tenants are attached and
// detached all the time), 20 concurrent clients sending each request to a
// random tenant for a few seconds. Every answer is checked by
// scripts/load.js: 0 rows of another tenant, 0 successes for a token on the
// wrong tenant's host, 0 5xx, and the per-tenant stats (the service's
// request counts and the pool's tenant leases) add up to what was sent.
const test = require('node:test');
const assert = require('node:assert/strict');
const { runLoad, checkTenantStats } = require('../scripts/load');
const { startService, stopService, provisionData, removeData, call, DOMAIN } = require('./helpers');

const TENANTS = 200;
const CLIENTS = 20;
const SECONDS = Number(process.env.TENANT_ISOLATION_SECONDS || 4);

let data;
let service;
test.before(async () => {
  data = await provisionData({ tenants: TENANTS, users: 3, products: 4, orders: 2 });
  service = await startService(data); // the design note's pool: max 30, min 5
});
test.after(async () => {
  await stopService(service);
  removeData(data);
});

const stats = async () => (await call(service, 'GET', '/admin/db-pool-stats', { admin: true })).body;

test(`${TENANTS} tenants, ${CLIENTS} clients on random tenants for ${SECONDS} s: no tenant sees another's rows`, async () => {
  const before = await stats();
  assert.equal(before.max, 30);
  assert.equal(before.tenantCounts.active, TENANTS);
  const summary = await runLoad({ url: service.url, tokens: data.tokens, domain: DOMAIN, clients: CLIENTS, durationMs: SECONDS * 1000 });
  const after = await stats();
  const f = summary.failures;
  const report = JSON.stringify({ failures: f, statusCounts: summary.statusCounts }, null, 1).slice(0, 2000);
  assert.ok(summary.requests > 500, `enough requests to mean something (${summary.requests})`);
  assert.equal(f.crossTenantRows, 0, report);
  assert.equal(f.wrongTenantAuthSuccesses, 0, report);
  assert.equal(f.serverErrors, 0, report);
  assert.equal(f.unexpected, 0, report);
  assert.equal(f.socketErrors, 0, report);
  // Every kind of request was made, the negative ones included.
  for (const [kind, k] of Object.entries(summary.byKind)) assert.ok(k.requests > 0, kind);
  assert.ok(summary.statusCounts['401'] > 0 && summary.statusCounts['404'] > 0 && summary.statusCounts['201'] > 0);

  // The per-tenant stats add up to the requests made, tenant by tenant.
  const check = checkTenantStats(summary, before, after);
  assert.deepEqual(check.requestMismatches, []);
  assert.deepEqual(check.leaseMismatches, []);
  assert.ok(check.tenantsHit >= TENANTS * 0.9, `most tenants were hit (${check.tenantsHit})`);
  const sent = summary.requests - summary.byKind.unknown_tenant.requests;
  assert.equal(check.requests, sent);
  assert.equal(after.tenantTotals.requests - before.tenantTotals.requests, sent);
  assert.equal(after.acquired - before.acquired, check.leases, 'every lease of the run was a tenant lease');

  // More tenants than attachment slots in use: the pool attached and detached all along, within its max.
  assert.ok(after.total <= 30);
  assert.ok(after.tenantTotals.detaches > 0, 'tenants were detached to make room (LRU)');
  assert.ok(after.tenantTotals.attaches > TENANTS, 'and attached again');
  assert.equal(after.timeouts, 0);
  assert.equal(after.tenantTotals.active, 0, 'no tenant lease left out');
  assert.equal(after.active, 0);
});
