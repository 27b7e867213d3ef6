//! Grouped writes on a session ([`Session::set_group_writes`], what the
//! node-sqlite3 drop-in turns on): plain writes queued on a
//! [`SessionQueue`](crate::sql::SessionQueue) one after another, outside any
//! transaction, run in one `BEGIN IMMEDIATE … COMMIT` — one commit (and one
//! disk sync) for many, instead of one each.
//!
//! What a caller can tell from autocommit, call by call: nothing. Each call
//! still succeeds or fails alone — SQLite undoes a failed statement's own
//! changes and keeps the transaction, as autocommit would have undone it —
//! with its own `changes` and rowid; every completion runs after the group
//! committed, so nobody is told "done" before the write is durable and
//! visible. A statement that ends the whole transaction (`INSERT OR
//! ROLLBACK`, `RAISE(ROLLBACK)`, an I/O error) takes the group's earlier
//! writes with it: they are run again, each on its own, as they would have
//! run. Only INSERT, UPDATE, DELETE and REPLACE are grouped; anything else
//! ends the group.

use crate::error::Result;
use crate::guard::Lane;
use crate::sql::batch::copy_error;
use crate::sql::call::{Call, Op, Produced};
use crate::sql::classify;
use crate::sql::session::Session;

/// The most writes one group commits.
pub(crate) const GROUP_MAX: usize = 64;

/// Whether `call` is a plain write that may join a group.
pub(crate) fn groupable(call: &Call) -> bool {
    matches!(call.op, Op::Run | Op::All | Op::First)
        && ["INSERT", "UPDATE", "DELETE", "REPLACE"]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(classify::leading_keyword(call.sql.as_str())))
}

impl Session {
    /// Whether this session may group the write `call` with those queued
    /// after it now: grouping is on, no transaction is open, the lease may write.
    pub(crate) fn may_group(&self, call: &Call) -> bool {
        self.groups_writes() && self.lease().lane() != Lane::Read && !self.in_transaction() && groupable(call)
    }

    /// Runs `calls` (grouped writes, the write gate held) in one transaction,
    /// one result per call.
    pub(crate) fn run_group(&mut self, calls: &[&Call]) -> Vec<Result<Produced>> {
        self.set_holding(true);
        let out = self.group_inner(calls);
        self.set_holding(false);
        out
    }

    fn group_inner(&mut self, calls: &[&Call]) -> Vec<Result<Produced>> {
        if self.control("BEGIN IMMEDIATE").is_err() {
            return calls.iter().map(|c| self.run(c)).collect();
        }
        let mut out: Vec<Result<Produced>> = Vec::with_capacity(calls.len());
        for (i, call) in calls.iter().enumerate() {
            let result = self.run(call);
            if !self.in_transaction() {
                // This call ended the whole transaction, and the group's
                // earlier writes with it: run those again, each alone, then
                // the rest; this call's own outcome stands.
                out.clear();
                for earlier in &calls[..i] {
                    out.push(self.run(earlier));
                }
                out.push(result);
                for later in &calls[i + 1..] {
                    out.push(self.run(later));
                }
                return out;
            }
            out.push(result);
        }
        match self.control("COMMIT") {
            Ok(()) => out,
            Err(e) => {
                let _ = self.control("ROLLBACK");
                out.iter().map(|_| Err(copy_error(&e))).collect()
            }
        }
    }

    /// Runs transaction control through the statement cache (a group runs
    /// two per commit).
    fn control(&self, sql: &str) -> Result<()> {
        let lease = self.lease();
        lease.prepare_cached(sql).and_then(|mut s| s.execute([]).map(drop)).map_err(|e| lease.error(e))
    }
}
