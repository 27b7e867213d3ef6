'use strict';
// The ORMs and the real sqlite3 package, from bindings-node/.peers
// (run-tests.sh installs them from npm, never into the package's own
// dependencies). Each scenario runs on both drivers: node-sqlite3 6 and the
// drop-in.
const path = require('node:path');

const peers = path.join(__dirname, '..', '..', '.peers', 'node_modules');

function peer(name) {
  try {
    return { module: require(path.join(peers, name)), missing: false };
  } catch (err) {
    return { module: null, missing: `${name} could not be loaded from bindings-node/.peers (${err.message.split('\n')[0]}); run bindings-node/run-tests.sh to install it` };
  }
}

const sqlite3 = peer('sqlite3');
const dropIn = require('../../lib/sqlite3');

/** `[name, driver, skip]` for each driver. */
const DRIVERS = [
  ['sqlite3@6', sqlite3.module, sqlite3.missing],
  ['litepool/sqlite3', dropIn, false],
];

/** Runs `n` async tasks at once; resolves with how many failed and the first errors. */
async function concurrently(n, task) {
  const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => task(i)));
  const failures = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
  return { failures: failures.length, messages: [...new Set(failures.map((e) => (e && (e.parent || e).message) || String(e)))].slice(0, 3) };
}

module.exports = { peer, DRIVERS, concurrently, dropIn };
