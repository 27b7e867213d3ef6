//! The group-commit queue (see `group.rs`): one-shot writes waiting for a
//! leader to run them in one transaction, and where each result goes.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result};
use crate::sql::call::{Call, Produced};

/// The most calls run in one transaction.
const BATCH: usize = 64;

/// Where a call's result goes.
pub(super) enum Reply {
    /// A thread waits for it.
    Sync(Arc<Slot>),
    /// A completion takes it (on the leader's thread).
    Async(Box<dyn FnOnce(Result<Produced>) + Send>),
}

/// Where a waiting caller's result (or the leader's lease) arrives.
#[derive(Default)]
pub(super) struct Slot {
    pub(super) inbox: Mutex<Inbox>,
    pub(super) cv: Condvar,
}

#[derive(Default)]
pub(super) struct Inbox {
    pub(super) result: Option<Result<Produced>>,
    /// The write lease, passed on by a leader done with its own call: the
    /// caller leads on (type-erased: this queue knows nothing of leases).
    pub(super) lead: Option<Box<dyn Any + Send>>,
}

/// What [`Group::pass`] did with a leader's lease.
pub(super) enum Passed {
    /// A waiting caller leads on with it.
    Taken,
    /// Only asynchronous calls wait: someone must lead them on the executor.
    ForExecutor(Box<dyn Any + Send>),
    /// Nobody waits: the group is over (drop the lease).
    Idle(Box<dyn Any + Send>),
}

pub(super) struct Job {
    pub(super) call: Call,
    pub(super) reply: Reply,
}

impl Job {
    pub(super) fn answer(self, result: Result<Produced>) {
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
    pub(super) fn push(&self, job: Job) -> bool {
        let mut st = self.state.lock();
        st.jobs.push_back(job);
        !std::mem::replace(&mut st.leading, true)
    }

    /// The next batch; an empty one ends the leader's turn (atomically).
    pub(super) fn batch(&self) -> Vec<Job> {
        let mut st = self.state.lock();
        let n = st.jobs.len().min(BATCH);
        if n == 0 {
            st.leading = false;
        }
        st.jobs.drain(..n).collect()
    }

    /// A leader done with its own call hands `lease` on: to the first
    /// queued synchronous caller (woken now; it leads on, and its own call
    /// is in its first batch), else back for the executor while
    /// asynchronous calls queue, else the group ends.
    pub(super) fn pass(&self, lease: Box<dyn Any + Send>) -> Passed {
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
    pub(super) fn answers(batch: &[Job], slot: &Arc<Slot>) -> bool {
        batch.iter().any(|j| matches!(&j.reply, Reply::Sync(s) if Arc::ptr_eq(s, slot)))
    }

    /// Fails every queued call (the leader could not lease the write lane).
    pub(super) fn fail_all(&self, err: &Error) {
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
    pub(super) fn withdraw(&self, slot: &Arc<Slot>) -> bool {
        let mut st = self.state.lock();
        if slot.inbox.lock().lead.is_some() {
            return false;
        }
        let at = st.jobs.iter().position(|j| matches!(&j.reply, Reply::Sync(s) if Arc::ptr_eq(s, slot)));
        at.map(|i| st.jobs.remove(i)).is_some()
    }
}

/// An error for each of several callers (the core's `Error` is not `Clone`).
pub(super) fn copy_error(err: &Error) -> Error {
    match err {
        Error::Timeout { what, waited, state, last_error } => {
            Error::Timeout { what, waited: *waited, state: *state, last_error: last_error.clone() }
        }
        Error::Closed => Error::Closed,
        Error::Sqlite(rusqlite::Error::SqliteFailure(f, m)) => {
            Error::Sqlite(rusqlite::Error::SqliteFailure(*f, m.clone()))
        }
        other => Error::Misuse(format!("the group commit failed: {other}")),
    }
}
