//! One-shot calls from JS, shared by `Pool` and `Statement`: the core
//! routes, leases and runs them on its executor; the promise settles
//! through the delivery mailbox.

use litepool::sql::Call;
use litepool::AcquireOptions as CoreAcquire;
use napi::bindgen_prelude::*;

use crate::delivery::Delivery;

/// The binding rules of `strictParameters`.
pub(crate) fn rules(strict: bool) -> litepool::sql::BindRules {
    if strict {
        litepool::sql::BindRules::STRICT
    } else {
        litepool::sql::BindRules::LAX
    }
}

/// A one-shot call off the JS thread: the core routes, leases and runs it
/// on its executor; the promise settles through `delivery`.
pub(crate) fn call_async<'env>(
    env: &'env Env,
    pool: &litepool::Pool,
    delivery: &Delivery,
    call: Call,
    opts: CoreAcquire,
    safe_integers: bool,
) -> Result<Unknown<'env>> {
    let (pending, promise) = delivery.promise(env)?;
    let op = call.op;
    pool.call_with(opts, call, pending.done(op, safe_integers));
    Ok(promise)
}
