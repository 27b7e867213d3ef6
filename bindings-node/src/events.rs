//! The core's pool events and warnings, on their way to JS.
//!
//! Every pool carries an [`EventRelay`] (the core's `PoolEvents`): events
//! happen on whatever thread the pool is on, so they go into a mailbox, and
//! the post that finds it empty rings a doorbell (a weak threadsafe function)
//! that hands them, in order, to the JS listener `lib/index.js` installs
//! (`pool.emit(name, payload)`, and the `logger` for warnings). Kinds nobody
//! listens to cost one relaxed load: `lib/index.js` sets the mask as
//! listeners come and go.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use litepool::{CloseReason, LeakReport, PoolEvents, State};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi::{sys, Env};
use napi_derive::napi;
use parking_lot::Mutex;

use crate::delivery::{doorbell, Doorbell};
use crate::pool::Pool;

/// Event kinds, as bits of the listening mask (the same in `lib/index.js`).
const CREATE: u32 = 1;
const ACQUIRE: u32 = 2;
const RELEASE: u32 = 4;
const CLOSE: u32 = 8;
const TIMEOUT: u32 = 16;
const LEAK: u32 = 32;
const WAL_PINNED: u32 = 64;
const WARNING: u32 = 128;

/// One event, as it goes to JS.
enum Event {
    Create(u64),
    Acquire(u64, Duration),
    Release(u64, Duration),
    Close(u64, CloseReason),
    Timeout(Duration, State),
    Leak(&'static str, LeakReport),
    Warning(String),
}

/// A pool's events on their way to JS.
#[derive(Default)]
pub(crate) struct EventRelay {
    mask: AtomicU32,
    inner: Mutex<Relay>,
}

#[derive(Default)]
struct Relay {
    queue: Vec<Event>,
    doorbell: Option<Arc<Doorbell>>,
}

/// The core's hooks, forwarding to the relay.
pub(crate) struct Hooks(pub Arc<EventRelay>);

impl EventRelay {
    fn wants(&self, kind: u32) -> bool {
        self.mask.load(Relaxed) & kind != 0
    }

    fn post(&self, event: Event) {
        let mut inner = self.inner.lock();
        if inner.doorbell.is_none() {
            return;
        }
        let ring = inner.queue.is_empty();
        inner.queue.push(event);
        let doorbell = if ring { inner.doorbell.clone() } else { None };
        drop(inner);
        if let Some(doorbell) = doorbell {
            let _ = doorbell.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

impl PoolEvents for Hooks {
    fn on_create(&self, id: u64) {
        if self.0.wants(CREATE) {
            self.0.post(Event::Create(id));
        }
    }
    fn on_acquire(&self, id: u64, waited: Duration) {
        if self.0.wants(ACQUIRE) {
            self.0.post(Event::Acquire(id, waited));
        }
    }
    fn on_release(&self, id: u64, held: Duration) {
        if self.0.wants(RELEASE) {
            self.0.post(Event::Release(id, held));
        }
    }
    fn on_destroy(&self, id: u64, reason: CloseReason) {
        if self.0.wants(CLOSE) {
            self.0.post(Event::Close(id, reason));
        }
    }
    fn on_timeout(&self, waited: Duration, state: State) {
        if self.0.wants(TIMEOUT) {
            self.0.post(Event::Timeout(waited, state));
        }
    }
    fn on_leak(&self, report: &LeakReport) {
        if self.0.wants(LEAK) {
            self.0.post(Event::Leak("leak", report.clone()));
        }
    }
    fn on_wal_pinned(&self, report: &LeakReport) {
        if self.0.wants(WAL_PINNED) {
            self.0.post(Event::Leak("walPinned", report.clone()));
        }
    }
    fn on_warning(&self, message: &str) {
        if self.0.wants(WARNING) {
            self.0.post(Event::Warning(message.to_owned()));
        }
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn reason_name(reason: CloseReason) -> &'static str {
    match reason {
        CloseReason::Idle => "idle",
        CloseReason::Lifetime => "lifetime",
        CloseReason::Broken => "broken",
        CloseReason::Dirty => "dirty",
        CloseReason::PoolClosed => "poolClosed",
        CloseReason::Evicted => "evicted",
    }
}

/// `[name, payload]` for one event.
fn to_js<'env>(env: &'env Env, event: Event) -> Result<(&'static str, Object<'env>)> {
    let mut obj = Object::new(env)?;
    let id = |obj: &mut Object, id: u64| obj.set_named_property("connectionId", id as f64);
    let name = match event {
        Event::Create(i) => {
            id(&mut obj, i)?;
            "create"
        }
        Event::Acquire(i, waited) => {
            id(&mut obj, i)?;
            obj.set_named_property("waitedMillis", millis(waited))?;
            "acquire"
        }
        Event::Release(i, held) => {
            id(&mut obj, i)?;
            obj.set_named_property("heldMillis", millis(held))?;
            "release"
        }
        Event::Close(i, reason) => {
            id(&mut obj, i)?;
            obj.set_named_property("reason", reason_name(reason))?;
            "close"
        }
        Event::Timeout(waited, s) => {
            obj.set_named_property("waitedMillis", millis(waited))?;
            let mut state = Object::new(env)?;
            for (k, v) in [
                ("active", s.active),
                ("idle", s.idle),
                ("total", s.total),
                ("max", s.max),
                ("min", s.min),
                ("waiting", s.waiting),
            ] {
                state.set_named_property(k, v)?;
            }
            obj.set_named_property("state", state)?;
            "timeout"
        }
        Event::Leak(name, report) => {
            id(&mut obj, report.connection_id)?;
            obj.set_named_property("heldMillis", millis(report.held_for))?;
            obj.set_named_property("site", report.site.trim_end())?;
            obj.set_named_property("thread", report.thread)?;
            name
        }
        Event::Warning(message) => {
            obj.set_named_property("message", message)?;
            "warning"
        }
    };
    Ok((name, obj))
}

#[napi]
impl Pool {
    /// Internal (`lib/index.js`): hands this pool's events to
    /// `listener(name, payload)` from now on, for the kinds in `mask`
    /// (bits: create 1, acquire 2, release 4, close 8, timeout 16, leak 32,
    /// walPinned 64, warning 128).
    #[napi(js_name = "_listen", ts_args_type = "listener: (name: string, payload: object) => void, mask: number")]
    pub fn listen(&self, env: Env, listener: Function<FnArgs<(String, sys::napi_value)>, ()>, mask: u32) -> Result<()> {
        let relay = Arc::clone(&self.events);
        let for_callback = Arc::clone(&relay);
        let listener_ref = listener.create_ref()?;
        let doorbell = doorbell(&env, "litepoolEvents", move |env| {
            let events = std::mem::take(&mut for_callback.inner.lock().queue);
            let listener = listener_ref.borrow_back(env)?;
            // A listener that throws is reported as Node reports an
            // exception in an event handler (uncaught), after the rest
            // of the batch went out.
            let mut first_error = None;
            for event in events {
                let mut scope = std::ptr::null_mut();
                // SAFETY: on the JS thread; the scope is closed right after.
                let opened = unsafe { sys::napi_open_handle_scope(env.raw(), &mut scope) } == sys::Status::napi_ok;
                let out = to_js(env, event)
                    .and_then(|(name, payload)| listener.call(FnArgs::from((name.to_owned(), payload.raw()))));
                if opened {
                    // SAFETY: the scope opened above, on this thread.
                    unsafe { sys::napi_close_handle_scope(env.raw(), scope) };
                }
                if let (Err(e), None) = (out, &first_error) {
                    first_error = Some(e);
                }
            }
            first_error.map_or(Ok(()), Err)
        })?;
        relay.inner.lock().doorbell = Some(Arc::new(doorbell));
        relay.mask.store(mask, Relaxed);
        Ok(())
    }

    /// Internal (`lib/index.js`): which event kinds have listeners now.
    #[napi(js_name = "_eventMask")]
    pub fn event_mask(&self, mask: u32) {
        self.events.mask.store(mask, Relaxed);
    }
}
