//! Node.js bindings for litepool: `require('litepool')`.
//!
//! This crate only translates. Every rule of the pool (sizes, waiting,
//! timeouts, routing, lanes, leaks, tenants) lives in `pool-core`; here JS
//! values become SQLite values, core errors become `Error`s with a string
//! `code`, and leases move between the pool, the libuv threadpool and JS.
//!
//! Threads: waiting for a connection never occupies a thread, and SQL never
//! runs on the JS thread or on the libuv threadpool (the `*Sync` twins
//! excepted, which run on the calling thread by design). Calls go to the
//! core's SQL layer (`litepool::sql`: one-shot `call_with`, held
//! connections as a `SessionQueue`), whose executor runs the SQL; the
//! completion is posted to one thread-safe function per pool that settles
//! the promises on the JS thread, many per loop wake-up ([`delivery`]).

#![deny(clippy::unwrap_used, clippy::expect_used)]

/// The addon's Rust allocations come from mimalloc, not glibc's malloc.
/// An async call allocates on one thread and frees on another (its call on
/// the JS thread, freed by an SQL worker; its rows on the worker, freed on
/// the JS thread): glibc frees each such block under the lock of the arena
/// that made it, and the workers slept on those locks. Async point selects
/// at 64 in flight went from 117–123 k/s to 181–202 k/s with it (2 cores).
/// `local_dynamic_tls`: the addon is loaded with `dlopen`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod call;
mod connection;
mod delivery;
mod error;
mod events;
mod observe;
mod options;
mod pool;
mod sqlite3;
mod sqlite3_values;
mod statement;
mod statement_fns;
mod sync_call;
mod values;

pub use connection::Connection;
pub use observe::{SlowStatement, StatementStats, TraceEvent};
pub use options::{pool_options, AcquireOptions, OptionInfo, PoolOptions, QueryOptions};
pub use pool::{Pool, PoolStats, RunResult, TenantStats};
pub use sqlite3::{BackupHandle, DatabaseHandle, SqlText};
pub use statement::Statement;
