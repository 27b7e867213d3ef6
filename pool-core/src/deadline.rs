//! Statement deadlines, enforced inside SQLite.
//!
//! A runaway statement is stopped by its connection's progress handler,
//! which SQLite calls every [`PROGRESS_OPS`] virtual-machine steps on the
//! thread running the statement: once the deadline has passed it asks SQLite
//! to stop, the statement fails with `SQLITE_INTERRUPT`, and the pool reports
//! [`crate::Error::Deadline`]. Unlike `sqlite3_interrupt()` from another
//! thread, this can never stop the *next* statement by mistake.
//!
//! Two deadlines can be in force: a lease's (`AcquireOptions::deadline`,
//! for every statement of the lease, raw ones included) and a statement's
//! (`Call::timeout`, or the pool's `statement_timeout`), the earlier wins.
//! The handler is installed on a connection the first time a deadline is set
//! on it: a pool that never uses deadlines runs without one.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;

use crate::clock;

/// VM steps between two deadline checks: ~10–50 µs of work, so a deadline
/// is kept to well within a millisecond at the cost of one clock read.
pub(crate) const PROGRESS_OPS: i32 = 1000;

/// One connection's deadline state, shared with its progress handler.
pub(crate) struct Clock {
    base: clock::Instant,
    /// When the running statement must stop, in ns after `base`; 0: never.
    until: AtomicU64,
    /// The handler stopped a statement since the last [`Clock::take_tripped`].
    tripped: AtomicBool,
    /// Our handler is installed (a reset of the lease's hooks removes it).
    installed: AtomicBool,
}

impl Clock {
    pub fn new() -> Arc<Clock> {
        Arc::new(Clock {
            base: clock::now(),
            until: AtomicU64::new(0),
            tripped: AtomicBool::new(false),
            installed: AtomicBool::new(false),
        })
    }

    fn nanos(&self, at: clock::Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX).max(1)
    }

    /// The deadline in force (raw, for [`Clock::restore`]).
    pub fn current(&self) -> u64 {
        self.until.load(Relaxed)
    }

    /// Puts back a deadline saved with [`Clock::current`].
    pub fn restore(&self, until: u64) {
        self.until.store(until, Relaxed);
    }

    /// Stops statements on `conn` `after` from now, or at the deadline
    /// already in force if that is earlier. Returns what to restore.
    pub fn arm(self: &Arc<Self>, conn: &Connection, after: Duration) -> rusqlite::Result<u64> {
        if !self.installed.swap(true, Relaxed) {
            let me = Arc::clone(self);
            conn.progress_handler(PROGRESS_OPS, Some(move || me.expired()))?;
        }
        let before = self.current();
        let until = self.nanos(clock::now() + after);
        if before == 0 || until < before {
            self.until.store(until, Relaxed);
        }
        self.tripped.store(false, Relaxed);
        Ok(before)
    }

    /// No deadline any more (the lease ended).
    pub fn disarm(&self) {
        self.until.store(0, Relaxed);
        self.tripped.store(false, Relaxed);
    }

    /// The lease's hooks were reset, ours with them: install it again when
    /// next needed.
    pub fn forget_handler(&self) {
        self.installed.store(false, Relaxed);
    }

    /// Whether the handler stopped a statement (and forgets it).
    pub fn take_tripped(&self) -> bool {
        self.tripped.swap(false, Relaxed)
    }

    fn expired(&self) -> bool {
        let until = self.until.load(Relaxed);
        if until == 0 || self.nanos(clock::now()) < until {
            return false;
        }
        self.tripped.store(true, Relaxed);
        true
    }
}

/// Whether `err` is SQLite reporting an interrupted statement.
pub(crate) fn is_interrupt(err: &rusqlite::Error) -> bool {
    err.sqlite_error().is_some_and(|f| f.code == rusqlite::ErrorCode::OperationInterrupted)
}

/// The first 200 characters of `sql`, for error messages.
pub(crate) fn excerpt(sql: &str) -> String {
    let sql = sql.trim();
    match sql.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &sql[..i]),
        None => sql.to_owned(),
    }
}
