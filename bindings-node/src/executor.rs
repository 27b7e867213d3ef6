//! Each JS `Pool` owns an [`Executor`]: worker threads that run the SQL of
//! async calls, and one thread-safe "doorbell" that brings results back to
//! the JS thread.
//!
//! Why not the libuv threadpool: a call queued for a connection used to cost
//! two loop round trips (the grant came back to the JS thread, which then
//! queued the SQL on the threadpool). Here the core's `acquire_with`
//! callback, on whichever thread frees a connection, hands the lease and its
//! job straight to a worker; the worker runs the SQL, drops the lease (which
//! may grant the next waiter, whose job it then picks up itself) and posts
//! the result. SQL never competes with fs/dns work for libuv's threads, and
//! nothing waits on a libuv thread.
//!
//! Delivery: finished calls go into a mailbox; only the post that finds the
//! mailbox empty rings the doorbell (a napi-rs `ThreadsafeFunction`, called
//! non-blocking), so one loop wake-up settles every result that piled up
//! meanwhile. The doorbell is unreferenced (it does not keep the process
//! alive) except while calls are in flight.
//!
//! Workers start lazily, up to the pool's `max`, and exit once idle after
//! [`Executor::stop`] (on `close()` or when the `Pool` is garbage-collected);
//! a job submitted after that starts a worker again, which exits when done.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use litepool::PooledConnection;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{sys, Env};
use parking_lot::{Condvar, Mutex};

use crate::connection::{delivered, ConnShared, NewConnection};
use crate::error::{js_error_value, Failure};
use crate::sql::{outcome_to_js, Outcome};

/// Work for a worker thread.
pub(crate) type Work = Box<dyn FnOnce() + Send>;

/// What a settled call resolves with.
pub(crate) enum Value {
    /// A SQL call's outcome; `bool`: `safeIntegers`.
    Outcome(Outcome, bool),
    /// A lease for `pool.acquire()`, to wrap in a JS `Connection`.
    Connection(PooledConnection, NewConnection),
}

/// A promise's napi deferred: created and settled on the JS thread, only
/// moved in between.
struct RawDeferred(sys::napi_deferred);

// SAFETY: the pointer is only dereferenced by napi on the JS thread (by
// `settle_now`, from the doorbell's callback); other threads merely move it.
unsafe impl Send for RawDeferred {}

/// A settled call on its way to the JS thread.
struct Settled {
    deferred: RawDeferred,
    result: std::result::Result<Value, Failure>,
    /// The connection the call ran on, told when its result is delivered.
    conn: Option<Arc<ConnShared>>,
}

/// The doorbell: called with nothing, it makes the JS thread drain the
/// mailbox. Weak (unreferenced) from the start.
type Doorbell = ThreadsafeFunction<(), (), (), Status, false, true, 0>;

/// A pool's workers and its way back to JS. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Executor {
    inner: Arc<Inner>,
}

struct Inner {
    queue: Mutex<Queue>,
    /// `queue.jobs.len()`, readable without the lock (by a spinning worker).
    queued: AtomicUsize,
    work_ready: Condvar,
    max_workers: usize,
    mailbox: Arc<Mailbox>,
    doorbell: Doorbell,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Work>,
    /// Worker threads alive.
    workers: usize,
    /// Parked on `work_ready`.
    idle: usize,
    /// Awake with nothing to do, watching `queued` for a while before they
    /// park (at most one at a time).
    spinning: usize,
    stopped: bool,
}

/// How long a worker out of work watches the queue before it parks. A job
/// submitted meanwhile (the JS thread's next call, typically a few
/// microseconds later) is picked up without a futex wake-up, which costs
/// more than the SQL of a point select.
const SPIN: Duration = Duration::from_micros(50);

/// Shared by the executor and the doorbell's callback (which must not own
/// the executor: the executor owns the doorbell).
struct Mailbox {
    settled: Mutex<Vec<Settled>>,
    /// Promises not yet settled. Read and written on the JS thread only:
    /// the doorbell is referenced while this is above zero.
    in_flight: AtomicUsize,
    /// The doorbell's raw handle, for ref/unref from its own callback.
    raw: std::sync::atomic::AtomicPtr<sys::napi_threadsafe_function__>,
}

thread_local! {
    /// On a worker thread: its executor (by address) and one job handed to
    /// it by code running on this very thread (a lease dropped here granted
    /// the next waiter), which it runs next without waking anyone.
    static LOCAL: RefCell<Option<(usize, Option<Work>)>> = const { RefCell::new(None) };
}

impl Executor {
    /// A new executor with up to `max_workers` threads (none started yet).
    pub fn new(env: &Env, max_workers: usize) -> Result<Self> {
        let mailbox = Arc::new(Mailbox {
            settled: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            raw: std::sync::atomic::AtomicPtr::new(std::ptr::null_mut()),
        });
        let for_callback = Arc::clone(&mailbox);
        let noop = env.create_function_from_closure::<(), (), _>("litepoolDelivered", |_| Ok(()))?;
        let doorbell: Doorbell = noop
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .weak::<true>()
            .max_queue_size::<0>()
            .build_callback(move |ctx| {
                for_callback.deliver(&ctx.env);
                Ok(())
            })?;
        mailbox.raw.store(doorbell.raw(), Ordering::Relaxed);
        let inner = Inner {
            queue: Mutex::new(Queue::default()),
            queued: AtomicUsize::new(0),
            work_ready: Condvar::new(),
            max_workers: max_workers.max(1),
            mailbox,
            doorbell,
        };
        Ok(Executor { inner: Arc::new(inner) })
    }

    /// Runs `work` on a worker: the calling worker itself, next, when it is
    /// one of ours; otherwise an idle worker, or a new one.
    pub fn submit(&self, work: Work) {
        let me = Arc::as_ptr(&self.inner) as usize;
        let work = LOCAL.with(|local| match &mut *local.borrow_mut() {
            Some((owner, slot @ None)) if *owner == me => {
                *slot = Some(work);
                None
            }
            _ => Some(work),
        });
        let Some(work) = work else { return };
        let mut q = self.inner.queue.lock();
        q.jobs.push_back(work);
        self.inner.queued.fetch_add(1, Ordering::Release);
        if q.jobs.len() <= q.spinning {
            // A spinning worker takes it.
        } else if q.idle > 0 {
            drop(q);
            self.inner.work_ready.notify_one();
        } else if q.workers < self.inner.max_workers {
            q.workers += 1;
            drop(q);
            self.start_worker();
        }
    }

    fn start_worker(&self) {
        let inner = Arc::clone(&self.inner);
        let started = std::thread::Builder::new().name("litepool-node".to_owned()).spawn(move || worker(&inner));
        if started.is_err() {
            // No thread: run what is queued here rather than strand it. Only
            // reached when the OS refuses a thread, from the JS thread or a
            // worker; the jobs are short SQL calls.
            let mut q = self.inner.queue.lock();
            q.workers -= 1;
            if q.workers > 0 {
                return;
            }
            let jobs = std::mem::take(&mut q.jobs);
            self.inner.queued.store(0, Ordering::Release);
            drop(q);
            jobs.into_iter().for_each(|job| job());
        }
    }

    /// Lets the workers exit once the queue is empty.
    pub fn stop(&self) {
        self.inner.queue.lock().stopped = true;
        self.inner.work_ready.notify_all();
    }

    /// A new promise, settled later through [`Pending::settle`] from any
    /// thread. Call on the JS thread.
    pub fn promise<'env>(&self, env: &'env Env) -> Result<(Pending, Unknown<'env>)> {
        self.promise_on(env, None)
    }

    /// [`Executor::promise`] for a call on a leased connection, which is
    /// told (on the JS thread) when the promise settles.
    pub fn promise_on<'env>(&self, env: &'env Env, conn: Option<Arc<ConnShared>>) -> Result<(Pending, Unknown<'env>)> {
        let mut deferred = std::ptr::null_mut();
        let mut promise = std::ptr::null_mut();
        // SAFETY: plain napi call on the JS thread; both out-params are written on success.
        let status = unsafe { sys::napi_create_promise(env.raw(), &mut deferred, &mut promise) };
        if status != sys::Status::napi_ok {
            return Err(napi::Error::from_reason("litepool: could not create a promise"));
        }
        let mailbox = &self.inner.mailbox;
        if mailbox.in_flight.fetch_add(1, Ordering::Relaxed) == 0 {
            // Keep the process alive until this promise settles.
            // SAFETY: on the JS thread; the doorbell lives as long as `self.inner`.
            unsafe { sys::napi_ref_threadsafe_function(env.raw(), self.inner.doorbell.raw()) };
        }
        // SAFETY: `promise` was just created on this env.
        let promise = unsafe { Unknown::from_raw_unchecked(env.raw(), promise) };
        Ok((Pending { deferred: Some(RawDeferred(deferred)), conn, executor: self.clone() }, promise))
    }

    fn post(&self, settled: Settled) {
        let mut box_ = self.inner.mailbox.settled.lock();
        let ring = box_.is_empty();
        box_.push(settled);
        drop(box_);
        if ring {
            // Non-blocking into an unbounded queue: fails only while Node
            // tears the environment down, when nothing is left to settle.
            let _ = self.inner.doorbell.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

fn worker(inner: &Arc<Inner>) {
    let me = Arc::as_ptr(inner) as usize;
    LOCAL.with(|local| *local.borrow_mut() = Some((me, None)));
    loop {
        let next = LOCAL.with(|local| local.borrow_mut().as_mut().and_then(|(_, slot)| slot.take()));
        let job = match next {
            Some(job) => job,
            None => {
                let mut q = inner.queue.lock();
                let mut spun = false;
                loop {
                    if let Some(job) = q.jobs.pop_front() {
                        inner.queued.fetch_sub(1, Ordering::Release);
                        break job;
                    }
                    if q.stopped {
                        q.workers -= 1;
                        return;
                    }
                    if !spun && q.spinning == 0 {
                        spun = true;
                        q.spinning += 1;
                        drop(q);
                        let until = Instant::now() + SPIN;
                        while inner.queued.load(Ordering::Acquire) == 0 && Instant::now() < until {
                            std::thread::yield_now();
                        }
                        q = inner.queue.lock();
                        q.spinning -= 1;
                        continue;
                    }
                    q.idle += 1;
                    inner.work_ready.wait(&mut q);
                    q.idle -= 1;
                    spun = false;
                }
            }
        };
        // A panic loses only this job: its `Pending`, dropped while
        // unwinding, rejects its promise (LITEPOOL_PANIC).
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

impl Mailbox {
    /// On the JS thread: settles every promise posted so far.
    fn deliver(&self, env: &Env) {
        let batch = std::mem::take(&mut *self.settled.lock());
        let count = batch.len();
        for settled in batch {
            if let Some(conn) = &settled.conn {
                delivered(conn);
            }
            settle_now(env, settled.deferred.0, settled.result);
        }
        if count > 0 && self.in_flight.fetch_sub(count, Ordering::Relaxed) == count {
            // SAFETY: on the JS thread, from the doorbell's own callback, so it is alive.
            unsafe { sys::napi_unref_threadsafe_function(env.raw(), self.raw.load(Ordering::Relaxed)) };
        }
    }
}

/// Resolves or rejects `deferred` on the JS thread.
fn settle_now(env: &Env, deferred: sys::napi_deferred, result: std::result::Result<Value, Failure>) {
    let mut scope = std::ptr::null_mut();
    // SAFETY: on the JS thread; the scope is closed below.
    let opened = unsafe { sys::napi_open_handle_scope(env.raw(), &mut scope) } == sys::Status::napi_ok;
    let value = match result {
        Ok(Value::Outcome(outcome, safe_integers)) => outcome_to_js(env, outcome, safe_integers),
        Ok(Value::Connection(lease, make)) => make.into_js(env, lease),
        Err(failure) => Err(napi::Error::from(js_error_value(env, &failure))),
    };
    // SAFETY: `deferred` came from napi_create_promise on this env and is settled exactly once (here).
    unsafe {
        match value {
            Ok(v) => sys::napi_resolve_deferred(env.raw(), deferred, v.raw()),
            Err(e) => {
                let reason = JsError::from(e).into_value(env.raw());
                sys::napi_reject_deferred(env.raw(), deferred, reason)
            }
        };
        if opened {
            sys::napi_close_handle_scope(env.raw(), scope);
        }
    }
}

/// A promise handed to JS, to be settled from any thread. Dropped unsettled
/// (a panic in the binding, a callback the core never called), it rejects
/// with `LITEPOOL_PANIC` rather than leave the caller hanging.
pub(crate) struct Pending {
    /// `None` once settled.
    deferred: Option<RawDeferred>,
    conn: Option<Arc<ConnShared>>,
    executor: Executor,
}

impl Pending {
    /// Settles the promise with `result` (converted to JS on the JS thread).
    pub fn settle(mut self, result: std::result::Result<Value, Failure>) {
        if let Some(deferred) = self.deferred.take() {
            self.executor.post(Settled { deferred, result, conn: self.conn.take() });
        }
    }

    /// The executor this promise is settled through.
    pub fn executor(&self) -> &Executor {
        &self.executor
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(deferred) = self.deferred.take() {
            self.executor.post(Settled { deferred, result: Err(Failure::Lost), conn: self.conn.take() });
        }
    }
}
