// Types for `require('litepool/sqlite3')`, the node-sqlite3 6.x drop-in.
/// <reference types="node" />
import { EventEmitter } from 'node:events';

type Callback<This> = (this: This, err: Error | null) => void;

/** The `this` of a `run()` callback: the statement, with the outcome. */
export interface RunResult extends Statement {
  /** The rowid of the last row inserted (on the connection that ran it). */
  lastID: number;
  /** Rows inserted, updated or deleted. */
  changes: number;
}

export class Statement extends EventEmitter {
  /** Prepares `sql` through `db`; `callback(err)` once prepared or failed. */
  constructor(db: Database, sql: string, callback?: Callback<Statement>);
  readonly sql: string;
  lastID?: number;
  changes?: number;
  bind(callback?: Callback<Statement>): this;
  bind(...params: any[]): this;
  reset(callback?: (this: Statement, err: null) => void): this;
  finalize(callback?: (this: Statement) => void): Database;
  run(callback?: Callback<RunResult>): this;
  run(params: any, callback?: Callback<RunResult>): this;
  run(...params: any[]): this;
  get<T = any>(callback?: (this: Statement, err: Error | null, row?: T) => void): this;
  get<T = any>(params: any, callback?: (this: Statement, err: Error | null, row?: T) => void): this;
  get(...params: any[]): this;
  all<T = any>(callback?: (this: Statement, err: Error | null, rows: T[]) => void): this;
  all<T = any>(params: any, callback?: (this: Statement, err: Error | null, rows: T[]) => void): this;
  all(...params: any[]): this;
  each<T = any>(callback?: (this: Statement, err: Error | null, row: T) => void, complete?: (this: Statement, err: Error | null, count: number) => void): this;
  each<T = any>(params: any, callback?: (this: Statement, err: Error | null, row: T) => void, complete?: (this: Statement, err: Error | null, count: number) => void): this;
  each(...params: any[]): this;
  map<T = any>(callback?: (err: Error | null, rows: Record<string, T>) => void): this;
  map(...params: any[]): this;
}

/**
 * A node-sqlite3 `Database` over the litepool pool every Database on the
 * same file shares (configured by the `DB_POOL_*` variables).
 */
export class Database extends EventEmitter {
  constructor(filename: string, callback?: Callback<Database>);
  constructor(filename: string, mode?: number, callback?: Callback<Database>);
  readonly filename: string;
  readonly mode: number;
  /** Whether the database is open (true from the open callback until closed). */
  readonly open: boolean;
  close(callback?: Callback<Database>): this;
  run(sql: string, callback?: Callback<RunResult>): this;
  run(sql: string, params: any, callback?: Callback<RunResult>): this;
  run(sql: string, ...params: any[]): this;
  get<T = any>(sql: string, callback?: (this: Statement, err: Error | null, row?: T) => void): this;
  get<T = any>(sql: string, params: any, callback?: (this: Statement, err: Error | null, row?: T) => void): this;
  get(sql: string, ...params: any[]): this;
  all<T = any>(sql: string, callback?: (this: Statement, err: Error | null, rows: T[]) => void): this;
  all<T = any>(sql: string, params: any, callback?: (this: Statement, err: Error | null, rows: T[]) => void): this;
  all(sql: string, ...params: any[]): this;
  each<T = any>(sql: string, callback?: (this: Statement, err: Error | null, row: T) => void, complete?: (this: Statement, err: Error | null, count: number) => void): this;
  each<T = any>(sql: string, params: any, callback?: (this: Statement, err: Error | null, row: T) => void, complete?: (this: Statement, err: Error | null, count: number) => void): this;
  each(sql: string, ...params: any[]): this;
  map<T = any>(sql: string, callback?: (err: Error | null, rows: Record<string, T>) => void): this;
  map(sql: string, ...params: any[]): this;
  exec(sql: string, callback?: Callback<Database>): this;
  prepare(sql: string, callback?: Callback<Statement>): Statement;
  prepare(sql: string, params: any, callback?: Callback<Statement>): Statement;
  prepare(sql: string, ...params: any[]): Statement;
  serialize(callback?: (this: Database) => void): this;
  parallelize(callback?: (this: Database) => void): this;
  configure(option: 'busyTimeout', value: number): this;
  configure(option: 'limit', id: number, value: number): this;
  configure(option: 'trace' | 'profile' | 'change', value: boolean): this;
  loadExtension(filename: string, callback?: Callback<Database>): this;
  wait(callback?: (this: Database, err: null) => void): this;
  interrupt(): this;
  backup(filename: string, callback?: Callback<Backup>): Backup;
  backup(filename: string, destName: string, sourceName: string, filenameIsDest: boolean, callback?: Callback<Backup>): Backup;
  on(event: 'trace', listener: (sql: string) => void): this;
  on(event: 'profile', listener: (sql: string, milliseconds: number) => void): this;
  on(event: 'change', listener: (type: 'insert' | 'update' | 'delete', database: string, table: string, rowid: number) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'open' | 'close', listener: () => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** An online backup between a Database's file and another, in steps. */
export class Backup extends EventEmitter {
  constructor(db: Database, filename: string, sourceName: string, destName: string, filenameIsDest: boolean, callback?: Callback<Backup>);
  readonly filename: string;
  readonly sourceName: string;
  readonly destName: string;
  readonly filenameIsDest: boolean;
  /** Started and not stepping now. */
  readonly idle: boolean;
  readonly completed: boolean;
  readonly failed: boolean;
  /** Pages left to copy (-1 before the first step). */
  readonly remaining: number;
  /** Pages in the source (-1 before the first step). */
  readonly pageCount: number;
  /** Result codes after which the backup may be stepped again (default: BUSY, LOCKED). */
  retryErrors: number[];
  step(pages: number, callback?: (this: Backup, err: Error | null, completed?: boolean) => void): this;
  finish(callback?: (this: Backup) => void): this;
}

/**
 * Whether a deferred `BEGIN` on a Database's connection runs as `BEGIN
 * IMMEDIATE`, for Databases opened after it is set (default: true).
 * litepool's own: node-sqlite3 has no such setting.
 */
export let immediateTransactions: boolean;

/**
 * Whether plain writes queued one after another on a Database's connection
 * commit together (each still succeeds or fails alone), for Databases opened after it
 * is set (default: true). litepool's own.
 */
export let groupWrites: boolean;

export const cached: {
  Database(filename: string, callback?: Callback<Database>): Database;
  Database(filename: string, mode?: number, callback?: Callback<Database>): Database;
  objects: Record<string, Database>;
};

/** Errors passed to callbacks carry the stack of the call that led to them. */
export function verbose(): typeof import('./sqlite3');

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
export const INTERNAL: number;
export const PERM: number;
export const ABORT: number;
export const BUSY: number;
export const LOCKED: number;
export const NOMEM: number;
export const READONLY: number;
export const INTERRUPT: number;
export const IOERR: number;
export const CORRUPT: number;
export const NOTFOUND: number;
export const FULL: number;
export const CANTOPEN: number;
export const PROTOCOL: number;
export const EMPTY: number;
export const SCHEMA: number;
export const TOOBIG: number;
export const CONSTRAINT: number;
export const MISMATCH: number;
export const MISUSE: number;
export const NOLFS: number;
export const AUTH: number;
export const FORMAT: number;
export const RANGE: number;
export const NOTADB: number;
export const LIMIT_LENGTH: number;
export const LIMIT_SQL_LENGTH: number;
export const LIMIT_COLUMN: number;
export const LIMIT_EXPR_DEPTH: number;
export const LIMIT_COMPOUND_SELECT: number;
export const LIMIT_VDBE_OP: number;
export const LIMIT_FUNCTION_ARG: number;
export const LIMIT_ATTACHED: number;
export const LIMIT_LIKE_PATTERN_LENGTH: number;
export const LIMIT_VARIABLE_NUMBER: number;
export const LIMIT_TRIGGER_DEPTH: number;
export const LIMIT_WORKER_THREADS: number;
