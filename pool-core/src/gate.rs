//! The write gate: one writer at a time, served first come, first served.
//!
//! SQLite allows one writer per database. Writers that collide inside SQLite
//! sleep in the busy handler and may still fail with `SQLITE_BUSY` (a deferred
//! read→write upgrade ignores `busy_timeout`); writers queued here never
//! collide with each other at all.
//!
//! A session's writing statement (see `sql/session.rs`) queues here while
//! it already holds a connection. Were the gate's holder itself waiting for
//! a connection (a `write()` acquire takes the gate first), the two could
//! wait on each other; so while a holder starves for a connection, waiters
//! that hold one are let through without the gate ([`Pass::Bypass`]: their
//! statement then relies on SQLite's own locking and busy timeout).
//!
//! One gate per database *file*, not per pool: every pool in the process
//! that opens the same file (whatever the path's spelling: the key is the
//! file's device and inode) gets the same gate, so their writers queue
//! together too. Each pool closes and times out only its own waiters.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Weak};
use std::time::Instant;

use crate::clock::Deadline;

use parking_lot::Mutex;

use crate::config::Fairness;
use crate::error::{Error, Result};
use crate::waiter::{WaitQueue, Waiter, Woken};

#[derive(Default)]
struct GateState {
    held: bool,
    waiters: WaitQueue<Pass>,
    /// Holders waiting for a connection right now.
    starving: u32,
    /// The first waiter waited past the starvation bound: hand off, no barging.
    queue_starving: bool,
    /// The fairness of the pools using the gate (the last to enter sets it).
    fairness: Fairness,
    bound: std::time::Duration,
}

/// What a queued waiter is granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pass {
    /// The gate: the waiter holds it now.
    Turn,
    /// Go on without the gate (only for waiters that hold a connection).
    Bypass,
}

/// A fair mutual-exclusion gate for writers (one per database file).
#[derive(Default)]
pub(crate) struct WriteGate {
    state: Mutex<GateState>,
    /// The fork generation this gate was last reset for (pools sharing it
    /// each reset it in a child; only the first reset may clear `held`).
    reset_for: AtomicU64,
    /// The file's `(device, inode)` it is registered under, if any.
    key: Option<(u64, u64)>,
}

impl Drop for WriteGate {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let mut registry = REGISTRY.lock();
            registry.retain(|(k, g)| *k != key && g.strong_count() > 0);
            if registry.is_empty() {
                // Free the table: nothing of ours outlives the last pool.
                registry.shrink_to_fit();
            }
        }
    }
}

/// Who queues at a gate: the pool's id (see `Waiter::owner`) and its
/// closed flag, checked under the gate's lock so that a pool's close never
/// misses a waiter.
#[derive(Clone, Copy)]
pub(crate) struct Owner<'a> {
    pub id: usize,
    pub closed: &'a AtomicBool,
    pub fairness: Fairness,
    pub bound: std::time::Duration,
}

/// The outcome of trying to pass the gate.
pub(crate) enum GateEntry {
    Entered(GatePermit),
    Queued(Arc<Waiter<Pass>>),
    /// Let through without the gate (a waiter holding a connection while
    /// the holder starves for one).
    Bypassed,
}

/// While alive, the gate's holder is waiting for a connection.
pub(crate) struct Starving {
    gate: Arc<WriteGate>,
}

impl Drop for Starving {
    fn drop(&mut self) {
        let mut st = self.gate.state.lock();
        st.starving = st.starving.saturating_sub(1);
    }
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

/// Gates of files some pool has open, by `(device, inode)` (a handful: a
/// list is enough).
type Registry = Vec<((u64, u64), Weak<WriteGate>)>;
static REGISTRY: Mutex<Registry> = Mutex::new(Vec::new());

impl WriteGate {
    /// The gate of the file with `identity`, shared with every other pool of
    /// this process on that file; a gate of its own when there is no
    /// identity (in-memory databases, custom connectors).
    pub fn for_file(identity: Option<(u64, u64)>) -> Arc<WriteGate> {
        let Some(key) = identity else { return Arc::default() };
        let mut registry = REGISTRY.lock();
        if let Some(gate) = registry.iter().filter(|(k, _)| *k == key).find_map(|(_, g)| g.upgrade()) {
            return gate;
        }
        let gate = Arc::new(WriteGate { state: Mutex::default(), reset_for: AtomicU64::new(0), key: Some(key) });
        registry.push((key, Arc::downgrade(&gate)));
        gate
    }

    /// Enters at once when free and nobody queues; otherwise queues.
    /// `holding`: the caller already holds a connection (a session).
    pub fn enter(
        self: &Arc<Self>,
        deadline: &mut Deadline,
        blocking: bool,
        owner: Owner<'_>,
        holding: bool,
    ) -> Result<GateEntry> {
        let mut st = self.state.lock();
        if owner.closed.load(SeqCst) {
            return Err(Error::Closed);
        }
        st.fairness = owner.fairness;
        st.bound = owner.bound;
        let barging = owner.fairness == Fairness::Barging && !st.queue_starving;
        if !st.held && (st.waiters.is_empty() || barging) {
            st.held = true;
            return Ok(GateEntry::Entered(GatePermit { gate: Arc::clone(self) }));
        }
        if holding && st.starving > 0 {
            return Ok(GateEntry::Bypassed);
        }
        let waiter = Waiter::at_gate(deadline, blocking, owner.id, holding);
        st.waiters.push(Arc::clone(&waiter));
        Ok(GateEntry::Queued(waiter))
    }

    /// Enters only if the gate is free and nobody queues.
    pub fn try_enter(self: &Arc<Self>) -> Option<GatePermit> {
        let mut st = self.state.lock();
        if st.held || !st.waiters.is_empty() {
            return None;
        }
        st.held = true;
        Some(GatePermit { gate: Arc::clone(self) })
    }

    /// Marks the holder as waiting for a connection until the guard drops,
    /// and lets every queued waiter that holds a connection through.
    pub fn starving(self: &Arc<Self>) -> Starving {
        let through = {
            let mut st = self.state.lock();
            st.starving += 1;
            st.waiters.take_where(|w| w.holding)
        };
        for w in through {
            let _ = w.grant(Ok(Pass::Bypass));
        }
        Starving { gate: Arc::clone(self) }
    }

    /// Wraps a granted turn in a permit.
    pub fn permit(self: &Arc<Self>) -> GatePermit {
        GatePermit { gate: Arc::clone(self) }
    }

    /// Passes the gate to the first waiter, or frees it (nudging the first
    /// waiter, when barging: a running writer may enter first).
    fn leave(&self) {
        loop {
            let mut st = self.state.lock();
            let Some(head) = st.waiters.front().cloned() else {
                st.held = false;
                st.queue_starving = false;
                return;
            };
            st.queue_starving = head.since.elapsed() > st.bound;
            if st.fairness == Fairness::Barging && head.blocking && !st.queue_starving {
                st.held = false;
                drop(st);
                head.nudge();
                return;
            }
            let next = st.waiters.pop().expect("front exists");
            if st.waiters.is_empty() {
                st.queue_starving = false;
            }
            drop(st);
            // An abandoned waiter hands the turn back: try the next one.
            if next.grant(Ok(Pass::Turn)).is_none() {
                return;
            }
        }
    }

    /// Takes a waiter that gave up out of the queue; `false` if it was
    /// already granted (or is being granted) its turn.
    pub fn remove(&self, waiter: &Arc<Waiter<Pass>>) -> bool {
        self.state.lock().waiters.remove(waiter)
    }

    /// A blocking wait for a queued turn, up to the waiter's deadline; a
    /// nudged waiter takes the gate itself if it is still free.
    /// `Ok(None)` means the deadline passed while still queued.
    pub fn wait(self: &Arc<Self>, waiter: &Arc<Waiter<Pass>>) -> Result<Option<Pass>> {
        loop {
            match waiter.wait() {
                Woken::Granted(outcome) => return outcome.map(Some),
                Woken::Nudged => {
                    let mut st = self.state.lock();
                    let allowed = !st.held && (!st.queue_starving || st.waiters.is_front(waiter));
                    if allowed && st.waiters.remove(waiter) {
                        st.held = true;
                        return Ok(Some(Pass::Turn));
                    }
                }
                Woken::TimedOut => {
                    let mut st = self.state.lock();
                    if st.waiters.remove(waiter) {
                        // The gate may be free with others queued: wake the next.
                        let next = if st.held { None } else { st.waiters.front().cloned() };
                        drop(st);
                        if let Some(next) = next {
                            next.nudge();
                        }
                        return Ok(None);
                    }
                    drop(st);
                    return waiter.wait_for_grant().map(Some);
                }
            }
        }
    }

    /// Gives up a queued async turn (future dropped).
    pub fn abandon(self: &Arc<Self>, waiter: &Arc<Waiter<Pass>>) {
        if !self.remove(waiter) {
            if let Some(Ok(Pass::Turn)) = waiter.abandon() {
                drop(self.permit());
            }
        }
    }

    /// Pool `owner`'s async waiters past their deadline, removed from the queue.
    pub fn take_expired(&self, now: Instant, owner: usize) -> Vec<Arc<Waiter<Pass>>> {
        self.state.lock().waiters.take_where(|w| w.owner == owner && w.deadline <= now)
    }

    pub fn next_async_deadline(&self, owner: usize) -> Option<Instant> {
        self.state.lock().waiters.next_async_deadline_where(|w| w.owner == owner)
    }

    /// Pool `owner`'s writers queued here.
    pub fn waiting(&self, owner: usize) -> usize {
        self.state.lock().waiters.count_where(|w| w.owner == owner)
    }

    /// Fails every writer pool `owner` has queued here with `Closed` (its
    /// closed flag is already set, so no new one queues).
    pub fn close_for(&self, owner: usize) {
        let waiters = self.state.lock().waiters.take_where(|w| w.owner == owner);
        for w in waiters {
            let _ = w.grant(Err(Error::Closed));
        }
    }

    /// In a forked child: the holder (another thread of the parent) is gone.
    /// Only the first pool to notice the fork `generation` resets the gate.
    pub fn reset_after_fork(&self, generation: u64) {
        if self.reset_for.swap(generation, SeqCst) == generation {
            return;
        }
        let mut st = self.state.lock();
        st.held = false;
        st.waiters.drain();
    }
}
