//! A session: a held lease that runs calls in order, with the pool's
//! transaction rules in one place.
//!
//! - **Write sessions** (a `write()` lease) are one `BEGIN IMMEDIATE`
//!   transaction from their first statement in the [`TxnMode::Implicit`]
//!   and [`TxnMode::Managed`] modes: a read-modify-write body never reads
//!   outside its transaction (no lost updates).
//! - **Ordinary leases** (`get()`, lane `any`): a statement that writes in
//!   autocommit passes the write gate for its duration, known from
//!   `sqlite3_stmt_readonly` before it steps, so writers never collide in
//!   SQLite's busy handler there either; a transaction begun to write
//!   (`BEGIN IMMEDIATE`, or the implicit one of PEP 249) holds the gate
//!   until it ends. The one exception left is an explicit deferred `BEGIN`
//!   that reads and then writes: SQLite cannot upgrade it fairly, and its
//!   `SQLITE_BUSY_SNAPSHOT` says to use `write()`.
//! - **Managed transactions** (Node's `pool.transaction(fn)`) refuse
//!   `BEGIN`/`COMMIT`/`ROLLBACK` inside: the transaction ends when the
//!   function returns (commit) or throws (rollback), never behind the caller's
//!   back. Savepoints are fine.
//! - **Immediate begins** ([`Session::set_immediate_begin`], what the
//!   node-sqlite3 drop-in turns on): a deferred `BEGIN` runs as `BEGIN
//!   IMMEDIATE`, holding the write gate until the transaction ends, so the
//!   read-then-write transactions ORMs open with a plain `BEGIN` queue for
//!   the gate instead of failing with `SQLITE_BUSY` half-way.
//! - **Python's `sqlite3`** ([`TxnMode::Legacy`]): `BEGIN` before `INSERT`,
//!   `UPDATE`, `DELETE` and `REPLACE` only, as the standard library does.
//!
//! [`Session::run`] runs on the calling thread; [`Session::open`] does too,
//! stepping a query's rows in batches ([`Session::fetch`]) while its
//! statement stays open; [`SessionQueue`] runs calls off it, in order, on
//! the pool's executor.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::Duration;

use parking_lot::Mutex;

use crate::clock::Deadline;
use crate::error::{Error, Result};
use crate::gate::{Entrant, GateEntry, GatePermit, Pass};
use crate::guard::{Lane, PooledConnection};
use crate::sql::call::{Call, Column, Op, Produced, Sql};
use crate::sql::classify::{self, Control};
use crate::sql::exec::{self, Waited};
use crate::sql::executor::Executor;
use crate::sql::group::{groupable, GROUP_MAX};
use crate::sql::params::bind;
use crate::sql::rowbuf::RowBuf;
use crate::sql::stream::{self, Live, StreamId};
use crate::waiter::Waiter;

/// How a session treats transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TxnMode {
    /// Statements run as written, in SQLite's autocommit mode unless the
    /// caller begins a transaction.
    #[default]
    Autocommit,
    /// PEP 249: a statement that writes opens a transaction when none is
    /// open; on a `write()` lease every statement does (`BEGIN IMMEDIATE`).
    /// `commit()`/`rollback()` end it; scripts commit first.
    Implicit,
    /// One transaction from the first statement until [`Session::commit`]
    /// or [`Session::rollback`]; transaction control inside is refused.
    Managed,
    /// Python's `sqlite3` up to 3.11 (`isolation_level` not `None`): when no
    /// transaction is open, `INSERT`, `UPDATE`, `DELETE` and `REPLACE` run
    /// this `BEGIN` first; every other statement (DDL included) runs in
    /// autocommit. Scripts commit first.
    Legacy(Begin),
}

/// The `BEGIN` of [`TxnMode::Legacy`] (Python's `isolation_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Begin {
    /// `BEGIN ` (`isolation_level = ""`, the standard library's default).
    #[default]
    Plain,
    /// `BEGIN DEFERRED`.
    Deferred,
    /// `BEGIN IMMEDIATE`.
    Immediate,
    /// `BEGIN EXCLUSIVE`.
    Exclusive,
}

impl Begin {
    /// The level named `""`, `"DEFERRED"`, `"IMMEDIATE"` or `"EXCLUSIVE"`
    /// (any case).
    pub fn parse(level: &str) -> Option<Begin> {
        [("", Begin::Plain), ("DEFERRED", Begin::Deferred), ("IMMEDIATE", Begin::Immediate)]
            .into_iter()
            .chain([("EXCLUSIVE", Begin::Exclusive)])
            .find(|(name, _)| name.eq_ignore_ascii_case(level))
            .map(|(_, b)| b)
    }

    /// The statement, as the standard library spells it (`"BEGIN "` for the
    /// plain level, trailing space included).
    pub fn sql(self) -> &'static str {
        match self {
            Begin::Plain => "BEGIN ",
            Begin::Deferred => "BEGIN DEFERRED",
            Begin::Immediate => "BEGIN IMMEDIATE",
            Begin::Exclusive => "BEGIN EXCLUSIVE",
        }
    }
}

/// A held lease running calls in order.
pub struct Session {
    /// Always `Some`, except inside [`Session::with_lease_mut`].
    live: Option<Live>,
    mode: TxnMode,
    /// The write gate, held by an ordinary lease while a writing statement
    /// or a transaction that writes runs.
    permit: Option<GatePermit>,
    /// How long a write waits for the gate; `None`: the pool's `busy_timeout`.
    gate_wait: Option<Duration>,
    next_stream: u64,
    /// A deferred `BEGIN` runs as `BEGIN IMMEDIATE`.
    immediate: bool,
    /// Queued plain writes run together in one transaction (`group.rs`).
    group_writes: bool,
    /// Keep the write gate after statements (a group is running).
    holding: bool,
    /// The open transaction was begun by the pool (an implicit, legacy or
    /// managed one), not by the caller's `BEGIN`: a statement stopped by its
    /// deadline rolls it back.
    pool_txn: bool,
}

/// What a query opened with [`Session::open`] gave so far.
#[derive(Debug)]
pub struct Opened {
    /// Result columns (empty for statements that return none).
    pub columns: Vec<Column>,
    /// The rows stepped so far.
    pub rows: RowBuf,
    /// `Some` while more rows may follow: [`Session::fetch`] steps on.
    pub stream: Option<StreamId>,
    /// Rows changed (`sqlite3_changes`) once the statement is done and
    /// wrote; 0 otherwise.
    pub changes: u64,
    /// The connection's last inserted rowid after the call.
    pub last_insert_rowid: i64,
    /// Whether the statement was read-only (`sqlite3_stmt_readonly`).
    pub read_only: bool,
}

/// The next rows of an open statement.
#[derive(Debug)]
pub struct Fetched {
    /// The rows stepped.
    pub rows: RowBuf,
    /// The statement is done (and closed).
    pub done: bool,
    /// Rows changed, once done, by a statement that writes.
    pub changes: u64,
}

/// What the gate decision for one statement is.
enum Gate {
    /// Nothing to do (write lease, read lease, or already held).
    No,
    /// Hold it for this statement only.
    Statement,
    /// Hold it until the transaction ends.
    Transaction,
}

/// The transaction rules of one session for one statement: a copy of the
/// session's settings, so they apply while its lease is borrowed.
#[derive(Clone, Copy)]
struct Rules {
    mode: TxnMode,
    gate_wait: Option<Duration>,
}

impl Session {
    /// A session over `lease` in `mode`.
    pub fn new(lease: PooledConnection, mode: TxnMode) -> Session {
        Session {
            live: Some(Live::new(lease)),
            mode,
            permit: None,
            gate_wait: None,
            next_stream: 0,
            immediate: false,
            group_writes: false,
            holding: false,
            pool_txn: false,
        }
    }

    /// The lease.
    pub fn lease(&self) -> &PooledConnection {
        self.live().lease()
    }

    fn live(&self) -> &Live {
        self.live.as_ref().expect("a session's lease is only taken out by with_lease_mut")
    }

    fn live_mut(&mut self) -> &mut Live {
        self.live.as_mut().expect("a session's lease is only taken out by with_lease_mut")
    }

    /// Runs `f` with the lease mutably borrowed (rusqlite's backup and
    /// deserialize want `&mut Connection`); refused while statements are
    /// open, since they borrow the connection.
    pub fn with_lease_mut<R>(&mut self, f: impl FnOnce(&mut PooledConnection) -> R) -> Result<R> {
        if self.open_streams() > 0 || self.open_blobs() > 0 {
            return Err(Error::Misuse(
                "this needs the connection to itself: close or finish its open cursors and blobs first".to_owned(),
            ));
        }
        let mut lease = self.live.take().expect("a session's lease is only taken out by with_lease_mut").into_lease();
        let out = f(&mut lease);
        self.live = Some(Live::new(lease));
        Ok(out)
    }

    /// The transaction mode.
    pub fn mode(&self) -> TxnMode {
        self.mode
    }

    /// Changes the transaction mode (PEP 249's `autocommit` attribute).
    pub fn set_mode(&mut self, mode: TxnMode) {
        self.mode = mode;
    }

    /// How long a write on an ordinary lease waits for the write gate
    /// before SQLite's own locking decides. Defaults to the pool's
    /// `busy_timeout`.
    pub fn set_gate_wait(&mut self, wait: Option<Duration>) {
        self.gate_wait = wait;
    }

    /// Whether a deferred `BEGIN` (`BEGIN`, `BEGIN DEFERRED [TRANSACTION]`)
    /// runs as `BEGIN IMMEDIATE`: the transaction takes the write gate and
    /// SQLite's write lock up front, so a transaction that reads and then
    /// writes never fails with `SQLITE_BUSY` (or `SQLITE_BUSY_SNAPSHOT`)
    /// at its first write. Read-only transactions then hold the gate too.
    /// Not on a `read()` lease. Defaults to `false`.
    pub fn set_immediate_begin(&mut self, on: bool) {
        self.immediate = on;
    }

    /// Whether plain writes queued one after another on a [`SessionQueue`]
    /// outside a transaction run together in one transaction (see
    /// `group.rs`: one commit for many, and no
    /// difference a caller can see). Defaults to `false`.
    pub fn set_group_writes(&mut self, on: bool) {
        self.group_writes = on;
    }

    pub(crate) fn groups_writes(&self) -> bool {
        self.group_writes
    }

    pub(crate) fn set_holding(&mut self, on: bool) {
        self.holding = on;
        if !on {
            self.after_statement();
        }
    }

    /// The transaction control `sql` performs as this session runs it.
    fn control_of(&self, sql: &str) -> Option<Control> {
        match classify::control(sql) {
            Some(Control::Begin) if self.immediate && self.lease().lane() != Lane::Read => Some(Control::BeginWrite),
            other => other,
        }
    }

    /// Whether a transaction is open.
    pub fn in_transaction(&self) -> bool {
        !self.lease().is_autocommit()
    }

    /// Statements opened with [`Session::open`] and not done yet.
    pub fn open_streams(&self) -> usize {
        self.live().open().len()
    }

    /// Blobs opened with [`Session::open_blob`] and not closed yet.
    pub fn open_blobs(&self) -> usize {
        self.live().open().blobs()
    }

    /// Opens a handle on the blob (or text) in `column` of row `row` of
    /// `table` in schema `db` (`sqlite3_blob_open`); returns its id and
    /// length. SQLite expires it (reads and writes fail with
    /// `SQLITE_ABORT`) once its row changes. It stays open, and keeps the
    /// lease, until [`Session::close_blob`].
    pub fn open_blob(
        &mut self,
        db: &str,
        table: &str,
        column: &str,
        row: i64,
        read_only: bool,
    ) -> Result<(StreamId, usize)> {
        let id = StreamId(self.next_stream);
        self.next_stream += 1;
        self.live_mut().with(|lease, open| {
            let blob = lease.blob_open(db, table, column, row, read_only).map_err(|e| lease.error(e))?;
            let len = blob.len();
            open.insert_blob(id, blob);
            Ok((id, len))
        })
    }

    /// Reads `buf.len()` bytes of an open blob from `offset`.
    pub fn read_blob(&mut self, id: StreamId, offset: usize, buf: &mut [u8]) -> Result<()> {
        self.live_mut().with(|lease, open| {
            let blob = open.blob_mut(id).ok_or_else(|| Error::Misuse("this blob is closed".to_owned()))?;
            blob.read_at_exact(buf, offset).map_err(|e| lease.error(e))
        })
    }

    /// Writes `data` into an open blob at `offset`.
    pub fn write_blob(&mut self, id: StreamId, offset: usize, data: &[u8]) -> Result<()> {
        self.live_mut().with(|lease, open| {
            let blob = open.blob_mut(id).ok_or_else(|| Error::Misuse("this blob is closed".to_owned()))?;
            blob.write_all_at(data, offset).map_err(|e| lease.error(e))
        })
    }

    /// Closes an open blob; a no-op for one already closed.
    pub fn close_blob(&mut self, id: StreamId) {
        self.live_mut().with(|_, open| drop(open.remove_blob(id)));
    }

    /// Gives the lease back (dropping it returns it to the pool); open
    /// statements are closed first.
    pub fn into_lease(mut self) -> PooledConnection {
        self.live.take().expect("a session's lease is only taken out by with_lease_mut").into_lease()
    }

    fn rules(&self) -> Rules {
        Rules { mode: self.mode, gate_wait: self.gate_wait }
    }

    /// What every call does first: refuses what the mode refuses, and commits
    /// before a script where the mode says so.
    fn prelude(&mut self, call: &Call) -> Result<Option<Control>> {
        let control = self.control_of(call.sql.as_str());
        self.check_control(call, control)?;
        let commits_first = matches!(self.mode, TxnMode::Implicit | TxnMode::Legacy(_));
        if call.op == Op::Script && commits_first && self.in_transaction() {
            // PEP 249 / sqlite3: a script commits the open transaction first.
            self.end("COMMIT")?;
        }
        Ok(control)
    }

    /// Runs one call under the session's transaction rules.
    pub fn run(&mut self, call: &Call) -> Result<Produced> {
        if call.op != Op::Script && classify::is_empty(call.sql.as_str()) {
            return Ok(Produced { read_only: true, ..Produced::default() });
        }
        let control = self.prelude(call)?;
        if control == Some(Control::BeginWrite)
            && call.op != Op::Script
            && classify::control(call.sql.as_str()) == Some(Control::Begin)
        {
            // A deferred BEGIN under `immediate`: run as BEGIN IMMEDIATE.
            let immediate = Call { sql: Sql::new("BEGIN IMMEDIATE"), ..call.clone() };
            return self.run_statement(&immediate, control);
        }
        self.run_statement(call, control)
    }

    /// Runs a statement and learns its route and whether it changed the
    /// connection's own state.
    fn run_statement(&mut self, call: &Call, control: Option<Control>) -> Result<Produced> {
        let before = self.lease().state_changes();
        let mut out = self.run_statement_inner(call, control)?;
        out.stateful = self.lease().state_changes() != before;
        if call.op != Op::Script && call.op != Op::Many {
            let routes = &self.lease().shared().routes;
            routes.learn(&call.sql, out.read_only);
            routes.learn_state(&call.sql, out.stateful);
        }
        Ok(out)
    }

    fn run_statement_inner(&mut self, call: &Call, control: Option<Control>) -> Result<Produced> {
        let rules = self.rules();
        let live = self.live.as_mut().expect("a session's lease is only taken out by with_lease_mut");
        let permit = &mut self.permit;
        let mut began = false;
        let out = live.with(|lease, _| {
            // The caller's settings, from before preparing to the end.
            let _entered = exec::enter(lease, call);
            let prepared = exec::prepare(lease, call)?;
            let mut waited = Duration::ZERO;
            if call.op != Op::Prepare {
                (waited, began) = rules.enter(lease, permit, call, control, prepared.read_only())?;
            }
            exec::run_prepared(lease, prepared, call, Waited::For(waited))
        });
        self.pool_txn |= began;
        let out = out.map_err(|e| self.after_deadline(e));
        if call.op != Op::Prepare {
            self.after_statement();
        }
        out
    }

    /// A statement stopped by its deadline in the pool's transaction rolls
    /// that transaction back (SQLite may have done so already); the
    /// caller's own transaction is left to the caller.
    fn after_deadline(&mut self, err: Error) -> Error {
        let Error::Deadline { sql, ran, limit, .. } = err else { return err };
        let mut rolled_back = false;
        if self.pool_txn {
            let lease = self.lease();
            if !lease.is_autocommit() {
                if let Err(e) = lease.without_deadline(|| lease.execute_batch("ROLLBACK")) {
                    log::warn!("litepool: rollback after a deadline failed: {e}");
                }
            }
            rolled_back = lease.is_autocommit();
        }
        Error::Deadline { sql, ran, limit, rolled_back }
    }

    /// Runs a query like [`Session::run`] (`call.op` is ignored: every row
    /// is wanted) but steps at most `first` rows now. While more may
    /// follow, the statement stays open under [`Opened::stream`]; get the
    /// rest with [`Session::fetch`], or drop it with
    /// [`Session::close_stream`]. The lease cannot go back to the pool
    /// while statements are open (they read from it).
    pub fn open(&mut self, call: &Call, first: usize) -> Result<Opened> {
        if classify::is_empty(call.sql.as_str()) {
            let last_insert_rowid = self.lease().last_insert_rowid();
            let rows = RowBuf::new(0);
            return Ok(Opened {
                columns: Vec::new(),
                rows,
                stream: None,
                changes: 0,
                last_insert_rowid,
                read_only: true,
            });
        }
        let control = self.prelude(call)?;
        let rules = self.rules();
        let id = StreamId(self.next_stream);
        self.next_stream += 1;
        let live = self.live.as_mut().expect("a session's lease is only taken out by with_lease_mut");
        let permit = &mut self.permit;
        let mut began = false;
        let out = live.with(|lease, open| {
            let (mut stmt, counted) = exec::prepare_sql(lease, call.sql.as_str())?;
            let read_only = stmt.readonly();
            let waited;
            (waited, began) = rules.enter(lease, permit, call, control, read_only)?;
            bind(&mut stmt, &call.params, call.rules)?;
            let mut rows = RowBuf::new(stmt.column_count());
            let done = exec::run_with(lease, Some(&mut stmt), counted, call, Waited::For(waited), |lease, stmt| {
                let stmt = stmt.ok_or_else(|| Error::Misuse("no statement to step".to_owned()))?;
                stream::step(lease, stmt, &mut rows, first.max(1))
            })?;
            let columns = exec::columns(&stmt);
            let changes = if done && !read_only { lease.changes() } else { 0 };
            let last_insert_rowid = lease.last_insert_rowid();
            if !done {
                open.insert(id, stmt, read_only);
            }
            Ok(Opened { columns, rows, stream: (!done).then_some(id), changes, last_insert_rowid, read_only })
        });
        self.pool_txn |= began;
        let out = out.map_err(|e| self.after_deadline(e));
        self.after_statement();
        out
    }

    /// Steps up to `max` more rows of an open statement. Once it is done
    /// (or failed) it is closed.
    pub fn fetch(&mut self, id: StreamId, max: usize) -> Result<Fetched> {
        let out = self.live_mut().with(|lease, open| {
            let Some(stream) = open.get_mut(id) else {
                return Err(Error::Misuse(
                    "this result set is closed (its statement finished or was reset)".to_owned(),
                ));
            };
            let mut rows = RowBuf::new(stream.stmt.column_count());
            match exec::step_more(lease, || stream::step(lease, &mut stream.stmt, &mut rows, max.max(1))) {
                Ok(false) => Ok(Fetched { rows, done: false, changes: 0 }),
                Ok(true) => {
                    let wrote = open.remove(id).is_some_and(|s| !s.read_only);
                    Ok(Fetched { rows, done: true, changes: if wrote { lease.changes() } else { 0 } })
                }
                Err(e) => {
                    open.remove(id);
                    Err(e)
                }
            }
        });
        let out = out.map_err(|e| self.after_deadline(e));
        self.after_statement();
        out
    }

    /// Closes an open statement (resets it) before it is done; a no-op for
    /// one already closed.
    pub fn close_stream(&mut self, id: StreamId) {
        self.live_mut().with(|_, open| drop(open.remove(id)));
        self.after_statement();
    }

    /// Begins a transaction the way the lease's lane wants it: `BEGIN
    /// IMMEDIATE` on a `write()` lease (the write lock up front), `BEGIN`
    /// otherwise. With `managed`, the session stays in one transaction until
    /// `commit`/`rollback` and refuses transaction control meanwhile.
    pub fn begin(&mut self, managed: bool) -> Result<()> {
        if managed {
            self.mode = TxnMode::Managed;
        }
        let sql = if self.lease().lane() == Lane::Write { "BEGIN IMMEDIATE" } else { "BEGIN" };
        self.lease().execute_batch(sql)?;
        self.pool_txn = true;
        Ok(())
    }

    /// Commits the open transaction, if any (a managed session returns to
    /// autocommit).
    pub fn commit(&mut self) -> Result<()> {
        self.finish_managed();
        self.end("COMMIT")
    }

    /// Rolls back the open transaction, if any.
    pub fn rollback(&mut self) -> Result<()> {
        self.finish_managed();
        self.end("ROLLBACK")
    }

    fn finish_managed(&mut self) {
        if self.mode == TxnMode::Managed {
            self.mode = TxnMode::Autocommit;
        }
    }

    fn end(&mut self, sql: &str) -> Result<()> {
        let out = if self.in_transaction() { self.lease().execute_batch(sql) } else { Ok(()) };
        self.after_statement();
        out
    }

    fn check_control(&self, call: &Call, control: Option<Control>) -> Result<()> {
        let refused = self.mode == TxnMode::Managed
            && matches!(control, Some(Control::Begin | Control::BeginWrite | Control::Commit | Control::Rollback));
        if refused || (self.mode == TxnMode::Managed && call.op == Op::Script) {
            return Err(Error::Misuse(format!(
                "{} inside a managed transaction (pool.transaction()): the transaction commits when the \
                 function returns and rolls back when it throws{}",
                classify::leading_keyword(call.sql.as_str()).to_ascii_uppercase(),
                if call.op == Op::Script { "; run one statement per call" } else { "" }
            )));
        }
        Ok(())
    }

    /// Lets the gate go once no transaction is open and no open statement
    /// writes.
    fn after_statement(&mut self) {
        if self.pool_txn && self.lease().is_autocommit() {
            self.pool_txn = false;
        }
        if self.permit.is_some() && self.lease().is_autocommit() && !self.live().open().writes() && !self.holding {
            self.permit = None;
        }
    }

    /// Whether running `call` next would wait for the write gate, and the
    /// gate is busy: the async queue then waits without a worker.
    fn would_wait_for_gate(&self, call: &Call) -> Option<Arc<crate::gate::WriteGate>> {
        let lease = self.lease();
        if lease.lane() != Lane::Any || self.permit.is_some() || !lease.is_autocommit() {
            return None;
        }
        let control = self.control_of(call.sql.as_str());
        let read_only = match (call.op, control) {
            (Op::Prepare, _) => return None,
            (_, Some(Control::BeginWrite)) => false,
            (_, Some(_)) => return None,
            (Op::Script, None) => false,
            // A statement not seen yet may write: when the gate is busy, it
            // waits for it here, without a worker (a worker blocked in
            // `take_gate` could be the one the gate's holder needs).
            (_, None) => lease.shared().routes.known(&call.sql).unwrap_or(false),
        };
        (!read_only).then(|| Arc::clone(lease.gate()))
    }
}

impl Rules {
    /// Takes the write gate and begins a transaction, as the rules want for
    /// `call` (already prepared: `read_only` is known). Returns how long it
    /// waited for the gate and whether it began a transaction.
    fn enter(
        self,
        lease: &PooledConnection,
        permit: &mut Option<GatePermit>,
        call: &Call,
        control: Option<Control>,
        read_only: bool,
    ) -> Result<(Duration, bool)> {
        let begin = self.begin_needed(lease, call, control, read_only);
        let waited = match gate_needed(lease, permit.is_some(), call, control, read_only, begin.is_some()) {
            Gate::No => Duration::ZERO,
            Gate::Statement | Gate::Transaction => {
                let asked = std::time::Instant::now();
                take_gate(lease, permit, self.gate_wait)?;
                asked.elapsed()
            }
        };
        if let Some(sql) = begin {
            lease.execute_batch(sql)?;
        }
        Ok((waited, begin.is_some()))
    }

    /// The `BEGIN` to run before this statement, if the mode wants one.
    fn begin_needed(
        self,
        lease: &PooledConnection,
        call: &Call,
        control: Option<Control>,
        read_only: bool,
    ) -> Option<&'static str> {
        if !lease.is_autocommit() || control.is_some() || call.op == Op::Script {
            return None;
        }
        let lane = lease.lane();
        let wanted = match self.mode {
            TxnMode::Autocommit => false,
            TxnMode::Managed => true,
            TxnMode::Implicit => {
                lane != Lane::Read
                    && !classify::outside_transactions(classify::leading_keyword(call.sql.as_str()))
                    && (lane == Lane::Write || !read_only)
            }
            TxnMode::Legacy(begin) => {
                return classify::is_legacy_dml(classify::leading_keyword(call.sql.as_str())).then(|| begin.sql());
            }
        };
        match (wanted, lane) {
            (false, _) => None,
            (true, Lane::Write) => Some("BEGIN IMMEDIATE"),
            // On an ordinary lease the gate is taken first (gate_needed).
            (true, _) if !read_only => Some("BEGIN IMMEDIATE"),
            (true, _) => Some("BEGIN"),
        }
    }
}

fn gate_needed(
    lease: &PooledConnection,
    held: bool,
    call: &Call,
    control: Option<Control>,
    read_only: bool,
    begins: bool,
) -> Gate {
    if lease.lane() != Lane::Any || held || lease.holds_gate() {
        return Gate::No;
    }
    let autocommit = lease.is_autocommit();
    match control {
        Some(Control::BeginWrite) if autocommit => Gate::Transaction,
        Some(_) => Gate::No,
        None if begins && !read_only => Gate::Transaction,
        None if autocommit && (!read_only || call.op == Op::Script) => Gate::Statement,
        None => Gate::No,
    }
}

/// Waits (blocking) for the write gate while holding `lease`, up to `wait`
/// (default: `busy_timeout`); let through without it when the gate's holder
/// itself waits for a connection, or when the wait times out.
fn take_gate(lease: &PooledConnection, permit: &mut Option<GatePermit>, wait: Option<Duration>) -> Result<()> {
    let gate = Arc::clone(lease.gate());
    let shared = Arc::clone(lease.shared());
    let mut deadline = Deadline::after(wait.unwrap_or(shared.config.busy_timeout));
    let pass = match gate.enter(&mut deadline, true, shared.owner(), Entrant::Holding)? {
        GateEntry::Entered(p) => {
            *permit = Some(p);
            return Ok(());
        }
        GateEntry::Bypassed => None,
        GateEntry::Queued(w) => gate.wait(&w)?,
    };
    match pass {
        Some(pass @ Pass::Turn(_)) => *permit = Some(gate.permit(pass)),
        Some(Pass::Bypass) | None => {
            shared.counters.gate_bypassed.fetch_add(1, Relaxed);
        }
    }
    Ok(())
}

/// What a queued session call does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Run a call.
    Call(Call),
    /// [`Session::begin`] (`true`: managed).
    Begin(bool),
    /// [`Session::commit`].
    Commit,
    /// [`Session::rollback`].
    Rollback,
    /// [`PooledConnection::load_extension`] on the session's lease (whose
    /// connection is then replaced rather than handed on when it ends).
    LoadExtension(String),
}

/// A completion: called once, on a worker thread, with the outcome.
pub type Done = Box<dyn FnOnce(Result<Produced>) + Send>;

/// A session whose calls run off the caller's thread, one at a time, in
/// the order they were submitted, on the pool's executor. A call waiting
/// for the write gate waits without occupying a worker.
#[derive(Clone)]
pub struct SessionQueue {
    inner: Arc<QueueInner>,
}

struct QueueInner {
    state: Mutex<QueueState>,
    executor: Executor,
}

struct QueueState {
    session: Option<Session>,
    busy: bool,
    released: bool,
    in_transaction: bool,
    queue: VecDeque<(Action, Done)>,
}

impl SessionQueue {
    /// A queue over `session`, running on `executor`.
    pub fn new(session: Session, executor: Executor) -> SessionQueue {
        let in_transaction = session.in_transaction();
        SessionQueue {
            inner: Arc::new(QueueInner {
                state: Mutex::new(QueueState {
                    session: Some(session),
                    busy: false,
                    released: false,
                    in_transaction,
                    queue: VecDeque::new(),
                }),
                executor,
            }),
        }
    }

    /// Runs `action` after the calls submitted before it; `done` gets the
    /// outcome on a worker thread ([`Error::Released`] once released).
    pub fn submit(&self, action: Action, done: Done) {
        let mut st = self.inner.state.lock();
        if st.released {
            drop(st);
            return done(Err(Error::Released));
        }
        st.queue.push_back((action, done));
        if st.busy {
            return;
        }
        st.busy = true;
        drop(st);
        self.schedule();
    }

    /// Runs `action` on the calling thread; [`Error::Busy`] while a
    /// submitted call is still running or queued.
    pub fn run_now(&self, action: Action) -> Result<Produced> {
        let mut st = self.inner.state.lock();
        if st.released {
            return Err(Error::Released);
        }
        if !st.queue.is_empty() {
            return Err(Error::Busy);
        }
        let Some(session) = st.session.as_mut() else { return Err(Error::Busy) };
        let out = perform(session, &action);
        st.in_transaction = session.in_transaction();
        out
    }

    /// Whether a transaction is open (as of the last call that finished).
    pub fn in_transaction(&self) -> bool {
        self.inner.state.lock().in_transaction
    }

    /// Whether [`SessionQueue::release`] was called.
    pub fn released(&self) -> bool {
        self.inner.state.lock().released
    }

    /// Gives the lease back (at once, or when the running call finishes);
    /// queued calls fail with [`Error::Released`].
    pub fn release(&self) {
        let (session, queued) = {
            let mut st = self.inner.state.lock();
            st.released = true;
            (st.session.take(), std::mem::take(&mut st.queue))
        };
        drop(session);
        for (_, done) in queued {
            done(Err(Error::Released));
        }
    }

    fn schedule(&self) {
        let me = self.clone();
        self.inner.executor.submit(Box::new(move || me.drain()));
    }

    /// On a worker: runs queued calls until the queue is empty or one must
    /// wait for the write gate.
    fn drain(&self) {
        loop {
            let mut st = self.inner.state.lock();
            let Some((action, done)) = st.queue.pop_front() else {
                st.busy = false;
                return;
            };
            let Some(mut session) = st.session.take() else {
                st.busy = false;
                drop(st);
                return done(Err(Error::Released));
            };
            // Plain writes queued after this one may run with it, in one
            // transaction (`group.rs`), when the gate is free now.
            let mut group = Vec::new();
            if let Action::Call(call) = &action {
                if session.may_group(call) {
                    while group.len() + 1 < GROUP_MAX {
                        match st.queue.front() {
                            Some((Action::Call(next), _)) if groupable(next) => {
                                group.extend(st.queue.pop_front());
                            }
                            _ => break,
                        }
                    }
                }
            }
            if !group.is_empty() {
                let permit = session.permit.is_some() || {
                    match session.lease().gate().try_enter() {
                        Some(p) => {
                            session.permit = Some(p);
                            true
                        }
                        None => false,
                    }
                };
                if permit {
                    drop(st);
                    group.insert(0, (action, done));
                    if !self.finish_group(session, group) {
                        return;
                    }
                    continue;
                }
                // The gate is busy: back in order; the first waits for it alone.
                for job in group.into_iter().rev() {
                    st.queue.push_front(job);
                }
            }
            drop(st);
            if let Action::Call(call) = &action {
                if let Some(gate) = session.would_wait_for_gate(call) {
                    if let Some(permit) = gate.try_enter() {
                        session.permit = Some(permit);
                    } else {
                        return self.park_for_gate(session, action, done, &gate);
                    }
                }
            }
            if !self.finish(session, &action, done) {
                return;
            }
        }
    }

    /// Runs a group of writes in one transaction, puts the session back and
    /// reports each, in order. Returns whether more calls are queued.
    fn finish_group(&self, mut session: Session, group: Vec<(Action, Done)>) -> bool {
        let calls: Vec<&Call> = group
            .iter()
            .filter_map(|(a, _)| match a {
                Action::Call(c) => Some(c),
                _ => None,
            })
            .collect();
        let results = session.run_group(&calls);
        {
            let mut st = self.inner.state.lock();
            st.in_transaction = session.in_transaction();
            if !st.released {
                st.session = Some(session);
            }
        }
        for ((_, done), out) in group.into_iter().zip(results) {
            done(out);
        }
        let mut st = self.inner.state.lock();
        let more = !st.queue.is_empty() && !st.released;
        st.busy = more;
        more
    }

    /// Runs `action`, puts the session back (or lets it go if released
    /// meanwhile) and reports; the session is back *before* `done` runs, so
    /// a synchronous call made as soon as the caller sees the result finds
    /// it. Returns whether more calls are queued (this worker runs them, so
    /// completions keep their order).
    fn finish(&self, mut session: Session, action: &Action, done: Done) -> bool {
        let out = perform(&mut session, action);
        {
            let mut st = self.inner.state.lock();
            st.in_transaction = session.in_transaction();
            if !st.released {
                st.session = Some(session);
            }
        }
        done(out);
        let mut st = self.inner.state.lock();
        let more = !st.queue.is_empty() && !st.released;
        st.busy = more;
        more
    }

    /// Queues at the gate without a worker; the call resumes on a worker
    /// when granted (or let through, or after `busy_timeout`).
    fn park_for_gate(&self, session: Session, action: Action, done: Done, gate: &Arc<crate::gate::WriteGate>) {
        let shared = Arc::clone(session.lease().shared());
        let mut deadline = Deadline::after(shared.config.busy_timeout);
        let waiter = match gate.enter(&mut deadline, false, shared.owner(), Entrant::Holding) {
            Ok(GateEntry::Entered(permit)) => {
                let mut session = session;
                session.permit = Some(permit);
                return self.resume(session, action, done);
            }
            Ok(GateEntry::Bypassed) | Err(_) => {
                shared.counters.gate_bypassed.fetch_add(1, Relaxed);
                return self.resume(session, action, done);
            }
            Ok(GateEntry::Queued(w)) => w,
        };
        shared.worker.kick_if_before(waiter.deadline);
        let parked = Arc::new(Parked {
            queue: self.clone(),
            gate: Arc::clone(gate),
            waiter: Arc::clone(&waiter),
            rest: Mutex::new(Some((session, action, done))),
        });
        // Granted already (before the waker was in place)? Resume now.
        if let Some(outcome) = waiter.poll_grant(&Waker::from(Arc::clone(&parked))) {
            parked.resume(outcome);
        }
    }

    /// Runs one call (and then the rest of the queue) on a worker.
    fn resume(&self, session: Session, action: Action, done: Done) {
        let me = self.clone();
        self.inner.executor.submit(Box::new(move || {
            if me.finish(session, &action, done) {
                me.drain();
            }
        }));
    }
}

/// A session call waiting at the write gate.
struct Parked {
    queue: SessionQueue,
    gate: Arc<crate::gate::WriteGate>,
    waiter: Arc<Waiter<Pass>>,
    rest: Mutex<Option<(Session, Action, Done)>>,
}

impl Parked {
    fn resume(&self, outcome: Result<Pass>) {
        let Some((mut session, action, done)) = self.rest.lock().take() else { return };
        match outcome {
            Ok(pass @ Pass::Turn(_)) => session.permit = Some(self.gate.permit(pass)),
            // Let through, or timed out after busy_timeout: SQLite's own
            // locking decides.
            Ok(Pass::Bypass) | Err(_) => {
                session.lease().shared().counters.gate_bypassed.fetch_add(1, Relaxed);
            }
        }
        self.queue.resume(session, action, done);
    }
}

impl Wake for Parked {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(outcome) = self.waiter.poll_grant(&Waker::from(Arc::clone(self))) {
            self.resume(outcome);
        }
    }
}

fn perform(session: &mut Session, action: &Action) -> Result<Produced> {
    match action {
        Action::Call(call) => session.run(call),
        Action::Begin(managed) => session.begin(*managed).map(|()| Produced::default()),
        Action::Commit => session.commit().map(|()| Produced::default()),
        Action::Rollback => session.rollback().map(|()| Produced::default()),
        Action::LoadExtension(path) => {
            session.lease().load_extension(path, None).map(|()| Produced { stateful: true, ..Produced::default() })
        }
    }
}
