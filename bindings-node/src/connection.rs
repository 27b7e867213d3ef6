//! `Connection`: a lease handed to JS by `pool.acquire()`, over the core's
//! [`SessionQueue`]: calls run one at a time, in the order they were made,
//! on the pool's executor, with the core's transaction rules; a `*Sync`
//! call runs on the calling thread and is refused while async calls are
//! queued. `release()` gives the connection back; a connection
//! garbage-collected without `release()` goes back to the pool too, with a
//! `process.emitWarning` naming where it was acquired when leak detection is on.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use litepool::sql::{Action, Call, Executor, Op, Params, Session, SessionQueue, TxnMode};
use litepool::PooledConnection;
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;

use crate::call::rules;
use crate::delivery::{Delivery, Pending};
use crate::error::{to_js_error, Failure};
use crate::options::sql_arg;
use crate::values::params_from_js;

/// A leased connection. Give it back with `release()`.
#[napi(custom_finalize)]
pub struct Connection {
    queue: SessionQueue,
    /// Async calls whose promise has not settled yet (read and written on
    /// the JS thread): a `*Sync` call meanwhile is refused, not raced.
    in_flight: Arc<AtomicUsize>,
    delivery: Delivery,
    safe_integers: bool,
    strict: bool,
    /// `new Error().stack` at acquire, kept when leak detection is on.
    site: Option<String>,
    id: u32,
    mode: &'static str,
}

/// Turns a granted lease into a JS `Connection` (for `pool.acquire()`).
pub(crate) struct NewConnection {
    pub executor: Executor,
    pub delivery: Delivery,
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
            queue: SessionQueue::new(Session::new(lease, TxnMode::Autocommit), self.executor),
            in_flight: Arc::default(),
            delivery: self.delivery,
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
        self.submit(env, Op::First, sql, params)
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
        self.submit(env, Op::Script, sql, None)
    }

    /// Prepares `sql` without running it (a syntax or schema error rejects).
    #[napi(ts_args_type = "sql: string", ts_return_type = "Promise<void>")]
    pub fn prepare<'env>(&self, env: &'env Env, sql: Unknown) -> Result<Unknown<'env>> {
        self.submit(env, Op::Prepare, sql, None)
    }

    /// Begins a transaction as the pool does for this lease's mode:
    /// `BEGIN IMMEDIATE` on a `'write'` lease (the write lock is taken up
    /// front), `BEGIN DEFERRED` otherwise. End it with `commit()`/`rollback()`
    /// (or `exec('COMMIT')`); a connection released inside a transaction is
    /// rolled back.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn begin<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        self.act(env, Action::Begin(false))
    }

    /// Begins a *managed* transaction (what `pool.transaction()` uses): until
    /// `commit()` or `rollback()`, `BEGIN`, `COMMIT` and `ROLLBACK` through
    /// this connection are refused with `LITEPOOL_MISUSE` (savepoints are fine).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn begin_managed<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        self.act(env, Action::Begin(true))
    }

    /// Commits the open transaction, if any.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn commit<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        self.act(env, Action::Commit)
    }

    /// Rolls back the open transaction, if any.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn rollback<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        self.act(env, Action::Rollback)
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
        self.sync_call(env, Op::First, sql, params)
    }

    /// `run()`, run on the calling thread.
    #[napi(ts_args_type = "sql: string, params?: unknown[] | Record<string, unknown>", ts_return_type = "RunResult")]
    pub fn run_sync<'env>(&self, env: &'env Env, sql: Unknown, params: Option<Unknown>) -> Result<Unknown<'env>> {
        self.sync_call(env, Op::Run, sql, params)
    }

    /// `exec()`, run on the calling thread.
    #[napi(ts_args_type = "sql: string", ts_return_type = "void")]
    pub fn exec_sync<'env>(&self, env: &'env Env, sql: Unknown) -> Result<Unknown<'env>> {
        self.sync_call(env, Op::Script, sql, None)
    }

    /// Gives the connection back to the pool (rolled back first if a
    /// transaction is open). Calls still queued on it reject with
    /// `LITEPOOL_RELEASED`. Calling it twice is harmless.
    #[napi]
    pub fn release(&self) {
        self.queue.release();
    }

    /// Whether `release()` was called.
    #[napi(getter)]
    pub fn released(&self) -> bool {
        self.queue.released()
    }

    /// Whether a transaction is open on this connection (as of the last call
    /// that finished).
    #[napi(getter)]
    pub fn in_transaction(&self) -> bool {
        self.queue.in_transaction()
    }

    /// The pooled connection's id (as in leak reports and events).
    #[napi(getter)]
    pub fn id(&self) -> u32 {
        self.id
    }

    /// `'any'`, `'read'` or `'write'`: how this lease was taken.
    #[napi(getter, ts_return_type = "'any' | 'read' | 'write'")]
    pub fn mode(&self) -> &'static str {
        self.mode
    }
}

impl Connection {
    fn call_of(&self, env: &Env, op: Op, sql: Unknown, params: Option<Unknown>) -> Result<Call> {
        let sql = sql_arg(env, sql)?;
        let params = if params.is_some() { params_from_js(env, params)? } else { Params::None };
        Ok(Call::new(op, sql).params(params).rules(rules(self.strict)))
    }

    fn submit<'env>(&self, env: &'env Env, op: Op, sql: Unknown, params: Option<Unknown>) -> Result<Unknown<'env>> {
        let call = self.call_of(env, op, sql, params)?;
        self.act(env, Action::Call(call))
    }

    fn act<'env>(&self, env: &'env Env, action: Action) -> Result<Unknown<'env>> {
        let (pending, promise): (Pending, _) = self.delivery.promise(env)?;
        let pending = pending.counted_in(&self.in_flight);
        let op = match &action {
            Action::Call(call) => call.op,
            _ => Op::Script,
        };
        self.queue.submit(action, Box::new(pending.done(op, self.safe_integers)));
        Ok(promise)
    }

    fn sync_call<'env>(&self, env: &'env Env, op: Op, sql: Unknown, params: Option<Unknown>) -> Result<Unknown<'env>> {
        let call = self.call_of(env, op, sql, params)?;
        let out = if self.in_flight.load(Ordering::Relaxed) > 0 && !self.queue.released() {
            Err(litepool::Error::Busy)
        } else {
            self.queue.run_now(Action::Call(call))
        };
        match out {
            Ok(produced) => self.delivery.to_js(env, op, produced, self.safe_integers),
            Err(e) => Err(to_js_error(env, &Failure::Core(e))),
        }
    }
}

impl ObjectFinalize for Connection {
    fn finalize(self, env: Env) -> Result<()> {
        if self.queue.released() {
            return Ok(());
        }
        self.queue.release();
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
