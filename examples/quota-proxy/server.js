#!/usr/bin/env node
'use strict';
// quota-proxy on litepool: `node server.js` (or `npm start`).
//
// Configuration (environment):
//   ADMIN_TOKEN        required: the bearer token of /admin/* (no default; the
//                      service refuses to start without one)
//   DB_PATH            the SQLite file (default: ./data/quota.db; its
//                      directory is created)
//   HOST, PORT         where to listen (default: 127.0.0.1:8787; PORT=0 picks
//                      a free port, printed on the "listening" line)
//   DB_POOL_MAX, DB_POOL_MIN, DB_POOL_IDLE_TIMEOUT, DB_POOL_ACQUIRE_TIMEOUT,
//   DB_POOL_MAX_LIFETIME, DB_POOL_LEAK_THRESHOLD, DB_POOL_BUSY_TIMEOUT,
//   DB_POOL_MAX_WAITING, DB_POOL_SHED_LOAD, DB_POOL_STATEMENT_TIMEOUT
//                      the pool (litepool's Pool.fromEnv; milliseconds); a
//                      request the pool sheds gets 503 OVERLOADED with
//                      Retry-After (lib/errors.js)
//   SHUTDOWN_TIMEOUT   ms to let in-flight requests finish on SIGTERM/SIGINT
//                      before their connections are cut (default: 10000)
//   POOL_STATS_LOG     the pool monitor's JSON-lines log (default:
//                      pool-stats.log beside the database)
//   POOL_STATS_INTERVAL ms between the monitor's samples (default: 5000;
//                      0 turns it off). A sample with active >= max is a
//                      `warn` line and a warning on stderr (lib/monitor.js)
//
// SIGTERM or SIGINT: stop accepting connections, let in-flight requests
// finish, stop the monitor, then close the pool, then exit 0. A second
// signal exits at once.
const fs = require('node:fs');
const path = require('node:path');
const { loadLitepool } = require('./lib/litepool');
const { createApp } = require('./lib/app');
const { createLitepoolStore } = require('./lib/store');
const { readMonitorConfig, startPoolMonitor } = require('./lib/monitor');

function log(message) {
  console.log(`quota-proxy: ${message}`);
}

function readConfig(env) {
  const adminToken = env.ADMIN_TOKEN;
  if (adminToken === undefined || adminToken.trim() === '') {
    throw new Error(
      'ADMIN_TOKEN is not set: the admin API has no default token. ' +
        'Set one, e.g. ADMIN_TOKEN=$(openssl rand -hex 24) node server.js',
    );
  }
  const port = env.PORT === undefined || env.PORT === '' ? 8787 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(env.PORT)}`);
  }
  const shutdownTimeout = env.SHUTDOWN_TIMEOUT === undefined ? 10000 : Number(env.SHUTDOWN_TIMEOUT);
  if (!Number.isInteger(shutdownTimeout) || shutdownTimeout < 0) {
    throw new Error(`SHUTDOWN_TIMEOUT must be a non-negative integer (ms), got ${JSON.stringify(env.SHUTDOWN_TIMEOUT)}`);
  }
  const dbPath = path.resolve(env.DB_PATH || path.join('data', 'quota.db'));
  return {
    adminToken,
    dbPath,
    host: env.HOST || '127.0.0.1',
    port,
    shutdownTimeout,
    monitor: readMonitorConfig(env, dbPath),
  };
}

/**
 * Opens the pool, creates the schema, starts the pool monitor (unless its
 * interval is 0) and listens. Resolves with
 * `{ server, pool, monitor, url, shutdown(signal) }` (`monitor` is null when off).
 */
async function start(config) {
  const { Pool } = loadLitepool();
  fs.mkdirSync(path.dirname(config.dbPath), { recursive: true });
  const pool = Pool.fromEnv(config.dbPath, { name: 'quota_proxy' });
  const store = createLitepoolStore(pool);
  await store.init();
  const monitor =
    config.monitor && config.monitor.intervalMs > 0
      ? startPoolMonitor({
          source: { stats: () => pool.getStats(), health: () => pool.health() },
          file: config.monitor.file,
          intervalMs: config.monitor.intervalMs,
        })
      : null;

  let shuttingDown = false;
  const app = createApp({ store, adminToken: config.adminToken, isShuttingDown: () => shuttingDown });
  const server = app.listen(config.port, config.host);
  await new Promise((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { address, port } = server.address();
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;

  async function shutdown(signal) {
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
    if (monitor) monitor.stop();
    log('HTTP server closed; closing the pool');
    const stats = pool.getStats();
    await pool.close(5000);
    log(
      `pool closed (served ${stats.acquired} leases, ${stats.created} connections opened, ` +
        `${stats.timeouts} timeouts, ${stats.leaks} leaks); bye`,
    );
  }

  return { server, pool, monitor, url, shutdown };
}

async function main() {
  let config;
  try {
    config = readConfig(process.env);
  } catch (err) {
    console.error(`quota-proxy: ${err.message}`);
    process.exit(2);
  }
  let service;
  try {
    service = await start(config);
  } catch (err) {
    console.error(`quota-proxy: cannot start: ${err.code ? `${err.code}: ` : ''}${err.message}`);
    process.exit(1);
  }
  const stats = service.pool.getStats();
  log(`database ${config.dbPath} (pool max=${stats.max} min=${stats.min})`);
  if (service.monitor) {
    log(`pool monitor: stats every ${service.monitor.intervalMs} ms to ${service.monitor.file}`);
  }
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
        console.error(`quota-proxy: shutdown failed: ${err.code ? `${err.code}: ` : ''}${err.message}`);
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
