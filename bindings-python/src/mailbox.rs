//! Delivery of asynchronous outcomes to an asyncio event loop, in batches.
//!
//! A worker thread that finishes a call drops the outcome in the loop's
//! mailbox without taking the GIL, and rings the doorbell (one byte on a
//! socket the loop watches with `add_reader`) only when the mailbox was
//! empty. The loop drains everything that arrived in one callback and
//! builds the Python values there, where it holds the GIL anyway. So a
//! burst of results costs one wake-up of the loop and no GIL hand-off
//! between the workers and the loop (the GIL contention of one
//! `call_soon_threadsafe` per result made asyncio calls slower than
//! aiosqlite's at 16 tasks).

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::prelude::*;

/// Builds a finished call's outcome (a value, or an exception instance) on the loop.
pub type Build = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

struct Inner {
    items: Mutex<Vec<(Py<PyAny>, Build)>>,
    bell: UnixStream,
}

/// One event loop's mailbox (`litepool._aio` keeps one per loop).
#[pyclass(frozen, module = "litepool._native", name = "Mailbox")]
pub struct Mailbox {
    inner: Arc<Inner>,
    door: UnixStream,
    /// `_aio._settle(future, outcome)`: resolves the future, or returns a
    /// lease nobody waits for any more.
    settle: Py<PyAny>,
}

/// Where a worker thread posts outcomes (cheap to clone, no GIL needed).
#[derive(Clone)]
pub struct Sender(Arc<Inner>);

impl Sender {
    /// Posts `build` for `future`; rings the doorbell if the mailbox was empty.
    pub fn post(&self, future: Py<PyAny>, build: Build) {
        let first = {
            let mut items = self.0.items.lock();
            items.push((future, build));
            items.len() == 1
        };
        if first {
            // Non-blocking: a full socket buffer is a doorbell already rung;
            // a closed one means the loop is gone (the items drop with it).
            let _ = (&self.0.bell).write(&[1]);
        }
    }
}

impl Mailbox {
    pub fn sender(&self) -> Sender {
        Sender(Arc::clone(&self.inner))
    }
}

#[pymethods]
impl Mailbox {
    #[new]
    fn new(settle: Py<PyAny>) -> PyResult<Mailbox> {
        let (bell, door) = UnixStream::pair()?;
        bell.set_nonblocking(true)?;
        door.set_nonblocking(true)?;
        Ok(Mailbox { inner: Arc::new(Inner { items: Mutex::new(Vec::new()), bell }), door, settle })
    }

    /// The descriptor the loop watches (`loop.add_reader(box.fileno(), box.drain)`).
    fn fileno(&self) -> i32 {
        self.door.as_raw_fd()
    }

    /// Settles every outcome that arrived (called by the loop when the
    /// doorbell rang). The bell is cleared before the items are taken, so an
    /// outcome posted meanwhile rings again.
    fn drain(&self, py: Python<'_>) {
        let mut buf = [0u8; 64];
        while matches!((&self.door).read(&mut buf), Ok(n) if n > 0) {}
        let items = std::mem::take(&mut *self.inner.items.lock());
        for (future, build) in items {
            let outcome = build(py).unwrap_or_else(|e| e.into_value(py).into_any());
            if let Err(e) = self.settle.call1(py, (future, outcome)) {
                e.write_unraisable(py, None);
            }
        }
    }
}
