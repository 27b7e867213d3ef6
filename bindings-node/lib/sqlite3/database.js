'use strict';
// node-sqlite3's `Database`, over the pool every Database on the same file
// shares (backends.js).
//
// Where each call runs (the design, also in README "differences"):
//  - A read the pool knows changes no connection state runs as a one-shot
//    call on any pooled connection, concurrently with other reads — unless
//    the Database has calls queued on its own connection (below), in which
//    case it queues behind them and so sees their writes.
//  - Everything else — writes, statements not seen yet, transaction
//    control, pragmas, TEMP objects, ATTACH, scripts (`exec`), every call
//    under `serialize()` — runs on the Database's own connection, a lease
//    held while such calls are in flight: in the order they were made, one
//    at a time, with no round trip through JS between them.
//  - A Database whose calls created connection state (a TEMP table, an
//    attachment, a pragma, a loaded extension) keeps that connection for
//    the rest of its life; one inside a transaction keeps it until the
//    transaction ends. Its later calls all run there and see that state,
//    as on node-sqlite3's single connection.
//  - A deferred `BEGIN` on that connection runs as `BEGIN IMMEDIATE` (set
//    `sqlite3.immediateTransactions = false` before opening to keep it
//    deferred): the transaction takes the pool's write gate for its whole
//    length, so the read-modify-write transactions ORMs open with `BEGIN`
//    wait their turn instead of failing with SQLITE_BUSY.
//  - Plain writes (INSERT/UPDATE/DELETE/REPLACE) queued one after another
//    on that connection outside a transaction commit together: one commit
//    for many, and no difference a caller can see — each succeeds or fails alone, every callback comes after the
//    commit (set `sqlite3.groupWrites = false` to commit each alone).
//  - exec / close / wait / loadExtension wait for the calls before them, as
//    node-sqlite3's exclusive calls do; `serialize()` calls wait for one-shot
//    reads in flight, then queue on the Database's connection.
// Callbacks get node-sqlite3's arguments, `this` and error objects; each call
// keeps the async context (AsyncLocalStorage) it was made in.
const { AsyncResource } = require('node:async_hooks');
const fs = require('node:fs');
const EventEmitter = require('node:events');
const { DatabaseHandle, SqlText } = require('../index');
const backends = require('./backends');
const { sqliteError, fromNative } = require('./errors');
const { optionalFunction, requireString, isInt32 } = require('./args');

/** A Database dropped without close() lets go of its share of the pool. */
const unclosed = new FinalizationRegistry((backend) => {
  backends.release(backend).catch(() => {});
});

const OPEN_READONLY = 0x00000001;
const OPEN_READWRITE = 0x00000002;
const OPEN_CREATE = 0x00000004;
const OPEN_FULLMUTEX = 0x00010000;

/** Native op codes (src/sqlite3.rs). */
const OP = { run: 0, get: 1, all: 2, prepare: 3, exec: 4 };

/** How module-level settings are read (set by lib/sqlite3.js). */
const settings = { immediateTransactions: true, groupWrites: true };

/**
 * Sets `fields` as own properties left out of `Object.keys` (node-sqlite3's
 * objects show none of their own state).
 */
function hide(obj, fields) {
  for (const [key, value] of Object.entries(fields)) {
    Object.defineProperty(obj, key, { value, writable: true, configurable: true, enumerable: false });
  }
}

/** Calls a user callback; an exception it throws is uncaught, as from node-sqlite3. */
function invoke(fn, self, ...args) {
  try {
    fn.apply(self, args);
  } catch (err) {
    process.nextTick(() => {
      throw err;
    });
  }
}

/**
 * `new Database(filename, [mode], [callback])`: opens the pool for
 * `filename` (shared with other Databases on the same file; configured by
 * `DB_POOL_*`). `'open'` and the callback come on a later tick.
 */
function Database(filename, mode, callback) {
  if (!new.target) throw new TypeError("Class constructors cannot be invoked without 'new'");
  if (typeof filename !== 'string') throw new TypeError('String expected');
  let pos = 1;
  if (isInt32(arguments[pos])) {
    mode = arguments[pos++];
  } else {
    mode = OPEN_READWRITE | OPEN_CREATE | OPEN_FULLMUTEX;
  }
  callback = typeof arguments[pos] === 'function' ? arguments[pos] : undefined;
  Object.defineProperty(this, 'filename', { value: filename });
  Object.defineProperty(this, 'mode', { value: mode });

  hide(this, {
    _backend: null,
    _handle: null,
    _state: 'opening', // opening | open | closing | closed | failed
    _serialize: false,
    _held: [], // calls waiting (for open, a barrier, or their turn), in order
    _oneShot: 0, // one-shot calls in flight
    _sessionCalls: 0, // calls queued on the Database's connection
    _session: null, // null | Promise (opening) | true (open)
    _statePinned: false,
    _txOpen: false,
    _lingering: false,
    _unfinalized: 0, // prepared statements and backups not finished (close refuses)
    _activeStatements: 0, // prepared statements with calls running or queued
    _hooks: { traceReg: false, profileReg: false, changeReg: false, trace: false, profile: false },
    _immediate: settings.immediateTransactions,
    _groupWrites: settings.groupWrites,
  });

  let error = null;
  const memory = filename === '' || filename === ':memory:';
  const readOnly = (mode & OPEN_READONLY) !== 0;
  if (!memory && !filename.startsWith('file:') && !(mode & OPEN_CREATE) && !fs.existsSync(filename)) {
    error = sqliteError(14, 'unable to open database file');
  } else {
    try {
      this._backend = backends.acquire(filename);
      this._handle = new DatabaseHandle(this._backend.pool, readOnly);
      unclosed.register(this, this._backend, this);
    } catch (err) {
      if (this._backend !== null && this._handle === null) backends.release(this._backend).catch(() => {});
      error = fromNative(err);
    }
  }
  // node-sqlite3 opens on the threadpool: 'open' and the callback come later.
  process.nextTick(() => {
    if (error) {
      this._state = 'failed';
      if (typeof callback === 'function') invoke(callback, this, error);
      else this.emit('error', error);
      return;
    }
    this._state = 'open';
    if (typeof callback === 'function') invoke(callback, this, null);
    this.emit('open');
    this._pump();
  });
}

// As node-sqlite3 does: EventEmitter's methods copied onto the prototype
// (the constructor never runs EventEmitter's).
for (const k in EventEmitter.prototype) Database.prototype[k] = EventEmitter.prototype[k];

Object.defineProperty(Database.prototype, 'open', {
  configurable: true,
  get() {
    return this._state === 'open' || this._state === 'closing';
  },
});

// ---------------------------------------------------------------------------
// Scheduling

/** Queues `op` behind the calls before it and starts what may start. */
Database.prototype._issue = function _issue(op) {
  if (this._state === 'closed') return this._refuseClosed(op);
  if (op.bypass && this._state === 'open') {
    // A prepared statement's call starts as soon as the statement is free,
    // whatever waits on the Database (node-sqlite3 does not queue it there;
    // exclusive calls wait for it as for any call in flight).
    op.state = 'started';
    this._start(op, this._serialize || this._placement(op) !== 'oneShot' ? 'session' : 'oneShot');
    return undefined;
  }
  if (this._state === 'open' && op.kind === 'statement' && !op.serialize) {
    // As node-sqlite3: an ordinary call does not wait behind exclusive calls
    // that have not started yet (one that has holds the Database's
    // connection, where this call then queues behind it).
    op.state = 'started';
    this._start(op, this._placement(op));
    return undefined;
  }
  this._held.push(op);
  this._pump();
  // Still waiting: remember the caller's async context for when it starts.
  if (op.state !== 'started' && op.resource === undefined) op.resource = new AsyncResource('sqlite3.Database');
  return undefined;
};

/** Starts held calls in order, up to the first that has to wait. */
Database.prototype._pump = function _pump() {
  while (this._state === 'open' && this._held.length) {
    const op = this._held[0];
    const where = this._placement(op);
    if (where === null) return;
    this._held.shift();
    op.state = 'started';
    if (op.resource) op.resource.runInAsyncScope(this._start, this, op, where);
    else this._start(op, where);
  }
};

/**
 * Where `op` runs now: 'oneShot', 'session', 'here' (in JS), or null (it
 * waits for the calls in flight).
 */
Database.prototype._placement = function _placement(op) {
  switch (op.kind) {
    case 'wait':
    case 'close':
      return this._oneShot + this._sessionCalls + this._activeStatements === 0 ? 'here' : null;
    case 'exec':
    case 'loadExtension':
      // Exclusive, as in node-sqlite3: starts once nothing is in flight
      // (calls made meanwhile may go first).
      return this._oneShot + this._sessionCalls + this._activeStatements === 0 ? 'session' : null;
    case 'backup':
      return 'oneShot';
    default:
      if (op.serialize) return this._oneShot + this._activeStatements === 0 ? 'session' : null;
      if (this._statePinned || this._txOpen || this._sessionCalls > 0) return 'session';
      return this._route(op.sql) === 1 ? 'oneShot' : 'session';
  }
};

/** SQL texts remembered per pool (what the pool learned, the native text). */
const KEPT_TEXTS = 2048;

/**
 * What the Database's pool knows of `sql`: `{ route, text }` — route 1 a
 * read safe on any connection, 2 needs the Database's own, 0 not known yet;
 * `text` the native SqlText, made once, that calls pass instead of the string.
 */
Database.prototype._sql = function _sql(sql) {
  const texts = this._backend.routes;
  let entry = texts.get(sql);
  if (entry === undefined) {
    if (texts.size >= KEPT_TEXTS) texts.clear();
    entry = { route: 0, text: new SqlText(sql) };
    texts.set(sql, entry);
  }
  if (entry.route === 0) entry.route = this._handle.route(sql);
  return entry;
};

/** 1: a read safe on any connection; 2: needs the Database's own; 0: unknown yet. */
Database.prototype._route = function _route(sql) {
  return this._sql(sql).route;
};

Database.prototype._start = function _start(op, where) {
  if (op.started !== undefined) op.started();
  if (where === 'here') return op.run(this);
  let promise;
  if (where === 'oneShot') {
    this._oneShot++;
    promise = op.oneShot(this._handle);
  } else {
    this._sessionCalls++;
    promise = this._withSession((handle) => op.session(handle));
  }
  promise.then(
    (value) => this._completed(op, where, null, value),
    (err) => this._completed(op, where, err),
  );
  return undefined;
};

/** Runs `submit(handle)` once the Database's connection is leased, in call order. */
Database.prototype._withSession = function _withSession(submit) {
  this._lingering = false;
  if (this._session === true) return submit(this._handle);
  if (this._session === null) {
    const site = this._backend.leakSites ? new Error('sqlite3.Database connection leased here').stack : undefined;
    this._session = this._handle.open(this._immediate, this._groupWrites, site).then(() => {
      this._session = true;
    });
  }
  return this._session.then(() => submit(this._handle));
};

Database.prototype._completed = function _completed(op, where, raw, value) {
  // Whether it failed while preparing (node-sqlite3 reports that apart).
  const atPrepare = raw !== null && raw !== undefined && raw.prepareFailed === true;
  const err = raw === null ? null : fromNative(raw);
  let result = value;
  if (where === 'oneShot') {
    this._oneShot--;
  } else {
    this._sessionCalls--;
    if (err === null && Array.isArray(value)) {
      result = value[0];
      if (value[1] & 1) this._statePinned = true;
      this._txOpen = (value[1] & 2) !== 0;
    } else if (this._handle !== null) {
      this._txOpen = this._handle.inTransaction;
    }
    if (op.pins && err === null) this._statePinned = true;
  }
  try {
    op.finish(err, result, atPrepare);
  } catch (thrown) {
    // An 'error' nobody listens to (or a callback's exception): uncaught, as
    // from node-sqlite3, not a rejected promise.
    process.nextTick(() => {
      throw thrown;
    });
  }
  if (this._sessionCalls === 0 && this._session === true) this._linger();
  this._pump();
};

/**
 * The Database's connection, idle: handed back to the pool after this turn
 * of the event loop unless a call arrived meanwhile (a loop of awaited
 * calls keeps it), or kept while it holds state or a transaction.
 */
Database.prototype._linger = function _linger() {
  if (this._statePinned || this._txOpen || this._lingering) return;
  this._lingering = true;
  setImmediate(() => {
    if (!this._lingering || this._sessionCalls > 0 || this._statePinned || this._handle === null) return;
    if (this._handle.inTransaction) {
      this._txOpen = true;
      return;
    }
    this._lingering = false;
    this._session = null;
    this._handle.release();
  });
};

/**
 * Registers `onRows` for an `each` call; returns its id. The rows of every
 * `each` of the Database come through one native listener, by id.
 */
Database.prototype._rowsFor = function _rowsFor(onRows) {
  if (this._rows === undefined) {
    hide(this, { _rows: new Map(), _nextRows: 0 });
    // The listener holds the Database weakly: a dropped Database is collected.
    const ref = new WeakRef(this);
    this._handle.setRowsListener((id, rows) => {
      const db = ref.deref();
      const handler = db && db._rows.get(id);
      if (handler) handler(rows);
    });
  }
  this._nextRows = (this._nextRows + 1) >>> 0;
  this._rows.set(this._nextRows, onRows);
  return this._nextRows;
};

/** After close: node-sqlite3 refuses at once, synchronously. */
Database.prototype._refuseClosed = function _refuseClosed(op) {
  const err = sqliteError(21, 'Database is closed');
  if (!op.refused(err)) this.emit('error', err);
};

// ---------------------------------------------------------------------------
// Database#exec, #wait, #close, #configure, #serialize, #parallelize, #interrupt

Database.prototype.exec = function exec(sql) {
  requireString(arguments, 0);
  const callback = optionalFunction(arguments, 1);
  const db = this;
  const report = (err) => {
    if (typeof callback === 'function') invoke(callback, db, err);
    else if (err) db.emit('error', err);
  };
  this._issue({
    kind: 'exec',
    session: (handle) => handle.sessionCall(OP.exec, sql),
    finish: (err) => report(err),
    refused: (err) => (typeof callback === 'function' ? (invoke(callback, db, err), true) : false),
  });
  return this;
};

Database.prototype.wait = function wait() {
  const callback = optionalFunction(arguments, 0);
  this._issue({
    kind: 'wait',
    run: (db) => {
      if (typeof callback === 'function') invoke(callback, db, null);
    },
    refused: (err) => (typeof callback === 'function' ? (invoke(callback, this, err), true) : false),
  });
  return this;
};

Database.prototype.close = function close() {
  const callback = optionalFunction(arguments, 0);
  this._issue({
    kind: 'close',
    run: (db) => db._close(callback),
    refused: (err) => (typeof callback === 'function' ? (invoke(callback, this, err), true) : false),
  });
  return this;
};

Database.prototype._close = function _close(callback) {
  this._state = 'closing';
  this._setHooks(false, false, false); // node-sqlite3 removes them before closing
  this._hooks.traceReg = this._hooks.profileReg = this._hooks.changeReg = false;
  if (this._unfinalized > 0) {
    this._state = 'open';
    const err = sqliteError(5, 'unable to close due to unfinalized statements or unfinished backups');
    if (typeof callback === 'function') invoke(callback, this, err);
    else this.emit('error', err);
    this._pump();
    return;
  }
  const handle = this._handle;
  this._handle = null;
  this._session = null;
  handle.release();
  unclosed.unregister(this);
  const done = () => {
    this._state = 'closed';
    if (typeof callback === 'function') invoke(callback, this, null);
    this.emit('close');
    // Calls made while closing: node-sqlite3 fails them all.
    const held = this._held.splice(0);
    const err = sqliteError(21, 'Database handle is closed');
    let called = false;
    for (const op of held) called = op.refused(err) || called;
    if (held.length && !called) this.emit('error', err);
  };
  backends.release(this._backend).then(done, done);
};

Database.prototype.serialize = function serialize() {
  const callback = optionalFunction(arguments, 0);
  const before = this._serialize;
  this._serialize = true;
  if (typeof callback === 'function') {
    callback.call(this);
    this._serialize = before;
  }
  this._pump();
  return this;
};

Database.prototype.parallelize = function parallelize() {
  const callback = optionalFunction(arguments, 0);
  const before = this._serialize;
  this._serialize = false;
  if (typeof callback === 'function') {
    callback.call(this);
    this._serialize = before;
  }
  this._pump();
  return this;
};

Database.prototype.configure = function configure(option, value) {
  if (arguments.length < 2) throw new TypeError('Expected 2arguments');
  const h = this._hooks;
  if (option === 'trace') {
    // As sqlite3_trace and sqlite3_profile do: registering one silences the
    // other; each call toggles its own registration.
    h.traceReg = !h.traceReg;
    h.trace = h.traceReg;
    h.profile = false;
  } else if (option === 'profile') {
    h.profileReg = !h.profileReg;
    h.profile = h.profileReg;
    h.trace = false;
  } else if (option === 'change') {
    h.changeReg = !h.changeReg;
  } else if (option === 'busyTimeout') {
    if (typeof value !== 'number') throw new TypeError('Value must be an integer');
    this._config((handle) => handle.setBusyTimeout(value | 0));
    return this;
  } else if (option === 'limit') {
    if (arguments.length < 3) throw new TypeError('Expected 3arguments');
    if (typeof value !== 'number') throw new TypeError('limit id must be an integer');
    if (typeof arguments[2] !== 'number') throw new TypeError('limit value must be an integer');
    const v = arguments[2] | 0;
    this._config((handle) => handle.setLimit(value | 0, v));
    return this;
  } else {
    throw new TypeError(`${option} is not a valid configuration option`);
  }
  this._setHooks(h.trace, h.profile, h.changeReg);
  return this;
};

Database.prototype._config = function _config(apply) {
  if (this._handle !== null) apply(this._handle);
};

Database.prototype._setHooks = function _setHooks(trace, profile, change) {
  if (this._handle === null) return;
  const emit = (kind, a, b, c, d) => {
    if (kind === 0) this.emit('trace', a);
    else if (kind === 1) this.emit('profile', a, b);
    else this.emit('change', a, b, c, d);
  };
  this._handle.setHooks(trace, profile, change, trace || profile || change ? emit : undefined);
};

Database.prototype.interrupt = function interrupt() {
  if (this._state === 'closing') throw new Error('Database is closing');
  if (this._state !== 'open') throw new Error('Database is not open');
  this._handle.interrupt();
  return this;
};

Database.prototype.loadExtension = function loadExtension() {
  const filename = requireString(arguments, 0);
  const callback = optionalFunction(arguments, 1);
  const db = this;
  this._issue({
    kind: 'loadExtension',
    pins: true,
    session: (handle) => handle.loadExtension(filename),
    finish: (err) => {
      if (typeof callback === 'function') invoke(callback, db, err);
      else if (err) db.emit('error', err);
    },
    refused: (err) => (typeof callback === 'function' ? (invoke(callback, db, err), true) : false),
  });
  return this;
};

// node-sqlite3's trace/profile/change events: a listener turns the hook on
// (each call toggles it, as node-sqlite3's configure does).
const HOOK_EVENTS = ['trace', 'profile', 'change'];

Database.prototype.addListener = Database.prototype.on = function on(type) {
  const out = EventEmitter.prototype.addListener.apply(this, arguments);
  if (HOOK_EVENTS.includes(type)) this.configure(type, true);
  return out;
};

Database.prototype.removeListener = function removeListener(type) {
  const out = EventEmitter.prototype.removeListener.apply(this, arguments);
  if (HOOK_EVENTS.includes(type) && !(this._events && this._events[type])) this.configure(type, false);
  return out;
};

Database.prototype.removeAllListeners = function removeAllListeners(type) {
  const out = EventEmitter.prototype.removeAllListeners.apply(this, arguments);
  if (HOOK_EVENTS.includes(type)) this.configure(type, false);
  return out;
};

module.exports = { Database, OP, settings, invoke, hide };
