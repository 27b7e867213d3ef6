//! One queued caller, blocking or asynchronous, and the FIFO queue of them.
//!
//! Two ways to serve the waiter at the front: **hand-off** ([`Waiter::grant`]:
//! the thing itself, so nobody can overtake it — strict FIFO, and always for
//! asynchronous waiters) and **nudge** ([`Waiter::nudge`]: "something came
//! free, come and try", while a running thread may take it first — bounded
//! barging, see `slots.rs`). Whoever removes a waiter from its queue owns the
//! duty to grant it exactly once; a waiter that gave up (timed out, future
//! dropped) and was already removed gets its grant back through
//! [`Waiter::grant`]'s return value.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::error::Error;
use crate::gate::Entrant;

struct Slot<T> {
    outcome: Option<Result<T, Error>>,
    /// When a blocking waiter was granted its outcome (what the hand-off
    /// cost is measured from: [`Waiter::handed_over`]).
    granted_at: Option<Instant>,
    waker: Option<Waker>,
    abandoned: bool,
    nudged: bool,
}

/// How a blocking wait ended.
pub(crate) enum Woken<T> {
    /// Granted (or failed, e.g. closed).
    Granted(Result<T, Error>),
    /// Told to try again: what it waits for may be free now.
    Nudged,
    /// The deadline passed.
    TimedOut,
}

/// How many times a blocking waiter spins (a CPU pause, ~20-60 ns each)
/// before parking on its condvar: about a microsecond, less than a park and
/// a wake-up cost. It does not yield: with more threads than cores (8 on
/// 2, measured) each `yield_now` hands the core to another runnable thread,
/// and 16 of them halved acquire+release throughput and made the per-thread
/// share less even; a waiter that is not runnable leaves the core to the
/// holders it waits for.
const SPINS_BEFORE_PARKING: u32 = 64;

/// After this many nudges in a row whose waiter found the thing taken
/// again, whatever comes free (a connection, the write gate) wakes nobody:
/// a running thread takes it back before a woken waiter could run (a
/// thread leasing in a loop), and each such wake-up costs a futex wake and
/// a context switch for nothing. Measured on 2 cores: 8 writers paid half
/// a context switch a commit, and 8 threads leasing 4 connections lost a
/// quarter of their throughput. The head waiter then looks for itself
/// once its patience (the starvation bound; at the write gate maybe more:
/// `patience.rs`) ran out: it takes what is free (nudging resumes), or is
/// handed it as starving. So nobody waits longer than its patience for
/// something free; the price is that after a busy spell the first waiter
/// of the next one may wait that long once.
pub(crate) const LAZY_AFTER: u8 = 2;

/// A caller waiting for a `T` until its deadline.
pub(crate) struct Waiter<T> {
    slot: Mutex<Slot<T>>,
    /// Set once an outcome is in the slot or a nudge came: lets a blocking
    /// waiter spin briefly on an atomic before it parks.
    granted: AtomicBool,
    /// When it queued (the deadline minus the timeout): how long it has
    /// waited decides whether the queue starves.
    pub since: Instant,
    /// How long past `since` it lets running threads go first before it is
    /// starving: the starvation bound in the pool's queue, stretched at the
    /// write gate when hand-offs are dear (`patience.rs`).
    pub patience: Duration,
    cv: Condvar,
    pub deadline: Instant,
    /// The timeout the deadline was computed from (for error messages).
    pub timeout: Duration,
    /// Whether a thread blocks on this waiter (it times itself out); async
    /// waiters are timed out by the housekeeper's sweep.
    pub blocking: bool,
    /// The pool it waits for (a write gate can be shared by several pools
    /// on one file: each closes and times out only its own waiters).
    pub owner: usize,
    /// Who waits, at a write gate (see `gate.rs`): a writer that needs a
    /// connection once in, a session's statement that holds one already, or
    /// another caller (the checkpointer). `Other` in the pool's own queue.
    pub entrant: Entrant,
}

impl<T> Waiter<T> {
    /// A waiter in a pool's queue, with `patience` (see `patience.rs`).
    pub fn new(deadline: &mut crate::clock::Deadline, blocking: bool, patience: Duration) -> Arc<Self> {
        Self::at_gate(deadline, blocking, 0, Entrant::Other, patience)
    }

    /// A write-gate waiter of pool `owner` (see [`Waiter::entrant`] and
    /// [`Waiter::patience`]).
    pub fn at_gate(
        deadline: &mut crate::clock::Deadline,
        blocking: bool,
        owner: usize,
        entrant: Entrant,
        patience: Duration,
    ) -> Arc<Self> {
        let at = deadline.at();
        Arc::new(Waiter {
            slot: Mutex::new(Slot { outcome: None, granted_at: None, waker: None, abandoned: false, nudged: false }),
            granted: AtomicBool::new(false),
            since: at.checked_sub(deadline.timeout).unwrap_or(at),
            patience,
            cv: Condvar::new(),
            deadline: at,
            timeout: deadline.timeout,
            blocking,
            owner,
            entrant,
        })
    }

    /// Delivers the outcome. Call only after removing the waiter from its
    /// queue. Returns the value back when the waiter was abandoned, so the
    /// caller can give it to someone else.
    #[must_use]
    pub fn grant(&self, outcome: Result<T, Error>) -> Option<T> {
        let mut slot = self.slot.lock();
        if slot.abandoned {
            return outcome.ok();
        }
        slot.outcome = Some(outcome);
        if self.blocking {
            slot.granted_at = Some(Instant::now());
        }
        self.granted.store(true, Ordering::Release);
        let waker = slot.waker.take();
        drop(slot);
        self.cv.notify_one();
        if let Some(w) = waker {
            w.wake();
        }
        None
    }

    /// Wakes a blocking waiter to try again, without granting anything.
    /// Returns `false` when it was nudged already and has not looked yet (no
    /// second wake-up is paid for).
    pub fn nudge(&self) -> bool {
        let mut slot = self.slot.lock();
        if slot.nudged || slot.outcome.is_some() {
            return false;
        }
        slot.nudged = true;
        self.granted.store(true, Ordering::Release);
        drop(slot);
        self.cv.notify_one();
        true
    }

    /// Blocks until granted, nudged, or `until` (at most the deadline)
    /// passes (`TimedOut`); spins briefly first (a grant or nudge often
    /// follows within a microsecond).
    pub fn wait_until(&self, until: Instant) -> Woken<T> {
        let until = until.min(self.deadline);
        for _ in 0..SPINS_BEFORE_PARKING {
            if self.granted.load(Ordering::Acquire) {
                break;
            }
            std::hint::spin_loop();
        }
        let mut slot = self.slot.lock();
        loop {
            if let Some(outcome) = slot.outcome.take() {
                return Woken::Granted(outcome);
            }
            if slot.nudged {
                slot.nudged = false;
                self.granted.store(false, Ordering::Release);
                return Woken::Nudged;
            }
            if self.cv.wait_until(&mut slot, until).timed_out() {
                return match slot.outcome.take() {
                    Some(outcome) => Woken::Granted(outcome),
                    None => Woken::TimedOut,
                };
            }
        }
    }

    /// How long after its grant a blocking waiter that was handed what it
    /// waited for got to run (call once it has it; `None` the second time).
    pub fn handed_over(&self) -> Option<Duration> {
        self.slot.lock().granted_at.take().map(|at| at.elapsed())
    }

    /// Blocks until granted: used once the waiter is known to be out of the
    /// queue, when a grant is on its way.
    pub fn wait_for_grant(&self) -> Result<T, Error> {
        let mut slot = self.slot.lock();
        loop {
            if let Some(outcome) = slot.outcome.take() {
                return outcome;
            }
            self.cv.wait(&mut slot);
        }
    }

    /// The outcome if granted; otherwise remembers `waker` and returns `None`.
    pub fn poll_grant(&self, waker: &Waker) -> Option<Result<T, Error>> {
        let mut slot = self.slot.lock();
        let outcome = slot.outcome.take();
        if outcome.is_none() {
            match &slot.waker {
                Some(w) if w.will_wake(waker) => {}
                _ => slot.waker = Some(waker.clone()),
            }
        }
        outcome
    }

    /// Gives up on a waiter already out of the queue: returns a grant that
    /// already arrived, or marks it abandoned so [`Waiter::grant`] hands the
    /// value back to its granter.
    pub fn abandon(&self) -> Option<Result<T, Error>> {
        let mut slot = self.slot.lock();
        let outcome = slot.outcome.take();
        if outcome.is_none() {
            slot.abandoned = true;
        }
        outcome
    }
}

/// FIFO queue of waiters.
pub(crate) struct WaitQueue<T> {
    queue: VecDeque<Arc<Waiter<T>>>,
}

impl<T> Default for WaitQueue<T> {
    fn default() -> Self {
        WaitQueue { queue: VecDeque::new() }
    }
}

impl<T> WaitQueue<T> {
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn push(&mut self, waiter: Arc<Waiter<T>>) {
        self.queue.push_back(waiter);
    }

    pub fn pop(&mut self) -> Option<Arc<Waiter<T>>> {
        self.queue.pop_front()
    }

    /// The waiter at the front, left in place.
    pub fn front(&self) -> Option<&Arc<Waiter<T>>> {
        self.queue.front()
    }

    /// Whether `waiter` is at the front.
    pub fn is_front(&self, waiter: &Arc<Waiter<T>>) -> bool {
        self.queue.front().is_some_and(|w| Arc::ptr_eq(w, waiter))
    }

    /// Removes `waiter` if still queued; `false` means someone removed it
    /// and owes it a grant.
    pub fn remove(&mut self, waiter: &Arc<Waiter<T>>) -> bool {
        match self.queue.iter().position(|w| Arc::ptr_eq(w, waiter)) {
            Some(i) => {
                self.queue.remove(i);
                true
            }
            None => false,
        }
    }

    /// Removes and returns every waiter whose deadline has passed.
    pub fn take_expired(&mut self, now: Instant) -> Vec<Arc<Waiter<T>>> {
        self.take_where(|w| w.deadline <= now)
    }

    /// Removes and returns the waiters `pick` selects, keeping the others' order.
    pub fn take_where(&mut self, pick: impl Fn(&Waiter<T>) -> bool) -> Vec<Arc<Waiter<T>>> {
        if !self.queue.iter().any(|w| pick(w)) {
            return Vec::new();
        }
        let (taken, kept): (VecDeque<_>, VecDeque<_>) =
            std::mem::take(&mut self.queue).into_iter().partition(|w| pick(w));
        self.queue = kept;
        taken.into()
    }

    /// The earliest deadline among asynchronous waiters.
    pub fn next_async_deadline(&self) -> Option<Instant> {
        self.next_async_deadline_where(|_| true)
    }

    /// The earliest deadline among asynchronous waiters `pick` selects.
    pub fn next_async_deadline_where(&self, pick: impl Fn(&Waiter<T>) -> bool) -> Option<Instant> {
        self.queue.iter().filter(|w| !w.blocking && pick(w)).map(|w| w.deadline).min()
    }

    /// How many waiters `pick` selects.
    pub fn count_where(&self, pick: impl Fn(&Waiter<T>) -> bool) -> usize {
        self.queue.iter().filter(|w| pick(w)).count()
    }

    /// Empties the queue (on close, or in a forked child).
    pub fn drain(&mut self) -> Vec<Arc<Waiter<T>>> {
        self.queue.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Deadline;

    fn waiter(ms: u64, blocking: bool) -> Arc<Waiter<u32>> {
        Waiter::new(&mut Deadline::after(Duration::from_millis(ms)), blocking, Duration::ZERO)
    }

    #[test]
    fn a_grant_after_abandon_comes_back_to_the_granter() {
        let w = waiter(1000, false);
        assert!(w.abandon().is_none(), "nothing granted yet");
        assert_eq!(w.grant(Ok(7)), Some(7), "the value goes back, to be given to someone else");
    }

    #[test]
    fn abandon_after_a_grant_returns_the_grant() {
        let w = waiter(1000, false);
        assert_eq!(w.grant(Ok(3)), None);
        assert!(matches!(w.abandon(), Some(Ok(3))), "the granted value is not lost");
    }

    #[test]
    fn a_waiter_popped_cannot_be_removed_so_its_remover_waits_for_the_grant() {
        let mut q = WaitQueue::default();
        let (a, b) = (waiter(1000, true), waiter(1000, true));
        q.push(Arc::clone(&a));
        q.push(Arc::clone(&b));
        let popped = q.pop().expect("a is first");
        assert!(Arc::ptr_eq(&popped, &a));
        assert!(!q.remove(&a), "already out: whoever popped it owes it a grant");
        assert!(q.remove(&b) && q.is_empty());
        let granter = std::thread::spawn(move || popped.grant(Ok(1)));
        assert!(matches!(a.wait_for_grant(), Ok(1)));
        assert_eq!(granter.join().ok().flatten(), None);
    }

    #[test]
    fn a_nudge_wakes_once_and_a_second_is_not_paid_for() {
        let w = waiter(1000, true);
        assert!(w.nudge());
        assert!(!w.nudge(), "not looked yet: no second wake-up");
        assert!(matches!(w.wait_until(w.deadline), Woken::Nudged));
        assert!(w.nudge(), "looked: it can be nudged again");
        assert!(matches!(w.wait_until(w.deadline), Woken::Nudged));
        let w = waiter(5, true);
        assert!(matches!(w.wait_until(w.deadline), Woken::TimedOut));
    }

    #[test]
    fn a_grant_wins_over_a_pending_nudge_and_wakes_the_async_waker() {
        struct Flag(AtomicBool);
        impl std::task::Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(Arc::clone(&flag));
        let w = waiter(1000, false);
        assert!(w.poll_grant(&waker).is_none());
        assert_eq!(w.grant(Ok(9)), None);
        assert!(flag.0.load(Ordering::SeqCst), "the waker ran");
        assert!(!w.nudge(), "granted: a nudge is pointless");
        assert!(matches!(w.poll_grant(&waker), Some(Ok(9))));
    }

    #[test]
    fn expiry_takes_only_the_expired_and_keeps_the_rest_in_order() {
        let mut q = WaitQueue::default();
        let ws = [waiter(1000, true), waiter(0, false), waiter(2000, false), waiter(0, true)];
        for w in &ws {
            q.push(Arc::clone(w));
        }
        let taken = q.take_expired(Instant::now() + Duration::from_millis(1));
        assert_eq!(taken.len(), 2);
        assert!(Arc::ptr_eq(&taken[0], &ws[1]) && Arc::ptr_eq(&taken[1], &ws[3]));
        assert!(q.is_front(&ws[0]) && q.len() == 2);
        assert_eq!(q.next_async_deadline(), Some(ws[2].deadline));
    }
}
