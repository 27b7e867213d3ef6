'use strict';
// `require('litepool/sqlite3')`: node-sqlite3 6.x's API over litepool.
// Database (lib/sqlite3/database.js) — where calls run and why;
// Statement and the one-call methods (statement.js); Backup (backup.js);
// the pool every Database on a file shares (backends.js); node-sqlite3's
// error objects (errors.js). This file: the module's constants, `cached`
// and `verbose()`.
const path = require('node:path');
const util = require('node:util');
const { Pool } = require('./index');
const { Database, settings } = require('./sqlite3/database');
const { Statement } = require('./sqlite3/statement');
const { Backup } = require('./sqlite3/backup');
const { NAMES } = require('./sqlite3/errors');

const sqlite3 = module.exports;

sqlite3.Database = Database;
sqlite3.Statement = Statement;
sqlite3.Backup = Backup;

const constants = {
  OPEN_READONLY: 0x00000001,
  OPEN_READWRITE: 0x00000002,
  OPEN_CREATE: 0x00000004,
  OPEN_FULLMUTEX: 0x00010000,
  OPEN_URI: 0x00000040,
  OPEN_SHAREDCACHE: 0x00020000,
  OPEN_PRIVATECACHE: 0x00040000,
  LIMIT_LENGTH: 0,
  LIMIT_SQL_LENGTH: 1,
  LIMIT_COLUMN: 2,
  LIMIT_EXPR_DEPTH: 3,
  LIMIT_COMPOUND_SELECT: 4,
  LIMIT_VDBE_OP: 5,
  LIMIT_FUNCTION_ARG: 6,
  LIMIT_ATTACHED: 7,
  LIMIT_LIKE_PATTERN_LENGTH: 8,
  LIMIT_VARIABLE_NUMBER: 9,
  LIMIT_TRIGGER_DEPTH: 10,
  LIMIT_WORKER_THREADS: 11,
};
for (const [num, name] of Object.entries(NAMES)) constants[name] = Number(num);
for (const [k, v] of Object.entries(constants)) {
  Object.defineProperty(sqlite3, k, { value: v, enumerable: true, configurable: true });
}

// The SQLite this process links (the system libsqlite3), read on first use.
let version = null;
function sqliteVersion() {
  if (version === null) {
    const pool = new Pool(':memory:', { max: 1, min: 0 });
    const row = pool.getSync('SELECT sqlite_version() AS v, sqlite_source_id() AS s');
    pool.close().catch(() => {});
    const [a, b, c] = row.v.split('.').map(Number);
    version = { VERSION: row.v, SOURCE_ID: row.s, VERSION_NUMBER: a * 1000000 + b * 1000 + (c || 0) };
  }
  return version;
}
for (const key of ['VERSION', 'SOURCE_ID', 'VERSION_NUMBER']) {
  Object.defineProperty(sqlite3, key, { enumerable: true, configurable: true, get: () => sqliteVersion()[key] });
}

/**
 * Whether a deferred `BEGIN` on a Database's connection runs as `BEGIN
 * IMMEDIATE` (taking the pool's write gate for the whole transaction), for
 * Databases opened after it is set (default: true). Beyond node-sqlite3.
 */
Object.defineProperty(sqlite3, 'immediateTransactions', {
  enumerable: true,
  get: () => settings.immediateTransactions,
  set: (on) => {
    settings.immediateTransactions = Boolean(on);
  },
});

/**
 * Whether plain writes queued one after another on a Database's connection
 * commit together (one commit for many; each
 * still succeeds or fails alone and is called back after the commit), for
 * Databases opened after it is set (default: true). Beyond node-sqlite3.
 */
Object.defineProperty(sqlite3, 'groupWrites', {
  enumerable: true,
  get: () => settings.groupWrites,
  set: (on) => {
    settings.groupWrites = Boolean(on);
  },
});

// `sqlite3.cached.Database(file, …)`: one Database per resolved path.
sqlite3.cached = {
  Database(file, a, b) {
    if (file === '' || file === ':memory:') return new Database(file, a, b);
    file = path.resolve(file);
    let db = sqlite3.cached.objects[file];
    if (!db) {
      db = sqlite3.cached.objects[file] = new Database(file, a, b);
    } else {
      const callback = typeof a === 'number' ? b : a;
      if (typeof callback === 'function') {
        const cb = () => callback.call(db, null);
        if (db.open) process.nextTick(cb);
        else db.once('open', cb);
      }
    }
    return db;
  },
  objects: {},
};

// `sqlite3.verbose()`: errors passed to callbacks carry the stack of the
// call that led to them ("--> in Database#get(…)").
let verbose = false;

function augment(proto, name) {
  const original = proto[name];
  const className = proto === Database.prototype ? 'Database' : 'Statement';
  proto[name] = function traced(...args) {
    const site = new Error();
    const last = args.length - 1;
    if (typeof args[last] === 'function') {
      const cb = args[last];
      const label = `${className}#${name}(${args.map((a) => util.inspect(a, false, 0)).join(', ')})`;
      args[last] = function withStack(err, ...rest) {
        if (err && err.stack && !err.__augmented) {
          err.stack = `${ownLines(err).join('\n')}\n--> in ${label}\n${ownLines(site).slice(1).join('\n')}`;
          err.__augmented = true;
        }
        return cb.call(this, err, ...rest);
      };
    }
    return original.apply(this, args);
  };
}

/** Stack lines outside this module. */
function ownLines(error) {
  return error.stack.split('\n').filter((line) => !line.includes(__filename));
}

sqlite3.verbose = function verboseMode() {
  if (!verbose) {
    for (const name of ['prepare', 'get', 'run', 'all', 'each', 'map', 'close', 'exec']) augment(Database.prototype, name);
    for (const name of ['bind', 'get', 'run', 'all', 'each', 'map', 'reset', 'finalize']) augment(Statement.prototype, name);
    verbose = true;
  }
  return sqlite3;
};
