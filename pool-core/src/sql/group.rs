//! Group commit (opt-in, `PoolConfig::group_commit`): one-shot writes that
//! queue behind the write gate are run together — one `BEGIN IMMEDIATE …
//! COMMIT` for many small writes, each in a savepoint of its own, so a
//! failing one rolls back only itself. Each caller gets its own result
//! (its `changes`, its `last_insert_rowid`) once the group has committed,
//! so nobody is told "done" before the commit is durable.
//!
//! Flat combining: the first caller to find no group running becomes the
//! leader, leases the write lane and runs batches; the others wait for
//! their result (a synchronous caller on its thread, an asynchronous one
//! through its completion). A synchronous leader leads only until its own
//! call is answered, then passes the lease to the next waiting caller (or,
//! with only asynchronous calls queued, to the executor): under steady load
//! the queue never empties, and a leader that stayed would wait without
//! bound (measured: max wait 600x the p99.9). The statements of the
//! transaction and its savepoints go through the statement cache. Commits cost a disk sync each
//! (with `synchronous=FULL`) and the write gate's hand-off; a group pays
//! them once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::guard::{Lane, PooledConnection};
use crate::pool::{AcquireOptions, Pool};
use crate::shared::Shared;
use crate::sql::batch::{copy_error, Group, Job, Passed, Reply, Slot};
use crate::sql::call::{Call, Produced};
use crate::sql::exec;

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
        let results = run_batch(&lease, &batch);
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

/// Runs a transaction-control statement through the statement cache (a
/// group runs four of them per call: preparing each would cost more than
/// the calls).
fn control(lease: &PooledConnection, sql: &str) -> Result<()> {
    exec::prepare_statement(lease, sql)?.execute([]).map(drop).map_err(|e| lease.error(e))
}

/// One transaction of savepoints; the results, all failed if it did not commit.
fn run_batch(lease: &PooledConnection, batch: &[Job]) -> Vec<Result<Produced>> {
    if let Err(e) = control(lease, "BEGIN IMMEDIATE") {
        return batch.iter().map(|_| Err(copy_error(&e))).collect();
    }
    let mut results: Vec<Result<Produced>> = Vec::with_capacity(batch.len());
    for job in batch {
        let out = control(lease, "SAVEPOINT litepool_group").and_then(|()| exec::execute(lease, &job.call));
        if lease.is_autocommit() {
            // The statement's failure ended the whole transaction: the calls
            // before it were rolled back with it; go on in a new one.
            let lost =
                Error::Misuse("rolled back with its group: another call of the group ended the transaction".into());
            for earlier in results.iter_mut().filter(|r| r.is_ok()) {
                *earlier = Err(copy_error(&lost));
            }
            results.push(out);
            if let Err(e) = control(lease, "BEGIN IMMEDIATE") {
                results.extend(batch[results.len()..].iter().map(|_| Err(copy_error(&e))));
                return results;
            }
            continue;
        }
        let end = if out.is_ok() {
            control(lease, "RELEASE litepool_group")
        } else {
            control(lease, "ROLLBACK TO litepool_group").and_then(|()| control(lease, "RELEASE litepool_group"))
        };
        if let Err(e) = end {
            results.push(Err(e));
            continue;
        }
        results.push(out);
    }
    match control(lease, "COMMIT") {
        Ok(()) => results,
        Err(e) => {
            let _ = lease.execute_batch("ROLLBACK");
            results.into_iter().map(|_| Err(copy_error(&e))).collect()
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
