//! How the pool wakes (or stops) its housekeeper: flags and a condvar the
//! pool's threads set, the housekeeper's planned wake-up time, its thread.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

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
    pub(crate) thread: Mutex<Option<thread::JoinHandle<()>>>,
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
    pub(crate) fn plan(&self, at: Instant) {
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
    pub(crate) fn sleep(&self, until: Instant) -> bool {
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
