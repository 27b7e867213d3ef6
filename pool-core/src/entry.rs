//! [`PoolEntry`]: one open connection plus what the pool knows about it.

use std::time::{Duration, Instant};

use rusqlite::Connection;

/// An open connection and its bookkeeping (HikariCP's `PoolEntry`).
pub(crate) struct PoolEntry {
    pub conn: Connection,
    /// Unique within the pool; shown in events and leak reports.
    pub id: u64,
    pub last_used: Instant,
    /// When `max_lifetime` (minus jitter) retires this connection.
    pub expires_at: Option<Instant>,
    /// The fork generation it was opened in; connections of an earlier
    /// generation belong to a parent process and are never closed here.
    pub generation: u64,
    /// Whether `PRAGMA query_only` is on (switched lazily per lane).
    pub query_only: bool,
    /// Tenant attachments `(schema, tenant uid)`, least recently used first.
    pub attached: Vec<(String, u64)>,
}

impl PoolEntry {
    pub fn new(conn: Connection, id: u64, max_lifetime: Option<Duration>, generation: u64) -> Self {
        let now = Instant::now();
        // Up to 2.5 % jitter so connections opened together do not all retire together.
        let expires_at = max_lifetime.map(|life| {
            let jitter = life.mul_f64(fastrand::f64() * 0.025);
            now + (life - jitter)
        });
        PoolEntry { conn, id, last_used: now, expires_at, generation, query_only: false, attached: Vec::new() }
    }

    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Closes the connection, or, for one inherited across `fork()`, lets it
    /// go without closing: closing would release the parent's file locks.
    pub fn dispose(self, current_generation: u64) {
        if self.generation == current_generation {
            drop(self.conn);
        } else {
            std::mem::forget(self.conn);
        }
    }
}
