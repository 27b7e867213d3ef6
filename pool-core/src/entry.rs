//! [`PoolEntry`]: one open connection plus what the pool knows about it.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use std::sync::Arc;

use crate::clock::{self, Instant};
use crate::watch::Watch;

use rusqlite::Connection;

/// An open connection and its bookkeeping (HikariCP's `PoolEntry`), boxed so
/// that handing it between the idle stack, waiters and leases moves a
/// pointer rather than a few hundred bytes.
pub(crate) struct PoolEntry(Box<EntryState>);

pub(crate) struct EntryState {
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
    /// `SQLITE_LIMIT_ATTACHED` of this connection, once known (0: not yet).
    pub attach_limit: usize,
    /// The connection's authorizer: tenant confinement and the record of
    /// what the current lease changed.
    pub watch: Arc<Watch>,
    /// The tenant uid of the last lease (0: a lease without a tenant); the
    /// statement cache is flushed when a tenant lease follows another scope.
    pub last_scope: u64,
    /// The tenant registry's removal epoch this entry last caught up with.
    pub tenant_epoch: u64,
    /// The pool's eviction epoch it was opened in (`Pool::evict`).
    pub epoch: u64,
    /// Whether the pool's WAL hook is installed (`checkpoint.rs`); a reset
    /// of its pragmas can remove it.
    pub wal_hooked: bool,
    /// The deadline state its progress handler reads (`deadline.rs`),
    /// made the first time a deadline is set on it.
    pub clock: std::sync::OnceLock<Arc<crate::deadline::Clock>>,
    /// With fair tenants: counts this connection against the tenant it is
    /// handed to, until it comes back (`fair.rs`).
    pub reservation: Option<crate::fair::Reservation>,
    /// The tag of the thread that freed it last: that thread's next lease
    /// prefers it (`slots.rs`).
    pub last_thread: usize,
}

impl PoolEntry {
    /// Wraps a freshly set-up connection and installs its watch.
    pub fn new(conn: Connection, id: u64, max_lifetime: Option<Duration>, generation: u64) -> rusqlite::Result<Self> {
        let watch = Watch::install(&conn)?;
        let now = clock::now();
        // Up to 2.5 % jitter so connections opened together do not all retire together.
        let expires_at = max_lifetime.map(|life| {
            let jitter = life.mul_f64(fastrand::f64() * 0.025);
            now + (life - jitter)
        });
        Ok(PoolEntry(Box::new(EntryState {
            conn,
            id,
            last_used: now,
            expires_at,
            generation,
            query_only: false,
            attached: Vec::new(),
            attach_limit: 0,
            watch,
            last_scope: 0,
            tenant_epoch: 0,
            epoch: 0,
            wal_hooked: false,
            clock: std::sync::OnceLock::new(),
            reservation: None,
            last_thread: 0,
        })))
    }

    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Closes the connection, or, for one inherited across `fork()`, lets it
    /// go without closing: closing would release the parent's file locks.
    pub fn dispose(self, current_generation: u64) {
        let state = *self.0;
        if state.generation == current_generation {
            drop(state.conn);
        } else {
            std::mem::forget(state.conn);
        }
    }
}

impl Deref for PoolEntry {
    type Target = EntryState;

    fn deref(&self) -> &EntryState {
        &self.0
    }
}

impl DerefMut for PoolEntry {
    fn deref_mut(&mut self) -> &mut EntryState {
        &mut self.0
    }
}
