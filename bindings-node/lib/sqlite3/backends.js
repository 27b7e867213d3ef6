'use strict';
// One pool per database file in a process, shared by every `Database` that
// opens it (reference-counted): their writers queue at one write gate, and
// transactions of many `Database` objects — an ORM opens one per
// transaction — wait their turn instead of failing with SQLITE_BUSY. A
// `:memory:` (or '') database is private to its `Database`, as in SQLite.
const fs = require('node:fs');
const path = require('node:path');
const { Pool } = require('../index');

const shared = new Map();

/** The key two spellings of one file share: its real path, or a URI as written. */
function keyOf(filename) {
  if (filename.startsWith('file:')) return filename;
  const full = path.resolve(filename);
  try {
    return fs.realpathSync(full);
  } catch {
    return full;
  }
}

/**
 * The backend (`{ pool, routes }`) for `filename`, opened with the
 * `DB_POOL_*` settings on first use. Throws what opening throws.
 */
function acquire(filename) {
  const memory = filename === '' || filename === ':memory:';
  const key = memory ? null : keyOf(filename);
  let backend = key === null ? undefined : shared.get(key);
  if (backend === undefined) {
    const pool = Pool.fromEnv(memory ? ':memory:' : filename);
    // Leases held past DB_POOL_LEAK_THRESHOLD are reported with the stack
    // that leased them: take stacks only when that is on.
    const leakSites = Number(process.env.DB_POOL_LEAK_THRESHOLD) > 0;
    backend = { key, pool, refs: 0, routes: new Map(), leakSites };
    if (key !== null) shared.set(key, backend);
  }
  backend.refs++;
  return backend;
}

/** Drops one reference; the last closes the pool (resolves when closed). */
function release(backend) {
  if (--backend.refs > 0) return Promise.resolve();
  if (backend.key !== null) shared.delete(backend.key);
  return backend.pool.close();
}

module.exports = { acquire, release, shared };
