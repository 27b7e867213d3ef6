//! Waiting for a lease without holding the GIL, and staying responsive to
//! Ctrl-C without losing the waiter's place in the pool's FIFO queue.
//!
//! The core's acquire futures ([`litepool::Acquire`], and the routed one
//! behind `pool.query`) are polled on the calling thread with a waker that
//! unparks it. Between slices of [`SLICE`] the thread
//! re-attaches briefly to run Python's signal handlers; if one raises
//! (`KeyboardInterrupt`), the future is dropped, which takes the waiter out
//! of the queue and hands any connection granted meanwhile back to the pool.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use litepool::{AcquireOptions, Pool, PooledConnection};
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

/// Acquires with `opts`. Call it *detached* (inside `py.detach`): it never
/// holds the GIL while waiting, and attaches every [`SLICE`] to check for
/// signals.
pub fn acquire_detached(pool: &Pool, opts: AcquireOptions) -> Outcome<PooledConnection> {
    wait_detached(pool.acquire_async(opts))
}

/// Leases the lane `sql` needs, through the core's routing (an ordinary
/// lease for read-only statements, the write lane otherwise; `opts.lane` is
/// ignored). Call it detached, like [`acquire_detached`].
pub fn routed_detached(pool: &Pool, opts: AcquireOptions, sql: &str) -> Outcome<PooledConnection> {
    wait_detached(pool.routed_async(opts, sql))
}

/// Polls `lease` on this thread until it resolves, parked between wake-ups,
/// attaching every [`SLICE`] to run Python's signal handlers.
fn wait_detached(lease: impl Future<Output = litepool::Result<PooledConnection>>) -> Outcome<PooledConnection> {
    let mut lease = pin!(lease);
    let waker = Waker::from(Arc::new(Unparker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut slice_end = Instant::now() + SLICE;
    loop {
        if let Poll::Ready(result) = lease.as_mut().poll(&mut cx) {
            return result.map_err(Failure::Pool);
        }
        let now = Instant::now();
        if now >= slice_end {
            // A signal handler that raises ends the wait; dropping the
            // future leaves the queue and returns any granted connection.
            Python::attach(|py| py.check_signals()).map_err(Failure::Python)?;
            slice_end = Instant::now() + SLICE;
        } else {
            thread::park_timeout(slice_end - now);
        }
    }
}
