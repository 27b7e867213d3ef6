//! One-shot calls on the pool: [`Pool::call`] and [`Pool::call_with`] lease
//! the lane the statement needs (read-only statements an ordinary lease,
//! others the write lane), run it, and give the lease back — all within
//! one acquire timeout.
//!
//! Whether a statement is read-only is `sqlite3_stmt_readonly`, which needs
//! it prepared: the answer is remembered per SQL text (and on the [`Sql`]
//! itself). A statement seen for the first time is prepared on an ordinary
//! lease; if it writes, the lease takes the write gate on the spot when the
//! gate is free, else it goes back and the write lane is asked for with
//! what is left of the same deadline.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::error::Result;
use crate::future::{Acquire, AcquireHandle};
use crate::guard::{Lane, PooledConnection};
use crate::pool::{AcquireOptions, Pool};
use crate::shared::Shared;
use crate::sql::call::{Call, Op, Produced, Sql};
use crate::sql::classify;
use crate::sql::exec::{self, Waited};
use crate::sql::group;

/// Where [`Pool::call_via`]'s outcome was made.
pub(crate) enum Via<T> {
    /// On a lease, by the caller's function.
    Lease(T),
    /// In the group commit (a grouped write).
    Group(Produced),
}

/// Runs a one-shot call on its lease. A script may hold whole transactions
/// (`BEGIN; …; COMMIT`), but one that leaves a transaction open is rolled
/// back and refused, as one-shot `BEGIN` is: the lease ends with the call.
fn run_one_shot(lease: &PooledConnection, call: &Call, waited: Waited) -> Result<Produced> {
    let out = exec::execute_after(lease, call, waited);
    if call.op == Op::Script && !lease.is_autocommit() {
        let _ = lease.execute_batch("ROLLBACK");
        return Err(crate::error::Error::Misuse(
            "a script through a one-shot call left a transaction open: it would end (rolled back) with its \
             lease; hold a lease (write() and its transaction) to run a transaction across calls"
                .to_owned(),
        ));
    }
    out
}

/// The lane a statement with this read-only answer runs on.
fn lane_for(read_only: bool) -> Lane {
    if read_only {
        Lane::Any
    } else {
        Lane::Write
    }
}

/// What is left of `timeout` since `start`.
fn remaining(start: Instant, timeout: Duration) -> Duration {
    timeout.saturating_sub(start.elapsed())
}

/// The options of a call's second acquire (the write lane, after probing):
/// what is left of the timeout and of the deadline since `start`.
fn again(opts: AcquireOptions, start: Instant, timeout: Duration) -> AcquireOptions {
    let deadline = opts.deadline.map(|d| remaining(start, d).max(Duration::from_nanos(1)));
    AcquireOptions { lane: Lane::Write, timeout: Some(remaining(start, timeout)), deadline, ..opts }
}

/// The first lane to ask for and whether the statement must be probed.
fn plan(shared: &Shared, call: &Call) -> Result<(Lane, bool)> {
    if call.op == Op::Script {
        return Ok((Lane::Write, false));
    }
    if !call.sql.one_shot_ok() {
        classify::refuse_in_one_shot(call.sql.as_str())?;
        call.sql.learn_one_shot_ok();
    }
    Ok(match shared.routes.known(&call.sql) {
        Some(ro) => (lane_for(ro), false),
        None => (Lane::Any, true),
    })
}

/// Whether a call goes through the group commit: on, a known write that
/// may join a group (`group.rs`: a plain `INSERT`/`UPDATE`/`DELETE`/
/// `REPLACE`), no tenant (a tenant's writes go to its own database).
fn grouped(shared: &Shared, opts: &AcquireOptions, call: &Call, lane: Lane, probing: bool) -> bool {
    shared.config.group_commit && lane == Lane::Write && !probing && opts.tenant.is_none() && group::groupable(call)
}

/// On a probing lease: prepares the statement, learns whether it writes
/// and, if it does, takes the write gate in place when it is free.
/// `Ok(true)`: run it on this lease.
fn probe(shared: &Shared, lease: &mut PooledConnection, sql: &Sql) -> Result<bool> {
    let read_only = exec::prepare(lease, &Call::new(Op::Prepare, sql.clone()))?.read_only();
    shared.routes.learn(sql, read_only);
    Ok(read_only || lease.try_upgrade())
}

impl Pool {
    /// Whether `sql` is read-only (`sqlite3_stmt_readonly`), if the pool has
    /// already prepared it for a one-shot call or a session.
    pub fn is_read_only(&self, sql: &str) -> Option<bool> {
        self.shared().routes.known(&Sql::new(sql))
    }

    /// Whether running `sql` changes the connection's own state (sets a
    /// pragma, creates a TEMP object, attaches a database…), if a session
    /// ([`crate::sql::Session`]) has run it: such a statement must run on the
    /// connection whose state it means to change, never as a one-shot call
    /// (whose lease is reset on return).
    pub fn changes_connection(&self, sql: &str) -> Option<bool> {
        self.shared().routes.stateful(&Sql::new(sql))
    }

    /// Runs `call` on a lease of the lane its statement needs (see the
    /// module docs) and gives the lease back. `opts.lane` is ignored; the
    /// timeout, tenant and acquire site are used. Transaction control
    /// (`BEGIN`, `COMMIT`, `SAVEPOINT`…) is refused with [`Error::Misuse`]
    /// outside scripts: the lease ends with the statement.
    #[track_caller]
    pub fn call(&self, opts: AcquireOptions, call: &Call) -> Result<Produced> {
        match self.call_via(opts, call, |lease, waited| run_one_shot(lease, call, waited))? {
            Via::Lease(produced) | Via::Group(produced) => Ok(produced),
        }
    }

    /// [`Pool::call`]'s routing and leasing, with `on_lease` run on the
    /// lease (a grouped write runs in the group commit instead).
    #[track_caller]
    pub(crate) fn call_via<T>(
        &self,
        opts: AcquireOptions,
        call: &Call,
        on_lease: impl FnOnce(&PooledConnection, Waited) -> Result<T>,
    ) -> Result<Via<T>> {
        let start = Instant::now();
        let timeout = opts.timeout.unwrap_or(self.config().acquire_timeout);
        let (lane, probing) = plan(self.shared(), call)?;
        if grouped(self.shared(), &opts, call, lane, probing) {
            return self.group_call(AcquireOptions { timeout: Some(timeout), ..opts }, call).map(Via::Group);
        }
        let mut lease = self.acquire(AcquireOptions { lane, timeout: Some(timeout), ..opts.clone() })?;
        if probing && !probe(self.shared(), &mut lease, &call.sql)? {
            drop(lease);
            lease = self.acquire(again(opts, start, timeout))?;
        }
        on_lease(&lease, Waited::Since(start)).map(Via::Lease)
    }

    /// [`Pool::call`] off the caller's thread: the lease is acquired without
    /// blocking and the SQL runs on the pool's executor; `done` is called
    /// there with the outcome (at once, on this thread, for a call refused
    /// up front). The handle withdraws a call still waiting for its first
    /// lease.
    #[track_caller]
    pub fn call_with<F>(&self, opts: AcquireOptions, call: Call, done: F) -> AcquireHandle
    where
        F: FnOnce(Result<Produced>) + Send + 'static,
    {
        let shared = Arc::clone(self.shared());
        let (lane, probing) = match plan(&shared, &call) {
            Ok(plan) => plan,
            Err(e) => {
                done(Err(e));
                return AcquireHandle::finished();
            }
        };
        let start = Instant::now();
        let timeout = opts.timeout.unwrap_or(shared.config.acquire_timeout);
        if grouped(&shared, &opts, &call, lane, probing) {
            self.group_call_with(AcquireOptions { timeout: Some(timeout), ..opts }, call, Box::new(done));
            return AcquireHandle::finished();
        }
        let first = AcquireOptions { lane, timeout: Some(timeout), ..opts.clone() };
        let pool = self.clone();
        self.acquire_with(first, move |lease| {
            let lease = match lease {
                Ok(lease) => lease,
                Err(e) => return done(Err(e)),
            };
            let executor = shared.executor.clone();
            executor.submit(Box::new(move || {
                let mut lease = lease;
                if probing {
                    match probe(&shared, &mut lease, &call.sql) {
                        Ok(true) => {}
                        Ok(false) => {
                            drop(lease);
                            let executor = shared.executor.clone();
                            pool.acquire_with(again(opts, start, timeout), move |lease| match lease {
                                Ok(lease) => {
                                    executor.submit(Box::new(move || run_and_return(lease, &call, start, done)))
                                }
                                Err(e) => done(Err(e)),
                            });
                            return;
                        }
                        Err(e) => return done(Err(e)),
                    }
                }
                run_and_return(lease, &call, start, done);
            }));
        })
    }
}

/// Runs `call` (asked for at `start`), gives the lease back (which may
/// hand it to the next queued call, run next on this worker), then reports.
fn run_and_return<F: FnOnce(Result<Produced>)>(lease: PooledConnection, call: &Call, start: Instant, done: F) {
    let out = run_one_shot(&lease, call, Waited::Since(start));
    drop(lease);
    done(out);
}

/// A one-shot call as a future: [`Pool::call_async`].
#[must_use = "futures do nothing unless polled"]
pub struct CallFuture {
    pool: Pool,
    opts: AcquireOptions,
    call: Call,
    start: Instant,
    timeout: Duration,
    stage: CallStage,
}

enum CallStage {
    Refused(Option<crate::error::Error>),
    Leasing { acquire: Acquire, probing: bool },
    Grouped(Arc<Mutex<Reply>>),
    Done,
}

/// Where a grouped call's outcome lands, and who to wake.
#[derive(Default)]
struct Reply {
    out: Option<Result<Produced>>,
    waker: Option<Waker>,
}

impl Future for CallFuture {
    type Output = Result<Produced>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Produced>> {
        let me = self.get_mut();
        loop {
            match &mut me.stage {
                CallStage::Refused(e) => {
                    let e = e.take().unwrap_or(crate::error::Error::Released);
                    me.stage = CallStage::Done;
                    return Poll::Ready(Err(e));
                }
                CallStage::Grouped(reply) => {
                    let mut reply = reply.lock();
                    if let Some(out) = reply.out.take() {
                        drop(reply);
                        me.stage = CallStage::Done;
                        return Poll::Ready(out);
                    }
                    reply.waker = Some(cx.waker().clone());
                    return Poll::Pending;
                }
                CallStage::Leasing { acquire, probing } => {
                    let probing = *probing;
                    let mut lease = match Pin::new(acquire).poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(e)) => {
                            me.stage = CallStage::Done;
                            return Poll::Ready(Err(e));
                        }
                        Poll::Ready(Ok(lease)) => lease,
                    };
                    if probing {
                        match probe(me.pool.shared(), &mut lease, &me.call.sql) {
                            Ok(true) => {}
                            Ok(false) => {
                                drop(lease);
                                let opts = again(me.opts.clone(), me.start, me.timeout);
                                me.stage = CallStage::Leasing { acquire: me.pool.acquire_async(opts), probing: false };
                                continue;
                            }
                            Err(e) => {
                                me.stage = CallStage::Done;
                                return Poll::Ready(Err(e));
                            }
                        }
                    }
                    me.stage = CallStage::Done;
                    return Poll::Ready(run_one_shot(&lease, &me.call, Waited::Since(me.start)));
                }
                CallStage::Done => return Poll::Pending,
            }
        }
    }
}

impl Pool {
    /// [`Pool::call`] as a future, for callers that poll on their own
    /// thread (Python waits this way, answering Ctrl-C between polls): the
    /// lease is awaited without parking, and the SQL then runs inside
    /// `poll`, on the polling thread — so do not poll it on an async
    /// runtime's reactor thread; use [`Pool::call_with`] there. Dropping it
    /// before it is ready leaves the queue.
    #[track_caller]
    pub fn call_async(&self, opts: AcquireOptions, call: Call) -> CallFuture {
        let start = Instant::now();
        let timeout = opts.timeout.unwrap_or(self.config().acquire_timeout);
        let opts = AcquireOptions { timeout: Some(timeout), ..opts };
        let stage = match plan(self.shared(), &call) {
            Err(e) => CallStage::Refused(Some(e)),
            Ok((lane, probing)) if grouped(self.shared(), &opts, &call, lane, probing) => {
                let reply = Arc::new(Mutex::new(Reply::default()));
                let to = Arc::clone(&reply);
                self.group_call_with(
                    opts.clone(),
                    call.clone(),
                    Box::new(move |out| {
                        let waker = {
                            let mut reply = to.lock();
                            reply.out = Some(out);
                            reply.waker.take()
                        };
                        if let Some(waker) = waker {
                            waker.wake();
                        }
                    }),
                );
                CallStage::Grouped(reply)
            }
            Ok((lane, probing)) => {
                CallStage::Leasing { acquire: self.acquire_async(AcquireOptions { lane, ..opts.clone() }), probing }
            }
        };
        CallFuture { pool: self.clone(), opts, call, start, timeout, stage }
    }
}
