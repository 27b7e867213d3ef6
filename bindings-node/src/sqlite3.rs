//! The native half of the node-sqlite3 drop-in (`lib/sqlite3.js` is the
//! other): one `DatabaseHandle` per JS `Database`, over the pool it shares
//! with every other `Database` on the same file.
//!
//! It only translates. Values bind by node-sqlite3's rules
//! (`sqlite3_values.rs`); calls go to the core's SQL layer — one-shot calls
//! on the pool, or the handle's own session (a held lease, for what needs
//! "its" connection: transactions, TEMP tables, attachments, pragmas,
//! `serialize()`), whose deferred `BEGIN`s run `IMMEDIATE` — each carrying
//! the handle's [`CallContext`] (busy timeout, limits, trace / profile /
//! change hooks, interrupt). Which call goes where is decided in
//! `lib/sqlite3.js`, from what the core learned about each statement
//! ([`DatabaseHandle::route`]).

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use litepool::rusqlite::hooks::Action as Change;
use litepool::rusqlite::types::Value;
use litepool::sql::{
    Action, BindRules, Call, CallContext, CallHooks, Column, HookSet, Op, Params, Produced, RowSink, Session,
    SessionQueue, Sql, TxnMode,
};
use litepool::{AcquireOptions, AcquireSite, Backup, BackupSpec, BackupState, Lane};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{sys, Env, ValueType};
use napi_derive::napi;
use parking_lot::Mutex;

use crate::delivery::{Delivery, Value as Settled};
use crate::error::Failure;
use crate::pool::Pool;
use crate::sqlite3_values::params;
use crate::values::{check, produced_to_js, rows_array, value_to_js};

/// With an op code: bind only what fits (a statement after a failed `bind()`).
const PARTIAL: u32 = 0x100;

/// Operation codes shared with `lib/sqlite3.js`.
fn op_of(code: u32) -> Op {
    match code & !PARTIAL {
        0 => Op::Run,
        1 => Op::First,
        2 => Op::All,
        3 => Op::Prepare,
        _ => Op::Script,
    }
}

/// `listener(id, rows)`, the Database's receiver of `each` rows.
type RowsListener = FunctionRef<FnArgs<(u32, sys::napi_value)>, ()>;

/// The node-sqlite3 drop-in's handle on the pool for one `Database`.
#[napi]
pub struct DatabaseHandle {
    pool: litepool::Pool,
    delivery: Delivery,
    context: Arc<CallContext>,
    hooks: Arc<HookRelay>,
    /// The held lease, while the `Database` needs one connection.
    session: Arc<Mutex<Option<SessionQueue>>>,
    read_only: bool,
    /// Where `each` rows go (`setRowsListener`).
    rows: Mutex<Option<Arc<RowsListener>>>,
}

#[napi]
impl DatabaseHandle {
    /// A handle on `pool`; `readOnly`: its session is a `read()` lease.
    #[napi(constructor)]
    pub fn new(pool: &Pool, read_only: bool) -> Self {
        let hooks = Arc::new(HookRelay::default());
        DatabaseHandle {
            pool: pool.inner.clone(),
            delivery: pool.delivery.clone(),
            context: Arc::new(CallContext::new(Some(Arc::clone(&hooks) as Arc<dyn CallHooks>))),
            hooks,
            session: Arc::default(),
            read_only,
            rows: Mutex::new(None),
        }
    }

    /// What the pool knows of `sql`: 0 nothing yet, 1 a read that changes
    /// no connection state (safe as a one-shot call on any connection),
    /// 2 anything else (a write, transaction control, a pragma, an
    /// attachment…: it needs the `Database`'s own connection).
    #[napi]
    pub fn route(&self, sql: String) -> u32 {
        if litepool::sql::classify::control(&sql).is_some() {
            return 2;
        }
        match (self.pool.is_read_only(&sql), self.pool.changes_connection(&sql)) {
            (Some(true), Some(false)) => 1,
            (Some(false), _) | (_, Some(true)) => 2,
            _ => 0,
        }
    }

    /// A one-shot call (op: 0 run, 1 get, 2 all, 3 prepare, 4 exec; plus
    /// 0x100: bind only the values that fit) on a lease of the pool, with
    /// this handle's settings. `params`: an array
    /// (by position) or an object (by name, as node-sqlite3 binds them).
    #[napi(ts_args_type = "op: number, sql: string | SqlText, params?: unknown", ts_return_type = "Promise<any>")]
    pub fn call<'env>(&self, env: &'env Env, op: u32, sql: Unknown, params: Option<Unknown>) -> Result<Unknown<'env>> {
        let call = self.call_of(env, op, sql, params)?;
        let (pending, promise) = self.delivery.promise(env)?;
        let op = call.op;
        self.pool.call_with(AcquireOptions::default(), call, move |out| {
            pending.settle(out.map(|p| Settled::Produced(op, p, false)).map_err(failure));
        });
        Ok(promise)
    }

    /// Runs a call (op codes as in `call`) on the session, after the calls
    /// submitted before it; resolves with `[result, flags]` (flags: 1 the
    /// call changed the connection's own state, 2 a transaction is open
    /// after it).
    #[napi(
        ts_args_type = "op: number, sql: string | SqlText, params?: unknown",
        ts_return_type = "Promise<[any, number]>"
    )]
    pub fn session_call<'env>(
        &self,
        env: &'env Env,
        op: u32,
        sql: Unknown,
        params: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        let call = self.call_of(env, op, sql, params)?;
        let op = call.op;
        let (pending, promise) = self.delivery.promise(env)?;
        self.submit(Action::Call(call), move |out, in_tx| {
            let out = out.map(|produced| {
                let flags = u32::from(produced.stateful) | if in_tx { 2 } else { 0 };
                Settled::Build(Box::new(move |env: &Env| {
                    let value = produced_to_js(env, op, produced, false)?;
                    pair(env, value.raw(), flags)
                }))
            });
            pending.settle(out.map_err(failure));
        });
        Ok(promise)
    }

    /// Where `each` rows go: `listener(id, rows)` on the JS thread, for every
    /// `each` call of this handle (one reference, made once).
    #[napi(ts_args_type = "listener: (id: number, rows: Record<string, unknown>[]) => void")]
    pub fn set_rows_listener(&self, listener: Function<FnArgs<(u32, sys::napi_value)>, ()>) -> Result<()> {
        *self.rows.lock() = Some(Arc::new(listener.create_ref()?));
        Ok(())
    }

    /// `each`: an all-rows call whose rows go to the rows listener, tagged
    /// `id`, in batches while the statement steps (every millisecond or 256
    /// rows), through the pool's delivery: before the call settles, and a
    /// turn of the event loop runs a bounded share of them (one JS callback
    /// per row). Resolves with `[rows sent, error or null]`. On the session
    /// when `session` is true (then `[[count, error], flags]`).
    #[napi(
        ts_args_type = "sql: string | SqlText, params: unknown, id: number, session: boolean",
        ts_return_type = "Promise<any>"
    )]
    pub fn each<'env>(
        &self,
        env: &'env Env,
        sql: Unknown,
        params: Option<Unknown>,
        id: u32,
        session: bool,
    ) -> Result<Unknown<'env>> {
        let Some(listener) = self.rows.lock().clone() else {
            return Err(crate::error::type_error(env, "each() before setRowsListener()"));
        };
        let sent = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&sent);
        let delivery = self.delivery.clone();
        let sink = RowSink(Arc::new(move |columns: &[Column], rows: Vec<Vec<Value>>| {
            counter.fetch_add(u32::try_from(rows.len()).unwrap_or(u32::MAX), Relaxed);
            let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
            let listener = Arc::clone(&listener);
            // A row costs a JS callback, a result of `all` an eighth of one.
            let cost = 1 + rows.len();
            delivery.notify(
                cost,
                Box::new(move |env: &Env| {
                    let raw = env.raw();
                    let keys = names
                        .into_iter()
                        // SAFETY: creating strings on the JS thread, in the notice's scope.
                        .map(|c| unsafe { String::to_napi_value(raw, c) })
                        .collect::<Result<Vec<_>>>()?;
                    let rows = rows_array(raw, &keys, rows, false)?;
                    listener.borrow_back(env)?.call(FnArgs::from((id, rows)))
                }),
            );
        }));
        let call = self.call_of(env, 2, sql, params)?.sink(sink);
        let (pending, promise) = self.delivery.promise(env)?;
        // Resolves (never rejects) with `[count, error]`: how many rows were
        // sent before an error too, so that JS can wait for all of them.
        let outcome = move |out: litepool::Result<Produced>, flags: Option<u32>| {
            let count = sent.load(Relaxed);
            // On the thread that ran the call: whether it failed to prepare.
            let error = out.err().map(failure);
            Settled::Build(Box::new(move |env: &Env| {
                let raw = env.raw();
                // SAFETY: creating values on the JS thread.
                let n = unsafe { u32::to_napi_value(raw, count)? };
                let e = match error {
                    Some(e) => crate::error::js_error_value(env, &e).raw(),
                    // SAFETY: creating `null` on the JS thread.
                    None => unsafe { Null::to_napi_value(raw, Null)? },
                };
                let inner = pair_of(env, n, e)?;
                match flags {
                    Some(f) => pair(env, inner.raw(), f),
                    None => Ok(inner),
                }
            }))
        };
        if session {
            self.submit(Action::Call(call), move |out, in_tx| {
                let flags = out.as_ref().map_or(0, |p| u32::from(p.stateful)) | if in_tx { 2 } else { 0 };
                pending.settle(Ok(outcome(out, Some(flags))));
            });
        } else {
            self.pool.call_with(AcquireOptions::default(), call, move |out| pending.settle(Ok(outcome(out, None))));
        }
        Ok(promise)
    }

    /// Leases this handle's session (a `read()` lease for a read-only
    /// `Database`), whose deferred `BEGIN`s run `IMMEDIATE` when
    /// `immediate` and whose queued plain writes commit together when
    /// `groupWrites`; `site` (a stack) is reported if the lease is held past
    /// the pool's leak threshold.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn open<'env>(
        &self,
        env: &'env Env,
        immediate: bool,
        group_writes: bool,
        site: Option<String>,
    ) -> Result<Unknown<'env>> {
        let (pending, promise) = self.delivery.promise(env)?;
        let opts = AcquireOptions {
            lane: if self.read_only { Lane::Read } else { Lane::Any },
            site: site.map(AcquireSite::Text),
            ..AcquireOptions::default()
        };
        let executor = self.pool.executor();
        let slot = Arc::clone(&self.session);
        self.pool.acquire_with(opts, move |lease| {
            let out = lease.map(|lease| {
                let mut session = Session::new(lease, TxnMode::Autocommit);
                session.set_immediate_begin(immediate);
                session.set_group_writes(group_writes);
                let queue = SessionQueue::new(session, executor);
                if let Some(old) = slot.lock().replace(queue) {
                    old.release();
                }
                Settled::Done
            });
            pending.settle(out.map_err(Failure::Core));
        });
        Ok(promise)
    }

    /// Gives the session's lease back (rolled back first if a transaction is
    /// open); calls still queued on it fail.
    #[napi]
    pub fn release(&self) {
        if let Some(queue) = self.session.lock().take() {
            queue.release();
        }
    }

    /// Whether the session is inside a transaction (as of its last call).
    #[napi(getter)]
    pub fn in_transaction(&self) -> bool {
        self.session.lock().as_ref().is_some_and(SessionQueue::in_transaction)
    }

    /// Loads the extension at `path` into the session's connection (which is
    /// then closed, not handed on, when the session ends).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn load_extension<'env>(&self, env: &'env Env, path: String) -> Result<Unknown<'env>> {
        let (pending, promise) = self.delivery.promise(env)?;
        self.submit(Action::LoadExtension(path), move |out, _| {
            pending.settle(out.map(|_| Settled::Done).map_err(Failure::Core));
        });
        Ok(promise)
    }

    /// Interrupts this handle's calls running now (`SQLITE_INTERRUPT`);
    /// returns how many were running.
    #[napi]
    pub fn interrupt(&self) -> u32 {
        u32::try_from(self.context.interrupt()).unwrap_or(u32::MAX)
    }

    /// `configure('busyTimeout', ms)` for this handle's calls.
    #[napi]
    pub fn set_busy_timeout(&self, millis: f64) {
        let ms = if millis.is_finite() && millis > 0.0 { millis as u64 } else { 0 };
        self.context.set_busy_timeout(Some(Duration::from_millis(ms)));
    }

    /// `configure('limit', id, value)` for this handle's calls.
    #[napi]
    pub fn set_limit(&self, id: i32, value: i32) {
        self.context.set_limit(id, value);
    }

    /// Which of the trace / profile / change hooks report to
    /// `emit(kind, a, b, c, d)`: kind 0 trace (a: sql), 1 profile (a: sql,
    /// b: milliseconds), 2 change (a: 'insert' | 'update' | 'delete', b:
    /// database, c: table, d: rowid).
    #[napi(ts_args_type = "trace: boolean, profile: boolean, change: boolean, emit?: (...args: any[]) => void")]
    pub fn set_hooks(
        &self,
        trace: bool,
        profile: bool,
        change: bool,
        emit: Option<Function<EmitArgs, ()>>,
    ) -> Result<()> {
        let on = HookSet { trace, profile, change };
        if let Some(emit) = emit {
            self.hooks.connect(emit)?;
        }
        if on == HookSet::default() {
            self.hooks.disconnect();
        }
        self.context.set_hooks(on);
        Ok(())
    }

    /// Starts an online backup between this handle's pool and `filename`
    /// (node-sqlite3's `new Backup(db, filename, sourceName, destName,
    /// filenameIsDest)`) on a lease of its own — a `write()` lease when
    /// restoring into the pool's database; resolves with its handle once
    /// both ends are open.
    #[napi(
        ts_args_type = "filename: string, sourceName: string, destName: string, filenameIsDest: boolean",
        ts_return_type = "Promise<BackupHandle>"
    )]
    pub fn backup<'env>(
        &self,
        env: &'env Env,
        filename: String,
        source_name: String,
        dest_name: String,
        filename_is_dest: bool,
    ) -> Result<Unknown<'env>> {
        let (pending, promise) = self.delivery.promise(env)?;
        let lane = if filename_is_dest { Lane::Any } else { Lane::Write };
        let spec = BackupSpec { filename, source_name, dest_name, filename_is_dest };
        let executor = self.pool.executor();
        let delivery = self.delivery.clone();
        self.pool.acquire_with(AcquireOptions::lane(lane), move |lease| {
            let lease = match lease {
                Ok(lease) => lease,
                Err(e) => return pending.settle(Err(Failure::Core(e))),
            };
            // Opening the file blocks briefly: on a worker, not here.
            executor.submit(Box::new(move || {
                let out = Backup::open(lease, spec).map(|backup| {
                    Settled::Build(Box::new(move |env: &Env| {
                        let handle = BackupHandle { backup: Mutex::new(Some(backup)), delivery };
                        let instance = handle.into_instance(env)?;
                        // SAFETY: the instance lives on `env`.
                        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), instance.raw()) })
                    }))
                });
                pending.settle(out.map_err(Failure::Core));
            }));
        });
        Ok(promise)
    }
}

impl DatabaseHandle {
    fn call_of(&self, env: &Env, code: u32, sql: Unknown, given: Option<Unknown>) -> Result<Call> {
        let sql = sql_of(env, sql)?;
        let op = op_of(code);
        let params = match given {
            Some(p) if op != Op::Script => params(env, p)?,
            _ => Params::None,
        };
        let rules = if code & PARTIAL != 0 { BindRules::NODE_SQLITE3_PARTIAL } else { BindRules::NODE_SQLITE3 };
        Ok(Call::new(op, sql).params(params).rules(rules).context(Arc::clone(&self.context)))
    }

    /// Queues `action` on the session; `done` gets the outcome and whether a
    /// transaction is open after it (`Released` when there is no session).
    fn submit(&self, action: Action, done: impl FnOnce(litepool::Result<Produced>, bool) + Send + 'static) {
        let queue = self.session.lock().clone();
        match queue {
            Some(queue) => {
                let watch = queue.clone();
                queue.submit(action, Box::new(move |out| done(out, watch.in_transaction())));
            }
            None => done(Err(litepool::Error::Released), false),
        }
    }
}

/// SQL text made once in JS for a statement run many times (the drop-in
/// keeps one per SQL string): calls given it skip converting the text and
/// find what the pool learned about it without a lookup.
#[napi]
pub struct SqlText {
    sql: Sql,
}

#[napi]
impl SqlText {
    /// Wraps `sql`.
    #[napi(constructor)]
    pub fn new(sql: String) -> Self {
        SqlText { sql: Sql::new(sql) }
    }
}

/// The SQL of a call: a string, or a `SqlText`.
fn sql_of(env: &Env, value: Unknown) -> Result<Sql> {
    if value.get_type()? == ValueType::String {
        // SAFETY: get_type() said string.
        return Ok(Sql::new(unsafe { value.cast::<String>()? }));
    }
    // SAFETY: napi-rs checks that the object wraps a SqlText (its type tag).
    let text = unsafe { ClassInstance::<SqlText>::from_napi_value(env.raw(), value.raw()) }
        .map_err(|_| crate::error::type_error(env, "Expected the \"sql\" argument to be a string"))?;
    Ok(text.sql.clone())
}

/// A failed call's error, saying whether it failed while preparing (read on
/// the thread that ran it, where its completion runs).
fn failure(e: litepool::Error) -> Failure {
    if litepool::sql::failed_to_prepare() {
        Failure::Prepare(e)
    } else {
        Failure::Core(e)
    }
}

/// `[value, flags]`.
fn pair(env: &Env, value: sys::napi_value, flags: u32) -> Result<Unknown<'_>> {
    // SAFETY: creating a number on the JS thread.
    let f = unsafe { u32::to_napi_value(env.raw(), flags)? };
    pair_of(env, value, f)
}

/// `[a, b]`.
fn pair_of(env: &Env, a: sys::napi_value, b: sys::napi_value) -> Result<Unknown<'_>> {
    let raw = env.raw();
    let mut array = std::ptr::null_mut();
    // SAFETY: plain napi calls on the JS thread with values created here.
    unsafe {
        check(sys::napi_create_array_with_length(raw, 2, &mut array))?;
        check(sys::napi_set_element(raw, array, 0, a))?;
        check(sys::napi_set_element(raw, array, 1, b))?;
        Ok(Unknown::from_raw_unchecked(raw, array))
    }
}

/// A running online backup (node-sqlite3's `Backup`, whose JS half is in
/// `lib/sqlite3.js`).
#[napi]
pub struct BackupHandle {
    backup: Mutex<Option<Backup>>,
    delivery: Delivery,
}

#[napi]
impl BackupHandle {
    /// Copies up to `pages` pages (all when negative); resolves with
    /// `[state, remaining, pageCount]`, state 0 more to copy, 1 done,
    /// 5 busy, 6 locked.
    #[napi(ts_return_type = "Promise<[number, number, number]>")]
    pub fn step<'env>(&self, env: &'env Env, pages: i32) -> Result<Unknown<'env>> {
        let (pending, promise) = self.delivery.promise(env)?;
        let guard = self.backup.lock();
        let Some(backup) = guard.as_ref() else {
            pending.settle(Err(Failure::Core(litepool::Error::Misuse("the backup is finished".to_owned()))));
            return Ok(promise);
        };
        backup.step_with(pages, move |out| {
            let out = out.map(|p| {
                let state = match p.state {
                    BackupState::More => 0,
                    BackupState::Done => 1,
                    BackupState::Busy => 5,
                    BackupState::Locked => 6,
                };
                Settled::Build(Box::new(move |env: &Env| {
                    let mut array = env.create_array(3)?;
                    array.set(0, state)?;
                    array.set(1, p.remaining)?;
                    array.set(2, p.page_count)?;
                    array.to_unknown().pipe_ok()
                }))
            });
            pending.settle(out.map_err(Failure::Core));
        });
        Ok(promise)
    }

    /// Finishes the backup and gives its lease back.
    #[napi]
    pub fn finish(&self) {
        if let Some(backup) = self.backup.lock().take() {
            backup.finish();
        }
    }
}

/// `Ok(self)`, for the end of a chain.
trait PipeOk: Sized {
    fn pipe_ok(self) -> Result<Self> {
        Ok(self)
    }
}
impl<T> PipeOk for T {}

/// One hook event on its way to JS.
enum HookEvent {
    Trace(String),
    Profile(String, Duration),
    Change(Change, String, String, i64),
}

/// `(kind, a, b, c, d)`.
type EmitArgs = FnArgs<(u32, sys::napi_value, sys::napi_value, sys::napi_value, sys::napi_value)>;
/// `emit(kind, a, b, c, d)` on the JS thread.
type EmitFn = ThreadsafeFunction<HookEvent, (), EmitArgs, Status, false, true, 0>;

/// The trace / profile / change hooks of one handle, forwarded to JS.
#[derive(Default)]
struct HookRelay {
    emit: Mutex<Option<Arc<EmitFn>>>,
}

impl HookRelay {
    fn connect(&self, emit: Function<EmitArgs, ()>) -> Result<()> {
        let tsfn: EmitFn =
            emit.build_threadsafe_function::<HookEvent>().callee_handled::<false>().weak::<true>().build_callback(
                |ctx: ThreadsafeCallContext<HookEvent>| {
                    let raw = ctx.env.raw();
                    let text = |s: String| -> Result<sys::napi_value> { value_to_js(raw, Value::Text(s), false) };
                    let number = |n: f64| -> Result<sys::napi_value> { value_to_js(raw, Value::Real(n), false) };
                    // SAFETY: creating `undefined` on the JS thread.
                    let undefined = unsafe { Undefined::to_napi_value(raw, ())? };
                    Ok(FnArgs::from(match ctx.value {
                        HookEvent::Trace(sql) => (0, text(sql)?, undefined, undefined, undefined),
                        HookEvent::Profile(sql, elapsed) => {
                            (1, text(sql)?, number(elapsed.as_secs_f64() * 1000.0)?, undefined, undefined)
                        }
                        HookEvent::Change(change, db, table, rowid) => {
                            let kind = match change {
                                Change::SQLITE_INSERT => "insert",
                                Change::SQLITE_UPDATE => "update",
                                Change::SQLITE_DELETE => "delete",
                                _ => "",
                            };
                            (2, text(kind.to_owned())?, text(db)?, text(table)?, number(rowid as f64)?)
                        }
                    }))
                },
            )?;
        *self.emit.lock() = Some(Arc::new(tsfn));
        Ok(())
    }

    fn disconnect(&self) {
        self.emit.lock().take();
    }

    fn send(&self, event: HookEvent) {
        let emit = self.emit.lock().clone();
        if let Some(emit) = emit {
            let _ = emit.call(event, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

impl CallHooks for HookRelay {
    fn trace(&self, sql: &str) {
        self.send(HookEvent::Trace(sql.to_owned()));
    }
    fn profile(&self, sql: &str, elapsed: Duration) {
        self.send(HookEvent::Profile(sql.to_owned(), elapsed));
    }
    fn change(&self, change: Change, database: &str, table: &str, rowid: i64) {
        self.send(HookEvent::Change(change, database.to_owned(), table.to_owned(), rowid));
    }
}
