// Types for `require('litepool/sqlite3')`, the node-sqlite3 6.x drop-in.
import { EventEmitter } from 'node:events';

type Callback = (this: Statement, err: Error | null) => void;
type RowCallback<R = any> = (this: Statement, err: Error | null, row: R) => void;
type RowsCallback<R = any> = (this: Statement, err: Error | null, rows: R[]) => void;

export interface RunResult extends Statement {
  lastID: number;
  changes: number;
}

export class Statement extends EventEmitter {
  readonly sql: string;
  lastID?: number;
  changes?: number;
  bind(...params: any[]): this;
  reset(callback?: (err: null) => void): this;
  finalize(callback?: (err: Error | null) => void): Database;
  run(...params: any[]): this;
  get(...params: any[]): this;
  all(...params: any[]): this;
  each(...params: any[]): this;
  map(...params: any[]): this;
}

export class Database extends EventEmitter {
  /** A litepool Pool over `filename` (configured from DB_POOL_*), shaped like node-sqlite3's Database. */
  constructor(filename: string, mode?: number, callback?: (this: Database, err: Error | null) => void);
  constructor(filename: string, callback?: (this: Database, err: Error | null) => void);
  readonly filename: string;
  open: boolean;
  run(sql: string, ...params: any[]): this;
  get(sql: string, ...params: any[]): this;
  all(sql: string, ...params: any[]): this;
  each(sql: string, ...params: any[]): this;
  map(sql: string, ...params: any[]): this;
  exec(sql: string, callback?: (this: Database, err: Error | null) => void): this;
  prepare(sql: string, ...params: any[]): Statement;
  serialize(callback?: () => void): this;
  parallelize(callback?: () => void): this;
  configure(option: 'busyTimeout', value: number): this;
  wait(callback?: (err: null) => void): this;
  close(callback?: (err: Error | null) => void): this;
  interrupt(): this;
}

export const OPEN_READONLY: number;
export const OPEN_READWRITE: number;
export const OPEN_CREATE: number;
export const OPEN_FULLMUTEX: number;
export const OPEN_URI: number;
export const OPEN_SHAREDCACHE: number;
export const OPEN_PRIVATECACHE: number;
export const VERSION: string;
export const SOURCE_ID: string;
export const VERSION_NUMBER: number;
export const OK: number;
export const ERROR: number;
export const BUSY: number;
export const LOCKED: number;
export const READONLY: number;
export const CANTOPEN: number;
export const CONSTRAINT: number;
export const MISUSE: number;
export const RANGE: number;
export function verbose(): typeof import('./sqlite3');
export const cached: { Database(filename: string, mode?: number, callback?: (err: Error | null) => void): Database };
