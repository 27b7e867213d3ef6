//! The pool's one background thread: opens connections on demand (with
//! backoff), retires idle and old ones, refills `min_idle`, times out
//! asynchronous waiters and reports leaks.
//!
//! It holds only a `Weak` to the pool between rounds, so dropping the pool
//! stops it.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Weak};
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::events::CloseReason;
use crate::shared::Shared;
use crate::stats::Counters;

const BACKOFF_START: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Flags {
    kicked: bool,
    shutdown: bool,
}

/// How the pool wakes (or stops) its housekeeper.
pub(crate) struct WorkerSignal {
    flags: Mutex<Flags>,
    cv: Condvar,
    /// When the housekeeper means to wake next, in nanoseconds after `base`
    /// (`u64::MAX` before its first plan), so async waiters wake it only
    /// when their deadline comes sooner.
    planned: AtomicU64,
    base: Instant,
    /// The running housekeeper, joined by `stop` so that a closed pool
    /// leaves no thread behind (valgrind, process exit right after close).
    thread: Mutex<Option<thread::JoinHandle<()>>>,
}

impl Default for WorkerSignal {
    fn default() -> Self {
        WorkerSignal {
            flags: Mutex::default(),
            cv: Condvar::new(),
            planned: AtomicU64::new(u64::MAX),
            base: Instant::now(),
            thread: Mutex::new(None),
        }
    }
}

impl WorkerSignal {
    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Records when the housekeeper will look next.
    fn plan(&self, at: Instant) {
        self.planned.store(self.nanos(at), SeqCst);
    }

    /// Wakes the housekeeper only if `deadline` comes before its plan. Call
    /// after queueing the waiter: the housekeeper re-scans after planning,
    /// so one of the two always sees the other.
    pub fn kick_if_before(&self, deadline: Instant) {
        if self.nanos(deadline) < self.planned.load(SeqCst) {
            self.kick();
        }
    }

    /// Asks for a round now (a creation was requested, a deadline changed).
    pub fn kick(&self) {
        self.flags.lock().kicked = true;
        self.cv.notify_one();
    }

    /// Stops the housekeeper and waits for it to exit until `deadline`
    /// (it finishes a connection it is opening first); past the deadline it
    /// is left to exit on its own.
    pub fn stop(&self, deadline: Instant) {
        self.flags.lock().shutdown = true;
        self.cv.notify_one();
        let Some(handle) = self.thread.lock().take() else { return };
        if handle.thread().id() == thread::current().id() {
            return; // closed from a hook on the housekeeper itself
        }
        loop {
            if handle.is_finished() {
                let _ = handle.join();
                return;
            }
            if Instant::now() >= deadline {
                *self.thread.lock() = Some(handle);
                return;
            }
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Sleeps until `until` or a kick; `false` once shut down.
    fn sleep(&self, until: Instant) -> bool {
        let mut flags = self.flags.lock();
        while !flags.kicked && !flags.shutdown {
            if self.cv.wait_until(&mut flags, until).timed_out() {
                break;
            }
        }
        flags.kicked = false;
        !flags.shutdown
    }
}

/// Starts the housekeeper thread for `shared`.
pub(crate) fn spawn(shared: &Arc<Shared>) {
    let weak = Arc::downgrade(shared);
    let signal = Arc::clone(&shared.worker);
    let name = format!("litepool-{}", shared.config.name);
    match thread::Builder::new().name(name).spawn(move || run(&weak, &signal)) {
        Ok(handle) => {
            // In a forked child the old handle names a thread of the
            // parent's: forget it rather than detach a thread we do not have.
            if let Some(inherited) = shared.worker.thread.lock().replace(handle) {
                std::mem::forget(inherited);
            }
        }
        Err(e) => log::error!("litepool: cannot start the housekeeper thread: {e}"),
    }
}

fn run(weak: &Weak<Shared>, signal: &WorkerSignal) {
    let mut next_housekeeping = Instant::now();
    let mut backoff = BACKOFF_START;
    loop {
        let Some(shared) = weak.upgrade() else { return };
        let mut wake_at = None;
        if shared.creation_wanted() {
            match shared.open_entry() {
                Ok(entry) => {
                    backoff = BACKOFF_START;
                    shared.add_created(entry);
                    continue;
                }
                Err(e) => {
                    if shared.creation_failed(&e) {
                        wake_at = Some(Instant::now() + backoff);
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                    }
                }
            }
        }
        let now = Instant::now();
        shared.expire_async_waiters(now);
        if now >= next_housekeeping {
            housekeep(&shared, crate::clock::now());
            next_housekeeping = now + shared.config.housekeeping_period;
        }
        shared.report_leaks(now);
        // New leases do not wake us: look again within half the leak
        // threshold, so a lease is never returned unreported past it.
        let leak_check = shared.config.leak_threshold.map(|t| Instant::now() + t / 2);
        let wake_at = [Some(next_housekeeping), wake_at, shared.next_deadline(), leak_check]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(next_housekeeping);
        signal.plan(wake_at);
        // A waiter queued while we planned may have missed the plan: look once more.
        if shared.next_deadline().is_some_and(|d| d < wake_at) {
            continue;
        }
        drop(shared);
        if !signal.sleep(wake_at) {
            return;
        }
    }
}

/// One housekeeping round: retire expired idle connections, refill `min_idle`.
fn housekeep(shared: &Shared, now: crate::clock::Instant) {
    let cfg = &shared.config;
    let retired = {
        let mut int = shared.slots.lock();
        if int.closed {
            return;
        }
        // Oldest-used entries sit at the bottom of the LIFO stack.
        let (_, min_idle) = int.limits();
        let retired = int.retire(|e, idle| {
            let idle_too_long = cfg.idle_timeout.is_some_and(|t| now.duration_since(e.last_used) >= t);
            if e.is_expired(now) {
                Some(CloseReason::Lifetime)
            } else if idle_too_long && idle > min_idle as usize {
                Some(CloseReason::Idle)
            } else {
                None
            }
        });
        if int.refill() {
            // Open them this round, not one housekeeping period later.
            shared.worker.kick();
        }
        retired
    };
    for (entry, reason) in retired {
        let counter = match reason {
            CloseReason::Lifetime => &shared.counters.closed_lifetime,
            _ => &shared.counters.closed_idle,
        };
        Counters::bump(counter);
        shared.destroy(entry, reason);
    }
}
