//! Waiting without holding the GIL, and staying responsive to Ctrl-C
//! without losing the waiter's place in the pool's queue.
//!
//! The core's futures (an acquire, [`litepool::Pool::call_async`]) are
//! polled on the calling thread with a waker that unparks it. Between
//! slices of [`SLICE`] the thread re-attaches briefly to run Python's signal
//! handlers; if one raises (`KeyboardInterrupt`), the future is dropped,
//! which takes the waiter out of the queue and hands any connection granted
//! meanwhile back to the pool.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

use crate::errors::{Failure, Outcome};

/// How long the GIL stays released between checks for signals.
pub const SLICE: Duration = Duration::from_millis(50);

struct Unparker(Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on this thread until it resolves, parked between
/// wake-ups. Call it *detached* (inside `py.detach`).
pub fn wait_detached<T>(future: impl Future<Output = litepool::Result<T>>) -> Outcome<T> {
    let mut future = pin!(future);
    // One waker per thread, made once: most calls never wait, and those
    // that do clone it.
    thread_local!(static WAKER: Waker = Waker::from(Arc::new(Unparker(thread::current()))));
    WAKER.with(|waker| {
        let mut cx = Context::from_waker(waker);
        let mut slice_end = None;
        loop {
            if let Poll::Ready(result) = future.as_mut().poll(&mut cx) {
                return result.map_err(Failure::Pool);
            }
            let now = Instant::now();
            let end = *slice_end.get_or_insert(now + SLICE);
            if now >= end {
                // A signal handler that raises ends the wait; dropping the
                // future leaves the queue and returns any granted connection.
                Python::attach(|py| py.check_signals()).map_err(Failure::Python)?;
                slice_end = Some(Instant::now() + SLICE);
            } else {
                thread::park_timeout(end - now);
            }
        }
    })
}
