'use strict';
// The quota-proxy HTTP API as an Express app over a store (lib/store.js).
//
//   POST   /gateway               x-api-key: <key>, {"endpoint": "/v1/..."}: spend one unit
//   GET    /healthz               liveness plus the pool's {connected, connections, health}
//   GET    /metrics               Prometheus text: the pool's metrics and the service's
//   POST   /admin/keys            {"total_quota": n, "label"?: s, "expires_at"?: ISO|ms}
//   GET    /admin/keys            every key with its quota
//   GET    /admin/keys/:key       one key
//   DELETE /admin/keys/:key       remove a key (its usage rows stay, for the record)
//   GET    /admin/usage           ?limit=1..1000 (default 100) &api_key=: recent usage rows
//   GET    /admin/db-pool-stats   the pool's counts and counters, health, timestamp
//
// /admin/* needs `Authorization: Bearer <ADMIN_TOKEN>`. Every error is JSON
// `{error, code}`: 4xx for the client's mistakes, 503 when the pool is
// saturated or closing.
const crypto = require('node:crypto');
const { performance } = require('node:perf_hooks');
const express = require('express');
const { requireAdmin } = require('./auth');
const { HttpError, toHttpError } = require('./errors');
const { createHttpMetrics } = require('./metrics');

const MAX_ENDPOINT_LENGTH = 256;
const MAX_LABEL_LENGTH = 200;
const MAX_KEY_LENGTH = 200;

function iso(ms) {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

function formatKey(row) {
  return {
    key: row.key,
    label: row.label,
    total_quota: row.total_quota,
    used_quota: row.used_quota,
    remaining: Math.max(0, row.total_quota - row.used_quota),
    created_at: iso(row.created_at),
    expires_at: iso(row.expires_at),
  };
}

function jsonBody(req) {
  const body = req.body;
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'BODY_REQUIRED', 'expected a JSON object body (Content-Type: application/json)');
  }
  return body;
}

function parseNewKey(body) {
  const { total_quota: totalQuota, label = '', expires_at: expiresAt = null } = body;
  if (totalQuota === undefined) {
    throw new HttpError(400, 'MISSING_FIELD', 'the "total_quota" field is required (a positive integer)');
  }
  if (!Number.isSafeInteger(totalQuota) || totalQuota < 1) {
    throw new HttpError(400, 'INVALID_FIELD', 'expected "total_quota" to be a positive integer');
  }
  if (typeof label !== 'string' || label.length > MAX_LABEL_LENGTH) {
    throw new HttpError(400, 'INVALID_FIELD', `expected "label" to be a string of at most ${MAX_LABEL_LENGTH} characters`);
  }
  let expires = null;
  if (expiresAt !== null) {
    if (typeof expiresAt === 'number' && Number.isSafeInteger(expiresAt)) expires = expiresAt;
    else if (typeof expiresAt === 'string' && !Number.isNaN(Date.parse(expiresAt))) expires = Date.parse(expiresAt);
    else {
      throw new HttpError(400, 'INVALID_FIELD', 'expected "expires_at" to be an ISO 8601 date or epoch milliseconds');
    }
    if (expires <= Date.now()) {
      throw new HttpError(400, 'INVALID_FIELD', '"expires_at" must be in the future');
    }
  }
  return { totalQuota, label, expiresAt: expires };
}

function parseLimit(value) {
  if (value === undefined) return 100;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) {
    throw new HttpError(400, 'INVALID_QUERY', 'expected "limit" to be an integer from 1 to 1000');
  }
  const limit = Number(value);
  if (limit < 1 || limit > 1000) {
    throw new HttpError(400, 'INVALID_QUERY', 'expected "limit" to be an integer from 1 to 1000');
  }
  return limit;
}

/**
 * Builds the app. `store` is lib/store.js's (or the benchmark's);
 * `adminToken` is required: there is no default.
 */
function createApp({ store, adminToken, isShuttingDown = () => false }) {
  if (typeof adminToken !== 'string' || adminToken.length === 0) {
    throw new Error('createApp: adminToken is required (there is no default admin token)');
  }
  const app = express();
  const metrics = createHttpMetrics();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(metrics.middleware);
  app.use((req, res, next) => {
    // While shutting down, ask keep-alive clients to go away after this response.
    if (isShuttingDown()) res.set('Connection', 'close');
    next();
  });
  app.use(express.json({ limit: '64kb' }));

  app.post('/gateway', async (req, res) => {
    const startedAt = performance.now();
    const apiKey = req.get('x-api-key');
    if (apiKey === undefined || apiKey === '') {
      metrics.gatewayOutcome('invalid');
      throw new HttpError(401, 'MISSING_API_KEY', 'the "x-api-key" header is required');
    }
    if (apiKey.length > MAX_KEY_LENGTH) {
      metrics.gatewayOutcome('invalid');
      throw new HttpError(400, 'INVALID_API_KEY', `the "x-api-key" header is longer than ${MAX_KEY_LENGTH} characters`);
    }
    let body;
    try {
      body = jsonBody(req);
    } catch (err) {
      metrics.gatewayOutcome('invalid');
      throw err;
    }
    const { endpoint } = body;
    if (typeof endpoint !== 'string' || endpoint.length === 0 || endpoint.length > MAX_ENDPOINT_LENGTH) {
      metrics.gatewayOutcome('invalid');
      throw new HttpError(
        400,
        endpoint === undefined ? 'MISSING_FIELD' : 'INVALID_FIELD',
        `expected "endpoint" to be a non-empty string of at most ${MAX_ENDPOINT_LENGTH} characters`,
      );
    }
    const result = await store.spend({ apiKey, endpoint, startedAt });
    metrics.gatewayOutcome(result.outcome);
    const quota = result.total === undefined ? undefined : {
      total: result.total,
      used: result.used,
      remaining: Math.max(0, result.total - result.used),
    };
    switch (result.outcome) {
      case 'ok':
        // Where quota-proxy forwards to its upstream, this example answers itself.
        return res.json({ ok: true, endpoint, quota });
      case 'spent':
        return res.status(429).json({ error: 'the quota of this API key is spent', code: 'QUOTA_EXCEEDED', quota });
      case 'expired':
        return res.status(403).json({ error: 'this API key has expired', code: 'KEY_EXPIRED', quota });
      default:
        return res.status(401).json({ error: 'unknown API key', code: 'INVALID_API_KEY' });
    }
  });

  app.get('/healthz', async (_req, res) => {
    let stats = store.stats();
    let connected = !store.closed && stats.total > 0;
    if (!connected && !store.closed) {
      // No connection open right now (min idle 0): prove one can be opened.
      try {
        await store.getKey('');
        connected = true;
      } catch {
        connected = false;
      }
      stats = store.stats();
    }
    const health = store.closed ? 'degraded' : store.health();
    res.status(connected ? 200 : 503).json({
      ok: connected,
      timestamp: new Date().toISOString(),
      database: {
        connected,
        connections: {
          active: stats.active,
          idle: stats.idle,
          total: stats.total,
          max: stats.max,
          waiting: stats.waiting,
        },
        health,
      },
    });
  });

  app.get('/metrics', (_req, res) => {
    res.type('text/plain; version=0.0.4; charset=utf-8');
    res.send(store.metrics() + metrics.render(store.stats()));
  });

  const admin = express.Router();
  admin.use(requireAdmin(adminToken));

  admin.post('/keys', async (req, res) => {
    const { totalQuota, label, expiresAt } = parseNewKey(jsonBody(req));
    const key = `sk-${crypto.randomBytes(24).toString('base64url')}`;
    const createdAt = Date.now();
    await store.insertKey({ key, label, totalQuota, createdAt, expiresAt });
    res.status(201).json(
      formatKey({ key, label, total_quota: totalQuota, used_quota: 0, created_at: createdAt, expires_at: expiresAt }),
    );
  });

  admin.get('/keys', async (_req, res) => {
    const rows = await store.listKeys();
    res.json({ keys: rows.map(formatKey), count: rows.length });
  });

  admin.get('/keys/:key', async (req, res) => {
    const row = await store.getKey(req.params.key);
    if (row === undefined) throw new HttpError(404, 'KEY_NOT_FOUND', 'no API key with that value');
    res.json(formatKey(row));
  });

  admin.delete('/keys/:key', async (req, res) => {
    if (!(await store.deleteKey(req.params.key))) {
      throw new HttpError(404, 'KEY_NOT_FOUND', 'no API key with that value');
    }
    res.json({ deleted: req.params.key });
  });

  admin.get('/usage', async (req, res) => {
    const limit = parseLimit(req.query.limit);
    const apiKey = req.query.api_key;
    if (apiKey !== undefined && (typeof apiKey !== 'string' || apiKey.length > MAX_KEY_LENGTH)) {
      throw new HttpError(400, 'INVALID_QUERY', 'expected "api_key" to be given once, as a string');
    }
    const rows = await store.recentUsage({ limit, apiKey });
    res.json({
      usage: rows.map((r) => ({ ...r, timestamp: iso(r.timestamp) })),
      count: rows.length,
      limit,
    });
  });

  admin.get('/db-pool-stats', (_req, res) => {
    const stats = store.stats();
    res.json({
      ...stats,
      health: store.closed ? 'degraded' : store.health(),
      timestamp: new Date().toISOString(),
    });
  });

  app.use('/admin', admin);

  app.use((req, _res, next) => {
    next(new HttpError(404, 'NOT_FOUND', `no route for ${req.method} ${req.path}`));
  });

  // eslint-disable-next-line no-unused-vars
  app.use((err, _req, res, _next) => {
    const httpErr = toHttpError(err);
    if (httpErr.status >= 500 && httpErr.status !== 503) {
      console.error('quota-proxy: unexpected error:', err);
    }
    if (httpErr.status === 503) res.set('Retry-After', String(httpErr.retryAfter));
    res.status(httpErr.status).json({ error: httpErr.message, code: httpErr.code });
  });

  return app;
}

module.exports = { createApp };
