'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** A fresh temporary directory, removed at exit. */
function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'litepool-node-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A path for a new database file in a fresh temporary directory. */
function tempDb(name = 'test.db') {
  return path.join(tempDir(), name);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

module.exports = { tempDir, tempDb, sleep };
