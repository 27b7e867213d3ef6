//! From the core's callback-form acquire to a JS promise, without parking a
//! thread.
//!
//! [`acquire_then`] hands the acquire to [`litepool::Pool::acquire_with`].
//! If a connection is idle the callback runs inline, on the JS thread, and
//! the job starts at once. Otherwise the promise returned to JS is backed by
//! a thread-safe deferred: the callback, on whichever thread frees a
//! connection (or the housekeeper, on timeout), settles it, and the job
//! starts on the JS thread.

use std::sync::Arc;

use litepool::{AcquireOptions, PooledConnection};
use napi::bindgen_prelude::*;
use napi::ScopedTask;
use napi::{sys, Env, JsDeferred};
use parking_lot::Mutex;

use crate::error::{js_error_value, to_js_error, Failure};

/// What to do with a lease once granted, on the JS thread. The value
/// returned settles the caller's promise (it may be a promise itself).
pub trait OnLease: Send + 'static {
    fn start<'env>(self, env: &'env Env, lease: PooledConnection) -> Result<Unknown<'env>>;
}

type Resolver = Box<dyn FnOnce(Env) -> Result<Unknown<'static>>>;
pub type Deferred = JsDeferred<Unknown<'static>, Resolver>;

enum Slot<J> {
    /// Waiting; the JS thread is still inside `acquire_with`.
    Pending(J),
    /// Granted (or failed) while the JS thread was inside `acquire_with`.
    Ready(J, litepool::Result<PooledConnection>),
    /// Queued; the promise handed to JS is backed by this deferred.
    Deferred(Deferred, J),
    Done,
}

/// Acquires with `opts` and then runs `job` on the lease; returns the
/// caller's promise.
pub fn acquire_then<'env, J: OnLease>(
    env: &'env Env,
    pool: &litepool::Pool,
    opts: AcquireOptions,
    job: J,
) -> Result<Unknown<'env>> {
    let slot = Arc::new(Mutex::new(Slot::Pending(job)));
    let from_callback = Arc::clone(&slot);
    pool.acquire_with(opts, move |result| {
        let mut s = from_callback.lock();
        match std::mem::replace(&mut *s, Slot::Done) {
            Slot::Pending(job) => *s = Slot::Ready(job, result),
            Slot::Deferred(deferred, job) => {
                drop(s);
                settle_later(deferred, move |env| match result {
                    Ok(lease) => job.start(env, lease),
                    Err(e) => Err(to_js_error(env, &Failure::Core(e))),
                });
            }
            other => *s = other,
        }
    });
    let mut s = slot.lock();
    match std::mem::replace(&mut *s, Slot::Done) {
        Slot::Ready(job, Ok(lease)) => {
            drop(s);
            job.start(env, lease)
        }
        Slot::Ready(_, Err(e)) => rejected(env, &Failure::Core(e)),
        Slot::Pending(job) => {
            let (deferred, promise) = env.create_deferred::<Unknown<'static>, Resolver>()?;
            *s = Slot::Deferred(deferred, job);
            // SAFETY: `promise` is a live value on this env.
            Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), promise.raw()) })
        }
        other => {
            *s = other;
            Err(napi::Error::from_reason("litepool: acquire callback state corrupted"))
        }
    }
}

/// Settles `deferred` on the JS thread with what `f` returns there.
pub fn settle_later<F>(deferred: Deferred, f: F)
where
    F: for<'a> FnOnce(&'a Env) -> Result<Unknown<'a>> + Send + 'static,
{
    deferred.resolve(Box::new(move |env: Env| {
        let value = f(&env)?;
        // SAFETY: `value` lives on `env`, which outlives this settle call.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), value.raw()) })
    }));
}

/// A promise already rejected with `err`.
pub fn rejected<'env>(env: &'env Env, err: &Failure) -> Result<Unknown<'env>> {
    let reason = js_error_value(env, err);
    let mut deferred = std::ptr::null_mut();
    let mut promise = std::ptr::null_mut();
    // SAFETY: napi calls on the JS thread; `deferred` is settled right away.
    unsafe {
        if sys::napi_create_promise(env.raw(), &mut deferred, &mut promise) != sys::Status::napi_ok
            || sys::napi_reject_deferred(env.raw(), deferred, reason.raw()) != sys::Status::napi_ok
        {
            return Err(to_js_error(env, err));
        }
        Ok(Unknown::from_raw_unchecked(env.raw(), promise))
    }
}

/// Starts `task` on the libuv threadpool; returns its promise.
pub fn spawn<'env, T>(env: &'env Env, task: T) -> Result<Unknown<'env>>
where
    T: ScopedTask<'env> + 'env,
{
    let work = env.spawn(task)?;
    let promise = work.promise_object();
    // SAFETY: the promise lives on `env`.
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), promise.raw()) })
}
