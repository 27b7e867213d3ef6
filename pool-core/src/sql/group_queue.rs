//! The pool's group commit (opt-in, `PoolConfig::group_commit`): one-shot
//! writes that queue behind the write gate wait here for a leader to run
//! them together (`group.rs`: one transaction, each caller its own outcome
//! after the commit).
//!
//! Flat combining: the first caller to find no group running becomes the
//! leader, leases the write lane and runs batches; the others wait for
//! their result (a synchronous caller on its thread, an asynchronous one
//! through its completion). A synchronous leader leads only until its own
//! call is answered, then passes the lease to the next waiting caller (or,
//! with only asynchronous calls queued, to the executor): under steady load
//! the queue never empties, and a leader that stayed would wait without
//! bound (measured: max wait 600x the p99.9). Commits cost a disk sync each
//! (with `synchronous=FULL`) and the write gate's hand-off; a group pays
//! them once.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result};
use crate::guard::{Lane, PooledConnection};
use crate::pool::{AcquireOptions, Pool};
use crate::shared::Shared;
use crate::sql::call::{Call, Produced};
use crate::sql::group::{self, copy_error, OneShot, GROUP_MAX};

/// Where a call's result goes.
pub(crate) enum Reply {
    /// A thread waits for it.
    Sync(Arc<Slot>),
    /// A completion takes it (on the leader's thread).
    Async(Box<dyn FnOnce(Result<Produced>) + Send>),
}

/// Where a waiting caller's result (or the leader's lease) arrives.
#[derive(Default)]
pub(crate) struct Slot {
    pub(crate) inbox: Mutex<Inbox>,
    pub(crate) cv: Condvar,
}

#[derive(Default)]
pub(crate) struct Inbox {
    pub(crate) result: Option<Result<Produced>>,
    /// The write lease, passed on by a leader done with its own call: the
    /// caller leads on (type-erased: this queue knows nothing of leases).
    pub(crate) lead: Option<Box<dyn Any + Send>>,
}

/// What [`Group::pass`] did with a leader's lease.
pub(crate) enum Passed {
    /// A waiting caller leads on with it.
    Taken,
    /// Only asynchronous calls wait: someone must lead them on the executor.
    ForExecutor(Box<dyn Any + Send>),
    /// Nobody waits: the group is over (drop the lease).
    Idle(Box<dyn Any + Send>),
}

pub(crate) struct Job {
    pub(crate) call: Call,
    pub(crate) reply: Reply,
}

impl Job {
    pub(crate) fn answer(self, result: Result<Produced>) {
        match self.reply {
            Reply::Sync(slot) => {
                slot.inbox.lock().result = Some(result);
                slot.cv.notify_one();
            }
            Reply::Async(done) => done(result),
        }
    }
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    /// A leader is running batches.
    leading: bool,
}

/// A pool's group-commit queue.
#[derive(Default)]
pub(crate) struct Group {
    state: Mutex<State>,
}

impl Group {
    /// Queues `job`; `true` when the caller must lead (no group runs).
    pub(crate) fn push(&self, job: Job) -> bool {
        let mut st = self.state.lock();
        st.jobs.push_back(job);
        !std::mem::replace(&mut st.leading, true)
    }

    /// The next batch; an empty one ends the leader's turn (atomically).
    pub(crate) fn batch(&self) -> Vec<Job> {
        let mut st = self.state.lock();
        let n = st.jobs.len().min(GROUP_MAX);
        if n == 0 {
            st.leading = false;
        }
        st.jobs.drain(..n).collect()
    }

    /// A leader done with its own call hands `lease` on: to the first
    /// queued synchronous caller (woken now; it leads on, and its own call
    /// is in its first batch), else back for the executor while
    /// asynchronous calls queue, else the group ends.
    pub(crate) fn pass(&self, lease: Box<dyn Any + Send>) -> Passed {
        let mut st = self.state.lock();
        if st.jobs.is_empty() {
            st.leading = false;
            return Passed::Idle(lease);
        }
        let next = st.jobs.iter().find_map(|j| match &j.reply {
            Reply::Sync(slot) => Some(Arc::clone(slot)),
            Reply::Async(_) => None,
        });
        match next {
            Some(slot) => {
                slot.inbox.lock().lead = Some(lease);
                slot.cv.notify_one();
                Passed::Taken
            }
            None => Passed::ForExecutor(lease),
        }
    }

    /// Whether `slot`'s call is in `batch`.
    pub(crate) fn answers(batch: &[Job], slot: &Arc<Slot>) -> bool {
        batch.iter().any(|j| matches!(&j.reply, Reply::Sync(s) if Arc::ptr_eq(s, slot)))
    }

    /// Fails every queued call (the leader could not lease the write lane).
    pub(crate) fn fail_all(&self, err: &Error) {
        let jobs: Vec<Job> = {
            let mut st = self.state.lock();
            st.leading = false;
            st.jobs.drain(..).collect()
        };
        for job in jobs {
            job.answer(Err(copy_error(err)));
        }
    }

    /// Takes a still-queued synchronous job of `slot` out (its caller gave
    /// up); not once a lease was passed to it (it must lead).
    pub(crate) fn withdraw(&self, slot: &Arc<Slot>) -> bool {
        let mut st = self.state.lock();
        if slot.inbox.lock().lead.is_some() {
            return false;
        }
        let at = st.jobs.iter().position(|j| matches!(&j.reply, Reply::Sync(s) if Arc::ptr_eq(s, slot)));
        at.map(|i| st.jobs.remove(i)).is_some()
    }
}

/// Runs batches on `lease` until the queue is empty or, for a leader that
/// is itself a waiting caller (`own`), until its own call is answered: then
/// the lease passes to the next waiting caller, who leads on (its wake-up
/// was due anyway), so no caller leads for long.
fn lead(shared: &Arc<Shared>, lease: PooledConnection, own: Option<&Arc<Slot>>) {
    let group = &shared.group;
    loop {
        let batch = group.batch();
        if batch.is_empty() {
            return;
        }
        let own_done = own.is_some_and(|slot| Group::answers(&batch, slot));
        let calls: Vec<&Call> = batch.iter().map(|job| &job.call).collect();
        let results = group::commit_together(&mut OneShot(&lease), &calls);
        for (job, result) in batch.into_iter().zip(results) {
            job.answer(result);
        }
        if own_done {
            match group.pass(Box::new(lease)) {
                Passed::Taken => {}
                Passed::Idle(lease) => drop(lease), // outside the queue's lock
                Passed::ForExecutor(lease) => {
                    if let Ok(lease) = lease.downcast::<PooledConnection>() {
                        let shared2 = Arc::clone(shared);
                        shared.executor.submit(Box::new(move || lead(&shared2, *lease, None)));
                    }
                }
            }
            return;
        }
    }
}

impl Pool {
    /// A one-shot write through the group (sync): leads, or waits for its
    /// result — or for the lease, when a leader passes it on.
    pub(crate) fn group_call(&self, opts: AcquireOptions, call: &Call) -> Result<Produced> {
        let shared = self.shared();
        let group = &shared.group;
        let slot = Arc::new(Slot::default());
        let timeout = opts.timeout.unwrap_or(self.config().acquire_timeout);
        let mut deadline = Instant::now() + timeout;
        if group.push(Job { call: call.clone(), reply: Reply::Sync(Arc::clone(&slot)) }) {
            // The leader's deadline is not the group's: each statement has
            // its own (Call::timeout, statement_timeout).
            match self.acquire(AcquireOptions { lane: Lane::Write, timeout: Some(timeout), deadline: None, ..opts }) {
                Ok(lease) => lead(shared, lease, Some(&slot)),
                Err(e) => group.fail_all(&e),
            }
        }
        let mut inbox = slot.inbox.lock();
        loop {
            if let Some(r) = inbox.result.take() {
                return r;
            }
            if let Some(lease) = inbox.lead.take() {
                drop(inbox);
                if let Ok(lease) = lease.downcast::<PooledConnection>() {
                    lead(shared, *lease, Some(&slot));
                }
                inbox = slot.inbox.lock();
                continue;
            }
            if slot.cv.wait_until(&mut inbox, deadline).timed_out() && inbox.result.is_none() && inbox.lead.is_none() {
                drop(inbox);
                if group.withdraw(&slot) {
                    return Err(shared.timed_out("the write gate", timeout));
                }
                // Taken by the leader (it is running), or passed the lease: wait on.
                deadline = Instant::now() + Duration::from_millis(100);
                inbox = slot.inbox.lock();
            }
        }
    }

    /// A one-shot write through the group (async): queued; the first call
    /// to find no group running starts one on the executor.
    pub(crate) fn group_call_with(
        &self,
        opts: AcquireOptions,
        call: Call,
        done: Box<dyn FnOnce(Result<Produced>) + Send>,
    ) {
        let shared = Arc::clone(self.shared());
        if !shared.group.push(Job { call, reply: Reply::Async(done) }) {
            return;
        }
        let executor = shared.executor.clone();
        self.acquire_with(AcquireOptions { lane: Lane::Write, deadline: None, ..opts }, move |lease| match lease {
            Ok(lease) => executor.submit(Box::new(move || lead(&shared, lease, None))),
            Err(e) => shared.group.fail_all(&e),
        });
    }
}
