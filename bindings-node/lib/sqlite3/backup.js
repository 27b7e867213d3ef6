'use strict';
// node-sqlite3's `Backup` (`db.backup(...)`): an online backup between the
// Database's file and another, in steps, on a pooled connection of its own
// (so TEMP and attached schemas of the Database are not visible to it; see
// the README). A restore (filenameIsDest false) holds the pool's write gate.
const EventEmitter = require('node:events');
const { Database, invoke, hide } = require('./database');
const { sqliteError, fromNative, TEXTS } = require('./errors');
const { optionalFunction } = require('./args');

const unfinished = new FinalizationRegistry((db) => {
  db._unfinalized--;
});

/** `new Backup(db, filename, sourceName, destName, filenameIsDest, [callback])`. */
function Backup(db, filename, sourceName, destName, filenameIsDest, callback) {
  if (!new.target) throw new TypeError('Use the new operator to create new Backup objects');
  const n = arguments.length;
  if (n <= 0 || !(db instanceof Database)) throw new TypeError('Database object expected');
  if (n <= 1 || typeof filename !== 'string') throw new TypeError('Filename expected');
  if (n <= 2 || typeof sourceName !== 'string') throw new TypeError('Source database name expected');
  if (n <= 3 || typeof destName !== 'string') throw new TypeError('Destination database name expected');
  if (n <= 4 || typeof filenameIsDest !== 'boolean') throw new TypeError('Direction flag expected');
  if (n > 5 && callback !== undefined && typeof callback !== 'function') throw new TypeError('Callback expected');
  for (const [k, v] of [['filename', filename], ['sourceName', sourceName], ['destName', destName], ['filenameIsDest', filenameIsDest]]) {
    Object.defineProperty(this, k, { value: v });
  }
  hide(this, {
    _db: db,
    _native: null,
    _queue: [],
    _inited: false,
    _locked: false,
    _finished: false,
    _completed: false,
    _failed: false,
    _remaining: -1,
    _pageCount: -1,
    _retryErrors: undefined,
    _token: {},
  });
  db._unfinalized++;
  unfinished.register(this, db, this._token);
  const backup = this;
  db._issue({
    kind: 'backup',
    oneShot: (handle) => handle.backup(filename, sourceName, destName, filenameIsDest),
    finish: (err, native) => {
      if (err) {
        backup._error(err, callback);
        backup._finishAll();
        return;
      }
      backup._native = native;
      backup._inited = true;
      if (typeof callback === 'function') invoke(callback, backup, null);
      backup._process();
    },
    refused: (err) => {
      if (typeof callback === 'function') invoke(callback, backup, err);
      else backup.emit('error', err);
      backup._finishAll();
      return true;
    },
  });
}

for (const k in EventEmitter.prototype) Backup.prototype[k] = EventEmitter.prototype[k];

for (const [name, field] of [['idle', null], ['completed', '_completed'], ['failed', '_failed'], ['remaining', '_remaining'], ['pageCount', '_pageCount']]) {
  Object.defineProperty(Backup.prototype, name, {
    configurable: true,
    get() {
      if (field === null) return this._inited && !this._locked && this._queue.length === 0;
      return this[field];
    },
  });
}

Object.defineProperty(Backup.prototype, 'retryErrors', {
  configurable: true,
  get() {
    return this._retryErrors;
  },
  set(value) {
    if (!Array.isArray(value)) throw new Error('retryErrors must be an array');
    this._retryErrors = value;
  },
});

Backup.prototype._error = function _error(err, callback) {
  if (typeof callback === 'function') invoke(callback, this, err);
  else this.emit('error', err);
};

Backup.prototype._schedule = function _schedule(work) {
  this._queue.push(work);
  if (this._finished) return this._cleanQueue();
  return this._process();
};

Backup.prototype._process = function _process() {
  if (this._finished && this._queue.length) return this._cleanQueue();
  while (this._inited && !this._locked && this._queue.length) this._queue.shift()();
  return undefined;
};

Backup.prototype._cleanQueue = function _cleanQueue() {
  const queued = this._queue.splice(0);
  if (!this._inited || queued.length === 0) return undefined;
  const err = sqliteError(21, 'Backup is already finished');
  let called = false;
  for (const work of queued) {
    if (typeof work.callback === 'function') {
      invoke(work.callback, this, err);
      called = true;
    }
  }
  if (!called) this.emit('error', err);
  return undefined;
};

/** Runs `start()` (a promise) as one of the Database's calls in flight. */
Backup.prototype._work = function _work(start, done) {
  this._locked = true;
  const db = this._db;
  db._oneShot++;
  start().then(
    (v) => this._done(done, null, v),
    (e) => this._done(done, e),
  );
};

Backup.prototype._done = function _done(done, err, v) {
  this._locked = false;
  this._db._oneShot--;
  try {
    done(err, v);
  } catch (thrown) {
    process.nextTick(() => {
      throw thrown;
    });
  }
  this._process();
  this._db._pump();
};

Backup.prototype.step = function step(pages, ...rest) {
  if (arguments.length < 1 || typeof pages !== 'number') throw new TypeError('Argument 0 must be an integer');
  const callback = optionalFunction(arguments, 1);
  void rest;
  const retry = new Set((Array.isArray(this._retryErrors) ? this._retryErrors : []).filter((c) => typeof c === 'number').map((c) => c | 0));
  const work = () => this._work(() => this._native.step(pages | 0), (err, out) => {
    let status;
    let message;
    if (err) {
      const e = fromNative(err);
      status = e.errno;
      message = TEXTS[status] || e.message.replace(/^SQLITE_[A-Z]+: /, '');
    } else {
      [status, this._remaining, this._pageCount] = out;
      status = status === 0 ? 0 : status === 1 ? 101 : status;
      message = TEXTS[status];
    }
    if (status === 101) {
      this._completed = true;
    } else if (status !== 0 && retry.size > 0 && !retry.has(status)) {
      this._native.finish();
      this._failed = true;
    }
    if (status !== 0 && status !== 101) this._error(sqliteError(status, message), callback);
    else if (typeof callback === 'function') invoke(callback, this, null, status === 101);
  });
  work.callback = callback;
  this._schedule(work);
  return this;
};

Backup.prototype.finish = function finish() {
  const callback = optionalFunction(arguments, 0);
  const work = () => this._work(() => Promise.resolve(this._native && this._native.finish()), () => {
    this._finishAll();
    if (typeof callback === 'function') invoke(callback, this);
  });
  work.callback = callback;
  this._schedule(work);
  return this;
};

Backup.prototype._finishAll = function _finishAll() {
  if (this._finished) return;
  if (!this._completed && !this._failed) this._failed = true;
  this._finished = true;
  this._cleanQueue();
  if (this._native) this._native.finish();
  this._db._unfinalized--;
  unfinished.unregister(this._token);
};

/** `db.backup(filename, [callback])` or `db.backup(filename, destName, sourceName, filenameIsDest, [callback])`. */
Database.prototype.backup = function backup(...args) {
  const b = args.length <= 2
    ? new Backup(this, args[0], 'main', 'main', true, args[1])
    : new Backup(this, args[0], args[1], args[2], args[3], args[4]);
  b.retryErrors = [5, 6];
  return b;
};

module.exports = { Backup };
