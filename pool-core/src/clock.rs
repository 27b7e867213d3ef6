//! The hot path's clock.
//!
//! Every lease reads the clock twice (when it starts, to check the
//! validation window and time the lease; when it ends, to time it and stamp
//! `last_used`). `quanta` reads the TSC, about half the cost of
//! `std::time::Instant::now()` on the machines we measured, and falls back to
//! the OS clock where the TSC is unreliable. Deadlines that threads sleep on
//! stay `std::time::Instant`.
//!
//! The pool reads its own `quanta::Clock` rather than `quanta::Instant::now()`,
//! which looks up a thread-local mock clock and a global cell on every call
//! (about 60 instructions of an 700-instruction lease, counted by callgrind).

use std::sync::LazyLock;
use std::time::Duration;

/// A point on the hot-path clock.
pub(crate) type Instant = quanta::Instant;

/// The clock (calibrated once per process, shared with quanta's own).
static CLOCK: LazyLock<quanta::Clock> = LazyLock::new(quanta::Clock::new);

#[inline]
pub(crate) fn now() -> Instant {
    CLOCK.now()
}

/// An acquire's deadline, read from the OS clock only when the caller has
/// to queue (the direct path never needs it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    pub timeout: Duration,
    at: Option<std::time::Instant>,
}

impl Deadline {
    pub fn after(timeout: Duration) -> Deadline {
        Deadline { timeout, at: None }
    }

    pub fn at(&mut self) -> std::time::Instant {
        *self.at.get_or_insert_with(|| std::time::Instant::now() + self.timeout)
    }
}
