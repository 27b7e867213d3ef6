'use strict';
// The admin API, on any host, behind `Authorization: Bearer <ADMIN_TOKEN>`:
//
//   GET   /admin/db-pool-stats   the design note's getPoolStats(): the pool's
//                                counts and counters, its health, and per
//                                tenant the requests served and the pool's
//                                tenant counters; ?tenant=<code> for one
//   GET   /admin/tenants         the registry: code, name, file, status, requests
//   PATCH /admin/tenants/:code   {"active": true|false}: (de)activate a tenant
//   POST  /admin/tenants/reload  re-read the registry table (new, removed, changed tenants)
const express = require('express');
const { HttpError } = require('./errors');
const { requireAdmin } = require('./auth');
const { tenantStatus, CODE_RE } = require('./registry');

const TENANT_COUNTERS = ['requests', 'acquired', 'active', 'attaches', 'detaches', 'affinityHits'];

/** Per-tenant rows: the registry's request count beside the pool's counters. */
function perTenant(registry, store) {
  const pool = new Map(store.tenantStats().map((s) => [s.code, s]));
  return registry.list().map((t) => {
    const s = pool.get(t.code) || {};
    return {
      code: t.code,
      status: tenantStatus(t),
      requests: t.requests,
      acquired: s.acquired || 0,
      active: s.active || 0,
      attaches: s.attaches || 0,
      detaches: s.detaches || 0,
      affinityHits: s.affinityHits || 0,
    };
  });
}

function poolStats({ store, registry, config }, onlyCode) {
  let tenants = perTenant(registry, store);
  const totals = Object.fromEntries(TENANT_COUNTERS.map((k) => [k, tenants.reduce((n, t) => n + t[k], 0)]));
  if (onlyCode !== undefined) tenants = tenants.filter((t) => t.code === onlyCode);
  return {
    ...store.stats(),
    health: store.closed ? 'degraded' : store.health(),
    config: config.poolSettings,
    tenantCounts: registry.counts(),
    tenantTotals: totals,
    tenants,
    timestamp: new Date().toISOString(),
  };
}

function createAdminRouter(ctx) {
  const { registry, adminToken } = ctx;
  const admin = express.Router();
  admin.use(requireAdmin(adminToken));
  admin.use(express.json({ limit: '16kb' }));

  admin.get('/db-pool-stats', (req, res) => {
    const code = req.query.tenant;
    if (code !== undefined) {
      if (typeof code !== 'string' || !CODE_RE.test(code)) {
        throw new HttpError(400, 'INVALID_TENANT_CODE', 'expected "tenant" to be a tenant code ([a-z0-9_]{1,64})');
      }
      if (registry.get(code) === undefined) throw new HttpError(404, 'TENANT_NOT_FOUND', `no tenant ${JSON.stringify(code)}`);
    }
    res.json(poolStats(ctx, code));
  });

  admin.get('/tenants', (_req, res) => {
    const tenants = registry.list().map((t) => ({
      code: t.code,
      name: t.name,
      file: t.file,
      status: tenantStatus(t),
      unavailable: t.unavailable,
      requests: t.requests,
    }));
    res.json({ tenants, counts: registry.counts() });
  });

  admin.patch('/tenants/:code', async (req, res) => {
    const { code } = req.params;
    if (!CODE_RE.test(code)) throw new HttpError(400, 'INVALID_TENANT_CODE', 'expected a tenant code ([a-z0-9_]{1,64})');
    const body = req.body;
    if (body === null || typeof body !== 'object' || typeof body.active !== 'boolean') {
      throw new HttpError(400, 'INVALID_FIELD', 'expected a JSON body {"active": true|false}');
    }
    const entry = await registry.setActive(code, body.active);
    if (entry === undefined) throw new HttpError(404, 'TENANT_NOT_FOUND', `no tenant ${JSON.stringify(code)}`);
    res.json({ code, status: tenantStatus(entry), unavailable: entry.unavailable });
  });

  admin.post('/tenants/reload', async (_req, res) => {
    const summary = await registry.reload();
    res.json({ ...summary, counts: registry.counts() });
  });

  return admin;
}

module.exports = { createAdminRouter, poolStats };
