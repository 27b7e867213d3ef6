//! Group commit: many small writes in one `BEGIN IMMEDIATE … COMMIT` — one
//! commit (and one disk sync, with `synchronous=FULL`) for many — where each
//! caller is told only its own outcome, and only once the group committed,
//! so nobody hears "done" before the write is durable and visible.
//!
//! Two callers use this one mechanism: the pool's opt-in `group_commit`
//! (one-shot writes queued behind the write gate; `group_queue.rs`) and a
//! session's grouped writes ([`Session::set_group_writes`], what the
//! node-sqlite3 drop-in turns on; the writes queued one after another on a
//! `SessionQueue`).
//!
//! **One rule isolates a failed call**, so that what a caller can tell from
//! running alone in autocommit, call by call, is nothing:
//! - Only plain writes join ([`groupable`]: `INSERT`, `UPDATE`, `DELETE`,
//!   `REPLACE`, one statement, one parameter set); anything else runs alone,
//!   as it would have (DDL, `VACUUM` and `ATTACH` cannot even run inside a
//!   transaction).
//! - A call that fails is undone by SQLite itself: a failed statement rolls
//!   back its own changes and leaves the transaction open (its statement
//!   journal), as autocommit would have rolled it back alone; `ON CONFLICT
//!   FAIL` keeps what it changed before failing, as autocommit keeps it. No
//!   savepoints (a group of savepoints ran three statements per call, and
//!   rolled back what `FAIL` keeps).
//! - When the transaction cannot stay whole — a call ended it (`INSERT OR
//!   ROLLBACK`, `RAISE(ROLLBACK)`, an I/O error), or `COMMIT` failed (a
//!   deferred foreign key, say) — what the group did is undone and its calls
//!   run again, each alone in autocommit, in order; each caller's answer is
//!   that run's (a call that ended the transaction keeps its own). If `BEGIN`
//!   fails, each runs alone.

use crate::error::{Error, Result};
use crate::guard::{Lane, PooledConnection};
use crate::sql::call::{Call, Op, Produced};
use crate::sql::session::Session;
use crate::sql::{classify, exec};

/// The most calls one group commits.
pub(crate) const GROUP_MAX: usize = 64;

/// Whether `call` is a plain write that may join a group.
pub(crate) fn groupable(call: &Call) -> bool {
    matches!(call.op, Op::Run | Op::All | Op::First)
        && ["INSERT", "UPDATE", "DELETE", "REPLACE"]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(classify::leading_keyword(call.sql.as_str())))
}

/// What a group runs its calls on: the way its caller runs one call (as it
/// would alone) and transaction control.
pub(crate) trait Member {
    /// Runs `call`, in the group's transaction or alone in autocommit.
    fn run(&mut self, call: &Call) -> Result<Produced>;
    /// `BEGIN IMMEDIATE`, `COMMIT` or `ROLLBACK`.
    fn control(&mut self, sql: &str) -> Result<()>;
    fn in_transaction(&self) -> bool;
}

/// Runs `calls` as one group (the write gate held), one result per call, in
/// order (see the module docs for the rule).
pub(crate) fn commit_together(on: &mut impl Member, calls: &[&Call]) -> Vec<Result<Produced>> {
    if on.control("BEGIN IMMEDIATE").is_err() {
        return alone(on, calls);
    }
    let mut out: Vec<Result<Produced>> = Vec::with_capacity(calls.len());
    for (i, call) in calls.iter().enumerate() {
        let result = on.run(call);
        if !on.in_transaction() {
            // This call ended the whole transaction, and the group's earlier
            // writes with it: those run again, each alone, then the rest;
            // this call's own outcome stands.
            let mut out = alone(on, &calls[..i]);
            out.push(result);
            out.extend(alone(on, &calls[i + 1..]));
            return out;
        }
        out.push(result);
    }
    if on.control("COMMIT").is_err() {
        // Nothing of the group is kept: each call's own outcome is its run alone.
        if on.in_transaction() {
            let _ = on.control("ROLLBACK");
        }
        return alone(on, calls);
    }
    out
}

fn alone(on: &mut impl Member, calls: &[&Call]) -> Vec<Result<Produced>> {
    calls.iter().map(|c| on.run(c)).collect()
}

/// Transaction control through the statement cache (a group runs two per
/// commit: preparing each would cost more than a small write).
fn control(lease: &PooledConnection, sql: &str) -> Result<()> {
    exec::prepare_statement(lease, sql)?.execute([]).map(drop).map_err(|e| lease.error(e))
}

/// A write lease running one-shot calls (`group_queue.rs`): each as
/// [`Pool::call`](crate::Pool::call) would run it.
pub(crate) struct OneShot<'a>(pub &'a PooledConnection);

impl Member for OneShot<'_> {
    fn run(&mut self, call: &Call) -> Result<Produced> {
        exec::execute(self.0, call)
    }

    fn control(&mut self, sql: &str) -> Result<()> {
        control(self.0, sql)
    }

    fn in_transaction(&self) -> bool {
        !self.0.is_autocommit()
    }
}

/// A session's queued writes: each under the session's own rules.
impl Member for Session {
    fn run(&mut self, call: &Call) -> Result<Produced> {
        Session::run(self, call)
    }

    fn control(&mut self, sql: &str) -> Result<()> {
        control(self.lease(), sql)
    }

    fn in_transaction(&self) -> bool {
        Session::in_transaction(self)
    }
}

impl Session {
    /// Whether this session may group the write `call` with those queued
    /// after it now: grouping is on, no transaction is open, the lease may write.
    pub(crate) fn may_group(&self, call: &Call) -> bool {
        self.groups_writes() && self.lease().lane() != Lane::Read && !self.in_transaction() && groupable(call)
    }

    /// Runs `calls` (grouped writes) as one group, keeping the write gate
    /// from the first statement to the last (the caller took it).
    pub(crate) fn run_group(&mut self, calls: &[&Call]) -> Vec<Result<Produced>> {
        self.set_holding(true);
        let out = commit_together(self, calls);
        self.set_holding(false);
        out
    }
}

/// An error for each of several callers (the core's `Error` is not `Clone`).
pub(crate) fn copy_error(err: &Error) -> Error {
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
