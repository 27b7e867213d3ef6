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
//!
//! [`Session::run`] runs on the calling thread; [`SessionQueue`] runs calls
//! off it, in order, on the pool's executor.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{Wake, Waker};

use parking_lot::Mutex;

use crate::clock::Deadline;
use crate::error::{Error, Result};
use crate::gate::{GateEntry, GatePermit, Pass};
use crate::guard::{Lane, PooledConnection};
use crate::sql::call::{Call, Op, Produced};
use crate::sql::classify::{self, Control};
use crate::sql::exec::{self, Waited};
use crate::sql::executor::Executor;
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
}

/// A held lease running calls in order.
pub struct Session {
    lease: PooledConnection,
    mode: TxnMode,
    /// The write gate, held by an ordinary lease while a writing statement
    /// or a transaction that writes runs.
    permit: Option<GatePermit>,
    /// The open transaction was begun by the pool (an implicit or managed
    /// one), not by the caller's `BEGIN`: a statement stopped by its
    /// deadline rolls it back.
    pool_txn: bool,
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

impl Session {
    /// A session over `lease` in `mode`.
    pub fn new(lease: PooledConnection, mode: TxnMode) -> Session {
        Session { lease, mode, permit: None, pool_txn: false }
    }

    /// The lease.
    pub fn lease(&self) -> &PooledConnection {
        &self.lease
    }

    /// The transaction mode.
    pub fn mode(&self) -> TxnMode {
        self.mode
    }

    /// Changes the transaction mode (PEP 249's `autocommit` attribute).
    pub fn set_mode(&mut self, mode: TxnMode) {
        self.mode = mode;
    }

    /// Whether a transaction is open.
    pub fn in_transaction(&self) -> bool {
        !self.lease.is_autocommit()
    }

    /// Gives the lease back (dropping it returns it to the pool).
    pub fn into_lease(self) -> PooledConnection {
        self.lease
    }

    /// Runs one call under the session's transaction rules.
    pub fn run(&mut self, call: &Call) -> Result<Produced> {
        let control = classify::control(call.sql.as_str());
        self.check_control(call, control)?;
        if call.op == Op::Script && self.mode == TxnMode::Implicit && self.in_transaction() {
            // PEP 249 / sqlite3: a script commits the open transaction first.
            self.end("COMMIT")?;
        }
        let prepared = exec::prepare(&self.lease, call)?;
        let read_only = prepared.read_only();
        if call.op == Op::Prepare {
            return exec::run_prepared(&self.lease, prepared, call, Waited::For(std::time::Duration::ZERO));
        }
        let begin = self.begin_needed(call, control, read_only);
        let waited = match self.gate_needed(call, control, read_only, begin.is_some()) {
            Gate::No => std::time::Duration::ZERO,
            Gate::Statement | Gate::Transaction => {
                let asked = std::time::Instant::now();
                take_gate(&self.lease, &mut self.permit)?;
                asked.elapsed()
            }
        };
        if let Some(sql) = begin {
            self.lease.execute_batch(sql)?;
            self.pool_txn = true;
        }
        let out =
            exec::run_prepared(&self.lease, prepared, call, Waited::For(waited)).map_err(|e| self.after_deadline(e));
        self.after_statement();
        out
    }

    /// A statement stopped by its deadline in the pool's transaction rolls
    /// that transaction back (SQLite may have done so already); the
    /// caller's own transaction is left to the caller.
    fn after_deadline(&mut self, err: Error) -> Error {
        let Error::Deadline { sql, ran, limit, .. } = err else { return err };
        let mut rolled_back = false;
        if self.pool_txn {
            if !self.lease.is_autocommit() {
                if let Err(e) = self.lease.without_deadline(|| self.lease.execute_batch("ROLLBACK")) {
                    log::warn!("litepool: rollback after a deadline failed: {e}");
                }
            }
            rolled_back = self.lease.is_autocommit();
        }
        Error::Deadline { sql, ran, limit, rolled_back }
    }

    /// Begins a transaction the way the lease's lane wants it: `BEGIN
    /// IMMEDIATE` on a `write()` lease (the write lock up front), `BEGIN`
    /// otherwise. With `managed`, the session stays in one transaction until
    /// `commit`/`rollback` and refuses transaction control meanwhile.
    pub fn begin(&mut self, managed: bool) -> Result<()> {
        if managed {
            self.mode = TxnMode::Managed;
        }
        let sql = if self.lease.lane() == Lane::Write { "BEGIN IMMEDIATE" } else { "BEGIN" };
        self.lease.execute_batch(sql)?;
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
        let out = if self.in_transaction() { self.lease.execute_batch(sql) } else { Ok(()) };
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

    /// The `BEGIN` to run before this statement, if the mode wants one.
    fn begin_needed(&self, call: &Call, control: Option<Control>, read_only: bool) -> Option<&'static str> {
        if !self.lease.is_autocommit() || control.is_some() || call.op == Op::Script {
            return None;
        }
        let lane = self.lease.lane();
        let wanted = match self.mode {
            TxnMode::Autocommit => false,
            TxnMode::Managed => true,
            TxnMode::Implicit => {
                lane != Lane::Read
                    && !classify::outside_transactions(classify::leading_keyword(call.sql.as_str()))
                    && (lane == Lane::Write || !read_only)
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

    fn gate_needed(&self, call: &Call, control: Option<Control>, read_only: bool, begins: bool) -> Gate {
        if self.lease.lane() != Lane::Any || self.permit.is_some() || self.lease.holds_gate() {
            return Gate::No;
        }
        let autocommit = self.lease.is_autocommit();
        match control {
            Some(Control::BeginWrite) if autocommit => Gate::Transaction,
            Some(_) => Gate::No,
            None if begins && !read_only => Gate::Transaction,
            None if autocommit && (!read_only || call.op == Op::Script) => Gate::Statement,
            None => Gate::No,
        }
    }

    /// Lets the gate go once no transaction is open.
    fn after_statement(&mut self) {
        if self.pool_txn && self.lease.is_autocommit() {
            self.pool_txn = false;
        }
        if self.permit.is_some() && self.lease.is_autocommit() {
            self.permit = None;
        }
    }

    /// Whether running `call` next would wait for the write gate, and the
    /// gate is busy: the async queue then waits without a worker.
    fn would_wait_for_gate(&self, call: &Call) -> Option<Arc<crate::gate::WriteGate>> {
        if self.lease.lane() != Lane::Any || self.permit.is_some() || !self.lease.is_autocommit() {
            return None;
        }
        let control = classify::control(call.sql.as_str());
        let read_only = match (call.op, control) {
            (Op::Prepare, _) => return None,
            (_, Some(Control::BeginWrite)) => false,
            (_, Some(_)) => return None,
            (Op::Script, None) => false,
            (_, None) => call.sql.read_only().unwrap_or(true),
        };
        (!read_only).then(|| Arc::clone(self.lease.gate()))
    }
}

/// Waits (blocking) for the write gate while holding `lease`, up to
/// `busy_timeout`; let through without it when the gate's holder itself
/// waits for a connection, or when the wait times out.
fn take_gate(lease: &PooledConnection, permit: &mut Option<GatePermit>) -> Result<()> {
    let gate = Arc::clone(lease.gate());
    let shared = Arc::clone(lease.shared());
    let mut deadline = Deadline::after(shared.config.busy_timeout);
    let pass = match gate.enter(&mut deadline, true, shared.owner(), true)? {
        GateEntry::Entered(p) => {
            *permit = Some(p);
            return Ok(());
        }
        GateEntry::Bypassed => None,
        GateEntry::Queued(w) => gate.wait(&w)?,
    };
    match pass {
        Some(Pass::Turn) => *permit = Some(gate.permit()),
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
        let shared = Arc::clone(session.lease.shared());
        let mut deadline = Deadline::after(shared.config.busy_timeout);
        let waiter = match gate.enter(&mut deadline, false, shared.owner(), true) {
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
            Ok(Pass::Turn) => session.permit = Some(self.gate.permit()),
            // Let through, or timed out after busy_timeout: SQLite's own
            // locking decides.
            Ok(Pass::Bypass) | Err(_) => {
                session.lease.shared().counters.gate_bypassed.fetch_add(1, Relaxed);
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
        Action::Call(call) => {
            let out = session.run(call);
            if let (Ok(p), Op::All | Op::First | Op::Run | Op::Prepare) = (&out, call.op) {
                session.lease.shared().routes.learn(&call.sql, p.read_only);
            }
            out
        }
        Action::Begin(managed) => session.begin(*managed).map(|()| Produced::default()),
        Action::Commit => session.commit().map(|()| Produced::default()),
        Action::Rollback => session.rollback().map(|()| Produced::default()),
    }
}
