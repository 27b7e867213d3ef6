//! From the core's callback-form acquire to a JS promise, without parking a
//! thread and without a trip through the JS thread in between.
//!
//! [`acquire_then`] hands the acquire to [`litepool::Pool::acquire_with`].
//! Its callback runs at once when a connection is idle (on the JS thread),
//! or later on whichever thread frees one (or the housekeeper, on timeout);
//! either way it gives the lease and the job straight to the pool's
//! [`Executor`](crate::executor::Executor), whose worker runs it and settles the caller's promise.

use crate::connection::NewConnection;
use crate::error::Failure;
use crate::executor::{Pending, Value};
use litepool::{AcquireOptions, PooledConnection};

/// Acquires with `opts`, then runs `job(lease, pending)` on a worker of
/// `pending`'s executor. A failed acquire rejects `pending`.
pub fn acquire_then<J>(pool: &litepool::Pool, opts: AcquireOptions, pending: Pending, job: J)
where
    J: FnOnce(PooledConnection, Pending) + Send + 'static,
{
    pool.acquire_with(opts, move |result| match result {
        Ok(lease) => {
            let executor = pending.executor().clone();
            executor.submit(Box::new(move || job(lease, pending)));
        }
        Err(e) => pending.settle(Err(Failure::Core(e))),
    });
}

/// Acquires with `opts` for `pool.acquire()`: `pending` resolves with a JS
/// `Connection` made by `make` (on the JS thread; no worker involved).
pub fn acquire_connection(pool: &litepool::Pool, opts: AcquireOptions, pending: Pending, make: NewConnection) {
    pool.acquire_with(opts, move |result| {
        pending.settle(result.map(|lease| Value::Connection(lease, make)).map_err(Failure::Core));
    });
}
