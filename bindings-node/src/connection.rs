//! `Connection`: a lease handed to JS by `pool.acquire()`.
//!
//! Calls on one connection run one at a time, in the order they were made,
//! on a worker of the pool's executor. A call is in progress until its
//! promise settles on the JS thread: a call made meanwhile is queued on the
//! lease (and started from there), and a `*Sync` call is refused. `release()` gives the connection back; a connection
//! garbage-collected without `release()` goes back to the pool too, with a
//! `process.emitWarning` naming where it was acquired when leak detection is on.

use std::collections::VecDeque;
use std::sync::Arc;

use litepool::PooledConnection;
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;
use parking_lot::Mutex;

use crate::error::{to_js_error, Failure};
use crate::executor::{Executor, Pending, Value};
use crate::options::sql_arg;
use crate::sql::{outcome_to_js, run_job, Job, Op};
use crate::values::params_from_js;

/// The lease and its queue of calls.
#[derive(Default)]
pub(crate) struct ConnState {
    lease: Option<PooledConnection>,
    /// A call is in progress: from its start until its promise settles.
    busy: bool,
    released: bool,
    in_transaction: bool,
    queue: VecDeque<(Job, Pending)>,
}

/// What a `Connection` shares with the worker running its call and with
/// the JS-thread delivery of that call's result.
pub(crate) struct ConnShared {
    state: Mutex<ConnState>,
    pool: litepool::Pool,
    executor: Executor,
}

type Shared = Arc<ConnShared>;

/// A leased connection. Give it back with `release()`.
#[napi(custom_finalize)]
pub struct Connection {
    shared: Shared,
    safe_integers: bool,
    strict: bool,
    /// `new Error().stack` at acquire, kept when leak detection is on.
    site: Option<String>,
    id: u32,
    mode: &'static str,
}

/// Turns a granted lease into a JS `Connection` (for `pool.acquire()`).
pub(crate) struct NewConnection {
    pub pool: litepool::Pool,
    pub executor: Executor,
    pub safe_integers: bool,
    pub strict: bool,
    pub site: Option<String>,
}

impl NewConnection {
    /// The JS `Connection` holding `lease` (on the JS thread).
    pub fn into_js<'env>(self, env: &'env Env, lease: PooledConnection) -> Result<Unknown<'env>> {
        let conn = Connection {
            id: u32::try_from(lease.connection_id()).unwrap_or(u32::MAX),
            mode: lease.lane().as_str(),
            shared: Arc::new(ConnShared {
                state: Mutex::new(ConnState { lease: Some(lease), ..ConnState::default() }),
                pool: self.pool,
                executor: self.executor,
            }),
            safe_integers: self.safe_integers,
            strict: self.strict,
            site: self.site,
        };
        let instance = conn.into_instance(env)?;
        // SAFETY: the instance lives on `env`.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), instance.raw()) })
    }
}

#[napi]
impl Connection {
    /// Runs `sql` and resolves with every row, as objects keyed by column name.
    #[napi(
        ts_args_type = "sql: string, params?: unknown[] | Record<string, unknown>",
        ts_return_type = "Promise<Record<string, unknown>[]>"
    )]
    pub fn all<'env>(&self, env: &'env Env, sql: Unknown, params: Option<Unknown>) -> Result<Unknown<'env>> {
        self.submit(env, Op::All, sql, params)
    }

    /// Runs `sql` and resolves with its first row, or `undefined`.
    #[napi(
        ts_args_type = "sql: string, params?: unknown[] | Record<string, unknown>",
        ts_return_type = "Promise<Record<string, unknown> | undefined>"
    )]
    pub fn get<'env>(&self, env: &'env Env, sql: Unknown, params: Option<Unknown>) -> Result<Unknown<'env>> {
        self.submit(env, Op::Get, sql, params)
    }

    /// Runs `sql` for its effect; resolves with `{ changes, lastInsertRowid }`.
    #[napi(
        ts_args_type = "sql: string, params?: unknown[] | Record<string, unknown>",
        ts_return_type = "Promise<RunResult>"
    )]
    pub fn run<'env>(&self, env: &'env Env, sql: Unknown, params: Option<Unknown>) -> Result<Unknown<'env>> {
        self.submit(env, Op::Run, sql, params)
    }

    /// Runs a script of one or more statements (no parameters).
    #[napi(ts_args_type = "sql: string", ts_return_type = "Promise<void>")]
    pub fn exec<'env>(&self, env: &'env Env, sql: Unknown) -> Result<Unknown<'env>> {
        self.submit(env, Op::Exec, sql, None)
    }

    /// Prepares `sql` without running it (a syntax or schema error rejects).
    #[napi(ts_args_type = "sql: string", ts_return_type = "Promise<void>")]
    pub fn prepare<'env>(&self, env: &'env Env, sql: Unknown) -> Result<Unknown<'env>> {
        self.submit(env, Op::Prepare, sql, None)
    }

    /// Begins a transaction as the pool does for this lease's mode:
    /// `BEGIN IMMEDIATE` on a `'write'` lease (the write lock is taken up
    /// front), `BEGIN DEFERRED` otherwise. End it with `exec('COMMIT')` or
    /// `exec('ROLLBACK')`; a connection released inside a transaction is rolled back.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn begin<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        let job =
            Job { op: Op::Begin, sql: Arc::from(""), params: Default::default(), strict: true, safe_integers: false };
        submit_job(env, &self.shared, job)
    }

    /// `all()`, run on the calling thread.
    #[napi(
        ts_args_type = "sql: string, params?: unknown[] | Record<string, unknown>",
        ts_return_type = "Record<string, unknown>[]"
    )]
    pub fn all_sync<'env>(&self, env: &'env Env, sql: Unknown, params: Option<Unknown>) -> Result<Unknown<'env>> {
        self.sync_call(env, Op::All, sql, params)
    }

    /// `get()`, run on the calling thread.
    #[napi(
        ts_args_type = "sql: string, params?: unknown[] | Record<string, unknown>",
        ts_return_type = "Record<string, unknown> | undefined"
    )]
    pub fn get_sync<'env>(&self, env: &'env Env, sql: Unknown, params: Option<Unknown>) -> Result<Unknown<'env>> {
        self.sync_call(env, Op::Get, sql, params)
    }

    /// `run()`, run on the calling thread.
    #[napi(ts_args_type = "sql: string, params?: unknown[] | Record<string, unknown>", ts_return_type = "RunResult")]
    pub fn run_sync<'env>(&self, env: &'env Env, sql: Unknown, params: Option<Unknown>) -> Result<Unknown<'env>> {
        self.sync_call(env, Op::Run, sql, params)
    }

    /// `exec()`, run on the calling thread.
    #[napi(ts_args_type = "sql: string", ts_return_type = "void")]
    pub fn exec_sync<'env>(&self, env: &'env Env, sql: Unknown) -> Result<Unknown<'env>> {
        self.sync_call(env, Op::Exec, sql, None)
    }

    /// Gives the connection back to the pool (rolled back first if a
    /// transaction is open). Calls still queued on it reject with
    /// `LITEPOOL_RELEASED`. Calling it twice is harmless.
    #[napi]
    pub fn release(&self) {
        let (lease, queued) = {
            let mut st = self.shared.state.lock();
            st.released = true;
            (st.lease.take(), std::mem::take(&mut st.queue))
        };
        drop(lease);
        for (_, pending) in queued {
            pending.settle(Err(Failure::Released));
        }
    }

    /// Whether `release()` was called.
    #[napi(getter)]
    pub fn released(&self) -> bool {
        self.shared.state.lock().released
    }

    /// Whether a transaction is open on this connection (as of the last call
    /// that finished).
    #[napi(getter)]
    pub fn in_transaction(&self) -> bool {
        let st = self.shared.state.lock();
        match &st.lease {
            Some(lease) => !lease.is_autocommit(),
            None => st.in_transaction,
        }
    }

    /// The pooled connection's id (as in leak reports and events).
    #[napi(getter)]
    pub fn id(&self) -> u32 {
        self.id
    }

    /// `'any'`, `'read'` or `'write'`: how this lease was taken.
    #[napi(getter)]
    pub fn mode(&self) -> &'static str {
        self.mode
    }
}

impl Connection {
    fn submit<'env>(&self, env: &'env Env, op: Op, sql: Unknown, params: Option<Unknown>) -> Result<Unknown<'env>> {
        let sql = sql_arg(env, sql)?;
        let params = params_from_js(env, params)?;
        let job = Job { op, sql: sql.into(), params, strict: self.strict, safe_integers: self.safe_integers };
        submit_job(env, &self.shared, job)
    }

    fn sync_call<'env>(&self, env: &'env Env, op: Op, sql: Unknown, params: Option<Unknown>) -> Result<Unknown<'env>> {
        let sql = sql_arg(env, sql)?;
        let params = params_from_js(env, params)?;
        let job = Job { op, sql: sql.into(), params, strict: self.strict, safe_integers: self.safe_integers };
        let mut st = self.shared.state.lock();
        if st.released {
            return Err(to_js_error(env, &Failure::Released));
        }
        let busy = st.busy;
        let lease = match st.lease.as_mut() {
            Some(lease) if !busy => lease,
            _ => return Err(to_js_error(env, &Failure::Busy)),
        };
        let result = run_job(lease, &job);
        st.in_transaction = !lease.is_autocommit();
        drop(st);
        match result {
            Ok(outcome) => outcome_to_js(env, outcome, job.safe_integers),
            Err(f) => Err(to_js_error(env, &f)),
        }
    }
}

/// Starts `job` on a worker now, or queues it behind the call in progress.
fn submit_job<'env>(env: &'env Env, shared: &Shared, job: Job) -> Result<Unknown<'env>> {
    let (pending, promise) = shared.executor.promise_on(env, Some(Arc::clone(shared)))?;
    let mut st = shared.state.lock();
    if st.released {
        drop(st);
        pending.settle(Err(Failure::Released));
        return Ok(promise);
    }
    if st.busy {
        st.queue.push_back((job, pending));
        return Ok(promise);
    }
    st.busy = true;
    let lease = st.lease.take();
    drop(st);
    start(shared, lease, job, pending);
    Ok(promise)
}

/// Runs `job` on a worker, then puts the lease back (or lets it go, if
/// released meanwhile) and settles; the connection stays busy until
/// [`delivered`].
fn start(shared: &Shared, mut lease: Option<PooledConnection>, job: Job, pending: Pending) {
    let shared = Arc::clone(shared);
    let executor = shared.executor.clone();
    executor.submit(Box::new(move || {
        let out = match lease.as_mut() {
            Some(conn) => {
                let out = run_job(conn, &job);
                let single = matches!(job.op, Op::All | Op::Get | Op::Run | Op::Prepare);
                if out.is_ok() && single && shared.pool.known_lane(&job.sql).is_none() {
                    // Teach the pool's router (a prepared-statement cache hit).
                    let _ = shared.pool.learn_lane(conn, &job.sql);
                }
                out
            }
            None => Err(Failure::Released),
        };
        let mut st = shared.state.lock();
        if let Some(conn) = &lease {
            st.in_transaction = !conn.is_autocommit();
        }
        if !st.released {
            st.lease = lease.take();
        }
        drop(st);
        // Released meanwhile: the lease goes back to the pool from here.
        drop(lease);
        pending.settle(out.map(|outcome| Value::Outcome(outcome, job.safe_integers)));
    }));
}

/// On the JS thread, as a call's promise settles: the call is over; the
/// next queued call, if any, starts.
pub(crate) fn delivered(shared: &Shared) {
    let mut st = shared.state.lock();
    st.busy = false;
    if st.released {
        return;
    }
    if let Some((job, pending)) = st.queue.pop_front() {
        st.busy = true;
        let lease = st.lease.take();
        drop(st);
        start(shared, lease, job, pending);
    }
}

impl ObjectFinalize for Connection {
    fn finalize(self, env: Env) -> Result<()> {
        let lease = {
            let mut st = self.shared.state.lock();
            if st.released {
                return Ok(());
            }
            st.released = true;
            st.lease.take()
        };
        drop(lease);
        if let Some(site) = &self.site {
            let message = format!(
                "litepool: connection {} was garbage-collected without release(); it went back to the pool. Acquired at:\n{site}",
                self.id
            );
            let _ = emit_warning(&env, &message);
        }
        Ok(())
    }
}

/// `process.emitWarning(message, { type: 'LitepoolLeakWarning', code: 'LITEPOOL_LEAK' })`.
fn emit_warning(env: &Env, message: &str) -> Result<()> {
    let global = env.get_global()?;
    let process: Object = global.get_named_property("process")?;
    let emit: Function<FnArgs<(String, Object)>, Unknown> = process.get_named_property("emitWarning")?;
    let mut opts = Object::new(env)?;
    opts.set_named_property("type", "LitepoolLeakWarning")?;
    opts.set_named_property("code", "LITEPOOL_LEAK")?;
    emit.apply(process, FnArgs::from((message.to_owned(), opts)))?;
    Ok(())
}
