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
//!
//! **The holder's connection goes with the gate.** A write lease that ends
//! while another writer of its pool queues here leaves its connection with
//! the gate ([`Spare`]): the next writer of that pool to enter takes the
//! gate and the connection at once — one wake-up, not two, and never a wait
//! behind readers for a connection while every other writer waits behind
//! it (GRDB keeps a writer connection for the same reason; here it is
//! elastic). The connection goes back to its pool as soon as no writer of
//! that pool queues here, and a pool of one connection never leaves it
//! (its readers would wait on the writers).
//!
//! **Patience.** Barging and the starvation bound work here as in the
//! pool's queue (`slots.rs`), but a queued writer's patience is the bound
//! stretched by what hand-offs cost (`patience.rs`): the gate is the one
//! thing every writer waits for, and a hand-off leaves it idle until the
//! sleeping writer runs.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Weak};
use std::time::Instant;

use crate::clock::Deadline;

use parking_lot::Mutex;

use crate::config::Fairness;
use crate::entry::PoolEntry;
use crate::error::{Error, Result};
use crate::patience::Handoffs;
use crate::shared::Shared;
use crate::waiter::{WaitQueue, Waiter, Woken, LAZY_AFTER};

#[derive(Default)]
struct GateState {
    held: bool,
    waiters: WaitQueue<Pass>,
    /// Holders waiting for a connection right now.
    starving: u32,
    /// The first waiter waited past its patience: hand off, no barging.
    queue_starving: bool,
    /// The fairness of the pools using the gate (the last to enter sets it).
    fairness: Fairness,
    bound: std::time::Duration,
    /// A connection left for the next writer of its pool queued here.
    spare: Option<Spare>,
    /// Nudges in a row whose waiter found the gate taken again (see
    /// [`LAZY_AFTER`]).
    fruitless: u8,
    /// What a hand-off to a sleeping writer costs (the gate is idle until it
    /// runs): a queued writer's patience grows with it (`patience.rs`).
    handoffs: Handoffs,
}

impl GateState {
    /// The spare, for an entrant of pool `owner` that needs a connection.
    fn claim(&mut self, owner: usize, entrant: Entrant) -> Option<Spare> {
        if entrant == Entrant::Writer && self.spare.as_ref().is_some_and(|s| s.owner == owner) {
            return self.spare.take();
        }
        None
    }

    /// Whether a writer of pool `owner` that needs a connection queues here.
    fn writer_queued(&self, owner: usize) -> bool {
        self.waiters.count_where(|w| w.owner == owner && w.entrant == Entrant::Writer) > 0
    }

    /// The spare, once no writer of its pool queues here any more: it goes
    /// home (the caller books it, outside this lock).
    fn orphan(&mut self) -> Option<Spare> {
        let owner = self.spare.as_ref()?.owner;
        if self.writer_queued(owner) {
            return None;
        }
        self.spare.take()
    }
}

/// Who enters the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entrant {
    /// A writer that needs a connection once in (a write lease): it takes
    /// the one the last writer of its pool left with the gate, if any.
    Writer,
    /// A caller that holds a connection already (a session's writing
    /// statement): it may be let through while the holder starves for one.
    Holding,
    /// Anyone else (the checkpointer).
    Other,
}

/// A connection a writer of pool `owner` left with the gate for the next one.
pub(crate) struct Spare {
    owner: usize,
    home: Weak<Shared>,
    entry: PoolEntry,
}

impl Spare {
    /// Back into its pool's books: the writer it was kept for is gone.
    fn go_home(self) {
        match self.home.upgrade() {
            Some(shared) => shared.put_back(self.entry),
            // Unreachable while the pool lives (its close takes its spare back).
            None => drop(self.entry),
        }
    }
}

/// Books every spare in `spares` back into its pool (outside the gate's lock).
fn send_home(spares: impl IntoIterator<Item = Option<Spare>>) {
    for spare in spares.into_iter().flatten() {
        spare.go_home();
    }
}

/// What a queued waiter is granted.
pub(crate) enum Pass {
    /// The gate: the waiter holds it now (a writer with its pool's spare
    /// connection, when the last writer left one).
    Turn(Option<Spare>),
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
    /// The connection that came with the gate (a writer's), or the one this
    /// holder leaves for the next writer.
    spare: Option<Spare>,
}

impl GatePermit {
    /// The connection the last writer of this pool left with the gate.
    pub fn take_spare(&mut self) -> Option<PoolEntry> {
        self.spare.take().map(|s| s.entry)
    }

    /// Leaves the holder's connection `entry` of pool `home` with the gate
    /// when a writer of that pool queues here (it enters with it when this
    /// permit drops); otherwise gives it back, for the caller to book before
    /// the permit drops (so a writer that enters next finds it idle).
    pub fn hand_on(&mut self, entry: PoolEntry, home: &Arc<Shared>) -> Option<PoolEntry> {
        if !home.keeps_writer_connection(&entry) || self.spare.is_some() {
            return Some(entry);
        }
        let st = self.gate.state.lock();
        if st.spare.is_some() || !st.writer_queued(home.id) {
            return Some(entry);
        }
        drop(st);
        self.spare = Some(Spare { owner: home.id, home: Arc::downgrade(home), entry });
        None
    }
}

impl Drop for GatePermit {
    fn drop(&mut self) {
        self.gate.leave(self.spare.take());
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

    /// Enters at once when free and nobody queues (or, barging, nobody
    /// starves); otherwise queues.
    pub fn enter(
        self: &Arc<Self>,
        deadline: &mut Deadline,
        blocking: bool,
        owner: Owner<'_>,
        entrant: Entrant,
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
            let spare = st.claim(owner.id, entrant);
            return Ok(GateEntry::Entered(GatePermit { gate: Arc::clone(self), spare }));
        }
        if entrant == Entrant::Holding && st.starving > 0 {
            return Ok(GateEntry::Bypassed);
        }
        let patience = st.handoffs.patience(st.bound, st.waiters.len());
        let waiter = Waiter::at_gate(deadline, blocking, owner.id, entrant, patience);
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
        Some(GatePermit { gate: Arc::clone(self), spare: None })
    }

    /// Marks the holder as waiting for a connection until the guard drops,
    /// and lets every queued waiter that holds a connection through.
    pub fn starving(self: &Arc<Self>) -> Starving {
        let through = {
            let mut st = self.state.lock();
            st.starving += 1;
            st.waiters.take_where(|w| w.entrant == Entrant::Holding)
        };
        for w in through {
            let _ = w.grant(Ok(Pass::Bypass));
        }
        Starving { gate: Arc::clone(self) }
    }

    /// Wraps a granted turn (and the spare connection that came with it) in a permit.
    pub fn permit(self: &Arc<Self>, pass: Pass) -> GatePermit {
        let spare = match pass {
            Pass::Turn(spare) => spare,
            Pass::Bypass => None,
        };
        GatePermit { gate: Arc::clone(self), spare }
    }

    /// Passes the gate to the first waiter, or frees it (nudging the first
    /// waiter, when barging: a running writer may enter first). `spare`: a
    /// connection the holder leaves for the next writer of its pool.
    fn leave(&self, mut spare: Option<Spare>) {
        loop {
            let mut st = self.state.lock();
            // Two spares cannot meet (only a holder leaves one); were they to, one goes home.
            let extra = spare.take().and_then(|s| st.spare.replace(s));
            let Some(head) = st.waiters.front().cloned() else {
                st.held = false;
                st.queue_starving = false;
                let orphan = st.spare.take();
                drop(st);
                return send_home([orphan, extra]);
            };
            st.queue_starving = head.since.elapsed() > head.patience;
            if st.fairness == Fairness::Barging && head.blocking && !st.queue_starving {
                st.held = false;
                let orphan = st.orphan();
                let lazy = st.fruitless >= LAZY_AFTER;
                drop(st);
                if !lazy {
                    head.nudge();
                }
                return send_home([orphan, extra]);
            }
            let next = st.waiters.pop().expect("front exists");
            if st.waiters.is_empty() {
                st.queue_starving = false;
            }
            let gift = st.claim(next.owner, next.entrant);
            let orphan = st.orphan();
            drop(st);
            send_home([orphan, extra]);
            // An abandoned waiter hands the turn back: try the next one.
            match next.grant(Ok(Pass::Turn(gift))) {
                None => return,
                Some(Pass::Turn(back)) => spare = back,
                Some(Pass::Bypass) => {}
            }
        }
    }

    /// Takes a waiter that gave up out of the queue; `false` if it was
    /// already granted (or is being granted) its turn.
    pub fn remove(&self, waiter: &Arc<Waiter<Pass>>) -> bool {
        let (removed, orphan) = {
            let mut st = self.state.lock();
            let removed = st.waiters.remove(waiter);
            (removed, st.orphan())
        };
        send_home([orphan]);
        removed
    }

    /// A blocking wait for a queued turn, up to the waiter's deadline; a
    /// nudged waiter takes the gate itself if it is still free.
    /// `Ok(None)` means the deadline passed while still queued.
    pub fn wait(self: &Arc<Self>, waiter: &Arc<Waiter<Pass>>) -> Result<Option<Pass>> {
        // Once its patience has run out, the waiter looks at the gate itself
        // (a lazy holder did not nudge it: see `LAZY_AFTER`).
        let mut look = waiter.since + waiter.patience;
        loop {
            let nudged = match waiter.wait_until(look) {
                Woken::Granted(outcome) => {
                    if let Some(took) = waiter.handed_over() {
                        self.state.lock().handoffs.observe(took);
                    }
                    return outcome.map(Some);
                }
                Woken::Nudged => true,
                Woken::TimedOut if Instant::now() < waiter.deadline => {
                    // Looks once; from now on it is starving, and handed the gate.
                    look = waiter.deadline;
                    false
                }
                Woken::TimedOut => {
                    let mut st = self.state.lock();
                    if st.waiters.remove(waiter) {
                        // The gate may be free with others queued: wake the next.
                        let next = if st.held { None } else { st.waiters.front().cloned() };
                        let orphan = st.orphan();
                        drop(st);
                        send_home([orphan]);
                        if let Some(next) = next {
                            next.nudge();
                        }
                        return Ok(None);
                    }
                    drop(st);
                    return waiter.wait_for_grant().map(Some);
                }
            };
            let mut st = self.state.lock();
            let allowed = !st.held && (!st.queue_starving || st.waiters.is_front(waiter));
            if allowed && st.waiters.remove(waiter) {
                st.held = true;
                st.fruitless = 0;
                return Ok(Some(Pass::Turn(st.claim(waiter.owner, waiter.entrant))));
            }
            if nudged {
                st.fruitless = st.fruitless.saturating_add(1);
            }
        }
    }

    /// Gives up a queued async turn (future dropped).
    pub fn abandon(self: &Arc<Self>, waiter: &Arc<Waiter<Pass>>) {
        if !self.remove(waiter) {
            if let Some(Ok(pass)) = waiter.abandon() {
                drop(self.permit(pass));
            }
        }
    }

    /// Pool `owner`'s async waiters past their deadline, removed from the
    /// queue. Not blocking ones: they time themselves out, and a session's
    /// statement whose wait ends goes on without the gate, which a sweep's
    /// timeout error would have failed instead.
    pub fn take_expired(&self, now: Instant, owner: usize) -> Vec<Arc<Waiter<Pass>>> {
        let (expired, orphan) = {
            let mut st = self.state.lock();
            let expired = st.waiters.take_where(|w| w.owner == owner && !w.blocking && w.deadline <= now);
            (expired, st.orphan())
        };
        send_home([orphan]);
        expired
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
        let (waiters, orphan) = {
            let mut st = self.state.lock();
            let waiters = st.waiters.take_where(|w| w.owner == owner);
            (waiters, st.orphan())
        };
        send_home([orphan]);
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
        if let Some(spare) = st.spare.take() {
            // The parent's: let it go without closing it (not of the current generation).
            let parents = spare.entry.generation.wrapping_add(1);
            spare.entry.dispose(parents);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A blocking writer of pool 1 enters barging `gate` with `bound`.
    fn enter(gate: &Arc<WriteGate>, bound: Duration) -> GateEntry {
        let closed = AtomicBool::new(false);
        let owner = Owner { id: 1, closed: &closed, fairness: Fairness::Barging, bound };
        gate.enter(&mut Deadline::after(Duration::from_secs(10)), true, owner, Entrant::Writer).expect("open")
    }

    /// A barging gate with `bound`, held, and a writer queued at it.
    fn held_with_a_waiter(bound: Duration) -> (Arc<WriteGate>, GatePermit, Arc<Waiter<Pass>>) {
        let gate = Arc::new(WriteGate::default());
        let GateEntry::Entered(permit) = enter(&gate, bound) else { panic!("the gate was free") };
        let GateEntry::Queued(waiter) = enter(&gate, bound) else { panic!("the gate was held") };
        (gate, permit, waiter)
    }

    /// A thread waiting for `waiter`'s turn; joined, it says whether it got it.
    fn waiting(gate: &Arc<WriteGate>, waiter: &Arc<Waiter<Pass>>) -> std::thread::JoinHandle<Result<bool>> {
        let (gate, waiter) = (Arc::clone(gate), Arc::clone(waiter));
        std::thread::spawn(move || gate.wait(&waiter).map(|pass| matches!(pass, Some(Pass::Turn(_)))))
    }

    #[test]
    fn a_lazy_holder_that_leaves_wakes_nobody_and_the_head_takes_the_gate_at_the_bound() {
        let bound = Duration::from_millis(100);
        let (gate, permit, waiter) = held_with_a_waiter(bound);
        gate.state.lock().fruitless = LAZY_AFTER;
        drop(permit);
        assert!(!gate.state.lock().held, "barging: the gate is free for a running writer");
        assert!(
            matches!(waiter.wait_until(Instant::now() + Duration::from_millis(20)), Woken::TimedOut),
            "the last nudges were fruitless: nobody was woken"
        );
        let pass = gate.wait(&waiter).expect("not closed");
        assert!(matches!(pass, Some(Pass::Turn(None))), "the head took the free gate itself");
        assert!(waiter.since.elapsed() >= bound, "at the bound");
        assert!(waiter.since.elapsed() < Duration::from_secs(5), "not at its deadline");
        let st = gate.state.lock();
        assert!(st.held && st.waiters.is_empty());
        assert_eq!(st.fruitless, 0, "a holder that did not come back: nudging resumes");
    }

    #[test]
    fn nudges_that_find_the_gate_taken_again_make_the_holder_lazy() {
        let bound = Duration::from_millis(300);
        let (gate, permit, waiter) = held_with_a_waiter(bound);
        let waiting = waiting(&gate, &waiter);
        for round in 1..=LAZY_AFTER {
            // A nudge while the gate is held (a barging holder came back first).
            let deadline = Instant::now() + Duration::from_secs(5);
            while !waiter.nudge() {
                assert!(Instant::now() < deadline, "the waiter looks at its nudge");
                std::thread::yield_now();
            }
            while gate.state.lock().fruitless < round {
                assert!(Instant::now() < deadline, "the nudged waiter found the gate held");
                std::thread::yield_now();
            }
        }
        drop(permit);
        assert!(waiting.join().expect("waiter").expect("not closed"), "the waiter got the gate");
        assert!(waiter.since.elapsed() >= bound, "by looking at the bound: the lazy leave woke nobody");
        assert_eq!(gate.state.lock().fruitless, 0);
    }

    #[test]
    fn a_hand_off_to_a_sleeping_writer_is_measured_and_stretches_the_next_writers_patience() {
        let bound = Duration::from_millis(2);
        let (gate, permit, waiter) = held_with_a_waiter(bound);
        let waiting = waiting(&gate, &waiter);
        // Past its patience (the bound: nothing measured yet), it looked,
        // found the gate held and sleeps: starving, it is handed the gate.
        std::thread::sleep(bound * 10);
        assert_eq!(waiter.patience, bound);
        drop(permit);
        assert!(waiting.join().expect("waiter").expect("not closed"), "handed the gate");
        assert!(gate.state.lock().handoffs.cost() > Duration::ZERO, "the hand-off's cost was measured");
        // A pretend dear hand-off: the next writers queued wait longer.
        gate.state.lock().handoffs = Handoffs::costing(Duration::from_micros(200));
        let GateEntry::Queued(next) = enter(&gate, bound) else { panic!("the gate is held by the writer handed it") };
        assert_eq!(next.patience, Duration::from_millis(4), "alone in the queue: 20 · 1 · 200 µs");
    }
}
