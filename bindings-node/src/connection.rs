//! `Connection`: a lease handed to JS by `pool.acquire()`.
//!
//! Calls on one connection run one at a time, in the order they were made:
//! a call made while another runs is queued (on the JS side of the lease, not
//! on a worker thread). `release()` gives the connection back; a connection
//! garbage-collected without `release()` goes back to the pool too, with a
//! `process.emitWarning` naming where it was acquired when leak detection is on.

use std::collections::VecDeque;
use std::sync::Arc;

use litepool::PooledConnection;
use napi::bindgen_prelude::*;
use napi::Env;
use napi::ScopedTask;
use napi_derive::napi;
use parking_lot::Mutex;

use crate::acquire::{rejected, settle_later, spawn, Deferred, OnLease};
use crate::error::{to_js_error, Failure};
use crate::options::sql_arg;
use crate::sql::{outcome_to_js, run_job, Job, Op, Outcome};
use crate::values::params_from_js;

/// The lease and its queue of calls, shared with the task running a call.
#[derive(Default)]
pub(crate) struct ConnState {
    lease: Option<PooledConnection>,
    busy: bool,
    released: bool,
    in_transaction: bool,
    queue: VecDeque<(Job, Deferred)>,
}

type Shared = Arc<Mutex<ConnState>>;

/// A leased connection. Give it back with `release()`.
#[napi(custom_finalize)]
pub struct Connection {
    state: Shared,
    pool: litepool::Pool,
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
    pub safe_integers: bool,
    pub strict: bool,
    pub site: Option<String>,
}

impl OnLease for NewConnection {
    fn start<'env>(self, env: &'env Env, lease: PooledConnection) -> Result<Unknown<'env>> {
        let conn = Connection {
            id: u32::try_from(lease.connection_id()).unwrap_or(u32::MAX),
            mode: lease.lane().as_str(),
            state: Arc::new(Mutex::new(ConnState { lease: Some(lease), ..ConnState::default() })),
            pool: self.pool,
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
            Job { op: Op::Begin, sql: String::new(), params: Default::default(), strict: true, safe_integers: false };
        submit_job(env, &self.state, &self.pool, job)
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
            let mut st = self.state.lock();
            st.released = true;
            (st.lease.take(), std::mem::take(&mut st.queue))
        };
        drop(lease);
        for (_, deferred) in queued {
            settle_later(deferred, |env| Err(to_js_error(env, &Failure::Released)));
        }
    }

    /// Whether `release()` was called.
    #[napi(getter)]
    pub fn released(&self) -> bool {
        self.state.lock().released
    }

    /// Whether a transaction is open on this connection (as of the last call
    /// that finished).
    #[napi(getter)]
    pub fn in_transaction(&self) -> bool {
        let st = self.state.lock();
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
        let job = Job { op, sql, params, strict: self.strict, safe_integers: self.safe_integers };
        submit_job(env, &self.state, &self.pool, job)
    }

    fn sync_call<'env>(&self, env: &'env Env, op: Op, sql: Unknown, params: Option<Unknown>) -> Result<Unknown<'env>> {
        let sql = sql_arg(env, sql)?;
        let params = params_from_js(env, params)?;
        let job = Job { op, sql, params, strict: self.strict, safe_integers: self.safe_integers };
        let mut st = self.state.lock();
        if st.released {
            return Err(to_js_error(env, &Failure::Released));
        }
        let Some(lease) = st.lease.as_mut() else { return Err(to_js_error(env, &Failure::Busy)) };
        let result = run_job(lease, &job);
        st.in_transaction = !lease.is_autocommit();
        drop(st);
        match result {
            Ok(outcome) => outcome_to_js(env, outcome, job.safe_integers),
            Err(f) => Err(to_js_error(env, &f)),
        }
    }
}

/// Runs `job` on the connection now, or queues it behind the call running.
pub(crate) fn submit_job<'env>(
    env: &'env Env,
    state: &Shared,
    pool: &litepool::Pool,
    job: Job,
) -> Result<Unknown<'env>> {
    let mut st = state.lock();
    if st.released {
        return rejected(env, &Failure::Released);
    }
    if st.busy {
        let (deferred, promise) = env.create_deferred()?;
        st.queue.push_back((job, deferred));
        // SAFETY: `promise` lives on `env`.
        return Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), promise.raw()) });
    }
    st.busy = true;
    let lease = st.lease.take();
    drop(st);
    spawn(env, ConnTask { state: Arc::clone(state), pool: pool.clone(), lease, job })
}

/// One call on a leased connection, on the libuv threadpool.
struct ConnTask {
    state: Shared,
    pool: litepool::Pool,
    lease: Option<PooledConnection>,
    job: Job,
}

impl<'env> ScopedTask<'env> for ConnTask {
    type Output = std::result::Result<Outcome, Failure>;
    type JsValue = Unknown<'env>;

    fn compute(&mut self) -> napi::Result<<Self as ScopedTask<'env>>::Output> {
        Ok(match self.lease.as_mut() {
            Some(lease) => {
                let out = run_job(lease, &self.job);
                let single = matches!(self.job.op, Op::All | Op::Get | Op::Run | Op::Prepare);
                if out.is_ok() && single && self.pool.known_lane(&self.job.sql).is_none() {
                    // Teach the pool's router (a prepared-statement cache hit).
                    let _ = self.pool.learn_lane(lease, &self.job.sql);
                }
                out
            }
            None => Err(Failure::Released),
        })
    }

    fn resolve(&mut self, env: &'env Env, output: <Self as ScopedTask<'env>>::Output) -> Result<Unknown<'env>> {
        self.hand_back();
        match output {
            Ok(outcome) => outcome_to_js(env, outcome, self.job.safe_integers),
            Err(f) => Err(to_js_error(env, &f)),
        }
    }

    fn reject(&mut self, _env: &'env Env, err: napi::Error) -> Result<Unknown<'env>> {
        self.hand_back();
        Err(err)
    }
}

impl ConnTask {
    /// Puts the lease back (or lets it go, if released meanwhile) and starts
    /// the next queued call.
    fn hand_back(&mut self) {
        let lease = self.lease.take();
        let mut st = self.state.lock();
        st.busy = false;
        if let Some(lease) = &lease {
            st.in_transaction = !lease.is_autocommit();
        }
        if st.released {
            drop(st);
            drop(lease);
            return;
        }
        st.lease = lease;
        if let Some((job, deferred)) = st.queue.pop_front() {
            st.busy = true;
            let lease = st.lease.take();
            drop(st);
            let state = Arc::clone(&self.state);
            let pool = self.pool.clone();
            settle_later(deferred, move |env| spawn(env, ConnTask { state, pool, lease, job }));
        }
    }
}

impl ObjectFinalize for Connection {
    fn finalize(self, env: Env) -> Result<()> {
        let lease = {
            let mut st = self.state.lock();
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
