//! Bringing results back to the JS thread.
//!
//! The SQL of async calls runs on the core's executor (`litepool::sql`);
//! its completion callback, on a worker thread, posts the outcome here.
//! Finished calls go into a mailbox; only the post that finds the mailbox
//! empty rings the doorbell (a napi-rs `ThreadsafeFunction`, called
//! non-blocking), so one loop wake-up settles every result that piled up
//! meanwhile. The doorbell is unreferenced (it does not keep the process
//! alive) except while calls are in flight.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use litepool::sql::{Op, Produced};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{sys, Env};
use parking_lot::Mutex;

use crate::error::{js_error_value, Failure};
use crate::values::{produced_to_js_shaped, RowShapes};

/// A value made on the JS thread.
pub(crate) type Build = Box<dyn for<'env> FnOnce(&'env Env) -> Result<Unknown<'env>> + Send>;

/// What a settled call resolves with.
pub(crate) enum Value {
    /// A SQL call's outcome, shaped by its op; `bool`: `safeIntegers`.
    Produced(Op, Produced, bool),
    /// Built on the JS thread (a lease for `pool.acquire()`, wrapped in a
    /// JS `Connection`).
    Build(Build),
    /// Nothing (`undefined`).
    Done,
    /// A number (a commit token).
    Number(f64),
}

/// A promise's napi deferred: created and settled on the JS thread, only
/// moved in between.
struct RawDeferred(sys::napi_deferred);

// SAFETY: the pointer is only dereferenced by napi on the JS thread (by
// `settle_now`, from the doorbell's callback); other threads merely move it.
unsafe impl Send for RawDeferred {}

/// Work for the JS thread that settles no promise: an `each` call's rows for
/// its listener. Errors it returns become uncaught exceptions.
pub(crate) type Notice = Box<dyn for<'env> FnOnce(&'env Env) -> Result<()> + Send>;

/// What waits in the mailbox, in the order posted.
enum Post {
    Settled(Settled),
    /// A notice and its cost toward a turn's share.
    Notice(usize, Notice),
}

impl Post {
    fn cost(&self) -> usize {
        match self {
            Post::Settled(s) => s.cost(),
            Post::Notice(cost, _) => *cost,
        }
    }
}

/// A settled call on its way to the JS thread.
struct Settled {
    deferred: RawDeferred,
    result: std::result::Result<Value, Failure>,
    /// A connection's count of calls in flight, lowered once settled.
    in_flight: Option<Arc<AtomicUsize>>,
}

/// Rows one loop turn builds, about (a result counts 1 plus its rows / 8):
/// some 500 point results, or 40 results of 100 rows (a few ms), and the
/// event loop gets its turn before the rest.
const SHARE: usize = 512;

impl Settled {
    fn cost(&self) -> usize {
        match &self.result {
            Ok(Value::Produced(_, p, _)) => 1 + p.rows.len() / 8,
            _ => 1,
        }
    }
}

/// A doorbell: called from any thread with nothing, it runs its `ring` on
/// the JS thread (coalesced by Node). Weak (unreferenced) from the start, so
/// it never keeps the process alive. Pools' completions and events use one.
pub(crate) type Doorbell = ThreadsafeFunction<(), (), (), Status, false, true, 0>;

/// A [`Doorbell`] named `name` that runs `ring` on the JS thread.
pub(crate) fn doorbell(
    env: &Env,
    name: &str,
    ring: impl FnMut(&Env) -> Result<()> + Send + 'static,
) -> Result<Doorbell> {
    let mut ring = ring;
    let noop = env.create_function_from_closure::<(), (), _>(name, |_| Ok(()))?;
    noop.build_threadsafe_function::<()>()
        .callee_handled::<false>()
        .weak::<true>()
        .max_queue_size::<0>()
        .build_callback(move |ctx| ring(&ctx.env))
}

/// A pool's way back to JS. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Delivery {
    inner: Arc<Inner>,
}

struct Inner {
    mailbox: Arc<Mailbox>,
    doorbell: Doorbell,
}

/// Shared by the delivery and the doorbell's callback (which must not own
/// the delivery: the delivery owns the doorbell).
struct Mailbox {
    settled: Mutex<Vec<Post>>,
    /// Promises not yet settled. Read and written on the JS thread only:
    /// the doorbell is referenced while this is above zero.
    in_flight: AtomicUsize,
    /// The doorbell's raw handle, for ref/unref from its own callback.
    raw: std::sync::atomic::AtomicPtr<sys::napi_threadsafe_function__>,
    /// Row factories for the results settled here (JS thread only).
    shapes: Mutex<RowShapes>,
    /// A delivery is scheduled with setImmediate (see [`Mailbox::schedule`]).
    scheduled: std::sync::atomic::AtomicBool,
    /// `setImmediate` and the function it is given; JS-thread only.
    immediate: Mutex<Option<Immediate>>,
}

/// `setImmediate(drain)`, kept as references.
struct Immediate {
    set_immediate: FunctionRef<FnArgs<(Function<'static, (), ()>,)>, Unknown<'static>>,
    drain: FunctionRef<(), ()>,
}

impl Delivery {
    /// A new mailbox and doorbell on `env`'s loop.
    pub fn new(env: &Env) -> Result<Self> {
        let mailbox = Arc::new(Mailbox {
            settled: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            raw: std::sync::atomic::AtomicPtr::new(std::ptr::null_mut()),
            shapes: Mutex::new(RowShapes::default()),
            scheduled: std::sync::atomic::AtomicBool::new(false),
            immediate: Mutex::new(None),
        });
        // The drain holds the mailbox weakly: no cycle through the references.
        let weak = Arc::downgrade(&mailbox);
        let drain = env.create_function_from_closure::<(), (), _>("litepoolDeliver", move |ctx| {
            if let Some(mailbox) = weak.upgrade() {
                mailbox.scheduled.store(false, Ordering::Relaxed);
                if mailbox.deliver_share(ctx.env) {
                    // More than a share waits: the rest next turn.
                    mailbox.schedule(ctx.env);
                }
            }
            Ok(())
        })?;
        let set_immediate: Function<FnArgs<(Function<'static, (), ()>,)>, Unknown<'static>> =
            env.get_global()?.get_named_property("setImmediate")?;
        *mailbox.immediate.lock() =
            Some(Immediate { set_immediate: set_immediate.create_ref()?, drain: drain.create_ref()? });
        let for_callback = Arc::clone(&mailbox);
        let doorbell = doorbell(env, "litepoolDelivered", move |env| {
            for_callback.schedule(env);
            Ok(())
        })?;
        mailbox.raw.store(doorbell.raw(), Ordering::Relaxed);
        Ok(Delivery { inner: Arc::new(Inner { mailbox, doorbell }) })
    }

    /// A call's outcome as a JS value, its rows built by this pool's row
    /// factories. Call on the JS thread (a held connection's sync calls).
    pub fn to_js<'env>(
        &self,
        env: &'env Env,
        op: Op,
        produced: Produced,
        safe_integers: bool,
    ) -> Result<Unknown<'env>> {
        produced_to_js_shaped(env, op, produced, safe_integers, &mut self.inner.mailbox.shapes.lock())
    }

    /// This pool's row factories (JS thread only; the sync calls use them too).
    pub fn shapes(&self) -> &Mutex<RowShapes> {
        &self.inner.mailbox.shapes
    }

    /// A new promise, settled later through [`Pending::settle`] from any
    /// thread. Call on the JS thread.
    pub fn promise<'env>(&self, env: &'env Env) -> Result<(Pending, Unknown<'env>)> {
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
        Ok((Pending { deferred: Some(RawDeferred(deferred)), delivery: self.clone(), in_flight: None }, promise))
    }

    /// Runs `notice` on the JS thread after what was posted before it, in a
    /// turn's share as `cost` rows. Call from any thread.
    pub fn notify(&self, cost: usize, notice: Notice) {
        self.post(Post::Notice(cost, notice));
    }

    fn post(&self, post: Post) {
        let mut box_ = self.inner.mailbox.settled.lock();
        let ring = box_.is_empty();
        box_.push(post);
        drop(box_);
        if ring {
            // Non-blocking into an unbounded queue: fails only while Node
            // tears the environment down, when nothing is left to settle.
            let _ = self.inner.doorbell.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

impl Mailbox {
    /// On the JS thread, from the doorbell: delivers in a setImmediate
    /// callback (the loop's check phase), not here. Node runs a threadsafe
    /// function's queued calls back to back (up to 1000 a loop turn), so
    /// results arriving while earlier ones were delivered kept the loop in
    /// its poll phase and starved timers (event-loop delay p99 of 30-50 ms
    /// with 64 drop-in calls in flight). Now a turn delivers what is there;
    /// what arrives meanwhile waits for the next turn.
    fn schedule(&self, env: &Env) {
        if self.scheduled.swap(true, Ordering::Relaxed) {
            return;
        }
        let scheduled = self.immediate.lock().as_ref().and_then(|i| {
            let set_immediate = i.set_immediate.borrow_back(env).ok()?;
            let drain = i.drain.borrow_back(env).ok()?;
            set_immediate.call(FnArgs::from((drain,))).ok()
        });
        if scheduled.is_none() {
            // No setImmediate (an environment being torn down): deliver now.
            self.scheduled.store(false, Ordering::Relaxed);
            self.deliver(env);
        }
    }

    /// On the JS thread: settles the promises posted so far, up to a share
    /// of about [`SHARE`] rows to build; `true` when more are waiting.
    fn deliver_share(&self, env: &Env) -> bool {
        let (batch, more) = {
            let mut settled = self.settled.lock();
            let mut cost = 0;
            let take = settled
                .iter()
                .take_while(|s| {
                    cost += s.cost();
                    cost <= SHARE
                })
                .count()
                .clamp(1, settled.len().max(1))
                .min(settled.len());
            let batch: Vec<Post> = settled.drain(..take).collect();
            (batch, !settled.is_empty())
        };
        self.settle_all(env, batch);
        more
    }

    /// On the JS thread: settles every promise posted so far.
    fn deliver(&self, env: &Env) {
        let batch = std::mem::take(&mut *self.settled.lock());
        self.settle_all(env, batch);
    }

    fn settle_all(&self, env: &Env, batch: Vec<Post>) {
        let mut count = 0;
        for post in batch {
            match post {
                Post::Settled(settled) => {
                    count += 1;
                    if let Some(n) = &settled.in_flight {
                        n.fetch_sub(1, Ordering::Relaxed);
                    }
                    settle_now(env, settled.deferred.0, settled.result, &mut self.shapes.lock());
                }
                Post::Notice(_, notice) => run_notice(env, notice),
            }
        }
        if count > 0 && self.in_flight.fetch_sub(count, Ordering::Relaxed) == count {
            // SAFETY: on the JS thread, from the doorbell's own callback, so it is alive.
            unsafe { sys::napi_unref_threadsafe_function(env.raw(), self.raw.load(Ordering::Relaxed)) };
        }
    }
}

/// Runs `notice` on the JS thread in its own handle scope; what it throws is
/// reported as an uncaught exception and the next posts still run.
fn run_notice(env: &Env, notice: Notice) {
    let mut scope = std::ptr::null_mut();
    // SAFETY: on the JS thread; the scope is closed below.
    let opened = unsafe { sys::napi_open_handle_scope(env.raw(), &mut scope) } == sys::Status::napi_ok;
    if let Err(e) = notice(env) {
        let mut pending = std::ptr::null_mut();
        // SAFETY: on the JS thread; clears the exception a JS callee left
        // pending (or gets undefined), then hands it (or `e`) to Node's
        // uncaught-exception handling.
        unsafe {
            let mut is_pending = false;
            sys::napi_is_exception_pending(env.raw(), &mut is_pending);
            if is_pending {
                sys::napi_get_and_clear_last_exception(env.raw(), &mut pending);
            } else {
                pending = JsError::from(e).into_value(env.raw());
            }
            sys::napi_fatal_exception(env.raw(), pending);
        }
    }
    if opened {
        // SAFETY: opened above on this thread.
        unsafe { sys::napi_close_handle_scope(env.raw(), scope) };
    }
}

/// Resolves or rejects `deferred` on the JS thread.
fn settle_now(
    env: &Env,
    deferred: sys::napi_deferred,
    result: std::result::Result<Value, Failure>,
    shapes: &mut RowShapes,
) {
    let mut scope = std::ptr::null_mut();
    // SAFETY: on the JS thread; the scope is closed below.
    let opened = unsafe { sys::napi_open_handle_scope(env.raw(), &mut scope) } == sys::Status::napi_ok;
    let value = match result {
        Ok(Value::Produced(op, produced, safe_integers)) => {
            produced_to_js_shaped(env, op, produced, safe_integers, shapes)
        }
        Ok(Value::Build(build)) => build(env),
        // SAFETY: creating `undefined` on the JS thread.
        Ok(Value::Done) => unsafe { Undefined::to_napi_value(env.raw(), ()) }
            .map(|raw| unsafe { Unknown::from_raw_unchecked(env.raw(), raw) }),
        // SAFETY: creating a number on the JS thread.
        Ok(Value::Number(n)) => unsafe { f64::to_napi_value(env.raw(), n) }
            .map(|raw| unsafe { Unknown::from_raw_unchecked(env.raw(), raw) }),
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
    delivery: Delivery,
    in_flight: Option<Arc<AtomicUsize>>,
}

impl Pending {
    /// Settles the promise with `result` (converted to JS on the JS thread).
    pub fn settle(mut self, result: std::result::Result<Value, Failure>) {
        if let Some(deferred) = self.deferred.take() {
            self.delivery.post(Post::Settled(Settled { deferred, result, in_flight: self.in_flight.take() }));
        }
    }

    /// Counts this call in `in_flight` (on the JS thread) until it settles there.
    pub fn counted_in(mut self, in_flight: &Arc<AtomicUsize>) -> Self {
        in_flight.fetch_add(1, Ordering::Relaxed);
        self.in_flight = Some(Arc::clone(in_flight));
        self
    }

    /// A completion for the core (`call_with`, `SessionQueue::submit`):
    /// settles with the outcome shaped by `op`.
    pub fn done(self, op: Op, safe_integers: bool) -> impl FnOnce(litepool::Result<Produced>) + Send + 'static {
        move |out| self.settle(out.map(|p| Value::Produced(op, p, safe_integers)).map_err(Failure::Core))
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(deferred) = self.deferred.take() {
            let result = Err(Failure::Lost);
            self.delivery.post(Post::Settled(Settled { deferred, result, in_flight: self.in_flight.take() }));
        }
    }
}
