// Types for `require('litepool')`: the generated native declarations, plus
// what lib/index.js adds: `Pool#transaction`, the pool's events and the
// `logger` option.
/// <reference types="node" />
import { Connection, AcquireOptions } from '../index';

export * from '../index';

/** Where a lease came from and how long it was held (the 'leak' and 'walPinned' events). */
export interface LeakEvent {
  connectionId: number;
  heldMillis: number;
  /** The stack that acquired it (when `leakDetectionMillis` is set). */
  site: string;
  thread: string | null;
}

/** The pool's events, named as the core's PoolEvents. */
export interface PoolEventMap {
  /** A connection was opened. */
  create: [{ connectionId: number }];
  /** A lease began after `waitedMillis` in the queue. */
  acquire: [{ connectionId: number; waitedMillis: number }];
  /** A lease ended after `heldMillis`. */
  release: [{ connectionId: number; heldMillis: number }];
  /** A connection was closed, and why. */
  close: [{ connectionId: number; reason: 'idle' | 'lifetime' | 'broken' | 'dirty' | 'poolClosed' | 'evicted' }];
  /** An acquire gave up, with the pool's counts then. */
  timeout: [{ waitedMillis: number; state: { active: number; idle: number; total: number; max: number; min: number; waiting: number } }];
  /** A lease held past `leakDetectionMillis` (once per lease). */
  leak: [LeakEvent];
  /** A checkpoint could not finish: the lease out longest pins the WAL. */
  walPinned: [LeakEvent];
  /** Every warning the pool logs (also handed to the `logger`). */
  warning: [{ message: string }];
}

/** Where the pool's warnings go: a function, `{ warn(message) }` (console, pino…), or false. */
export type PoolLogger = ((message: string) => void) | { warn(message: string): void } | false;

declare module '../index' {
  interface PoolOptions {
    /**
     * Where the pool's warnings (leaks with their acquire stack, connections
     * that could not be opened or validated…) go (default: `process.emitWarning`
     * as a `LitepoolWarning`).
     */
    logger?: PoolLogger;
  }

  interface Pool {
    /**
     * Runs `fn(conn)` inside a transaction on the write lane: BEGIN IMMEDIATE,
     * then COMMIT when `fn`'s promise resolves, or ROLLBACK (and rethrow) when
     * it rejects. The connection is released either way.
     */
    transaction<T>(fn: (conn: Connection) => Promise<T> | T, options?: Omit<AcquireOptions, 'mode'>): Promise<T>;
    on<K extends keyof PoolEventMap>(event: K, listener: (...args: PoolEventMap[K]) => void): this;
    once<K extends keyof PoolEventMap>(event: K, listener: (...args: PoolEventMap[K]) => void): this;
    off<K extends keyof PoolEventMap>(event: K, listener: (...args: PoolEventMap[K]) => void): this;
    addListener<K extends keyof PoolEventMap>(event: K, listener: (...args: PoolEventMap[K]) => void): this;
    removeListener<K extends keyof PoolEventMap>(event: K, listener: (...args: PoolEventMap[K]) => void): this;
    removeAllListeners(event?: keyof PoolEventMap): this;
    emit<K extends keyof PoolEventMap>(event: K, ...args: PoolEventMap[K]): boolean;
    listenerCount(event: keyof PoolEventMap): number;
  }
}
