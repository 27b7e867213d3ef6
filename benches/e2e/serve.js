#!/usr/bin/env node
'use strict';
// The quota-proxy app (examples/quota-proxy/lib/app.js) on one of two
// stores, for the end-to-end benchmark:
//   node serve.js litepool DB_PATH    litepool's Pool (Pool.fromEnv, DB_POOL_*)
//   node serve.js sqlite3 DB_PATH     node-sqlite3, a connection per request
// Listens on 127.0.0.1, an ephemeral port, and prints "listening on URL".
// ADMIN_TOKEN must be set. SIGTERM closes the server, then the store.
const { createApp } = require('../../examples/quota-proxy/lib/app');

async function main() {
  const [backend, dbPath] = process.argv.slice(2);
  let store;
  if (backend === 'litepool') {
    const { loadLitepool } = require('../../examples/quota-proxy/lib/litepool');
    const { createLitepoolStore } = require('../../examples/quota-proxy/lib/store');
    const { Pool } = loadLitepool();
    store = createLitepoolStore(Pool.fromEnv(dbPath, { name: 'quota_proxy' }));
  } else if (backend === 'sqlite3') {
    store = require('./sqlite3-store').createSqlite3Store(dbPath);
  } else {
    throw new Error('usage: serve.js litepool|sqlite3 DB_PATH');
  }
  await store.init();
  const app = createApp({ store, adminToken: process.env.ADMIN_TOKEN });
  const server = app.listen(0, '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${server.address().port}`);
  });
  process.on('SIGTERM', () => {
    server.close(() => store.close().then(() => process.exit(0), () => process.exit(1)));
    server.closeIdleConnections();
    // A stalled store (node-sqlite3 waiting out busy_timeout) must not keep it alive.
    setTimeout(() => process.exit(0), 2000).unref();
  });
}

main().catch((err) => {
  console.error(`serve.js: ${err.code ? `${err.code}: ` : ''}${err.message}`);
  process.exit(1);
});
