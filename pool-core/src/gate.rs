//! The write gate: one writer at a time, served first come, first served.
//!
//! SQLite allows one writer per database. Writers that collide inside SQLite
//! sleep in the busy handler and may still fail with `SQLITE_BUSY` (a deferred
//! read→write upgrade ignores `busy_timeout`); writers queued here never
//! collide with each other at all.

use std::sync::Arc;
use std::time::Instant;

use crate::clock::Deadline;

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::waiter::{WaitQueue, Waiter};

#[derive(Default)]
struct GateState {
    held: bool,
    closed: bool,
    waiters: WaitQueue<()>,
}

/// A fair mutual-exclusion gate for writers (one per database).
#[derive(Default)]
pub(crate) struct WriteGate {
    state: Mutex<GateState>,
}

/// The outcome of trying to pass the gate.
pub(crate) enum GateEntry {
    Entered(GatePermit),
    Queued(Arc<Waiter<()>>),
}

/// Holding this is holding the gate; dropping it lets the next writer in.
pub(crate) struct GatePermit {
    gate: Arc<WriteGate>,
}

impl Drop for GatePermit {
    fn drop(&mut self) {
        self.gate.leave();
    }
}

impl WriteGate {
    /// Enters at once when free and nobody queues; otherwise queues.
    pub fn enter(self: &Arc<Self>, deadline: &mut Deadline, blocking: bool) -> Result<GateEntry> {
        let mut st = self.state.lock();
        if st.closed {
            return Err(Error::Closed);
        }
        if !st.held && st.waiters.is_empty() {
            st.held = true;
            return Ok(GateEntry::Entered(GatePermit { gate: Arc::clone(self) }));
        }
        let waiter = Waiter::new(deadline, blocking);
        st.waiters.push(Arc::clone(&waiter));
        Ok(GateEntry::Queued(waiter))
    }

    /// Wraps a granted turn in a permit.
    pub fn permit(self: &Arc<Self>) -> GatePermit {
        GatePermit { gate: Arc::clone(self) }
    }

    /// Passes the gate to the first waiter, or frees it.
    fn leave(&self) {
        loop {
            let mut st = self.state.lock();
            match st.waiters.pop() {
                Some(next) => {
                    drop(st);
                    // An abandoned waiter hands the turn back: try the next one.
                    if next.grant(Ok(())).is_none() {
                        return;
                    }
                }
                None => {
                    st.held = false;
                    return;
                }
            }
        }
    }

    /// Takes a waiter that gave up out of the queue; `false` if it was
    /// already granted (or is being granted) its turn.
    pub fn remove(&self, waiter: &Arc<Waiter<()>>) -> bool {
        self.state.lock().waiters.remove(waiter)
    }

    /// A blocking wait for a queued turn, up to the waiter's deadline.
    /// `Ok(None)` means the deadline passed while still queued.
    pub fn wait(self: &Arc<Self>, waiter: &Arc<Waiter<()>>) -> Result<Option<GatePermit>> {
        let outcome = match waiter.wait_until_deadline() {
            Some(outcome) => outcome,
            None if self.remove(waiter) => return Ok(None),
            None => waiter.wait_for_grant(),
        };
        outcome.map(|()| Some(self.permit()))
    }

    /// Gives up a queued async turn (future dropped).
    pub fn abandon(self: &Arc<Self>, waiter: &Arc<Waiter<()>>) {
        if !self.remove(waiter) {
            if let Some(Ok(())) = waiter.abandon() {
                drop(self.permit());
            }
        }
    }

    /// Async waiters past their deadline, removed from the queue.
    pub fn take_expired(&self, now: Instant) -> Vec<Arc<Waiter<()>>> {
        self.state.lock().waiters.take_expired(now)
    }

    pub fn next_async_deadline(&self) -> Option<Instant> {
        self.state.lock().waiters.next_async_deadline()
    }

    pub fn waiting(&self) -> usize {
        self.state.lock().waiters.len()
    }

    /// Refuses new writers and fails every queued one with `Closed`.
    pub fn close(&self) {
        let waiters = {
            let mut st = self.state.lock();
            st.closed = true;
            st.waiters.drain()
        };
        for w in waiters {
            let _ = w.grant(Err(Error::Closed));
        }
    }

    /// In a forked child: the holder (another thread of the parent) is gone.
    pub fn reset_after_fork(&self) {
        let mut st = self.state.lock();
        st.held = false;
        st.waiters.drain();
    }
}
