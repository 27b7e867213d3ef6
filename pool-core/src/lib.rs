//! # litepool
//!
//! A SQLite connection pool that knows SQLite: waiters are served first come,
//! first served; idle connections are reused last in, first out (warm page
//! cache); writers can queue behind one fair **write gate** instead of
//! colliding in SQLite's busy handler; a connection returned inside a
//! transaction is rolled back, never handed on.
//!
//! ```
//! use litepool::{Pool, PoolConfig};
//! # fn main() -> litepool::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("quota.db");
//! let pool = Pool::new(&path, PoolConfig::default().max_size(4))?;
//! pool.execute_batch("CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER)")?;
//!
//! // The write lane: one writer at a time, BEGIN IMMEDIATE transactions.
//! let mut conn = pool.write()?;
//! let tx = conn.transaction()?;
//! tx.execute("INSERT INTO kv VALUES ('a', 1)", [])?;
//! tx.commit()?;
//! drop(conn); // back to the pool
//!
//! // Reads lease a connection with PRAGMA query_only=ON.
//! let v: i64 = pool.read()?.query_row("SELECT v FROM kv WHERE k = 'a'", [], |r| r.get(0))?;
//! assert_eq!(v, 1);
//!
//! // One-call helpers route by sqlite3_stmt_readonly.
//! let rows = pool.query("SELECT k, v FROM kv", [])?;
//! assert_eq!(rows.rows.len(), 1);
//! println!("{:?} {}", pool.state(), pool.health());
//! # Ok(()) }
//! ```
//!
//! Defaults (see [`PoolConfig`]): `max_size` 10, `min_idle` 2, acquire
//! timeout 5 s, idle timeout 30 s, max lifetime 30 min, `busy_timeout`
//! 5 s, WAL, `synchronous=NORMAL`, `foreign_keys=ON`, and `checkpoint =
//! "pool"`: the pool checkpoints the WAL off the request path and holds new
//! reads back briefly while it truncates a WAL past `wal_high_water` (64 MiB);
//! see [`CheckpointMode`]. A pool with `replica_url` is a read-only
//! Litestream replica ([`Pool::read_at_least`], [`Pool::commit_token`]).
//!
//! Async callers use [`Pool::get_async`] (any executor) or
//! [`Pool::acquire_with`] (a callback); neither parks a thread.
//!
//! Off by default, for production services: statement deadlines enforced
//! inside SQLite (`statement_timeout`, [`AcquireOptions::deadline`],
//! [`sql::Call::timeout`]; `deadline.rs`), load shedding (`max_waiting`,
//! `shed_load`, [`Pool::expected_wait`]; `shed.rs`), fair queueing across
//! tenants (`fair_tenants`, `max_leases_per_tenant`,
//! [`Pool::set_tenant_weight`]; `fair.rs`), a warm statement cache
//! (`warm_statements`, [`Pool::prepare`]), per-statement counters and a
//! slow-statement log (`statement_stats`, `slow_statement_threshold`,
//! [`Pool::statement_statistics`], [`Pool::slow_statements`]) and spans
//! ([`Pool::set_trace_hook`], the `tracing` feature).
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod acquire;
mod backup;
mod books;
mod checkpoint;
mod checkpointer;
mod clock;
mod codes;
mod config;
mod deadline;
mod entry;
mod error;
mod events;
mod fair;
mod fork;
mod future;
mod gate;
mod guard;
mod housekeeper;
mod leak;
mod metrics;
mod options;
mod parking;
mod patience;
mod pool;
mod query;
mod replica;
mod reset;
mod shared;
mod shed;
mod signal;
mod slots;
mod slow;
pub mod sql;
mod sqlite;
mod statements;
mod stats;
mod striped;
mod tenant;
mod trace;
mod waiter;
mod watch;

pub use backup::{Backup, BackupProgress, BackupSpec, BackupState};
pub use checkpoint::{CheckpointMode, WalStatus, CHECKPOINT_WAIT};
pub use codes::sqlite_code_name;
pub use config::{Fairness, InitHook, PoolConfig};
pub use error::{Error, Result};
pub use events::{CloseReason, LeakReport, PoolEvents};
pub use future::{Acquire, AcquireHandle};
pub use guard::{Lane, PooledConnection};
pub use leak::AcquireSite;
pub use options::{option, option_js, OptionKind, OptionSpec, OptionValue, OPTIONS};
pub use parking::{Parkable, ParkingSpot};
pub use pool::{AcquireOptions, Pool, PoolBuilder};
pub use query::IntoParams;
pub use replica::ReplicaStatus;
pub use rusqlite;
pub use slow::SlowStatement;
pub use sqlite::{Connector, FileConnector};
pub use statements::StatementStatistics;
pub use stats::{Health, State, Statistics};
pub use tenant::{is_valid_tenant_code, Tenant, TenantStatistics};
pub use trace::{TraceEvent, TraceHook};
