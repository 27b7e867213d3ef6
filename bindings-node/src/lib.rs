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
