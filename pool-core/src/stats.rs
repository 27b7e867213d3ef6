//! What the pool can tell about itself: a [`State`] snapshot, cumulative
//! [`Statistics`] counters and a [`Health`] verdict.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// A point-in-time snapshot of the pool's connections, as `getStats()` in the
/// quota-proxy design notes: `{active, idle, total, max, min, waiting}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct State {
    /// Connections leased out right now.
    pub active: u32,
    /// Open connections waiting in the pool to be leased.
    pub idle: u32,
    /// `active + idle`: every open connection the pool owns.
    pub total: u32,
    /// The configured `max_size`.
    pub max: u32,
    /// The configured `min_idle`.
    pub min: u32,
    /// Callers queued for a connection (blocking and asynchronous alike).
    pub waiting: u32,
}

/// Cumulative counters since the pool was built. They only grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Statistics {
    /// Leases handed out, in all.
    pub acquired: u64,
    /// Leases served at once from an idle connection.
    pub acquired_direct: u64,
    /// Leases that had to queue first.
    pub acquired_waited: u64,
    /// Acquires that gave up at their timeout.
    pub timeouts: u64,
    /// Connections opened.
    pub created: u64,
    /// Connection attempts that failed.
    pub create_failures: u64,
    /// Connections retired for sitting idle past `idle_timeout`.
    pub closed_idle: u64,
    /// Connections retired for outliving `max_lifetime`.
    pub closed_lifetime: u64,
    /// Connections discarded because they failed validation or reset.
    pub closed_broken: u64,
    /// Leases returned inside an open transaction, and rolled back.
    pub rolled_back_on_return: u64,
    /// Leases held past `leak_threshold` (each counted once).
    pub leaks: u64,
    /// Connections brought back to the pool's state on return because the
    /// lease changed them (pragmas, TEMP objects, attachments, raw access).
    pub reset_on_return: u64,
    /// Connections closed on return because what the lease changed could
    /// not be undone (they are replaced by fresh ones).
    pub closed_dirty: u64,
    /// Connections retired by `evict()` or a lowered `max_size`.
    pub closed_evicted: u64,
    /// Writing statements of ordinary leases let through without the write
    /// gate (its holder was waiting for a connection, or `busy_timeout`
    /// passed): they relied on SQLite's own locking instead.
    pub gate_bypassed: u64,
    /// The WAL file's size in bytes when this snapshot was taken (the one
    /// gauge here; 0 when the database is not in WAL mode).
    pub wal_bytes: u64,
    /// The largest WAL file size the pool has seen.
    pub wal_peak_bytes: u64,
    /// PASSIVE checkpoints the pool ran (`checkpoint = "pool"`), catch-ups
    /// under the write gate included.
    pub checkpoints_passive: u64,
    /// TRUNCATE checkpoints the pool ran under reader back-pressure.
    pub checkpoints_truncate: u64,
    /// Of those checkpoints, the ones an open read or a writer kept from
    /// copying back (or, for TRUNCATE, resetting) the whole WAL.
    pub checkpoints_incomplete: u64,
    /// Checkpoints that failed with an error.
    pub checkpoints_failed: u64,
    /// Pages (WAL frames) the pool's checkpoints copied back into the database.
    pub checkpoint_pages: u64,
    /// Read and ordinary leases held back while the pool truncated the WAL.
    pub backpressure_waits: u64,
    /// Times a lease was reported as pinning the WAL (its open read kept a
    /// TRUNCATE checkpoint from finishing).
    pub wal_pinned: u64,
    /// Callers refused at once with `LITEPOOL_OVERLOADED` instead of
    /// queueing (`max_waiting`, `shed_load`).
    pub shed: u64,
    /// Total time callers spent waiting for a connection.
    pub wait_time: Duration,
    /// Total time leases were held back by reader back-pressure.
    pub backpressure_wait_time: Duration,
}

impl State {
    /// Every field by its snake-case name, in declaration order (for
    /// bindings that turn the snapshot into a dict or an object).
    pub fn fields(&self) -> [(&'static str, u32); 6] {
        [
            ("active", self.active),
            ("idle", self.idle),
            ("total", self.total),
            ("max", self.max),
            ("min", self.min),
            ("waiting", self.waiting),
        ]
    }
}

impl Statistics {
    /// Every counter by its snake-case name, in declaration order
    /// (`wait_time` and `backpressure_wait_time`, durations, are apart).
    pub fn counters(&self) -> [(&'static str, u64); 25] {
        [
            ("acquired", self.acquired),
            ("acquired_direct", self.acquired_direct),
            ("acquired_waited", self.acquired_waited),
            ("timeouts", self.timeouts),
            ("created", self.created),
            ("create_failures", self.create_failures),
            ("closed_idle", self.closed_idle),
            ("closed_lifetime", self.closed_lifetime),
            ("closed_broken", self.closed_broken),
            ("rolled_back_on_return", self.rolled_back_on_return),
            ("leaks", self.leaks),
            ("reset_on_return", self.reset_on_return),
            ("closed_dirty", self.closed_dirty),
            ("closed_evicted", self.closed_evicted),
            ("gate_bypassed", self.gate_bypassed),
            ("wal_bytes", self.wal_bytes),
            ("wal_peak_bytes", self.wal_peak_bytes),
            ("checkpoints_passive", self.checkpoints_passive),
            ("checkpoints_truncate", self.checkpoints_truncate),
            ("checkpoints_incomplete", self.checkpoints_incomplete),
            ("checkpoints_failed", self.checkpoints_failed),
            ("checkpoint_pages", self.checkpoint_pages),
            ("backpressure_waits", self.backpressure_waits),
            ("wal_pinned", self.wal_pinned),
            ("shed", self.shed),
        ]
    }
}

/// The pool's health by the design notes' thresholds on `active / max`
/// (below 0.8 healthy, below 0.9 warning, else degraded), and by its queue:
/// any caller waiting makes it at least a warning (the pool is at its
/// limit), as many waiting as `max` makes it degraded. A closed pool is
/// degraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// `active < 0.8 · max` and nobody waiting.
    Healthy,
    /// `0.8 · max <= active < 0.9 · max`, or `0 < waiting < max`.
    Warning,
    /// `active >= 0.9 · max`, `waiting >= max`, or the pool is closed.
    Degraded,
}

impl Health {
    /// Grades a state; `closed` pools are always degraded.
    pub fn of(state: &State, closed: bool) -> Health {
        let (active, max) = (f64::from(state.active), f64::from(state.max));
        if closed || active >= 0.9 * max || state.waiting >= state.max {
            Health::Degraded
        } else if active >= 0.8 * max || state.waiting > 0 {
            Health::Warning
        } else {
            Health::Healthy
        }
    }

    /// `"healthy"`, `"warning"` or `"degraded"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Warning => "warning",
            Health::Degraded => "degraded",
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The live counters behind [`Statistics`], bumped without the pool lock.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Bumped by every lease that did not wait: striped.
    pub acquired_direct: crate::striped::StripedCounter,
    pub acquired_waited: AtomicU64,
    pub timeouts: AtomicU64,
    pub created: AtomicU64,
    pub create_failures: AtomicU64,
    pub closed_idle: AtomicU64,
    pub closed_lifetime: AtomicU64,
    pub closed_broken: AtomicU64,
    pub rolled_back_on_return: AtomicU64,
    pub leaks: AtomicU64,
    pub reset_on_return: AtomicU64,
    pub closed_dirty: AtomicU64,
    pub gate_bypassed: AtomicU64,
    pub closed_evicted: AtomicU64,
    pub wait_nanos: AtomicU64,
}

impl Counters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    pub fn snapshot(&self) -> Statistics {
        let direct = self.acquired_direct.sum();
        let waited = self.acquired_waited.load(Relaxed);
        Statistics {
            acquired: direct + waited,
            acquired_direct: direct,
            acquired_waited: waited,
            timeouts: self.timeouts.load(Relaxed),
            created: self.created.load(Relaxed),
            create_failures: self.create_failures.load(Relaxed),
            closed_idle: self.closed_idle.load(Relaxed),
            closed_lifetime: self.closed_lifetime.load(Relaxed),
            closed_broken: self.closed_broken.load(Relaxed),
            rolled_back_on_return: self.rolled_back_on_return.load(Relaxed),
            leaks: self.leaks.load(Relaxed),
            reset_on_return: self.reset_on_return.load(Relaxed),
            closed_dirty: self.closed_dirty.load(Relaxed),
            gate_bypassed: self.gate_bypassed.load(Relaxed),
            closed_evicted: self.closed_evicted.load(Relaxed),
            wait_time: Duration::from_nanos(self.wait_nanos.load(Relaxed)),
            // Filled in by the pool's WAL keeper (`checkpoint.rs`).
            ..Statistics::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_active(active: u32) -> State {
        State { active, max: 10, ..State::default() }
    }

    #[test]
    fn health_follows_the_design_thresholds() {
        assert_eq!(Health::of(&with_active(7), false), Health::Healthy);
        assert_eq!(Health::of(&with_active(8), false), Health::Warning);
        assert_eq!(Health::of(&with_active(9), false), Health::Degraded);
        assert_eq!(Health::of(&with_active(0), true), Health::Degraded);
    }

    #[test]
    fn queued_callers_lower_health() {
        let queued = |active, waiting| State { active, waiting, max: 10, ..State::default() };
        assert_eq!(Health::of(&queued(3, 1), false), Health::Warning, "someone waits: at the limit");
        assert_eq!(Health::of(&queued(3, 10), false), Health::Degraded, "a queue as long as the pool");
        assert_eq!(Health::of(&queued(3, 0), false), Health::Healthy);
    }
}
