//! Node.js bindings for litepool: `require('litepool')`.
//!
//! This crate only translates. Every rule of the pool (sizes, waiting,
//! timeouts, routing, lanes, leaks, tenants) lives in `pool-core`; here JS
//! values become SQLite values, core errors become `Error`s with a string
//! `code`, and leases move between the pool, the libuv threadpool and JS.
//!
//! Threads: waiting for a connection never occupies a thread, and SQL never
//! runs on the JS thread or on the libuv threadpool (the `*Sync` twins
//! excepted, which run on the calling thread by design). An acquire is
//! handed to the core's callback form, [`litepool::Pool::acquire_with`];
//! its callback (at once when a connection is idle, otherwise on whichever
//! thread frees one, or the housekeeper on timeout) gives the lease and the
//! call to the pool's executor ([`executor`]): worker threads, at most the
//! pool's `max`, which run the SQL, give the lease back and post the result
//! to one thread-safe function per pool that settles the promises on the JS
//! thread, many per loop wake-up.

#![deny(clippy::unwrap_used, clippy::expect_used)]

mod acquire;
mod connection;
mod error;
mod executor;
mod options;
mod pool;
mod sql;
mod statement;
mod values;

pub use connection::Connection;
pub use options::{AcquireOptions, PoolOptions, QueryOptions};
pub use pool::{Pool, PoolStats, RunResult, TenantStats};
pub use statement::Statement;
