'use strict';
// node-sqlite3's error objects: `new Error('SQLITE_ERROR: no such table: t')`
// with `errno` (SQLite's primary result code) and `code` ('SQLITE_ERROR').

const NAMES = {
  0: 'OK', 1: 'ERROR', 2: 'INTERNAL', 3: 'PERM', 4: 'ABORT', 5: 'BUSY', 6: 'LOCKED', 7: 'NOMEM',
  8: 'READONLY', 9: 'INTERRUPT', 10: 'IOERR', 11: 'CORRUPT', 12: 'NOTFOUND', 13: 'FULL', 14: 'CANTOPEN',
  15: 'PROTOCOL', 16: 'EMPTY', 17: 'SCHEMA', 18: 'TOOBIG', 19: 'CONSTRAINT', 20: 'MISMATCH', 21: 'MISUSE',
  22: 'NOLFS', 23: 'AUTH', 24: 'FORMAT', 25: 'RANGE', 26: 'NOTADB',
};

/** sqlite3_errstr(): SQLite's text for a result code with no message of its own. */
const TEXTS = {
  4: 'query aborted', 5: 'database is locked', 6: 'database table is locked', 7: 'out of memory',
  8: 'attempt to write a readonly database', 9: 'interrupted', 10: 'disk I/O error',
  11: 'database disk image is malformed', 13: 'database or disk is full', 14: 'unable to open database file',
  21: 'bad parameter or other API misuse', 25: 'column index out of range', 26: 'file is not a database',
};

const CONVERTED = Symbol('litepool.sqlite3.error');

/** `SQLITE_<NAME>: message`, with errno and code, as node-sqlite3 builds it. */
function sqliteError(errno, message) {
  const code = `SQLITE_${NAMES[errno] || 'ERROR'}`;
  const err = new Error(`${code}: ${message}`);
  err.errno = errno;
  err.code = code;
  err[CONVERTED] = true;
  return err;
}

/** The pool's codes that have a node-sqlite3 equivalent. */
const FROM_POOL = {
  LITEPOOL_TIMEOUT: 5, // waited for a connection or the write gate: what SQLITE_BUSY means to callers
  LITEPOOL_READ_ONLY_LANE: 8,
  LITEPOOL_READ_ONLY_REPLICA: 8,
  LITEPOOL_RELEASED: 21,
  LITEPOOL_CLOSED: 21,
  LITEPOOL_MISUSE: 21,
  LITEPOOL_INVALID_ARGUMENT: 25,
  LITEPOOL_INVALID_VALUE: 20,
};

/** A native (pool) error as node-sqlite3 would have reported it. */
function fromNative(err) {
  if (!err || err[CONVERTED] || !(err instanceof Error)) return err;
  if (typeof err.errno === 'number') {
    const errno = err.errno & 0xff;
    let message = err.message;
    if (err.code === 'LITEPOOL_READ_ONLY_LANE') message = TEXTS[8];
    // Open errors name the path; node-sqlite3 gives SQLite's text.
    else if (message.startsWith('cannot open database') || errno === 14) message = TEXTS[errno] || message;
    return sqliteError(errno, message);
  }
  const errno = FROM_POOL[err.code];
  if (errno === 8) return sqliteError(8, TEXTS[8]);
  return sqliteError(errno === undefined ? 1 : errno, err.message);
}

module.exports = { NAMES, TEXTS, sqliteError, fromNative };
