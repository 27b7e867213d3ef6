//! `Pool`: the pool as JS sees it.

use std::time::Duration;

use litepool::sql::{classify, Call, Op, Params, Sql};
use litepool::{AcquireOptions as CoreAcquire, AcquireSite, PoolConfig};
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;

use crate::call::{call_async, rules};
use crate::connection::NewConnection;
use crate::delivery::{Delivery, Value};
use crate::error::{range_error, to_js_error, type_error, Failure};
use crate::options::{
    parse_acquire_options, parse_pool_options, parse_query_options, path_arg, pooled_sql, sql_arg, Parsed,
};
use crate::statement::Statement;
use crate::sync_call::run_sync;
use crate::values::params_from_js;

/// A pool of SQLite connections to one database file.
///
/// Reads run concurrently on several connections; writes queue (first come,
/// first served) for the pool's write gate instead of colliding in SQLite's
/// busy handler. Waiting for a connection never blocks the event loop and
/// never occupies a thread; the SQL of async calls runs on the pool's own
/// worker threads (`workers`), not on the libuv threadpool.
#[napi]
pub struct Pool {
    pub(crate) inner: litepool::Pool,
    pub(crate) delivery: Delivery,
    /// The pool's events on their way to JS (`events.rs`).
    pub(crate) events: std::sync::Arc<crate::events::EventRelay>,
    safe_integers: bool,
    strict: bool,
    /// Set by `close()` at once (the core closes on a thread of its own).
    closing: std::sync::atomic::AtomicBool,
    /// A trace hook is set: acquires capture their JS stack as the site.
    pub(crate) traced: std::sync::atomic::AtomicBool,
}

impl Drop for Pool {
    /// Garbage-collected: the workers exit once their queue is empty.
    fn drop(&mut self) {
        self.inner.executor().stop();
    }
}

/// `{ active, idle, total, max, min, waiting }` now, plus cumulative counters.
#[napi(object)]
pub struct PoolStats {
    /// Connections leased out right now.
    pub active: u32,
    /// Open connections waiting in the pool.
    pub idle: u32,
    /// `active + idle`.
    pub total: u32,
    /// The `max` option.
    pub max: u32,
    /// The `min` option.
    pub min: u32,
    /// Callers queued for a connection or for the write gate.
    pub waiting: u32,
    /// Leases handed out, in all.
    pub acquired: i64,
    /// Leases served at once from an idle connection.
    pub acquired_direct: i64,
    /// Leases that had to queue first.
    pub acquired_waited: i64,
    /// Acquires that gave up at their timeout.
    pub timeouts: i64,
    /// Connections opened.
    pub created: i64,
    /// Connection attempts that failed.
    pub create_failures: i64,
    /// Connections closed for sitting idle.
    pub closed_idle: i64,
    /// Connections retired for age.
    pub closed_lifetime: i64,
    /// Connections discarded as broken.
    pub closed_broken: i64,
    /// Leases returned inside an open transaction, and rolled back.
    pub rolled_back_on_return: i64,
    /// Leases held past `leakDetectionMillis`.
    pub leaks: i64,
    /// Connections a lease changed (pragmas, TEMP objects…), reset on return.
    pub reset_on_return: i64,
    /// Connections closed on return because the lease's changes could not be undone.
    pub closed_dirty: i64,
    /// Writes of ordinary leases let through without the write gate.
    pub gate_bypassed: i64,
    /// Connections retired by `evict()` or a lowered `max`.
    pub closed_evicted: i64,
    /// The WAL file's size in bytes now.
    pub wal_bytes: i64,
    /// The largest WAL file size the pool has seen.
    pub wal_peak_bytes: i64,
    /// PASSIVE checkpoints the pool ran.
    pub checkpoints_passive: i64,
    /// TRUNCATE checkpoints the pool ran under reader back-pressure.
    pub checkpoints_truncate: i64,
    /// Checkpoints an open read or a writer kept from finishing.
    pub checkpoints_incomplete: i64,
    /// WAL pages the pool's checkpoints copied back.
    pub checkpoint_pages: i64,
    /// Read and ordinary leases held back while the pool truncated the WAL.
    pub backpressure_waits: i64,
    /// Times a lease was reported as pinning the WAL.
    pub wal_pinned: i64,
    /// Calls refused at once with `LITEPOOL_OVERLOADED` (`maxWaiting`, `shedLoad`).
    pub shed: i64,
    /// The wait a call queueing now can expect, in milliseconds (queue x
    /// mean hold time / connections; 0 while a connection is idle).
    pub expected_wait_millis: f64,
    /// Total time callers spent waiting for a connection, in milliseconds.
    pub wait_time_millis: f64,
}

/// What `run()` resolves with.
#[napi(object)]
pub struct RunResult {
    /// Rows inserted, updated or deleted.
    pub changes: i64,
    /// The last inserted rowid on the connection used (a BigInt with `safeIntegers`).
    #[napi(ts_type = "number | bigint")]
    pub last_insert_rowid: i64,
}

/// Counters for one tenant.
#[napi(object)]
pub struct TenantStats {
    /// The tenant's code.
    pub code: String,
    /// Times its database was attached to a connection.
    pub attaches: i64,
    /// Times it was detached (to make room, or on removal).
    pub detaches: i64,
    /// Leases served by a connection that already had it attached.
    pub affinity_hits: i64,
    /// Leases handed out for it.
    pub acquired: i64,
    /// Its leases out right now.
    pub active: u32,
    /// Its weight in fair queueing (`setTenantWeight`; 1 by default).
    pub weight: u32,
    /// Total time its calls waited for a connection, in milliseconds.
    pub wait_time_millis: f64,
    /// Total time its leases were held, in milliseconds.
    pub hold_time_millis: f64,
}

#[napi]
impl Pool {
    /// Opens a pool over the database at `path` (`':memory:'` for one
    /// in-memory database shared by the pool's connections). The first
    /// connection is opened now, so a bad path throws here, naming it.
    #[napi(constructor, ts_args_type = "path: string, options?: PoolOptions")]
    pub fn new(env: Env, path: Unknown, options: Option<Unknown>) -> Result<Self> {
        let path = path_arg(&env, path)?;
        let parsed = parse_pool_options(&env, options, PoolConfig::default())?;
        Self::open(&env, &path, parsed)
    }

    /// A pool configured from the `DB_POOL_*` environment variables
    /// (`DB_POOL_MAX`, `DB_POOL_MIN`, `DB_POOL_IDLE_TIMEOUT`,
    /// `DB_POOL_ACQUIRE_TIMEOUT`, `DB_POOL_MAX_LIFETIME`,
    /// `DB_POOL_LEAK_THRESHOLD`, `DB_POOL_BUSY_TIMEOUT`; milliseconds), with
    /// `options` applied over them.
    #[napi(factory, ts_args_type = "path: string, options?: PoolOptions")]
    pub fn from_env(env: Env, path: Unknown, options: Option<Unknown>) -> Result<Self> {
        let path = path_arg(&env, path)?;
        let config = litepool::PoolConfig::from_env().map_err(|e| to_js_error(&env, &Failure::Core(e)))?;
        let parsed = parse_pool_options(&env, options, config)?;
        Self::open(&env, &path, parsed)
    }

    /// Runs `sql` and resolves with every row, as objects keyed by column
    /// name. Read-only statements run on any connection; others take the
    /// write lane.
    #[napi(
        ts_args_type = "sql: string, params?: unknown[] | Record<string, unknown>, options?: QueryOptions",
        ts_return_type = "Promise<Record<string, unknown>[]>"
    )]
    pub fn query<'env>(
        &self,
        env: &'env Env,
        sql: Unknown,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        self.call(env, Op::All, sql, params, options)
    }

    /// Runs `sql` and resolves with its first row, or `undefined`.
    #[napi(
        ts_args_type = "sql: string, params?: unknown[] | Record<string, unknown>, options?: QueryOptions",
        ts_return_type = "Promise<Record<string, unknown> | undefined>"
    )]
    pub fn get<'env>(
        &self,
        env: &'env Env,
        sql: Unknown,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        self.call(env, Op::First, sql, params, options)
    }

    /// Runs `sql` for its effect; resolves with `{ changes, lastInsertRowid }`.
    #[napi(
        ts_args_type = "sql: string, params?: unknown[] | Record<string, unknown>, options?: QueryOptions",
        ts_return_type = "Promise<RunResult>"
    )]
    pub fn run<'env>(
        &self,
        env: &'env Env,
        sql: Unknown,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        self.call(env, Op::Run, sql, params, options)
    }

    /// Runs a script of one or more statements on the write lane.
    #[napi(ts_args_type = "sql: string, options?: QueryOptions", ts_return_type = "Promise<void>")]
    pub fn exec<'env>(&self, env: &'env Env, sql: Unknown, options: Option<Unknown>) -> Result<Unknown<'env>> {
        self.call(env, Op::Script, sql, None, options)
    }

    /// Leases a connection; resolves with a `Connection` to `release()` when done.
    #[napi(ts_args_type = "options?: AcquireOptions", ts_return_type = "Promise<Connection>")]
    pub fn acquire<'env>(&self, env: &'env Env, options: Option<Unknown>) -> Result<Unknown<'env>> {
        let opts = parse_acquire_options(env, options)?;
        let site = self.capture_site(env);
        let core = CoreAcquire {
            lane: opts.lane,
            timeout: opts.timeout,
            site: site.clone().map(AcquireSite::Text),
            tenant: opts.tenant,
            deadline: opts.deadline,
        };
        let (pending, promise) = self.delivery.promise(env)?;
        let make = NewConnection {
            executor: self.inner.executor(),
            delivery: self.delivery.clone(),
            safe_integers: self.safe_integers,
            strict: self.strict,
            site,
        };
        self.inner.acquire_with(core, move |result| {
            pending.settle(
                result.map(|lease| Value::Build(Box::new(move |env| make.into_js(env, lease)))).map_err(Failure::Core),
            );
        });
        Ok(promise)
    }

    /// On a primary: commits a marker after the writes so far and resolves
    /// with it, a token for `readAtLeast` on a replica (read-your-writes).
    /// Rejects with `LITEPOOL_READ_ONLY_REPLICA` on a replica.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn commit_token<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        let pool = self.inner.clone();
        self.settle_on_thread(env, "litepool-token", move || pool.commit_token().map(|t| Value::Number(t as f64)))
    }

    /// On a replica (`replicaUrl`): resolves with a read `Connection` that
    /// sees at least commit `token`, waiting up to `connectionTimeoutMillis`;
    /// then rejects with `LITEPOOL_TIMEOUT` naming both tokens.
    #[napi(ts_args_type = "token: number", ts_return_type = "Promise<Connection>")]
    pub fn read_at_least<'env>(&self, env: &'env Env, token: f64) -> Result<Unknown<'env>> {
        if !(token.is_finite() && token >= 0.0 && token.fract() == 0.0) {
            return Err(range_error(env, "Expected the \"token\" argument to be a non-negative integer"));
        }
        let make = NewConnection {
            executor: self.inner.executor(),
            delivery: self.delivery.clone(),
            safe_integers: self.safe_integers,
            strict: self.strict,
            site: None,
        };
        let pool = self.inner.clone();
        self.settle_on_thread(env, "litepool-read-at", move || {
            pool.read_at_least(token as u64).map(|lease| Value::Build(Box::new(move |env| make.into_js(env, lease))))
        })
    }

    /// `query()` on the calling thread (blocks it while waiting for a
    /// connection and while the SQL runs): for scripts and startup code.
    #[napi(
        ts_args_type = "sql: string, params?: unknown[] | Record<string, unknown>, options?: QueryOptions",
        ts_return_type = "Record<string, unknown>[]"
    )]
    pub fn query_sync<'env>(
        &self,
        env: &'env Env,
        sql: Unknown,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        self.call_sync(env, Op::All, sql, params, options)
    }

    /// `get()` on the calling thread.
    #[napi(
        ts_args_type = "sql: string, params?: unknown[] | Record<string, unknown>, options?: QueryOptions",
        ts_return_type = "Record<string, unknown> | undefined"
    )]
    pub fn get_sync<'env>(
        &self,
        env: &'env Env,
        sql: Unknown,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        self.call_sync(env, Op::First, sql, params, options)
    }

    /// `run()` on the calling thread.
    #[napi(
        ts_args_type = "sql: string, params?: unknown[] | Record<string, unknown>, options?: QueryOptions",
        ts_return_type = "RunResult"
    )]
    pub fn run_sync<'env>(
        &self,
        env: &'env Env,
        sql: Unknown,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        self.call_sync(env, Op::Run, sql, params, options)
    }

    /// `exec()` on the calling thread.
    #[napi(ts_args_type = "sql: string, options?: QueryOptions", ts_return_type = "void")]
    pub fn exec_sync<'env>(&self, env: &'env Env, sql: Unknown, options: Option<Unknown>) -> Result<Unknown<'env>> {
        self.call_sync(env, Op::Script, sql, None, options)
    }

    /// A prepared statement for `sql`, for SQL run many times: its calls
    /// skip converting the SQL text and routing it again, and build row
    /// objects from column-name keys made once. Each call still leases a
    /// connection for itself (from this pool, on the lane the statement
    /// needs) and uses that connection's statement cache. With
    /// `warmStatements` set, `sql` is pinned in the pool's warm cache: every
    /// connection opened from now on has it prepared before its first lease.
    ///
    /// Nothing is prepared here: an error in `sql` (or transaction control
    /// such as `BEGIN`, refused as in `query()`) is reported by the first call.
    ///
    /// ```js
    /// const byId = pool.prepare('SELECT * FROM items WHERE id = ?');
    /// const row = byId.getSync([42]);       // or await byId.get([42])
    /// ```
    #[napi(ts_args_type = "sql: string")]
    pub fn prepare(&self, env: Env, sql: Unknown) -> Result<Statement> {
        let sql = sql_arg(&env, sql)?;
        self.inner.pin_statement(&sql);
        Ok(Statement::new(self.inner.clone(), self.delivery.clone(), Sql::new(sql), self.safe_integers, self.strict))
    }

    /// Changes `max` and `min` on the live pool: idle connections above the
    /// new `max` close now, leased ones when released; queued calls get the
    /// new room at once. Throws `LITEPOOL_INVALID_CONFIG` for `max` 0 or
    /// `min` above `max`.
    #[napi]
    pub fn resize(&self, env: Env, max: u32, min: u32) -> Result<()> {
        self.inner.resize(max, min).map_err(|e| to_js_error(&env, &Failure::Core(e)))
    }

    /// Retires every connection gracefully (after a schema migration, say):
    /// idle ones close now, leased ones when released, fresh ones open as
    /// needed. Returns how many closed now.
    #[napi]
    pub fn evict(&self) -> u32 {
        u32::try_from(self.inner.evict()).unwrap_or(u32::MAX)
    }

    /// A snapshot of the pool's counts and its cumulative counters.
    #[napi]
    pub fn get_stats(&self) -> PoolStats {
        let s = self.inner.state();
        let c = self.inner.statistics();
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        PoolStats {
            active: s.active,
            idle: s.idle,
            total: s.total,
            max: s.max,
            min: s.min,
            waiting: s.waiting,
            acquired: n(c.acquired),
            acquired_direct: n(c.acquired_direct),
            acquired_waited: n(c.acquired_waited),
            timeouts: n(c.timeouts),
            created: n(c.created),
            create_failures: n(c.create_failures),
            closed_idle: n(c.closed_idle),
            closed_lifetime: n(c.closed_lifetime),
            closed_broken: n(c.closed_broken),
            rolled_back_on_return: n(c.rolled_back_on_return),
            leaks: n(c.leaks),
            reset_on_return: n(c.reset_on_return),
            closed_dirty: n(c.closed_dirty),
            gate_bypassed: n(c.gate_bypassed),
            closed_evicted: n(c.closed_evicted),
            wal_bytes: n(c.wal_bytes),
            wal_peak_bytes: n(c.wal_peak_bytes),
            checkpoints_passive: n(c.checkpoints_passive),
            checkpoints_truncate: n(c.checkpoints_truncate),
            checkpoints_incomplete: n(c.checkpoints_incomplete),
            checkpoint_pages: n(c.checkpoint_pages),
            backpressure_waits: n(c.backpressure_waits),
            wal_pinned: n(c.wal_pinned),
            shed: n(c.shed),
            expected_wait_millis: self.inner.expected_wait().as_secs_f64() * 1000.0,
            wait_time_millis: c.wait_time.as_secs_f64() * 1000.0,
        }
    }

    /// `'healthy'` (active below 80 % of max, nobody waiting), `'warning'`
    /// (below 90 %, or some callers waiting) or `'degraded'` (90 % and up,
    /// as many waiting as `max`, or closed).
    #[napi(ts_return_type = "'healthy' | 'warning' | 'degraded'")]
    pub fn health(&self) -> &'static str {
        self.inner.health().as_str()
    }

    /// The pool's metrics in the Prometheus text format.
    #[napi]
    pub fn metrics(&self) -> String {
        self.inner.metrics_text()
    }

    /// Whether `close()` was called (true at once, while it still waits).
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.closing.load(std::sync::atomic::Ordering::SeqCst) || self.inner.is_closed()
    }

    /// Closes the pool: new calls and every waiter fail with
    /// `LITEPOOL_CLOSED`, idle connections close, and leased ones close when
    /// released. Resolves once all are closed; rejects with
    /// `LITEPOOL_CLOSE_TIMEOUT` if leases are still out after `timeoutMillis`
    /// (default: 5000).
    #[napi(ts_args_type = "timeoutMillis?: number", ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env, timeout_millis: Option<Unknown>) -> Result<Unknown<'env>> {
        let timeout = millis_arg(env, timeout_millis, "timeoutMillis", 5000)?;
        self.closing.store(true, std::sync::atomic::Ordering::SeqCst);
        let pool = self.inner.clone();
        self.wait_on_thread(env, "litepool-close", move || pool.close(timeout))
    }

    /// Registers tenant `code` (`[a-z0-9_]{1,64}`): its database at `path` is
    /// attached as schema `tenant_<code>` to the connections of calls made
    /// with `{ tenant: code }`.
    #[napi]
    pub fn register_tenant(&self, env: Env, code: String, path: String) -> Result<()> {
        self.inner.register_tenant(&code, path).map_err(|e| to_js_error(&env, &Failure::Core(e)))
    }

    /// Removes a tenant: new calls for it fail at once; resolves when its
    /// leases are back, or rejects with `LITEPOOL_TENANT_BUSY` after
    /// `timeoutMillis` (default: 5000).
    #[napi(ts_args_type = "code: string, timeoutMillis?: number", ts_return_type = "Promise<void>")]
    pub fn remove_tenant<'env>(
        &self,
        env: &'env Env,
        code: String,
        timeout_millis: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        let timeout = millis_arg(env, timeout_millis, "timeoutMillis", 5000)?;
        let pool = self.inner.clone();
        self.wait_on_thread(env, "litepool-remove-tenant", move || pool.remove_tenant(&code, timeout))
    }

    /// What the pool knows of `sql`: `{ control, readOnly }` — `control`
    /// is `'begin'`, `'beginWrite'` (IMMEDIATE/EXCLUSIVE), `'commit'`,
    /// `'rollback'`, `'savepoint'` or `null`; `readOnly` is
    /// `sqlite3_stmt_readonly`'s answer, `undefined` until the pool has
    /// prepared the statement once. The node-sqlite3 drop-in schedules by it.
    #[napi(
        ts_return_type = "{ control: 'begin' | 'beginWrite' | 'commit' | 'rollback' | 'savepoint' | null, readOnly?: boolean }"
    )]
    pub fn classify(&self, env: Env, sql: String) -> Result<Object<'_>> {
        let mut out = Object::new(&env)?;
        let control = classify::control(&sql).map(|c| match c {
            classify::Control::Begin => "begin",
            classify::Control::BeginWrite => "beginWrite",
            classify::Control::Commit => "commit",
            classify::Control::Rollback => "rollback",
            classify::Control::Savepoint => "savepoint",
        });
        out.set_named_property("control", control)?;
        if let Some(ro) = self.inner.is_read_only(&sql) {
            out.set_named_property("readOnly", ro)?;
        }
        Ok(out)
    }

    /// Per-tenant counters, by code.
    #[napi]
    pub fn tenant_stats(&self) -> Vec<TenantStats> {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.inner
            .tenant_statistics()
            .into_iter()
            .map(|t| TenantStats {
                code: t.code,
                attaches: n(t.attaches),
                detaches: n(t.detaches),
                affinity_hits: n(t.affinity_hits),
                acquired: n(t.acquired),
                active: t.active,
                weight: t.weight,
                wait_time_millis: t.wait_time.as_secs_f64() * 1000.0,
                hold_time_millis: t.hold_time.as_secs_f64() * 1000.0,
            })
            .collect()
    }
}

impl Pool {
    fn open(env: &Env, path: &str, parsed: Parsed) -> Result<Self> {
        let events = std::sync::Arc::<crate::events::EventRelay>::default();
        let inner = litepool::Pool::builder(path)
            .config(parsed.config)
            .events(crate::events::Hooks(std::sync::Arc::clone(&events)))
            .build()
            .map_err(|e| to_js_error(env, &Failure::Core(e)))?;
        Ok(Pool {
            inner,
            events,
            delivery: Delivery::new(env)?,
            safe_integers: parsed.safe_integers,
            strict: parsed.strict_parameters,
            closing: std::sync::atomic::AtomicBool::new(false),
            traced: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// `close()` and `removeTenant()` wait (up to their timeout) for leases
    /// to come back: on a thread of their own, so neither the event loop nor
    /// a libuv worker is held meanwhile.
    fn wait_on_thread<'env, F>(&self, env: &'env Env, name: &str, wait: F) -> Result<Unknown<'env>>
    where
        F: FnOnce() -> litepool::Result<()> + Send + 'static,
    {
        let (pending, promise) = self.delivery.promise(env)?;
        // If the OS refuses a thread, the closure is dropped with `pending`,
        // which then rejects (LITEPOOL_PANIC) instead of hanging.
        let _ = std::thread::Builder::new().name(name.to_owned()).spawn(move || {
            pending.settle(wait().map(|()| Value::Done).map_err(Failure::Core));
        });
        Ok(promise)
    }

    /// Like `wait_on_thread`, resolving with what `wait` returns.
    fn settle_on_thread<'env, F>(&self, env: &'env Env, name: &str, wait: F) -> Result<Unknown<'env>>
    where
        F: FnOnce() -> litepool::Result<Value> + Send + 'static,
    {
        let (pending, promise) = self.delivery.promise(env)?;
        let _ = std::thread::Builder::new().name(name.to_owned()).spawn(move || {
            pending.settle(wait().map_err(Failure::Core));
        });
        Ok(promise)
    }

    /// `new Error().stack` when leak detection or a trace hook is on, else `None`.
    fn capture_site(&self, env: &Env) -> Option<String> {
        if self.inner.config().leak_threshold.is_none() && !self.traced.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        let err = env.create_error(napi::Error::from_reason("acquired here")).ok()?;
        let stack: String = err.get_named_property("stack").ok()?;
        Some(stack)
    }

    fn call_of(&self, env: &Env, op: Op, sql: Unknown, params: Option<Unknown>) -> Result<Call> {
        let sql = pooled_sql(env, &self.inner, sql)?;
        let params = if op == Op::Script { Params::None } else { params_from_js(env, params)? };
        Ok(Call::new(op, sql).params(params).rules(rules(self.strict)))
    }

    fn call<'env>(
        &self,
        env: &'env Env,
        op: Op,
        sql: Unknown,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        let call = self.call_of(env, op, sql, params)?;
        let mut opts = parse_query_options(env, options)?;
        opts.site = self.capture_site(env).map(AcquireSite::Text);
        call_async(env, &self.inner, &self.delivery, call, opts, self.safe_integers)
    }

    fn call_sync<'env>(
        &self,
        env: &'env Env,
        op: Op,
        sql: Unknown,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        let call = self.call_of(env, op, sql, params)?;
        let mut opts = parse_query_options(env, options)?;
        opts.site = self.capture_site(env).map(AcquireSite::Text);
        let value = run_sync(env, &self.inner, &call, opts, self.safe_integers, self.delivery.shapes())?;
        // SAFETY: `value` was created on this env by the call.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), value) })
    }
}

fn millis_arg(env: &Env, value: Option<Unknown>, name: &str, default: u64) -> Result<Duration> {
    let Some(value) = value else { return Ok(Duration::from_millis(default)) };
    match value.get_type()? {
        napi::ValueType::Undefined => Ok(Duration::from_millis(default)),
        napi::ValueType::Number => {
            // SAFETY: get_type() said number.
            let n = unsafe { value.cast::<f64>()? };
            if n.fract() != 0.0 || !n.is_finite() || n < 0.0 {
                return Err(crate::error::range_error(
                    env,
                    format!("Expected \"{name}\" to be a non-negative integer"),
                ));
            }
            Ok(Duration::from_millis(n as u64))
        }
        _ => Err(type_error(env, format!("Expected \"{name}\" to be a non-negative integer"))),
    }
}
