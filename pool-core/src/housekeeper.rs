//! The pool's one background thread: opens connections on demand (with
//! backoff), retires idle and old ones, refills `min_idle`, times out
//! asynchronous waiters and reports leaks.
//!
//! It holds only a `Weak` to the pool between rounds, so dropping the pool
//! stops it.

use std::sync::{Arc, Weak};
use std::thread;
use std::time::{Duration, Instant};

use crate::events::CloseReason;
use crate::shared::Shared;
use crate::signal::WorkerSignal;
use crate::stats::Counters;

const BACKOFF_START: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// In a child after `fork()`: resets the pool's books (never closing the
/// parent's connections) and restarts the housekeeper.
#[inline]
pub(crate) fn check_fork(shared: &Arc<Shared>) {
    if shared.reset_if_forked() {
        spawn(shared);
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

/// One housekeeping round: take back leases parked a whole period, retire
/// expired idle connections, refill `min_idle`.
fn housekeep(shared: &Shared, now: crate::clock::Instant) {
    let cfg = &shared.config;
    // Leases parked for a whole period come back, to be idle like the rest.
    shared.parking.age();
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
