'use strict';
// node-sqlite3's `Statement`, and the Database methods built on it.
//
// A Statement made by `db.prepare()` (or `new Statement(db, sql)`) is
// prepared once, through the Database like any call, and then runs its
// calls one at a time, in order; its bindings persist between calls, and
// `get()` steps through the rows (fetched at the first `get`). The one-call
// methods (`db.run/get/all/each/map`) prepare and run in one call.
const EventEmitter = require('node:events');
const { AsyncResource } = require('node:async_hooks');
const { Database, OP, invoke, hide } = require('./database');

/** With an op code: bind only the values that fit (src/sqlite3.rs). */
const PARTIAL = 0x100;
const { sqliteError, fromNative } = require('./errors');
const { bindArgs, optionalFunction } = require('./args');

const unfinalized = new FinalizationRegistry((db) => {
  db._unfinalized--;
});

/**
 * `new Statement(db, sql, [callback])`: prepares `sql` through `db`, then
 * `callback(err)` (`db.prepare` passes one that only hears of failures).
 */
function Statement(db, sql, callback) {
  if (!new.target) throw new TypeError("Class constructors cannot be invoked without 'new'");
  if (!(db instanceof Database)) throw new TypeError('Database object expected');
  if (typeof sql !== 'string') throw new TypeError('SQL query expected');
  if (arguments.length > 2 && callback !== undefined && typeof callback !== 'function') {
    throw new TypeError('Callback expected');
  }
  init(this, db, sql);
  hide(this, {
    _queue: [],
    _prepared: false,
    _finalized: false,
    _busy: true, // until prepared
    _started: false, // its prepare left the Database's queue
    _active: false,
    _params: undefined, // the bindings in force
    _rows: null, // get()'s cursor: { rows, next }
    _done: false, // stepped to the end (get() then returns no row until reset)
    _skip: 0, // rows a run() stepped past, for the next get()
    _partial: false, // a bind() failed: only the values that fitted are bound
    _token: {},
  });
  db._unfinalized++;
  unfinalized.register(this, db, this._token);
  const stmt = this;
  db._issue({
    kind: 'statement',
    sql,
    serialize: db._serialize,
    oneShot: (handle) => handle.call(OP.prepare, db._sql(sql).text),
    session: (handle) => handle.sessionCall(OP.prepare, db._sql(sql).text),
    started: () => {
      stmt._started = true;
      stmt._activity();
    },
    finish: (err) => {
      if (err) {
        stmt._report(err, callback);
        stmt._finalize();
        stmt._queue.length = 0; // dropped without a word, as node-sqlite3 does
        stmt._busy = false;
        stmt._activity();
        return;
      }
      stmt._prepared = true;
      if (typeof callback === 'function') invoke(callback, stmt, null);
      stmt._next();
    },
    refused: (err) => {
      if (typeof callback === 'function') {
        invoke(callback, undefined, err);
        return true;
      }
      return false;
    },
  });
}

for (const k in EventEmitter.prototype) Statement.prototype[k] = EventEmitter.prototype[k];

function init(stmt, db, sql) {
  Object.defineProperty(stmt, 'sql', { value: sql });
  Object.defineProperty(stmt, '_db', { value: db });
}

const SQL = Symbol('sql');
const DB = Symbol('db');

/**
 * The statement of a one-call method (prepared and finalized with its
 * call): a Statement whose `sql` and Database are kept under symbols, so
 * that making one per call costs no property definitions.
 */
function OneCall(db, sql) {
  this[DB] = db;
  this[SQL] = sql;
}
OneCall.prototype = Object.create(Statement.prototype, {
  sql: { get() { return this[SQL]; }, configurable: true },
  _db: { get() { return this[DB]; }, configurable: true },
  constructor: { value: Statement, writable: true, configurable: true },
});

/** A statement for a one-call method. */
function oneCall(db, sql) {
  if (typeof sql !== 'string') throw new TypeError('SQL query expected');
  return new OneCall(db, sql);
}

/** Reports `err` as node-sqlite3 does: to the callback, else as the statement's 'error'. */
Statement.prototype._report = function _report(err, callback, asThis = true) {
  if (typeof callback === 'function') invoke(callback, asThis ? this : undefined, err);
  else this.emit('error', err);
};

Statement.prototype._finalize = function _finalize() {
  if (this._finalized) return;
  this._finalized = true;
  this._db._unfinalized--;
  unfinalized.unregister(this._token);
};

/**
 * Whether the statement has calls running or queued: the Database's
 * exclusive and serialized calls wait for it to go idle, as node-sqlite3's
 * wait for the statement's calls (counted as pending there) to end.
 */
Statement.prototype._activity = function _activity() {
  const active = this._started && !this._finalized && (this._busy || this._queue.length > 0);
  if (active === Boolean(this._active)) return;
  this._active = active;
  this._db._activeStatements += active ? 1 : -1;
  if (!active) this._db._pump();
};

/** Queues a call on this statement: it runs once the statement is free. */
Statement.prototype._schedule = function _schedule(call) {
  if (this._finalized) {
    this._queue.push(call);
    return this._cleanQueue();
  }
  this._queue.push(call);
  if (!this._busy) this._next();
  else this._activity();
  return undefined;
};

Statement.prototype._next = function _next() {
  this._busy = false;
  if (this._finalized) {
    this._cleanQueue();
    return this._activity();
  }
  const call = this._queue.shift();
  if (call === undefined) return this._activity();
  this._busy = true;
  this._activity();
  return call();
};

/** node-sqlite3's CleanQueue: calls after finalize fail with SQLITE_MISUSE. */
Statement.prototype._cleanQueue = function _cleanQueue() {
  const queued = this._queue.splice(0);
  if (!this._prepared || queued.length === 0) return undefined;
  const err = sqliteError(21, 'Statement is already finalized');
  let called = false;
  for (const call of queued) called = call.fail(err) || called;
  if (!called) this.emit('error', err);
  return undefined;
};

/** Runs `code` on the statement's SQL with `params`, through the Database. */
Statement.prototype._run = function _run(code, params, done) {
  const sql = this.sql;
  // After a failed bind() only the values that fitted stay bound.
  if (this._partial && params === this._params) code |= PARTIAL;
  this._db._issue({
    kind: 'statement',
    bypass: this._prepared === true,
    sql,
    serialize: this._db._serialize,
    oneShot: (handle) => handle.call(code, this._db._sql(sql).text, params),
    session: (handle) => handle.sessionCall(code, this._db._sql(sql).text, params),
    finish: done,
    refused: () => {
      // A prepared statement of a closed Database fails on its own, later.
      setImmediate(done, sqliteError(21, 'Database handle is closed'));
      return true;
    },
  });
};

/** Wraps a queued call: `start()` runs it; `fail(err)` reports it failed unrun. */
function queued(start, callback) {
  const call = start;
  call.fail = (err) => {
    if (typeof callback === 'function') {
      invoke(callback, call.stmt, err);
      return true;
    }
    return false;
  };
  return call;
}

Statement.prototype.bind = function bind(...args) {
  const { params, callback } = bindArgs(args);
  const call = queued(() => {
    if (params !== undefined) {
      this._params = params;
      this._partial = false;
    }
    this._rows = null;
    this._skip = 0;
    this._done = false;
    if (params === undefined) return this._after(null, callback, () => invoke(callback, this, null));
    // Checked against the statement now, as node-sqlite3 binds at once.
    return this._run(OP.prepare, params, (err) => {
      if (err) this._partial = true;
      this._after(err, callback, () => typeof callback === 'function' && invoke(callback, this, null));
    });
  }, callback);
  call.stmt = this;
  this._schedule(call);
  return this;
};

/** Ends a statement call: reports `err` or runs `ok`, then frees the statement. */
Statement.prototype._after = function _after(err, callback, ok) {
  if (err) this._report(err, callback);
  else if (typeof callback === 'function') ok();
  this._next();
};

Statement.prototype.reset = function reset() {
  const callback = optionalFunction(arguments, 0);
  const call = queued(() => {
    this._rows = null;
    this._skip = 0;
    this._done = false;
    this._after(null, callback, () => invoke(callback, this, null));
  }, callback);
  call.stmt = this;
  this._schedule(call);
  return this;
};

Statement.prototype.finalize = function finalize() {
  const callback = optionalFunction(arguments, 0);
  const call = () => {
    this._finalize();
    this._cleanQueue();
    this._busy = false;
    if (typeof callback === 'function') invoke(callback, this);
    this._activity();
  };
  call.fail = (err) => {
    if (typeof callback !== 'function') return false;
    invoke(callback, this, err);
    return true;
  };
  if (this._finalized) {
    // As node-sqlite3: queued, then failed with the rest of the queue.
    this._queue.push(call);
    this._cleanQueue();
  } else {
    this._schedule(call);
  }
  return this._db;
};

/** The bindings a call uses: new ones replace those in force. */
Statement.prototype._use = function _use(params) {
  if (params !== undefined) {
    this._params = params;
    this._partial = false;
  }
  return this._params;
};

Statement.prototype.run = function run(...args) {
  const { params, callback } = bindArgs(args);
  const call = queued(() => {
    const bound = this._use(params);
    this._rows = null;
    this._skip = 0;
    this._done = false;
    this._run(OP.run, bound, (err, result) => {
      // node-sqlite3's run() steps once: a query's cursor is then past its
      // first row (get() goes on from the second), anything else is done.
      if (!err) {
        if (this._db._sql(this.sql).route === 1) this._skip = 1;
        else this._done = true;
      }
      this._after(err, callback, () => {
        this.lastID = result.lastInsertRowid;
        this.changes = result.changes;
        invoke(callback, this, null);
      });
    });
  }, callback);
  call.stmt = this;
  this._schedule(call);
  return this;
};

Statement.prototype.get = function get(...args) {
  const { params, callback } = bindArgs(args);
  const call = queued(() => {
    if (params !== undefined) {
      this._use(params);
      this._rows = null;
      this._skip = 0;
      this._done = false;
    }
    const step = () => {
      const cursor = this._rows;
      if (cursor.next < cursor.rows.length) return cursor.rows[cursor.next++];
      this._done = true;
      return undefined;
    };
    const answer = (row) =>
      this._after(null, callback, () => (row === undefined ? invoke(callback, this, null) : invoke(callback, this, null, row)));
    if (this._done) return answer(undefined);
    if (this._rows !== null) return answer(step());
    return this._run(OP.all, this._params, (err, rows) => {
      if (err) return this._after(err, callback);
      this._rows = { rows, next: this._skip };
      this._skip = 0;
      return answer(step());
    });
  }, callback);
  call.stmt = this;
  this._schedule(call);
  return this;
};

Statement.prototype.all = function all(...args) {
  const { params, callback } = bindArgs(args);
  const call = queued(() => {
    const bound = this._use(params);
    this._rows = null;
    this._skip = 0;
    this._run(OP.all, bound, (err, rows) => {
      if (!err) this._done = true;
      this._after(err, callback, () => invoke(callback, this, null, rows));
    });
  }, callback);
  call.stmt = this;
  this._schedule(call);
  return this;
};

Statement.prototype.each = function each(...args) {
  let last = args.length;
  let completed;
  if (last >= 2 && typeof args[last - 1] === 'function' && typeof args[last - 2] === 'function') {
    completed = args[--last];
  }
  const { params, callback } = bindArgs(args, 0, last);
  const call = queued(() => {
    const bound = this._use(params);
    this._rows = null;
    this._skip = 0;
    this._each(bound, callback, completed, () => this._next());
  }, callback);
  call.stmt = this;
  this._schedule(call);
  return this;
};

/**
 * Streams rows to `callback(null, row)` as the statement steps, then
 * `completed(null, count)` (also after an error, which `callback` hears
 * first, as in node-sqlite3).
 */
Statement.prototype._each = function _each(params, callback, completed, then, prepareFailed, serialize, refused) {
  const stmt = this;
  const sql = this.sql;
  let received = 0;
  let expected = -1;
  let error = null;
  let finished = false;
  const finish = () => {
    if (finished || expected < 0 || received < expected) return;
    finished = true;
    // node-sqlite3 says the rows are complete (its async handle) before the
    // step error (its work's completion) reaches the row callback.
    if (typeof completed === 'function') invoke(completed, stmt, null, received);
    if (error) stmt._report(error, callback);
    else if (stmt._queue) stmt._done = true;
    then();
  };
  // Rows arrive through the pool's delivery (no async context of their
  // own): run them in this call's.
  const onRows = AsyncResource.bind((rows) => {
    for (const row of rows) {
      received++;
      if (typeof callback === 'function') invoke(callback, stmt, null, row);
    }
    finish();
  });
  const db = this._db;
  const id = db._rowsFor(onRows);
  const done = then;
  then = () => {
    db._rows.delete(id);
    done();
  };
  db._issue({
    kind: 'statement',
    bypass: this._prepared === true,
    sql,
    serialize: serialize === undefined ? db._serialize : serialize,
    oneShot: (handle) => handle.each(db._sql(sql).text, params, id, false),
    session: (handle) => handle.each(db._sql(sql).text, params, id, true),
    // Resolves with [rows sent, error or null]: wait for every row sent.
    finish: (lost, out) => {
      if (lost) {
        error = lost;
        expected = received;
      } else {
        [expected, error] = out;
        if (error && error.prepareFailed && prepareFailed) {
          // A statement that cannot be prepared: node-sqlite3's error-back.
          finished = true;
          prepareFailed(fromNative(error));
          return then();
        }
        if (error) error = fromNative(error);
      }
      finish();
    },
    refused: (err) => {
      if (refused) return refused(err);
      error = err;
      expected = 0;
      finish();
      return true;
    },
  });
};

Statement.prototype.map = function map(...args) {
  const callback = args.pop();
  args.push((err, rows) => {
    if (err) return callback(err);
    const result = {};
    if (rows.length) {
      const keys = Object.keys(rows[0]);
      const key = keys[0];
      if (keys.length > 2) {
        for (const row of rows) result[row[key]] = row;
      } else {
        const value = keys[1];
        for (const row of rows) result[row[key]] = row[value];
      }
    }
    return callback(err, result);
  });
  return this.all(...args);
};

// ---------------------------------------------------------------------------
// Database#prepare, and the one-call methods

/** node-sqlite3's error-back: the last function argument hears of a failed prepare. */
function errBack(args) {
  const last = args[args.length - 1];
  return typeof last === 'function' ? (err) => err && last(err) : undefined;
}

Database.prototype.prepare = function prepare(sql, ...params) {
  const stmt = new Statement(this, sql, errBack(params));
  return params.length ? stmt.bind(...params) : stmt;
};

/**
 * One call with one statement: prepared and run together. A failure to
 * prepare reaches the last function argument without `this`, one at run
 * time reaches the callback with the statement as `this` (or the
 * statement's 'error'), as node-sqlite3 reports each.
 */
function oneCallMethod(kind) {
  return function method(sql, ...args) {
    const stmt = oneCall(this, sql);
    const back = errBack(args);
    let completed;
    let last = args.length;
    if (kind === 'each' && last >= 2 && typeof args[last - 1] === 'function' && typeof args[last - 2] === 'function') {
      completed = args[--last];
    }
    const { params, callback } = bindArgs(args, 0, last);
    const db = this;
    const prepareFailed = (err) => {
      if (back) invoke(back, undefined, err);
      else stmt.emit('error', err);
    };
    if (kind === 'each') {
      // A statement that fails to prepare reaches `completed` (the last
      // function), one that fails while stepping the row callback.
      stmt._each(params, callback, completed, () => {}, prepareFailed, this._serialize,
        (err) => (back ? (invoke(back, undefined, err), true) : false));
      return this;
    }
    const code = kind === 'run' ? OP.run : kind === 'get' ? OP.get : OP.all;
    this._issue({
      kind: 'statement',
      sql,
      serialize: this._serialize,
      oneShot: (handle) => handle.call(code, db._sql(sql).text, params),
      session: (handle) => handle.sessionCall(code, db._sql(sql).text, params),
      finish: (err, result, atPrepare) => {
        if (err) {
          if (atPrepare) return prepareFailed(err);
          if (kind === 'map') return back ? invoke(back, undefined, err) : stmt.emit('error', err);
          return stmt._report(err, callback);
        }
        if (typeof callback !== 'function') return undefined;
        if (kind === 'run') {
          stmt.lastID = result.lastInsertRowid;
          stmt.changes = result.changes;
          return invoke(callback, stmt, null);
        }
        if (kind === 'get') return result === undefined ? invoke(callback, stmt, null) : invoke(callback, stmt, null, result);
        if (kind === 'map') return invoke(callback, undefined, null, mapRows(result));
        return invoke(callback, stmt, null, result);
      },
      refused: (err) => (back ? (invoke(back, undefined, err), true) : false),
    });
    return this;
  };
}

function mapRows(rows) {
  const result = {};
  if (rows.length) {
    const keys = Object.keys(rows[0]);
    const key = keys[0];
    if (keys.length > 2) for (const row of rows) result[row[key]] = row;
    else for (const row of rows) result[row[key]] = row[keys[1]];
  }
  return result;
}

Database.prototype.run = oneCallMethod('run');
Database.prototype.get = oneCallMethod('get');
Database.prototype.all = oneCallMethod('all');
Database.prototype.each = oneCallMethod('each');
Database.prototype.map = oneCallMethod('map');

module.exports = { Statement };
