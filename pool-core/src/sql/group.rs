//! Group commit (opt-in, `PoolConfig::group_commit`): one-shot writes that
//! queue behind the write gate are run together — one `BEGIN IMMEDIATE …
//! COMMIT` for many small writes, each in a savepoint of its own, so a
//! failing one rolls back only itself. Each caller gets its own result
//! (its `changes`, its `last_insert_rowid`) once the group has committed,
//! so nobody is told "done" before the commit is durable.
//!
//! Flat combining: the first caller to find no group running becomes the
//! leader, leases the write lane and runs batches until the queue is empty;
//! the others wait for their result (a synchronous caller on its thread, an
//! asynchronous one through its completion). Commits cost a disk sync each
//! (with `synchronous=FULL`) and the write gate's hand-off; a group pays
//! them once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::guard::{Lane, PooledConnection};
use crate::pool::{AcquireOptions, Pool};
use crate::sql::batch::{copy_error, Group, Job, Reply, Slot};
use crate::sql::call::{Call, Produced};
use crate::sql::exec;

/// Runs batches on `lease` until the queue is empty.
fn lead(group: &Group, lease: &PooledConnection) {
    loop {
        let batch = group.batch();
        if batch.is_empty() {
            return;
        }
        let results = run_batch(lease, &batch);
        for (job, result) in batch.into_iter().zip(results) {
            job.answer(result);
        }
    }
}

/// One transaction of savepoints; the results, all failed if it did not commit.
fn run_batch(lease: &PooledConnection, batch: &[Job]) -> Vec<Result<Produced>> {
    if let Err(e) = lease.execute_batch("BEGIN IMMEDIATE") {
        return batch.iter().map(|_| Err(copy_error(&e))).collect();
    }
    let mut results: Vec<Result<Produced>> = Vec::with_capacity(batch.len());
    for job in batch {
        let out = lease.execute_batch("SAVEPOINT litepool_group").and_then(|()| exec::execute(lease, &job.call));
        if lease.is_autocommit() {
            // The statement's failure ended the whole transaction: the calls
            // before it were rolled back with it; go on in a new one.
            let lost =
                Error::Misuse("rolled back with its group: another call of the group ended the transaction".into());
            for earlier in results.iter_mut().filter(|r| r.is_ok()) {
                *earlier = Err(copy_error(&lost));
            }
            results.push(out);
            if let Err(e) = lease.execute_batch("BEGIN IMMEDIATE") {
                results.extend(batch[results.len()..].iter().map(|_| Err(copy_error(&e))));
                return results;
            }
            continue;
        }
        let end =
            if out.is_ok() { "RELEASE litepool_group" } else { "ROLLBACK TO litepool_group; RELEASE litepool_group" };
        if let Err(e) = lease.execute_batch(end) {
            results.push(Err(e));
            continue;
        }
        results.push(out);
    }
    match lease.execute_batch("COMMIT") {
        Ok(()) => results,
        Err(e) => {
            let _ = lease.execute_batch("ROLLBACK");
            results.into_iter().map(|_| Err(copy_error(&e))).collect()
        }
    }
}

impl Pool {
    /// A one-shot write through the group (sync): leads or waits.
    pub(crate) fn group_call(&self, opts: AcquireOptions, call: &Call) -> Result<Produced> {
        let group = &self.shared().group;
        let slot = Arc::new(Slot::default());
        let timeout = opts.timeout.unwrap_or(self.config().acquire_timeout);
        let deadline = Instant::now() + timeout;
        if group.push(Job { call: call.clone(), reply: Reply::Sync(Arc::clone(&slot)) }) {
            // The leader's deadline is not the group's: each statement has
            // its own (Call::timeout, statement_timeout).
            match self.acquire(AcquireOptions { lane: Lane::Write, timeout: Some(timeout), deadline: None, ..opts }) {
                Ok(lease) => lead(group, &lease),
                Err(e) => group.fail_all(&e),
            }
        }
        let mut result = slot.result.lock();
        loop {
            if let Some(r) = result.take() {
                return r;
            }
            if slot.cv.wait_until(&mut result, deadline).timed_out() && result.is_none() {
                drop(result);
                if group.withdraw(&slot) {
                    return Err(self.shared().timed_out("the write gate", timeout));
                }
                // Taken by the leader: it is running; wait for it.
                result = slot.result.lock();
                while result.is_none() {
                    slot.cv.wait_for(&mut result, Duration::from_millis(100));
                }
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
            Ok(lease) => executor.submit(Box::new(move || lead(&shared.group, &lease))),
            Err(e) => shared.group.fail_all(&e),
        });
    }
}
