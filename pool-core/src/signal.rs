//! How the pool wakes (or stops) its housekeeper: flags and a condvar the
//! pool's threads set, the housekeeper's planned wake-up time, its thread.
//!
//! The flags and condvar are std's (a futex on their own words), not
//! parking_lot's: a parking_lot condvar parks through a process-wide table
//! of buckets, each with a lock, and a fork while a parent thread held one
//! (the housekeeper going to sleep or waking) left it held in the child for
//! good. A child gets fresh ones ([`WorkerSignal::reset_after_fork`]).

use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering::Acquire, Ordering::Release, Ordering::SeqCst};
use std::sync::{Condvar, Mutex as StdMutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

#[derive(Default)]
struct Flags {
    kicked: bool,
    shutdown: bool,
}

/// The flags and the condvar the housekeeper sleeps on.
#[derive(Default)]
struct Wake {
    flags: StdMutex<Flags>,
    cv: Condvar,
}

impl Wake {
    /// The flags (a panic while they were held left nothing half-done).
    fn flags(&self) -> MutexGuard<'_, Flags> {
        self.flags.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How the pool wakes (or stops) its housekeeper.
pub(crate) struct WorkerSignal {
    /// Owned (freed on drop); replaced, and the old one leaked, only in a
    /// forked child before any thread of it uses the signal.
    wake: AtomicPtr<Wake>,
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
            wake: AtomicPtr::new(Box::into_raw(Box::default())),
            planned: AtomicU64::new(u64::MAX),
            base: Instant::now(),
            thread: Mutex::new(None),
        }
    }
}

impl Drop for WorkerSignal {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::into_raw` and, with `&mut
        // self`, nobody else holds a reference into it.
        drop(unsafe { Box::from_raw(*self.wake.get_mut()) });
    }
}

impl WorkerSignal {
    #[allow(unsafe_code)]
    fn wake(&self) -> &Wake {
        // SAFETY: always a live `Box` allocation: freed only by `drop`, and
        // a replaced one is leaked, never freed.
        unsafe { &*self.wake.load(Acquire) }
    }

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
        let wake = self.wake();
        wake.flags().kicked = true;
        wake.cv.notify_one();
    }

    /// Stops the housekeeper and waits for it to exit until `deadline`
    /// (it finishes a connection it is opening first); past the deadline it
    /// is left to exit on its own.
    pub fn stop(&self, deadline: Instant) {
        let wake = self.wake();
        wake.flags().shutdown = true;
        wake.cv.notify_one();
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

    /// In a forked child, before any thread of it uses this signal: fresh
    /// flags and condvar (a thread of the parent may have held the old
    /// flags, or been inside the condvar, at the fork; they are leaked, not
    /// touched), and the housekeeper's handle lock freed.
    #[allow(unsafe_code)]
    pub(crate) fn reset_after_fork(&self) {
        let _inherited = self.wake.swap(Box::into_raw(Box::default()), Release);
        if self.thread.is_locked() {
            // SAFETY: called from `Shared::after_fork` in the child, under
            // the pool's lock and before the pool is marked as this
            // process's: every thread of the child reaches this signal only
            // through that check, and only `stop` and `spawn` take this
            // lock, neither of which has run yet in the child for this
            // pool; its holder was a thread of the parent, absent here.
            unsafe { self.thread.force_unlock() };
        }
    }

    /// Sleeps until `until` or a kick; `false` once shut down.
    pub(crate) fn sleep(&self, until: Instant) -> bool {
        let wake = self.wake();
        let mut flags = wake.flags();
        while !flags.kicked && !flags.shutdown {
            let Some(left) = until.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) else { break };
            flags = wake.cv.wait_timeout(flags, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        flags.kicked = false;
        !flags.shutdown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: the parent's housekeeper held `flags` at the moment of a
    /// fork (it does on every wake-up); the child's first acquire kicked the
    /// housekeeper and hung for good (tests/fork.rs, once in a fresh-clone
    /// `make test`). Held here on purpose by a parent thread.
    #[test]
    #[allow(unsafe_code)]
    fn a_fork_while_the_housekeeper_holds_its_signal_lock_does_not_hang_the_child() {
        let signal = std::sync::Arc::new(WorkerSignal::default());
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let holder = {
            let signal = std::sync::Arc::clone(&signal);
            thread::spawn(move || {
                let _flags = signal.wake().flags();
                held_tx.send(()).expect("send");
                let _ = done_rx.recv();
            })
        };
        held_rx.recv().expect("the lock is held");
        // SAFETY: the child only resets and kicks the signal (no allocation,
        // no lock a parent thread could hold besides the one under test)
        // and `_exit`s without returning into the test harness.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            signal.reset_after_fork();
            signal.kick();
            // SAFETY: ends the child at once, running nothing of the parent's.
            unsafe { libc::_exit(0) };
        }
        let status = wait_child(pid, Duration::from_secs(20));
        drop(done_tx);
        holder.join().expect("holder");
        let status = status.expect("the child hung on the signal lock its parent's thread held at the fork");
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child status {status}");
    }

    /// Waits for `pid` up to `limit`; `Some(status)`, or `None` (killed) if it hung.
    #[allow(unsafe_code)]
    fn wait_child(pid: libc::pid_t, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        let mut status = 0;
        loop {
            // SAFETY: `pid` is our child; `status` is a valid out-pointer.
            if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
                return Some(status);
            }
            if Instant::now() > deadline {
                // SAFETY: our own child, stuck: end it and reap it.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, &mut status, 0);
                }
                return None;
            }
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Regression: a fork while the parent's housekeeper was inside its
    /// condvar wait (parking_lot parks through a process-wide table of
    /// buckets, each with its own lock) left that bucket's lock held in the
    /// child for good; the child's first kick and its new housekeeper's
    /// first sleep both hung on it (Python test_60_fork, a fresh-clone
    /// `make test`). Here a parent thread sleeps and another kicks, as fast
    /// as they can, while the test forks children that kick and sleep.
    #[test]
    #[allow(unsafe_code)]
    fn a_fork_while_the_housekeeper_sleeps_or_wakes_does_not_hang_the_child() {
        use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
        let signal = std::sync::Arc::new(WorkerSignal::default());
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let sleeper = {
            let (signal, stop) = (std::sync::Arc::clone(&signal), std::sync::Arc::clone(&stop));
            thread::spawn(move || {
                while !stop.load(Relaxed) {
                    signal.sleep(Instant::now() + Duration::from_micros(20));
                }
            })
        };
        let kicker = {
            let (signal, stop) = (std::sync::Arc::clone(&signal), std::sync::Arc::clone(&stop));
            thread::spawn(move || {
                while !stop.load(Relaxed) {
                    signal.kick();
                }
            })
        };
        let mut hung = 0;
        for _ in 0..300 {
            // SAFETY: the child only resets, kicks and sleeps on the signal
            // and `_exit`s without returning into the test harness.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                signal.reset_after_fork();
                signal.kick();
                signal.sleep(Instant::now() + Duration::from_millis(1));
                // SAFETY: ends the child at once, running nothing of the parent's.
                unsafe { libc::_exit(0) };
            }
            match wait_child(pid, Duration::from_secs(5)) {
                Some(status) => assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child {status}"),
                None => hung += 1,
            }
        }
        stop.store(true, Relaxed);
        signal.kick();
        sleeper.join().expect("sleeper");
        kicker.join().expect("kicker");
        assert_eq!(hung, 0, "children hung on a lock their parent's threads held at the fork");
    }
}
