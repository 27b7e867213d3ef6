'use strict';
// `require('litepool/sqlite3')`: the node-sqlite3 6.x API over a litepool Pool.
//
// A Database is a pool. Its calls keep node-sqlite3's observable order:
//  - a call sees every write issued before it: a write (or a statement not
//    yet known to be read-only) waits for every earlier call to finish and
//    holds back every later one until it is done;
//  - reads with no write pending run at once, concurrently, on other pooled
//    connections (that is the speed-up);
//  - a call that leaves its connection inside a transaction (BEGIN through
//    run/exec, SAVEPOINT…) pins that connection: every later call runs on it,
//    one at a time, until the transaction ends;
//  - serialize() runs each call only after the previous one finished;
//  - callbacks fire in the order the calls were made.
const EventEmitter = require('node:events');
const fs = require('node:fs');
const { Pool } = require('./index');

const PRIMARY_CODES = {
  0: 'OK', 1: 'ERROR', 2: 'INTERNAL', 3: 'PERM', 4: 'ABORT', 5: 'BUSY', 6: 'LOCKED', 7: 'NOMEM',
  8: 'READONLY', 9: 'INTERRUPT', 10: 'IOERR', 11: 'CORRUPT', 12: 'NOTFOUND', 13: 'FULL', 14: 'CANTOPEN',
  15: 'PROTOCOL', 16: 'EMPTY', 17: 'SCHEMA', 18: 'TOOBIG', 19: 'CONSTRAINT', 20: 'MISMATCH', 21: 'MISUSE',
  22: 'NOLFS', 23: 'AUTH', 24: 'FORMAT', 25: 'RANGE', 26: 'NOTADB',
};

const OPEN_READONLY = 0x00000001;
const OPEN_READWRITE = 0x00000002;
const OPEN_CREATE = 0x00000004;
const OPEN_FULLMUTEX = 0x00010000;
const OPEN_URI = 0x00000040;
const OPEN_SHAREDCACHE = 0x00020000;
const OPEN_PRIVATECACHE = 0x00040000;

/** node-sqlite3's error shape: `SQLITE_ERROR: no such table: t`, errno 1, code 'SQLITE_ERROR'. */
function sqliteError(errno, message) {
  const code = `SQLITE_${PRIMARY_CODES[errno] || 'ERROR'}`;
  const err = new Error(`${code}: ${message}`);
  err.errno = errno;
  err.code = code;
  err[CONVERTED] = true;
  return err;
}

const CONVERTED = Symbol('litepool.sqlite3.converted');

function fromPoolError(err) {
  if (err && !err[CONVERTED] && typeof err.errno === 'number') return sqliteError(err.errno & 0xff, err.message);
  return err;
}

/** Splits node-sqlite3's `(params..., callback)` / `([params], callback)` / `({$a}, callback)` forms. */
function splitArgs(args, callbacks) {
  args = Array.from(args);
  const fns = [];
  while (fns.length < callbacks && args.length && typeof args[args.length - 1] === 'function') {
    fns.unshift(args.pop());
  }
  while (args.length && args[args.length - 1] === undefined) args.pop();
  let params;
  if (args.length === 0) params = undefined;
  else if (args.length === 1 && Array.isArray(args[0])) params = args[0];
  else if (args.length === 1 && isNamed(args[0])) params = numericKeysToNames(args[0]);
  else params = args;
  return { params, fns };
}

function isNamed(v) {
  return v !== null && typeof v === 'object' && !Buffer.isBuffer(v) && !(v instanceof Date) && !ArrayBuffer.isView(v);
}

function numericKeysToNames(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) out[/^\d+$/.test(k) ? k : k] = v;
  return out;
}

function normalize(v) {
  return v instanceof Date ? v.getTime() : v;
}

function normalizeParams(params) {
  if (params === undefined) return undefined;
  if (Array.isArray(params)) return params.map(normalize);
  const out = {};
  for (const [k, v] of Object.entries(params)) out[k] = normalize(v);
  return out;
}

/** Runs the calls of one Database in node-sqlite3's observable order. */
class Scheduler {
  constructor(db) {
    this.db = db;
    this.pending = []; // not started yet, in issue order
    this.delivery = []; // started or not, callbacks not yet fired, in issue order
    this.running = 0;
    this.barrierRunning = false;
    this.pinned = null;
    this.serial = false;
  }

  push(op) {
    op.serial = op.serial || this.serial;
    this.pending.push(op);
    this.delivery.push(op);
    this.pump();
  }

  isBarrier(op) {
    if (op.serial || op.kind === 'exec' || op.kind === 'close' || op.kind === 'wait' || this.pinned) return true;
    if (this.db._pool === null) return true;
    const { control, readOnly } = this.db._pool.classify(op.sql);
    return control !== null || readOnly !== true;
  }

  pump() {
    while (this.pending.length) {
      const op = this.pending[0];
      const barrier = this.isBarrier(op);
      if (barrier ? this.running > 0 : this.barrierRunning) return;
      this.pending.shift();
      this.running++;
      if (barrier) this.barrierRunning = true;
      this.start(op, barrier);
      if (barrier) return;
    }
  }

  async start(op, barrier) {
    let result;
    let error = null;
    try {
      // Calls on one Statement run one after another (it is one cursor).
      if (op.after) await op.after;
      result = await this.execute(op);
    } catch (err) {
      error = fromPoolError(err);
    }
    if (op.finished) op.finished();
    op.done = true;
    op.error = error;
    op.result = result;
    this.running--;
    if (barrier) this.barrierRunning = false;
    this.deliver();
    this.pump();
  }

  async execute(op) {
    if (op.kind === 'close' || op.kind === 'wait') return op.run(null);
    const pool = this.db._pool;
    if (pool === null) throw sqliteError(21, 'Database is closed');
    if (this.pinned) {
      const conn = this.pinned;
      try {
        return await op.run(conn);
      } finally {
        if (!conn.inTransaction) {
          this.pinned = null;
          conn.release();
        }
      }
    }
    // Writes, scripts and transaction control take the write lane (the
    // pool's write gate), so a transaction pinned here keeps other writers
    // queued instead of colliding with them.
    const { control, readOnly } = op.kind === 'exec' ? { control: null, readOnly: false } : pool.classify(op.sql);
    const read = control === null && readOnly === true;
    const conn = await pool.acquire({ mode: read ? 'any' : 'write' });
    try {
      return await op.run(conn);
    } finally {
      if (conn.inTransaction) this.pinned = conn;
      else conn.release();
    }
  }

  deliver() {
    while (this.delivery.length && this.delivery[0].done) {
      const op = this.delivery.shift();
      try {
        op.callback(op.error, op.result);
      } catch (err) {
        process.nextTick(() => { throw err; });
      }
    }
  }
}

class Database extends EventEmitter {
  constructor(filename, mode, callback) {
    super();
    if (typeof mode === 'function') {
      callback = mode;
      mode = undefined;
    }
    if (typeof filename !== 'string') throw new TypeError('Filename must be a string');
    if (mode !== undefined && typeof mode !== 'number') throw new TypeError('Mode must be an integer');
    mode = mode === undefined ? OPEN_READWRITE | OPEN_CREATE | OPEN_FULLMUTEX : mode;
    this.filename = filename;
    this.mode = mode;
    this.open = false;
    this._pool = null;
    this._scheduler = new Scheduler(this);
    this._busyTimeout = 5000;
    let error = null;
    const path = filename === '' ? ':memory:' : filename;
    if (path !== ':memory:' && !(mode & OPEN_CREATE) && !fs.existsSync(path)) {
      error = sqliteError(14, 'unable to open database file');
    } else {
      try {
        const options = { strictParameters: false };
        if (mode & OPEN_READONLY) options.initSql = 'PRAGMA query_only = ON';
        this._pool = Pool.fromEnv(path, options);
      } catch (err) {
        error = fromPoolError(err);
      }
    }
    // node-sqlite3 opens on the threadpool: 'open' and the callback come later.
    process.nextTick(() => {
      if (error) {
        if (typeof callback === 'function') callback.call(this, error);
        else this.emit('error', error);
        return;
      }
      this.open = true;
      if (typeof callback === 'function') callback.call(this, null);
      this.emit('open');
    });
  }

  _schedule(op) {
    this._scheduler.push(op);
    return this;
  }

  _statementCall(kind, sql, args) {
    const callbacks = kind === 'each' ? 2 : 1;
    const { params, fns } = splitArgs(args, callbacks);
    const statement = new Statement(this, sql, null, true);
    statement._call(kind, normalizeParams(params), fns, true);
    return this;
  }

  run(sql, ...args) { return this._statementCall('run', sql, args); }
  get(sql, ...args) { return this._statementCall('get', sql, args); }
  all(sql, ...args) { return this._statementCall('all', sql, args); }
  each(sql, ...args) { return this._statementCall('each', sql, args); }
  map(sql, ...args) { return this._statementCall('map', sql, args); }

  exec(sql, callback) {
    return this._schedule({
      kind: 'exec',
      sql,
      run: (conn) => conn.exec(sql),
      callback: (err) => this._report(err, callback, this),
    });
  }

  prepare(sql, ...args) {
    const { params, fns } = splitArgs(args, 1);
    const statement = new Statement(this, sql, null, false);
    if (params !== undefined) {
      statement._prepare(null);
      statement.bind(params, fns[0]);
    } else {
      statement._prepare(fns[0]);
    }
    return statement;
  }

  serialize(callback) {
    const before = this._scheduler.serial;
    this._scheduler.serial = true;
    if (typeof callback === 'function') {
      try {
        callback();
      } finally {
        this._scheduler.serial = before;
      }
    }
    return this;
  }

  parallelize(callback) {
    const before = this._scheduler.serial;
    this._scheduler.serial = false;
    if (typeof callback === 'function') {
      try {
        callback();
      } finally {
        this._scheduler.serial = before;
      }
    }
    return this;
  }

  configure(option, value) {
    if (option === 'busyTimeout') {
      if (typeof value !== 'number') throw new TypeError('Value must be an integer');
      // The pool sets busy_timeout when it opens a connection (5000 ms, or
      // DB_POOL_BUSY_TIMEOUT); this is kept for compatibility.
      this._busyTimeout = value;
      return this;
    }
    if (option === 'limit' || option === 'trace' || option === 'profile') return this;
    throw new Error(`${option} is not a valid configuration option`);
  }

  wait(callback) {
    return this._schedule({
      kind: 'wait',
      sql: '',
      run: async () => undefined,
      callback: () => { if (typeof callback === 'function') callback.call(this, null); },
    });
  }

  interrupt() { return this; }
  loadExtension(path, callback) {
    process.nextTick(() => this._report(new Error('loadExtension is not supported by litepool'), callback, this));
    return this;
  }

  close(callback) {
    const scheduler = this._scheduler;
    return this._schedule({
      kind: 'close',
      sql: '',
      run: async () => {
        if (this._pool === null) throw sqliteError(21, 'Database is closed');
        const pool = this._pool;
        this._pool = null;
        if (scheduler.pinned) {
          scheduler.pinned.release();
          scheduler.pinned = null;
        }
        await pool.close();
      },
      callback: (err) => {
        if (!err) this.open = false;
        this._report(err, callback, this);
        if (!err) setImmediate(() => this.emit('close'));
      },
    });
  }

  _report(err, callback, self) {
    if (typeof callback === 'function') callback.call(self, err || null);
    else if (err) this.emit('error', err);
  }
}

class Statement extends EventEmitter {
  constructor(db, sql, callback, oneShot) {
    super();
    if (!(db instanceof Database)) throw new TypeError('Database object expected');
    if (typeof sql !== 'string') throw new TypeError('SQL query expected');
    this.sql = sql;
    this._db = db;
    this._oneShot = oneShot;
    this._params = undefined;
    this._rows = null; // get() cursor
    this._finalized = false;
    this._prepareError = null;
    this._last = undefined;
  }

  _prepare(callback) {
    this._push({
      kind: 'prepare',
      sql: this.sql,
      run: (conn) => conn.prepare(this.sql),
      callback: (err) => {
        if (err) this._prepareError = err;
        if (callback === null) return;
        this._report(err, callback);
      },
    });
  }

  /** Queues a call of this statement behind its previous one. */
  _push(op) {
    if (op.kind !== 'prepare') {
      // As node-sqlite3: once preparing failed (and said so), later calls
      // on the statement are dropped without a callback.
      const callback = op.callback;
      op.callback = (err, result) => {
        if (!this._prepareError) callback(err, result);
      };
    }
    op.after = this._last;
    this._last = new Promise((resolve) => { op.finished = resolve; });
    this._db._schedule(op);
  }

  _schedule(kind, callback, effect) {
    this._push({
      kind,
      sql: this.sql,
      run: async () => { if (effect) effect(); },
      callback: (err) => this._report(err || this._prepareError, callback),
    });
  }

  bind(...args) {
    const { params, fns } = splitArgs(args, 1);
    const bound = normalizeParams(params);
    this._schedule('bind', fns[0], () => {
      this._params = bound;
      this._rows = null;
    });
    return this;
  }

  reset(callback) {
    this._schedule('reset', callback, () => { this._rows = null; });
    return this;
  }

  finalize(callback) {
    this._push({
      kind: 'finalize',
      sql: this.sql,
      run: async () => { this._finalized = true; },
      callback: (err) => { if (typeof callback === 'function') callback.call(this, err || null); },
    });
    return this._db;
  }

  run(...args) { return this._method('run', args, 1); }
  get(...args) { return this._method('get', args, 1); }
  all(...args) { return this._method('all', args, 1); }
  each(...args) { return this._method('each', args, 2); }
  map(...args) { return this._method('map', args, 1); }

  _method(kind, args, callbacks) {
    const { params, fns } = splitArgs(args, callbacks);
    this._call(kind, normalizeParams(params), fns, false);
    return this;
  }

  _call(kind, params, fns, oneShot) {
    const db = this._db;
    const rebind = params !== undefined;
    const sql = this.sql;
    let run;
    const bindNow = () => {
      if (oneShot) return params;
      if (rebind) {
        this._params = params;
        this._rows = null;
      }
      return this._params;
    };
    let bound;
    if (kind === 'run') run = (conn) => conn.run(sql, bound);
    else if (kind === 'get' && !oneShot) {
      run = async (conn) => {
        if (this._rows === null) this._rows = { rows: await conn.all(sql, bound), next: 0 };
        const cursor = this._rows;
        return cursor.next < cursor.rows.length ? cursor.rows[cursor.next++] : undefined;
      };
    } else if (kind === 'get') run = (conn) => conn.get(sql, bound);
    else run = (conn) => conn.all(sql, bound);
    const op = {
      kind,
      sql,
      run: async (conn) => {
        if (this._prepareError) throw this._prepareError;
        if (this._finalized && !oneShot) throw sqliteError(21, 'Statement is already finalized');
        bound = bindNow();
        return run(conn);
      },
      callback: (err, result) => this._finish(kind, err, result, fns),
    };
    if (oneShot) db._schedule(op);
    else this._push(op);
  }

  _finish(kind, err, result, fns) {
    const callback = fns[0];
    if (err) {
      if (kind === 'each') {
        const complete = fns[1];
        if (typeof callback === 'function') return callback.call(this, err);
        if (typeof complete === 'function') return complete.call(this, err);
        return this._error(err);
      }
      return this._report(err, callback);
    }
    if (kind === 'run') {
      this.lastID = result.lastInsertRowid;
      this.changes = result.changes;
      if (typeof callback === 'function') callback.call(this, null);
      return undefined;
    }
    if (kind === 'get') {
      if (typeof callback === 'function') callback.call(this, null, result);
      return undefined;
    }
    if (kind === 'all') {
      if (typeof callback === 'function') callback.call(this, null, result);
      return undefined;
    }
    if (kind === 'map') {
      const out = {};
      for (const row of result) {
        const keys = Object.keys(row);
        out[row[keys[0]]] = keys.length === 2 ? row[keys[1]] : row;
      }
      if (typeof callback === 'function') callback.call(this, null, out);
      return undefined;
    }
    // each
    const complete = fns[1];
    if (typeof callback === 'function') for (const row of result) callback.call(this, null, row);
    if (typeof complete === 'function') complete.call(this, null, result.length);
    return undefined;
  }

  _report(err, callback) {
    if (typeof callback === 'function') callback.call(this, err || null);
    else if (err) this._error(err);
  }

  _error(err) {
    if (this._oneShot) this._db.emit('error', err);
    else this.emit('error', err);
  }
}

let versionCache = null;
function sqliteVersion() {
  if (versionCache === null) {
    const pool = new Pool(':memory:', { max: 1, min: 0 });
    const row = pool.getSync('SELECT sqlite_version() AS v, sqlite_source_id() AS s');
    pool.close().catch(() => {});
    const [a, b, c] = row.v.split('.').map(Number);
    versionCache = { VERSION: row.v, SOURCE_ID: row.s, VERSION_NUMBER: a * 1000000 + b * 1000 + (c || 0) };
  }
  return versionCache;
}

const sqlite3 = {
  Database,
  Statement,
  OPEN_READONLY,
  OPEN_READWRITE,
  OPEN_CREATE,
  OPEN_FULLMUTEX,
  OPEN_URI,
  OPEN_SHAREDCACHE,
  OPEN_PRIVATECACHE,
  cached: {
    objects: {},
    Database(file, mode, callback) {
      const key = String(file);
      let db = sqlite3.cached.objects[key];
      if (!db) db = sqlite3.cached.objects[key] = new Database(file, mode, callback);
      else if (typeof (typeof mode === 'function' ? mode : callback) === 'function') {
        const cb = typeof mode === 'function' ? mode : callback;
        process.nextTick(() => cb.call(db, null));
      }
      return db;
    },
  },
  verbose() {
    return sqlite3;
  },
};
for (const [num, name] of Object.entries(PRIMARY_CODES)) sqlite3[name] = Number(num);
for (const key of ['VERSION', 'SOURCE_ID', 'VERSION_NUMBER']) {
  Object.defineProperty(sqlite3, key, { enumerable: true, get: () => sqliteVersion()[key] });
}

module.exports = sqlite3;
