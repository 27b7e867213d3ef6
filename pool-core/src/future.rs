//! Asynchronous acquire that parks no thread: a runtime-agnostic
//! [`Acquire`] future, and [`Pool::acquire_with`], which delivers the lease
//! to a callback (what the Node and Python bindings use).
//!
//! Async waiters queue in the same FIFO as blocking ones. Their timeouts are
//! enforced by the housekeeper, so no timer runtime is needed. Dropping an
//! [`Acquire`] leaves the queue; a connection granted to it in the meantime
//! goes straight back to the pool.

use crate::clock::{self, Deadline, Instant};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use parking_lot::Mutex;

use crate::acquire::Taken;
use crate::entry::PoolEntry;
use crate::error::{Error, Result};
use crate::gate::{Entrant, GateEntry, GatePermit, Pass, Starving, WriteGate};
use crate::guard::{Lane, PooledConnection};
use crate::leak::AcquireSite;
use crate::pool::{AcquireOptions, Pool};
use crate::shared::Shared;
use crate::slots::Want;
use crate::tenant::Tenant;
use crate::waiter::Waiter;

enum Stage {
    Start,
    Gate(Arc<WriteGate>, Arc<Waiter<Pass>>),
    Conn(Option<(Arc<WriteGate>, GatePermit)>),
    WaitConn(Option<(GatePermit, Starving)>, Arc<Waiter<PoolEntry>>),
    Done,
}

/// A future resolving to a lease; see [`Pool::get_async`].
#[must_use = "futures do nothing unless polled"]
pub struct Acquire {
    shared: Arc<Shared>,
    lane: Lane,
    tenant_code: Option<String>,
    tenant: Option<Arc<Tenant>>,
    site: Option<AcquireSite>,
    start: Instant,
    deadline: Deadline,
    /// Whether this acquire queued at the write gate (it counts as a wait).
    gate_waited: bool,
    /// When reader back-pressure first held this acquire back.
    held_since: Option<std::time::Instant>,
    /// The lease's deadline budget from `start` (`AcquireOptions::deadline`).
    budget: Option<std::time::Duration>,
    /// With a trace hook set: when it began and the acquire site (`trace.rs`).
    traced: Option<(std::time::SystemTime, String)>,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
    stage: Stage,
}

impl Acquire {
    fn new(shared: Arc<Shared>, opts: AcquireOptions, site: AcquireSite) -> Acquire {
        let start = clock::now();
        let timeout = opts.timeout.unwrap_or(shared.config.acquire_timeout);
        let deadline = Deadline::after(opts.deadline.map_or(timeout, |budget| timeout.min(budget)));
        let site = opts.site.unwrap_or(site);
        let traced = shared.trace.on().then(|| (std::time::SystemTime::now(), site.to_string()));
        #[cfg(feature = "tracing")]
        let span =
            crate::trace::spans::acquire(&shared.config.name, opts.lane, opts.tenant.as_deref(), &site.to_string());
        Acquire {
            shared,
            lane: opts.lane,
            tenant_code: opts.tenant,
            tenant: None,
            site: Some(site),
            start,
            deadline,
            gate_waited: false,
            held_since: None,
            budget: opts.deadline,
            traced,
            #[cfg(feature = "tracing")]
            span,
            stage: Stage::Start,
        }
    }

    fn finish(&mut self, entry: PoolEntry, permit: Option<GatePermit>, waited: bool) -> Poll<Result<PooledConnection>> {
        let site = self.site.take().unwrap_or(AcquireSite::Text(String::new()));
        let lease = self.shared.lease(entry, self.lane, permit, self.tenant.take(), site, self.start, waited);
        if let (Ok(lease), Some(budget)) = (&lease, self.budget) {
            lease.set_deadline_from(self.start, budget);
        }
        Poll::Ready(lease)
    }

    fn step(&mut self, cx: &mut Context<'_>) -> Poll<Result<PooledConnection>> {
        loop {
            match std::mem::replace(&mut self.stage, Stage::Done) {
                Stage::Start => {
                    crate::housekeeper::check_fork(&self.shared);
                    self.tenant = self.shared.tenants.lookup(self.tenant_code.as_deref())?;
                    if self.lane != Lane::Write {
                        if self.shared.wal.poll_held_back(cx.waker(), &mut self.held_since) {
                            self.stage = Stage::Start;
                            return Poll::Pending;
                        }
                        self.stage = Stage::Conn(None);
                        continue;
                    }
                    self.shared.refuse_writes()?;
                    let gate =
                        self.tenant.as_ref().map_or_else(|| Arc::clone(&self.shared.gate), |t| Arc::clone(&t.gate));
                    if self.shared.sheds() {
                        self.shared.admit_at_gate(&gate, &mut self.deadline)?;
                    }
                    match gate.enter(&mut self.deadline, false, self.shared.owner(), Entrant::Writer)? {
                        GateEntry::Entered(permit) => self.stage = Stage::Conn(Some((gate, permit))),
                        // Only for callers holding a connection; writers here do not.
                        GateEntry::Bypassed => {
                            let permit = gate.permit(Pass::Turn(None));
                            self.stage = Stage::Conn(Some((gate, permit)));
                        }
                        GateEntry::Queued(w) => {
                            self.shared.worker.kick_if_before(w.deadline);
                            self.stage = Stage::Gate(gate, w);
                        }
                    }
                }
                Stage::Gate(gate, w) => match w.poll_grant(cx.waker()) {
                    Some(Ok(pass)) => {
                        self.gate_waited = true;
                        let permit = gate.permit(pass);
                        self.stage = Stage::Conn(Some((gate, permit)));
                    }
                    Some(Err(e)) => return Poll::Ready(Err(e)),
                    None => {
                        self.stage = Stage::Gate(gate, w);
                        return Poll::Pending;
                    }
                },
                Stage::Conn(mut gated) => {
                    // The last writer's connection, left with the gate: no second wait.
                    if let Some(entry) = gated.as_mut().and_then(|(_, p)| p.take_spare()) {
                        let waited = self.gate_waited;
                        return self.finish(entry, gated.map(|(_, p)| p), waited);
                    }
                    let want = Want { query_only: self.lane == Lane::Read, tenant: self.tenant.as_deref() };
                    match self.shared.take_or_enqueue(&mut self.deadline, false, want)? {
                        Taken::Idle(e) => match self.shared.validate(e, self.start) {
                            Some(e) => return self.finish(e, gated.map(|(_, p)| p), self.gate_waited),
                            None => self.stage = Stage::Conn(gated),
                        },
                        // Holding the gate without a connection: let sessions
                        // that hold one through meanwhile (see gate.rs).
                        Taken::Queued(w) => {
                            self.stage = Stage::WaitConn(gated.map(|(gate, p)| (p, gate.starving())), w);
                        }
                    }
                }
                Stage::WaitConn(permit, w) => match w.poll_grant(cx.waker()) {
                    Some(Ok(e)) => return self.finish(e, permit.map(|(p, _)| p), true),
                    Some(Err(e)) => return Poll::Ready(Err(e)),
                    None => {
                        self.stage = Stage::WaitConn(permit, w);
                        return Poll::Pending;
                    }
                },
                Stage::Done => return Poll::Ready(Err(Error::Closed)),
            }
        }
    }
}

impl Future for Acquire {
    type Output = Result<PooledConnection>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        #[cfg(feature = "tracing")]
        let span = self.span.clone();
        #[cfg(feature = "tracing")]
        let _entered = span.enter();
        let out = self.step(cx);
        #[cfg(feature = "tracing")]
        if let Poll::Ready(out) = &out {
            crate::trace::spans::acquired(&span, self.start.elapsed(), out);
        }
        if let (Poll::Ready(out), Some((at, site))) = (&out, &self.traced) {
            let (tenant, took) = (self.tenant_code.as_deref(), self.start.elapsed());
            let event = crate::trace::TraceEvent::acquire(*at, took, self.lane, tenant, Some(site), out);
            self.shared.trace.emit(&event);
        }
        out
    }
}

impl Drop for Acquire {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Gate(gate, w) => gate.abandon(&w),
            Stage::WaitConn(permit, w) => {
                let removed = self.shared.slots.lock().withdraw(&w);
                if !removed {
                    if let Some(Ok(entry)) = w.abandon() {
                        self.shared.release(entry, clock::now());
                    }
                }
                drop(permit);
            }
            _ => {}
        }
    }
}

/// Runs an [`Acquire`] to completion on whichever thread wakes it, then
/// hands the outcome to a callback.
type LeaseFuture = Pin<Box<dyn Future<Output = Result<PooledConnection>> + Send>>;

struct CallbackTask<F> {
    future: Mutex<Option<LeaseFuture>>,
    callback: Mutex<Option<F>>,
    notified: AtomicBool,
}

/// Something the trampoline can run later on this thread.
trait Runnable: Send + Sync {
    fn run_now(self: Arc<Self>);
}

thread_local! {
    /// Callback tasks woken on this thread while one already runs here: a
    /// callback that releases its lease grants the next queued waiter, whose
    /// task would otherwise run nested on the releasing call's stack (one
    /// frame per queued waiter: a stack overflow with thousands queued). The
    /// outermost task runs them one after another, in the order they were
    /// woken. `None`: no task runs on this thread.
    static TRAMPOLINE: std::cell::RefCell<Option<std::collections::VecDeque<Arc<dyn Runnable>>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `task` now, or after the task already running on this thread.
fn trampoline(task: Arc<dyn Runnable>) {
    let deferred = TRAMPOLINE.with(|t| match &mut *t.borrow_mut() {
        Some(queue) => {
            queue.push_back(task.clone());
            true
        }
        slot @ None => {
            *slot = Some(std::collections::VecDeque::new());
            false
        }
    });
    if deferred {
        return;
    }
    /// Clears the trampoline even if a task unwinds.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            TRAMPOLINE.with(|t| t.borrow_mut().take());
        }
    }
    let _reset = Reset;
    let mut next = Some(task);
    while let Some(task) = next {
        task.run_now();
        next = TRAMPOLINE.with(|t| t.borrow_mut().as_mut().and_then(std::collections::VecDeque::pop_front));
    }
}

impl<F: FnOnce(Result<PooledConnection>) + Send + 'static> Runnable for CallbackTask<F> {
    fn run_now(self: Arc<Self>) {
        self.poll_once();
    }
}

impl<F: FnOnce(Result<PooledConnection>) + Send + 'static> CallbackTask<F> {
    fn run(self: &Arc<Self>) {
        self.notified.store(true, SeqCst);
        trampoline(Arc::clone(self) as Arc<dyn Runnable>);
    }

    fn poll_once(self: &Arc<Self>) {
        loop {
            // Whoever holds the lock polls again for us (it sees `notified`).
            let Some(mut slot) = self.future.try_lock() else { return };
            while self.notified.swap(false, SeqCst) {
                let Some(fut) = slot.as_mut() else { return };
                let waker = Waker::from(Arc::clone(self));
                if let Poll::Ready(result) = fut.as_mut().poll(&mut Context::from_waker(&waker)) {
                    *slot = None;
                    drop(slot);
                    if let Some(callback) = self.callback.lock().take() {
                        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| callback(result))) {
                            log::error!(
                                "litepool: an acquire callback panicked: {}",
                                crate::sqlite::panic_message(&*panic)
                            );
                        }
                    }
                    return;
                }
            }
            drop(slot);
            if !self.notified.load(SeqCst) {
                return;
            }
        }
    }
}

/// Cancels a pending [`Pool::acquire_with`].
trait Cancel: Send + Sync {
    fn cancel(&self) -> bool;
}

impl<F: FnOnce(Result<PooledConnection>) + Send + 'static> Cancel for CallbackTask<F> {
    fn cancel(&self) -> bool {
        // Waits out a poll in progress; a finished task has no future left.
        let Some(future) = self.future.lock().take() else { return false };
        drop(self.callback.lock().take());
        // Dropping the future leaves the queue, or returns a granted lease.
        drop(future);
        true
    }
}

/// A handle on a pending [`Pool::acquire_with`]; dropping it does nothing.
#[derive(Clone)]
pub struct AcquireHandle {
    task: Arc<dyn Cancel>,
}

struct Finished;

impl Cancel for Finished {
    fn cancel(&self) -> bool {
        false
    }
}

impl AcquireHandle {
    /// A handle on something already done: `cancel` returns `false`.
    pub(crate) fn finished() -> AcquireHandle {
        AcquireHandle { task: Arc::new(Finished) }
    }

    /// Withdraws the acquire if its callback has not run yet: the caller
    /// leaves the queue (a connection already granted goes back to the
    /// pool) and the callback is dropped uncalled. Returns `false` when the
    /// callback already ran or is running.
    pub fn cancel(&self) -> bool {
        self.task.cancel()
    }
}

impl std::fmt::Debug for AcquireHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AcquireHandle")
    }
}

impl<F: FnOnce(Result<PooledConnection>) + Send + 'static> Wake for CallbackTask<F> {
    fn wake(self: Arc<Self>) {
        self.run();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.run();
    }
}

impl Pool {
    /// An ordinary lease, awaited without parking a thread. Works under any
    /// executor (no runtime dependency); honours `acquire_timeout`.
    #[track_caller]
    pub fn get_async(&self) -> Acquire {
        self.acquire_async(AcquireOptions::default())
    }

    /// [`Pool::read`], awaited.
    #[track_caller]
    pub fn read_async(&self) -> Acquire {
        self.acquire_async(AcquireOptions::lane(Lane::Read))
    }

    /// [`Pool::write`], awaited (the write gate is awaited too).
    #[track_caller]
    pub fn write_async(&self) -> Acquire {
        self.acquire_async(AcquireOptions::lane(Lane::Write))
    }

    /// An awaited acquire with every option.
    #[track_caller]
    pub fn acquire_async(&self, opts: AcquireOptions) -> Acquire {
        Acquire::new(Arc::clone(self.shared()), opts, AcquireSite::Rust(std::panic::Location::caller()))
    }

    /// Acquires without blocking the caller and calls `callback` with the
    /// outcome — at once when a connection is idle, otherwise on the thread
    /// that frees one (or the housekeeper, on timeout). Keep the callback
    /// short: hand the lease to your own executor. A panicking callback is
    /// caught and logged; its lease goes back to the pool. The returned
    /// handle can withdraw the acquire (e.g. when the caller was cancelled).
    #[track_caller]
    pub fn acquire_with<F>(&self, opts: AcquireOptions, callback: F) -> AcquireHandle
    where
        F: FnOnce(Result<PooledConnection>) + Send + 'static,
    {
        spawn_with(Box::pin(self.acquire_async(opts)), callback)
    }
}

/// Drives `future` from whichever thread wakes it and hands its outcome to
/// `callback`.
fn spawn_with<F>(future: LeaseFuture, callback: F) -> AcquireHandle
where
    F: FnOnce(Result<PooledConnection>) + Send + 'static,
{
    let task = Arc::new(CallbackTask {
        future: Mutex::new(Some(future)),
        callback: Mutex::new(Some(callback)),
        notified: AtomicBool::new(false),
    });
    task.run();
    AcquireHandle { task }
}
