'use strict';
// The package entry: the native classes, plus what is written in JS:
// `pool.transaction()` (it awaits a JS callback between BEGIN and COMMIT),
// the pool's events (a Pool is an EventEmitter, as pg.Pool is) and the
// `logger` option for the pool's warnings.
const EventEmitter = require('node:events');
const native = require('../index.js');

const NativePool = native.Pool;

/**
 * Runs `fn(conn)` inside a managed transaction on the write lane: BEGIN
 * IMMEDIATE, then COMMIT when the promise `fn` returns resolves, or ROLLBACK
 * (and rethrow) when it rejects or throws. The connection is released
 * either way. Inside, `BEGIN`/`COMMIT`/`ROLLBACK` are refused with
 * LITEPOOL_MISUSE (the transaction's end is this function's to decide, so
 * the caller is never told it failed when it committed); savepoints work.
 */
NativePool.prototype.transaction = async function transaction(fn, options) {
  if (typeof fn !== 'function') {
    throw new TypeError('Expected the first argument to be a function');
  }
  const conn = await this.acquire({ ...options, mode: 'write' });
  try {
    await conn.beginManaged();
    let result;
    try {
      result = await fn(conn);
    } catch (err) {
      await conn.rollback().catch(() => {});
      throw err;
    }
    await conn.commit();
    return result;
  } finally {
    conn.release();
  }
};

// ---------------------------------------------------------------------------
// Events: the core's PoolEvents under the same names — 'create', 'acquire',
// 'release', 'close' (a connection closed, with why), 'timeout', 'leak',
// 'walPinned' — and 'warning' for every warning the pool logs. Kinds with no
// listener cost nothing: the native side is told which are wanted.

/** Event kinds, as bits (the same in src/events.rs). */
const KINDS = { create: 1, acquire: 2, release: 4, close: 8, timeout: 16, leak: 32, walPinned: 64, warning: 128 };

Object.setPrototypeOf(NativePool.prototype, EventEmitter.prototype);

/** Tells the native side which kinds to send, after listeners changed. */
function updateMask(pool) {
  if (pool.closed && pool._listening) return;
  let mask = 0;
  for (const [name, bit] of Object.entries(KINDS)) {
    if (EventEmitter.prototype.listenerCount.call(pool, name) > 0) mask |= bit;
  }
  if (pool._logger !== false) mask |= KINDS.warning;
  if (mask === 0 && !pool._listening) return;
  if (!pool._listening) {
    // The native side holds the listener, not the pool (no cycle keeps a
    // dropped pool alive).
    const ref = new WeakRef(pool);
    pool._listen((name, payload) => {
      const target = ref.deref();
      if (target !== undefined) deliver(target, name, payload);
    }, mask);
    Object.defineProperty(pool, '_listening', { value: true, configurable: true });
  } else {
    pool._eventMask(mask);
  }
}

function deliver(pool, name, payload) {
  try {
    if (name === 'warning') {
      log(pool, payload.message);
      if (EventEmitter.prototype.listenerCount.call(pool, 'warning') === 0) return;
    }
    pool.emit(name, payload);
  } catch (err) {
    // A listener (or logger) that throws: uncaught, as from any emitter.
    process.nextTick(() => {
      throw err;
    });
  }
}

/** How often the default logger repeats one kind of warning of one pool. */
const REPEAT_MILLIS = 60000;

/**
 * Hands a warning to the pool's `logger`; by default to
 * `process.emitWarning`, at most once a minute per kind (the message with
 * its numbers and site left out), as process warnings are meant to be rare.
 */
function log(pool, message) {
  const logger = pool._logger;
  if (logger === false) return;
  if (typeof logger === 'function') return logger(message);
  if (logger && typeof logger.warn === 'function') return logger.warn(message);
  const kind = message.replace(/\d+/g, '#').split(',')[0].slice(0, 80);
  const now = Date.now();
  if (!pool._warned) Object.defineProperty(pool, '_warned', { value: new Map() });
  const last = pool._warned.get(kind);
  if (last !== undefined && now - last < REPEAT_MILLIS) return undefined;
  pool._warned.set(kind, now);
  return process.emitWarning(message, { type: 'LitepoolWarning', code: 'LITEPOOL_WARNING' });
}

for (const method of ['on', 'addListener', 'prependListener', 'once', 'prependOnceListener', 'off', 'removeListener', 'removeAllListeners']) {
  const base = EventEmitter.prototype[method];
  NativePool.prototype[method] = function listening(...args) {
    const out = base.apply(this, args);
    updateMask(this);
    return out;
  };
}

/** Splits `logger` off the options the native side checks. */
function takeLogger(options) {
  if (options === null || typeof options !== 'object' || !('logger' in options)) return [options, undefined];
  const { logger, ...rest } = options;
  if (logger !== undefined && logger !== false && typeof logger !== 'function' && !(logger && typeof logger.warn === 'function')) {
    throw new TypeError('Expected the "logger" option to be a function, an object with a warn() method, or false');
  }
  return [rest, logger];
}

function setUp(pool, logger) {
  Object.defineProperty(pool, '_logger', { value: logger, configurable: true, writable: true });
  updateMask(pool);
  return pool;
}

/**
 * `new Pool(path, options)`: the native pool, plus the `logger` option:
 * a function or `{ warn(message) }` given every warning the pool logs,
 * `false` for none (default: `process.emitWarning(message, { type:
 * 'LitepoolWarning' })`, each kind at most once a minute).
 */
function Pool(path, options) {
  if (!new.target) throw new TypeError("Class constructor Pool cannot be invoked without 'new'");
  const [rest, logger] = takeLogger(options);
  return setUp(new NativePool(path, rest), logger);
}
Pool.prototype = NativePool.prototype;
Object.setPrototypeOf(Pool, NativePool);
Object.defineProperty(Pool, 'name', { value: 'Pool' });

/** `Pool.fromEnv(path, options)`, with the `logger` option too. */
Object.defineProperty(Pool, 'fromEnv', {
  configurable: true,
  writable: true,
  value: function fromEnv(path, options) {
    const [rest, logger] = takeLogger(options);
    return setUp(NativePool.fromEnv(path, rest), logger);
  },
});

// The native close, then the events relay is let go.
const close = NativePool.prototype.close;
NativePool.prototype.close = function closePool(...args) {
  const out = close.apply(this, args);
  const release = () => {
    if (this._listening) this._eventMask(0);
  };
  out.then(release, release);
  return out;
};

module.exports = { ...native, Pool };
