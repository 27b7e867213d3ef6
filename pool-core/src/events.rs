//! Event hooks: a trait with no-op defaults, called as things happen.
//!
//! Hooks run on the thread where the event happens (often inside an acquire
//! or release), so keep them short. A hook that panics is caught and logged;
//! it never takes the pool down.

use std::time::Duration;

use crate::stats::State;

/// Why a connection was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Idle past `idle_timeout` while above `min_idle`.
    Idle,
    /// Older than `max_lifetime`.
    Lifetime,
    /// Failed validation, or could not be rolled back on return.
    Broken,
    /// A lease changed it in a way the pool cannot undo (an unknown pragma,
    /// a failed reset): replaced rather than handed on.
    Dirty,
    /// The pool closed.
    PoolClosed,
    /// `Pool::evict`, or above a lowered `max_size` (`Pool::resize`).
    Evicted,
}

/// A leased connection held longer than `leak_threshold`.
#[derive(Debug, Clone)]
pub struct LeakReport {
    /// The connection's id.
    pub connection_id: u64,
    /// How long it has been held so far.
    pub held_for: Duration,
    /// Where it was acquired: `file:line:column` for Rust callers, or the
    /// stack/traceback string a binding passed.
    pub site: String,
    /// The acquiring thread's name, if it had one.
    pub thread: Option<String>,
}

/// Callbacks for pool events; implement only those you need.
pub trait PoolEvents: Send + Sync + 'static {
    /// A connection was opened.
    fn on_create(&self, _connection_id: u64) {}
    /// A lease began, after `waited` in the queue (zero when direct).
    fn on_acquire(&self, _connection_id: u64, _waited: Duration) {}
    /// A lease ended after `held`.
    fn on_release(&self, _connection_id: u64, _held: Duration) {}
    /// A connection was closed.
    fn on_destroy(&self, _connection_id: u64, _reason: CloseReason) {}
    /// An acquire gave up.
    fn on_timeout(&self, _waited: Duration, _state: State) {}
    /// A lease was held past `leak_threshold` (reported once per lease).
    fn on_leak(&self, _report: &LeakReport) {}
    /// A back-pressure checkpoint could not finish within its wait: `report`
    /// is the lease out longest, whose open read keeps the WAL from
    /// restarting (known only while `leak_threshold` is set).
    fn on_wal_pinned(&self, _report: &LeakReport) {}
    /// The pool has something to report that needs no answer: a connection
    /// failed validation, could not be opened or rolled back on return, a
    /// lease looks leaked, the WAL is pinned… `message` is the text the
    /// pool also logs at `WARN` through the `log` crate (so a binding can
    /// hand it to its language's logger).
    fn on_warning(&self, _message: &str) {}
    /// A statement ran past `slow_statement_threshold` (see `slow.rs`).
    fn on_slow_statement(&self, _slow: &crate::slow::SlowStatement) {}
}
