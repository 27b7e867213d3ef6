//! Node.js bindings for litepool: `require('litepool')`.
//!
//! This crate only translates. Every rule of the pool (sizes, waiting,
//! timeouts, routing, lanes, leaks, tenants) lives in `pool-core`; here JS
//! values become SQLite values, core errors become `Error`s with a string
//! `code`, and leases move between the pool, the libuv threadpool and JS.
//!
//! Threads: waiting for a connection never occupies a thread. An acquire is
//! handed to the core's callback form, [`litepool::Pool::acquire_with`]; when
//! a connection is idle the callback runs at once on the JS thread and the
//! SQL is queued on the libuv threadpool (`AsyncTask`). Otherwise the
//! callback fires later on whichever thread frees a connection (or the
//! housekeeper, on timeout) and settles a thread-safe deferred, which starts
//! the SQL from the JS thread. Only running SQL uses the threadpool.

#![deny(clippy::unwrap_used, clippy::expect_used)]

mod acquire;
mod connection;
mod error;
mod options;
mod pool;
mod sql;
mod values;

pub use connection::Connection;
pub use options::{AcquireOptions, PoolOptions, QueryOptions};
pub use pool::{Pool, PoolStats, RunResult, TenantStats};
