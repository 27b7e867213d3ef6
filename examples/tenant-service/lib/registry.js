'use strict';
// The tenant registry: the `tenants` table of the main database (code, name,
// file, active), read at startup and kept in memory, so resolving a tenant
// costs no query. Active tenants are registered on the shared pool (their
// file is opened once there, so a bad file is found at startup, not at the
// first request); inactive ones are known, so their requests get 403 rather
// than 404. `setActive` and `reload` change it while the service runs.
//
// A tenant whose file is missing or cannot be opened is "unavailable" (503
// TENANT_UNAVAILABLE, logged at startup): one broken tenant does not keep the
// others from being served. A deactivated tenant stays registered on the pool
// (its attachments close as the LRU evicts them): requests already past the
// resolver finish normally.
const fs = require('node:fs');
const path = require('node:path');

const CODE_RE = /^[a-z0-9_]{1,64}$/;

class TenantRegistry {
  /**
   * `store`: lib/store.js's; `dataDir`: where relative `file`s are resolved
   * (the main database's directory); `log(message)`.
   */
  constructor({ store, dataDir, log = () => {} }) {
    this.store = store;
    this.dataDir = dataDir;
    this.log = log;
    this.tenants = new Map();
  }

  /** Reads the registry table and applies it. Resolves with `{ added, removed, changed, unavailable }` (codes). */
  async load() {
    const rows = await this.store.main.all('SELECT code, name, file, active FROM tenants ORDER BY code', []);
    return this.apply(rows);
  }

  /** Same as load(): for tenants added, removed or changed in the table since. */
  reload() {
    return this.load();
  }

  async apply(rows) {
    const summary = { added: [], removed: [], changed: [], unavailable: [] };
    const seen = new Set();
    for (const row of rows) {
      if (typeof row.code !== 'string' || !CODE_RE.test(row.code)) {
        this.log(`registry: skipping tenant row with invalid code ${JSON.stringify(row.code)}`);
        continue;
      }
      seen.add(row.code);
      const file = path.resolve(this.dataDir, String(row.file));
      const active = row.active === 1;
      let entry = this.tenants.get(row.code);
      if (entry === undefined) {
        entry = { code: row.code, name: row.name, file, active, registered: false, unavailable: null, requests: 0 };
        this.tenants.set(row.code, entry);
        summary.added.push(row.code);
      } else if (entry.file !== file || entry.active !== active || entry.name !== row.name) {
        if (entry.file !== file && entry.registered) {
          await this.store.removeTenant(row.code, 5000);
          entry.registered = false;
        }
        Object.assign(entry, { name: row.name, file, active, unavailable: null });
        summary.changed.push(row.code);
      }
      if (entry.active && !entry.registered) this.register(entry);
      if (entry.unavailable !== null) summary.unavailable.push(row.code);
    }
    for (const [code, entry] of this.tenants) {
      if (seen.has(code)) continue;
      this.tenants.delete(code);
      if (entry.registered) await this.store.removeTenant(code, 5000);
      summary.removed.push(code);
    }
    return summary;
  }

  register(entry) {
    let isFile = false;
    try {
      isFile = fs.statSync(entry.file).isFile();
    } catch {
      isFile = false;
    }
    if (!isFile) {
      // The pool would create a missing file: an empty tenant, which is worse than none.
      entry.unavailable = `no database file at ${entry.file}`;
    } else {
      try {
        this.store.registerTenant(entry.code, entry.file);
        entry.registered = true;
        entry.unavailable = null;
      } catch (err) {
        entry.unavailable = `${err.code || 'ERROR'}: ${err.message}`;
      }
    }
    if (entry.unavailable !== null) this.log(`registry: tenant ${entry.code} is unavailable: ${entry.unavailable}`);
  }

  /** Sets a tenant's active flag in the table and in memory; resolves with its entry, or undefined if unknown. */
  async setActive(code, active) {
    const entry = this.tenants.get(code);
    if (entry === undefined) return undefined;
    await this.store.main.run('UPDATE tenants SET active = ? WHERE code = ?', [active ? 1 : 0, code]);
    entry.active = active;
    if (active && !entry.registered) this.register(entry);
    return entry;
  }

  get(code) {
    return this.tenants.get(code);
  }

  list() {
    return [...this.tenants.values()];
  }

  /** How many tenants are known, active, inactive and unavailable. */
  counts() {
    let active = 0;
    let unavailable = 0;
    for (const t of this.tenants.values()) {
      if (t.active && t.unavailable === null) active += 1;
      if (t.active && t.unavailable !== null) unavailable += 1;
    }
    return { known: this.tenants.size, active, inactive: this.tenants.size - active - unavailable, unavailable };
  }
}

/** 'active', 'inactive' or 'unavailable'. */
function tenantStatus(entry) {
  if (!entry.active) return 'inactive';
  return entry.unavailable === null ? 'active' : 'unavailable';
}

module.exports = { TenantRegistry, tenantStatus, CODE_RE };
