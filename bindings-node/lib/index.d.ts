// Types for `require('litepool')`: the generated native declarations, plus
// `Pool#transaction`, which is written in JS (lib/index.js).
import { Connection, AcquireOptions } from '../index';

export * from '../index';

declare module '../index' {
  interface Pool {
    /**
     * Runs `fn(conn)` inside a transaction on the write lane: BEGIN IMMEDIATE,
     * then COMMIT when `fn`'s promise resolves, or ROLLBACK (and rethrow) when
     * it rejects. The connection is released either way.
     */
    transaction<T>(fn: (conn: Connection) => Promise<T> | T, options?: Omit<AcquireOptions, 'mode'>): Promise<T>
  }
}
