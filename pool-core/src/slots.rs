//! The pool's books: idle connections, the queue of waiters and the
//! counts. They change only through the named operations here (bb8's
//! `Approval`, sqlx's `DecrementSizeGuard` and HikariCP's `ConcurrentBag`
//! are the models), always under the pool's one lock.
//!
//! **Fairness.** With [`Fairness::Barging`] (the default) a connection that
//! comes free goes back to the idle stack and the first waiter is *nudged*:
//! a running thread may take the connection first (the one that just
//! returned it, typically — no futex wake-up, no context switch), and the
//! nudged waiter tries again (after fruitless nudges nobody is woken, and
//! the waiter looks for itself at the bound: [`LAZY_AFTER`]). Once the
//! first waiter has waited longer than its patience, the
//! `starvation_bound`, the queue is *starving*: freed connections are
//! handed straight to it, first come first served, and newcomers queue,
//! until a waiter is served within the bound again (Go's `sync.Mutex` does
//! the same). Asynchronous waiters (futures, callbacks) are always handed their
//! connection: they cannot race. [`Fairness::Strict`] hands off every time.
//!
//! **Lanes.** Idle connections are taken by the `query_only` state the
//! lease wants (a read lease prefers one already read-only), so a pool
//! serving both lanes toggles the pragma only when it has to.
//!
//! **Affinity.** A lease prefers, among the few idle connections on top of
//! the stack, the one its own thread freed last ([`AFFINITY_SCAN`]).

use std::sync::Arc;

use rusqlite::Connection;

use crate::config::Fairness;
use crate::entry::PoolEntry;
use crate::fair::Waiters;
use crate::tenant::Tenant;
use crate::waiter::{Waiter, LAZY_AFTER};

/// How many idle connections from the top of the stack a lease looks
/// through for the one its own thread returned last. That connection's
/// pages, statements and entry are still in this core's cache: 4 threads
/// doing point selects on 4 connections (2 cores) ran 10–15 % faster with
/// it. A few, so a big idle stack costs nothing.
const AFFINITY_SCAN: usize = 4;

/// The calling thread's tag: the address of a thread-local, unique among
/// live threads and cheap to read (a thread that exits may pass its tag on
/// to a new one; that costs at most a connection picked for no reason).
#[inline]
fn thread_tag() -> usize {
    thread_local!(static TAG: u8 = const { 0 });
    TAG.with(|t| t as *const u8 as usize)
}

/// What a lease wants from an idle connection.
#[derive(Clone, Copy)]
pub(crate) struct Want<'a> {
    /// `PRAGMA query_only` on (a read lease) or off.
    pub query_only: bool,
    /// A tenant whose attachment is preferred (affinity).
    pub tenant: Option<&'a Tenant>,
}

/// What to do with a connection that came free.
pub(crate) enum Freed {
    /// It is idle now; nobody waits.
    Idle,
    /// Hand it to this waiter (out of the queue now; its grant may come back).
    Grant(Arc<Waiter<PoolEntry>>, PoolEntry),
    /// It is idle; nudge this waiter (still queued) to come and take it.
    Nudge(Arc<Waiter<PoolEntry>>),
    /// The pool is closed: close it (already out of the books).
    Close(PoolEntry),
    /// Evicted, or above a lowered `max_size`: close it (out of the books).
    Retire(PoolEntry),
}

/// The state under the pool's lock.
pub(crate) struct Slots {
    /// Idle connections; the most recently used on top.
    idle: Vec<PoolEntry>,
    /// Open connections (idle + leased), not counting ones being opened.
    total: u32,
    /// Connections the housekeeper has been asked to open.
    pending: u32,
    /// FIFO, or fair across tenants (`fair.rs`).
    waiters: Waiters,
    /// The first waiter waited past its patience: hand off, no barging.
    starving: bool,
    pub closed: bool,
    pub last_error: Option<String>,
    next_id: u64,
    /// The current `max_size` and `min_idle` (`Pool::resize` changes them).
    max: u32,
    min: u32,
    /// Bumped by `Pool::evict`: connections of an older epoch are retired
    /// when they are next free.
    epoch: u64,
    /// Keeps a shared in-memory database alive; never leased.
    anchor: Option<Connection>,
    /// Nudges in a row whose waiter found the connection taken (see
    /// [`LAZY_AFTER`]).
    fruitless: u8,
}

impl Slots {
    /// `fair` and `limit`: `fair_tenants` and `max_leases_per_tenant`.
    pub fn new(first: PoolEntry, anchor: Option<Connection>, max: u32, min: u32, fair: bool, limit: u32) -> Slots {
        Slots {
            max,
            min,
            epoch: 0,
            idle: vec![first],
            total: 1,
            pending: 0,
            waiters: Waiters::new(fair, limit),
            starving: false,
            closed: false,
            last_error: None,
            next_id: 1,
            anchor,
            fruitless: 0,
        }
    }

    /// `(idle, total, waiting)`.
    pub fn counts(&self) -> (u32, u32, u32) {
        (self.idle.len() as u32, self.total, self.waiters.len() as u32)
    }

    pub fn total(&self) -> u32 {
        self.total
    }

    /// `(max_size, min_idle)` now.
    pub fn limits(&self) -> (u32, u32) {
        (self.max, self.min)
    }

    /// The eviction epoch new connections belong to.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// New limits; the idle connections above the new `max_size` are out
    /// of the books, to close (leased ones above it close when returned).
    pub fn resize(&mut self, max: u32, min: u32) -> Vec<PoolEntry> {
        self.max = max;
        self.min = min;
        let excess = (self.total as usize).saturating_sub(max as usize).min(self.idle.len());
        // The least recently used go first (the bottom of the stack).
        let out: Vec<PoolEntry> = self.idle.drain(..excess).collect();
        self.total -= out.len() as u32;
        out
    }

    /// Starts a new epoch: every idle connection is out of the books, to
    /// close; leased ones are retired when returned.
    pub fn evict(&mut self) -> Vec<PoolEntry> {
        self.epoch += 1;
        let out = std::mem::take(&mut self.idle);
        self.total -= out.len() as u32;
        out
    }

    /// A new connection id.
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// An idle connection for a newcomer, if the rules allow one now: with
    /// waiters queued, only when barging and the queue is not starving.
    #[inline]
    pub fn take(&mut self, want: Want<'_>, fairness: Fairness) -> Option<PoolEntry> {
        if self.waiters.is_fair() {
            return self.take_fair(want, fairness);
        }
        if !self.waiters.is_empty() && (fairness == Fairness::Strict || self.starving) {
            return None;
        }
        self.pick(want)
    }

    /// [`Slots::take`] with fair tenants: waiters of tenants at their limit
    /// do not hold newcomers back, a newcomer whose tenant is at its limit
    /// queues, and the connection is counted against its tenant.
    #[inline(never)]
    fn take_fair(&mut self, want: Want<'_>, fairness: Fairness) -> Option<PoolEntry> {
        let queued = self.waiters.front().is_some();
        if !self.waiters.admits(want.tenant) || (queued && (fairness == Fairness::Strict || self.starving)) {
            return None;
        }
        let mut entry = self.pick(want)?;
        self.waiters.reserve(&mut entry, want.tenant);
        Some(entry)
    }

    /// An idle connection for a nudged waiter: it leaves the queue with it.
    /// `None` when someone else took the connection first (it stays queued)
    /// or it was granted meanwhile (it is out of the queue: a grant is coming).
    pub fn take_for(&mut self, waiter: &Arc<Waiter<PoolEntry>>, want: Want<'_>) -> Option<PoolEntry> {
        // Fair tenants: only the waiter served next (its tenant below its
        // limit, its lane's turn); a waiter looking for itself may be any.
        if (self.starving || self.waiters.is_fair()) && !self.waiters.is_front(waiter) {
            return None;
        }
        if self.idle.is_empty() || !self.waiters.serve(waiter) {
            return None;
        }
        let mut entry = self.pick(want)?;
        self.waiters.reserve(&mut entry, want.tenant);
        Some(entry)
    }

    fn pick(&mut self, want: Want<'_>) -> Option<PoolEntry> {
        let i = match want.tenant {
            Some(t) => t.pick(&self.idle)?,
            None => {
                let top = self.idle.len().checked_sub(1)?;
                let (me, near) = (thread_tag(), top.saturating_sub(AFFINITY_SCAN - 1));
                let mine = (near..=top).rev().find(|&i| {
                    let e = &self.idle[i];
                    e.last_thread == me && e.query_only == want.query_only
                });
                if let Some(i) = mine {
                    i
                } else if self.idle[top].query_only == want.query_only {
                    top
                } else {
                    self.idle.iter().rposition(|e| e.query_only == want.query_only).unwrap_or(top)
                }
            }
        };
        Some(self.idle.remove(i))
    }

    /// Queues `waiter` (of `tenant`, which fair queueing serves by).
    pub fn enqueue(&mut self, waiter: Arc<Waiter<PoolEntry>>, tenant: Option<&Tenant>) {
        self.waiters.push(waiter, tenant);
    }

    /// Takes a waiter that gave up out of the queue; `false` if it was
    /// already removed (a grant is on its way).
    pub fn withdraw(&mut self, waiter: &Arc<Waiter<PoolEntry>>) -> bool {
        let removed = self.waiters.remove(waiter);
        if self.waiters.is_empty() {
            self.starving = false;
        }
        removed
    }

    /// The waiter to nudge when a connection is idle with waiters queued
    /// (after one left the queue, or took one of several idle connections).
    pub fn next_to_nudge(&self) -> Option<Arc<Waiter<PoolEntry>>> {
        if self.idle.is_empty() {
            return None;
        }
        self.waiters.front().filter(|w| w.blocking).cloned()
    }

    /// Books a connection that came free (see [`Freed`]).
    #[inline]
    pub fn free(&mut self, mut entry: PoolEntry, fairness: Fairness) -> Freed {
        if self.closed {
            self.total -= 1;
            return Freed::Close(entry);
        }
        if entry.epoch != self.epoch || self.total > self.max {
            self.total -= 1;
            return Freed::Retire(entry);
        }
        self.waiters.release(&mut entry);
        entry.last_thread = thread_tag();
        let Some(head) = self.waiters.front() else {
            self.starving = false;
            self.idle.push(entry);
            return Freed::Idle;
        };
        self.starving = head.since.elapsed() > head.patience;
        if fairness == Fairness::Strict || !head.blocking || self.starving {
            let head = self.waiters.pop_granting(&mut entry).expect("front exists");
            if self.waiters.is_empty() {
                self.starving = false;
            }
            return Freed::Grant(head, entry);
        }
        let head = Arc::clone(head);
        self.idle.push(entry);
        if self.fruitless >= LAZY_AFTER {
            // It looks for itself at its bound (see `LAZY_AFTER`).
            return Freed::Idle;
        }
        Freed::Nudge(head)
    }

    /// A nudged waiter looked: whether it found a connection.
    pub fn nudge_outcome(&mut self, served: bool) {
        self.fruitless = if served { 0 } else { self.fruitless.saturating_add(1) };
    }

    /// Reserves a slot for a connection opened inline (`try_get`): only
    /// when nobody queues and there is room.
    pub fn reserve_inline(&mut self) -> bool {
        if !self.waiters.is_empty() || self.total + self.pending >= self.max {
            return false;
        }
        self.total += 1;
        true
    }

    /// A connection left the books (closed, discarded, or an inline open failed).
    pub fn dropped(&mut self) {
        self.total -= 1;
    }

    /// Asks for connections while waiters outnumber connections being
    /// opened and there is room; `true` when the housekeeper must wake.
    pub fn request_creations(&mut self) -> bool {
        let room = self.max.saturating_sub(self.total + self.pending);
        let wanted = (self.waiters.len() as u32).saturating_sub(self.pending).min(room);
        self.pending += wanted;
        wanted > 0
    }

    /// Asks for connections so that `min_idle` are idle; `true` when the
    /// housekeeper must open some.
    pub fn refill(&mut self) -> bool {
        let room = self.max.saturating_sub(self.total + self.pending);
        let deficit = self.min.saturating_sub(self.idle.len() as u32 + self.pending).min(room);
        self.pending += deficit;
        deficit > 0
    }

    pub fn creation_wanted(&self) -> bool {
        self.pending > 0 && !self.closed
    }

    /// The housekeeper opened one it was asked for.
    pub fn opened(&mut self) {
        self.pending = self.pending.saturating_sub(1);
        self.total += 1;
    }

    /// An opening failed: `true` to retry soon (someone waits).
    pub fn open_failed(&mut self, error: String) -> bool {
        self.last_error = Some(error);
        if self.waiters.is_empty() || self.closed {
            self.pending = self.pending.saturating_sub(1);
            false
        } else {
            true
        }
    }

    /// Idle connections `retire` picks (given the entry and how many are idle), out of the books.
    pub fn retire<R>(&mut self, mut retire: impl FnMut(&PoolEntry, usize) -> Option<R>) -> Vec<(PoolEntry, R)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.idle.len() {
            match retire(&self.idle[i], self.idle.len()) {
                Some(reason) => {
                    out.push((self.idle.remove(i), reason));
                    self.total -= 1;
                }
                None => i += 1,
            }
        }
        out
    }

    pub fn take_expired(&mut self, now: std::time::Instant) -> Vec<Arc<Waiter<PoolEntry>>> {
        let expired = self.waiters.take_expired(now);
        if self.waiters.is_empty() {
            self.starving = false;
        }
        expired
    }

    pub fn next_async_deadline(&self) -> Option<std::time::Instant> {
        self.waiters.next_async_deadline()
    }

    /// Closes the books: the idle connections and the waiters, to close
    /// and to fail.
    pub fn close(&mut self) -> (Vec<PoolEntry>, Vec<Arc<Waiter<PoolEntry>>>) {
        self.closed = true;
        let idle = std::mem::take(&mut self.idle);
        self.total -= idle.len() as u32;
        self.starving = false;
        (idle, self.waiters.drain())
    }

    /// The anchor, once every connection is back (close).
    pub fn take_anchor(&mut self) -> Option<Connection> {
        if self.total == 0 {
            self.anchor.take()
        } else {
            None
        }
    }

    /// In a forked child: forgets everything the parent had (the idle
    /// connections are returned, to be let go without closing).
    pub fn forget_after_fork(&mut self) -> Vec<PoolEntry> {
        if let Some(anchor) = self.anchor.take() {
            std::mem::forget(anchor);
        }
        self.total = 0;
        self.pending = 0;
        self.starving = false;
        self.waiters.drain();
        std::mem::take(&mut self.idle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Deadline;
    use std::time::Duration;

    fn entry(id: u64) -> PoolEntry {
        PoolEntry::new(Connection::open_in_memory().expect("open"), id, None, 0).expect("entry")
    }

    #[test]
    fn after_fruitless_nudges_a_freed_connection_wakes_nobody_until_a_look_finds_one() {
        let (want, bound) = (Want { query_only: false, tenant: None }, Duration::from_secs(5));
        let mut slots = Slots::new(entry(1), None, 1, 0, false, 0);
        let mut held = slots.take(want, Fairness::Barging).expect("idle");
        let waiter = Waiter::new(&mut Deadline::after(Duration::from_secs(10)), true, bound);
        slots.enqueue(Arc::clone(&waiter), None);
        for _ in 0..LAZY_AFTER {
            assert!(matches!(slots.free(held, Fairness::Barging), Freed::Nudge(_)));
            // A running thread took it back before the nudged waiter looked.
            held = slots.take(want, Fairness::Barging).expect("barging");
            assert!(slots.take_for(&waiter, want).is_none());
            slots.nudge_outcome(false);
        }
        assert!(matches!(slots.free(held, Fairness::Barging), Freed::Idle), "lazy: nobody nudged");
        let found = slots.take_for(&waiter, want).expect("its look finds the idle connection");
        slots.nudge_outcome(true);
        assert_eq!(slots.counts(), (0, 1, 0), "served and out of the queue");
        slots.enqueue(Arc::clone(&waiter), None);
        assert!(matches!(slots.free(found, Fairness::Barging), Freed::Nudge(_)), "nudging resumed");
    }

    #[test]
    fn a_thread_takes_back_the_connection_it_freed_though_another_was_freed_after_it() {
        let want = Want { query_only: false, tenant: None };
        let mut slots = Slots::new(entry(1), None, 2, 0, false, 0);
        slots.total += 1;
        let mine = slots.take(want, Fairness::Barging).expect("idle");
        assert!(matches!(slots.free(mine, Fairness::Barging), Freed::Idle));
        std::thread::scope(|s| {
            s.spawn(|| assert!(matches!(slots.free(entry(2), Fairness::Barging), Freed::Idle)));
        });
        assert_eq!(slots.take(want, Fairness::Barging).expect("idle").id, 1, "its own, not the top one");
        assert_eq!(slots.take(want, Fairness::Barging).expect("idle").id, 2);
        // The lane's query_only state still comes first.
        let mut ro = entry(3);
        ro.query_only = true;
        assert!(matches!(slots.free(ro, Fairness::Barging), Freed::Idle));
        std::thread::scope(|s| {
            s.spawn(|| assert!(matches!(slots.free(entry(4), Fairness::Barging), Freed::Idle)));
        });
        assert_eq!(slots.take(want, Fairness::Barging).expect("idle").id, 4, "a writable one for a writable lease");
    }
}
