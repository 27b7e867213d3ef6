'use strict';
// Finds litepool's Node package. The example lives in the litepool repo, so
// the addon built in ../../bindings-node is the one it is meant to run on;
// LITEPOOL_NODE points elsewhere (a directory or a package name), and an
// installed `litepool` package is the last resort.
const path = require('node:path');

const REPO_PACKAGE = path.join(__dirname, '..', '..', '..', 'bindings-node');

function loadLitepool() {
  const candidates = [process.env.LITEPOOL_NODE, REPO_PACKAGE, 'litepool'].filter(Boolean);
  const failures = [];
  for (const candidate of candidates) {
    try {
      return require(candidate);
    } catch (err) {
      failures.push(`${candidate}: ${err.message.split('\n')[0]}`);
    }
  }
  const err = new Error(
    "litepool's Node addon could not be loaded. Build it first: " +
      '`cd bindings-node && npm ci && npx napi build --platform --release` ' +
      '(or `bash bindings-node/run-tests.sh`). Tried:\n  ' +
      failures.join('\n  '),
  );
  err.code = 'LITEPOOL_NOT_BUILT';
  throw err;
}

module.exports = { loadLitepool, REPO_PACKAGE };
