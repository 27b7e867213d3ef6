'use strict';
// The tenant service as an Express app:
//
//   /api/*                 the tenant API (lib/api.js): tenant from Host, user from bearer token
//   GET /healthz           the design note's healthCheck(): a real query on the main
//                          database plus the pool's health; 503 when it fails
//   GET /metrics           Prometheus text: the pool's litepool_* metrics and the service's
//   /admin/*               the admin API (lib/admin.js), behind ADMIN_TOKEN
//
// Every error is JSON {error, code}; 503s that are worth retrying carry Retry-After.
const { performance } = require('node:perf_hooks');
const express = require('express');
const { HttpError, toHttpError, retryAfterSeconds } = require('./errors');
const { createHttpMetrics } = require('./metrics');
const { createApiRouter } = require('./api');
const { createAdminRouter } = require('./admin');

/**
 * `store` (lib/store.js), `registry` (lib/registry.js, loaded), `config`
 * ({ adminToken, domain, poolSettings }), `isShuttingDown()`, `log(message)`.
 */
function createApp({ store, registry, config, isShuttingDown = () => false, log = console.error }) {
  if (typeof config.adminToken !== 'string' || config.adminToken.length === 0) {
    throw new Error('createApp: an admin token is required (there is no default admin token)');
  }
  const app = express();
  const metrics = createHttpMetrics();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(metrics.middleware);
  // Requests begun, answered, and cut off before their answer was sent (the
  // shutdown log reports them: after SIGTERM none should be cut).
  const requestCounts = { started: 0, answered: 0, cut: 0 };
  app.requestCounts = requestCounts;
  app.use((_req, res, next) => {
    requestCounts.started += 1;
    res.on('close', () => {
      if (res.writableFinished) requestCounts.answered += 1;
      else requestCounts.cut += 1;
    });
    next();
  });
  app.use((req, res, next) => {
    // While shutting down, ask keep-alive clients to go away after this response.
    if (isShuttingDown()) res.set('Connection', 'close');
    next();
  });

  app.get('/healthz', async (_req, res) => {
    const started = performance.now();
    let activeTenants;
    let failure;
    try {
      const row = await store.main.get('SELECT count(*) AS n FROM tenants WHERE active = 1', []);
      activeTenants = row.n;
    } catch (err) {
      failure = err;
    }
    const stats = store.stats();
    const connected = failure === undefined;
    const body = {
      ok: connected,
      timestamp: new Date().toISOString(),
      database: {
        connected,
        latencyMs: Math.round((performance.now() - started) * 1000) / 1000,
        connections: { active: stats.active, idle: stats.idle, total: stats.total, max: stats.max, waiting: stats.waiting },
        health: store.closed ? 'degraded' : store.health(),
      },
      tenants: { ...registry.counts(), activeInRegistry: activeTenants === undefined ? null : activeTenants },
    };
    if (!connected) {
      const httpErr = toHttpError(failure);
      body.error = httpErr.message;
      body.code = httpErr.code;
      res.set('Retry-After', '1');
    }
    res.status(connected ? 200 : 503).json(body);
  });

  app.get('/metrics', (_req, res) => {
    res.type('text/plain; version=0.0.4; charset=utf-8');
    res.send(store.metrics() + metrics.render());
  });

  app.use('/admin', createAdminRouter({ store, registry, config, adminToken: config.adminToken }));
  app.use('/api', createApiRouter({ registry, store, domain: config.domain, metrics }));

  app.use((req, _res, next) => {
    next(new HttpError(404, 'NOT_FOUND', `no route for ${req.method} ${req.path}`));
  });

  // eslint-disable-next-line no-unused-vars
  app.use((err, req, res, _next) => {
    const httpErr = toHttpError(err);
    if (httpErr.status === 500) {
      log(`unexpected error on ${req.method} ${req.path} (tenant ${req.tenant ? req.tenant.code : '-'}): ${err && err.stack}`);
    }
    const retry = retryAfterSeconds(httpErr);
    if (retry !== undefined) res.set('Retry-After', String(retry));
    res.status(httpErr.status).json({ error: httpErr.message, code: httpErr.code });
  });

  return app;
}

module.exports = { createApp };
