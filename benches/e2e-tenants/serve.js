#!/usr/bin/env node
'use strict';
// The tenant service's app (examples/tenant-service/lib/app.js) on one of
// three stores, for the multi-tenant benchmark:
//   node serve.js litepool DB_PATH   one shared litepool Pool, tenant leases (affinity, LRU, per-tenant gates)
//   node serve.js attach DB_PATH     one shared litepool Pool, ATTACH + DETACH per call (no affinity)
//   node serve.js sqlite3 DB_PATH    node-sqlite3, one Database per tenant
// The litepool stores take the service's pool configuration (DB_POOL_*, the
// design note's defaults). The tenants are read from DB_PATH's registry, as
// the service does. Listens on 127.0.0.1, an ephemeral port, and prints
// "listening on URL". ADMIN_TOKEN must be set. SIGTERM closes the server,
// then the store.
const http = require('node:http');
const { createApp } = require('../../examples/tenant-service/lib/app');
const { readConfig } = require('../../examples/tenant-service/lib/config');
const { TenantRegistry } = require('../../examples/tenant-service/lib/registry');

const log = (m) => console.error(`serve.js: ${m}`);

function createStore(backend, config) {
  if (backend === 'sqlite3') return require('./sqlite3-store').createSqlite3Store(config.dbPath, { log });
  const { loadLitepool } = require('../../examples/tenant-service/lib/litepool');
  const { Pool } = loadLitepool();
  const pool = Pool.fromEnv(config.dbPath, { ...config.poolOptions, name: 'tenant_service' });
  if (backend === 'litepool') return require('../../examples/tenant-service/lib/store').createLitepoolStore(pool, { log });
  if (backend === 'attach') return require('./attach-store').createAttachStore(pool, { log });
  throw new Error('usage: serve.js litepool|attach|sqlite3 DB_PATH');
}

async function main() {
  const [backend, dbPath] = process.argv.slice(2);
  const config = readConfig({ ...process.env, DB_PATH: dbPath, PORT: '0' });
  const store = createStore(backend, config);
  await store.init();
  const registry = new TenantRegistry({ store, dataDir: config.dataDir, log });
  await registry.load();
  if (store.ready) await store.ready(); // node-sqlite3 opens its Databases asynchronously
  const app = createApp({ store, registry, config, log });
  const server = http.createServer(app).listen(0, '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${server.address().port}`);
  });
  process.on('SIGTERM', () => {
    server.close(() => store.close(5000).then(() => process.exit(0), () => process.exit(1)));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 5000).unref();
  });
}

main().catch((err) => {
  console.error(`serve.js: ${err.code ? `${err.code}: ` : ''}${err.message}`);
  process.exit(1);
});
