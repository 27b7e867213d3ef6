#!/usr/bin/env node
'use strict';
// The multi-tenant service of the design note on litepool: `node server.js`.
//
// Configuration (environment):
//   ADMIN_TOKEN        required: the bearer token of /admin/* (no default; the
//                      service refuses to start without one)
//   DB_PATH            the main database, holding the tenant registry
//                      (default: ./data/main.db; its directory is created).
//                      Tenant files named relative in the registry are
//                      found next to it (scripts/provision.js puts them in
//                      tenants/)
//   TENANT_DOMAIN      tenants are <code>.<TENANT_DOMAIN> (default: localhost,
//                      so http://k001.localhost:8788 works without DNS)
//   HOST, PORT         where to listen (default: 127.0.0.1:8788; PORT=0 picks
//                      a free port, printed on the "listening" line)
//   DB_POOL_MAX, DB_POOL_MIN, DB_POOL_ACQUIRE_TIMEOUT, DB_POOL_IDLE_TIMEOUT
//                      the one shared pool, with the design note's defaults
//                      (30, 5, 30000 ms, 10000 ms)
//   DB_POOL_MAX_LIFETIME, DB_POOL_LEAK_THRESHOLD, DB_POOL_BUSY_TIMEOUT
//                      litepool's own defaults (Pool.fromEnv; milliseconds)
//   SHUTDOWN_TIMEOUT   ms to let in-flight requests finish on SIGTERM/SIGINT
//                      before their connections are cut (default: 10000)
//
// SIGTERM or SIGINT: stop accepting connections, let in-flight requests
// finish, then close the pool, then exit 0. A second signal exits at once.
const fs = require('node:fs');
const http = require('node:http');
const { loadLitepool } = require('./lib/litepool');
const { readConfig } = require('./lib/config');
const { createApp } = require('./lib/app');
const { createLitepoolStore } = require('./lib/store');
const { TenantRegistry } = require('./lib/registry');

function log(message) {
  console.log(`tenant-service: ${message}`);
}

function logError(message) {
  console.error(`tenant-service: ${message}`);
}

/**
 * Opens the pool, reads the tenant registry, registers its tenants and
 * listens. Resolves with `{ server, pool, registry, url, shutdown(signal) }`.
 */
async function start(config) {
  const { Pool } = loadLitepool();
  fs.mkdirSync(config.dataDir, { recursive: true });
  const pool = Pool.fromEnv(config.dbPath, { ...config.poolOptions, name: 'tenant_service' });
  let server;
  try {
    const store = createLitepoolStore(pool, { log: logError });
    await store.init();
    const registry = new TenantRegistry({ store, dataDir: config.dataDir, log: logError });
    await registry.load();

    let shuttingDown = false;
    const app = createApp({ store, registry, config, isShuttingDown: () => shuttingDown, log: logError });
    // Node answers a request without Host with a bare 400 of its own; let the
    // tenant resolver answer it instead (JSON, MISSING_HOST).
    server = http.createServer({ requireHostHeader: false }, app);
    server.listen(config.port, config.host);
    await new Promise((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const { address, port } = server.address();
    const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;

    const shutdown = async (signal) => {
      if (shuttingDown) return;
      shuttingDown = true;
      log(`${signal} received: closing the HTTP server (in-flight requests finish)`);
      const forced = setTimeout(() => {
        log(`requests still open after ${config.shutdownTimeout} ms: closing their connections`);
        server.closeAllConnections();
      }, config.shutdownTimeout);
      forced.unref();
      await new Promise((resolve) => {
        server.close(resolve);
        server.closeIdleConnections();
      });
      clearTimeout(forced);
      const r = app.requestCounts;
      log(`HTTP server closed (${r.answered} requests answered, ${r.cut} cut off); closing the pool`);
      const stats = pool.getStats();
      const tenantLeases = pool.tenantStats().reduce((n, t) => n + t.acquired, 0);
      await pool.close(5000);
      log(
        `pool closed (served ${stats.acquired} leases, ${tenantLeases} of them for tenants; ` +
          `${stats.created} connections opened, ${stats.timeouts} timeouts, ${stats.leaks} leaks); bye`,
      );
    };
    return { server, pool, registry, url, shutdown };
  } catch (err) {
    if (server) server.close();
    await pool.close(1000).catch(() => {});
    throw err;
  }
}

async function main() {
  let config;
  try {
    config = readConfig(process.env);
  } catch (err) {
    logError(err.message);
    process.exit(2);
  }
  let service;
  try {
    service = await start(config);
  } catch (err) {
    logError(`cannot start: ${err.code ? `${err.code}: ` : ''}${err.message}`);
    process.exit(1);
  }
  const stats = service.pool.getStats();
  const s = config.poolSettings;
  const c = service.registry.counts();
  log(`database ${config.dbPath}: ${c.known} tenants in the registry (${c.active} active, ${c.inactive} inactive, ${c.unavailable} unavailable)`);
  log(`pool max=${stats.max} min=${stats.min} acquire=${s.connectionTimeoutMillis}ms idle=${s.idleTimeoutMillis}ms`);
  log(`tenants at http://<code>.${config.domain}:${service.server.address().port}/api/...`);
  log(`listening on ${service.url}`);

  let signals = 0;
  const onSignal = (signal) => {
    signals += 1;
    if (signals > 1) {
      log(`${signal} received again: exiting now`);
      process.exit(1);
    }
    service.shutdown(signal).then(
      () => process.exit(0),
      (err) => {
        logError(`shutdown failed: ${err.code ? `${err.code}: ` : ''}${err.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

if (require.main === module) {
  main();
}

module.exports = { start, readConfig };
