//! `Statement`: SQL prepared once in JS (`pool.prepare(sql)`), run many times.
//!
//! What it saves per call, against `pool.getSync(sql, params)`: converting
//! the SQL text from JS, looking its lane up (the core's `Sql` remembers
//! it), and looking up its row factory among the pool's. Each call still
//! leases its own connection and runs on that connection's statement
//! cache. The `*Sync` methods are replaced, on their first call, by raw
//! functions on the object itself (`sync_call::install`).

use std::cell::Cell;
use std::rc::Rc;

use litepool::sql::{Call, Op, Sql};
use napi::bindgen_prelude::*;
use napi::Env;
use napi_derive::napi;

use crate::call::{call_async, rules};
use crate::delivery::Delivery;
use crate::options::parse_query_options;
use crate::statement_fns::{install, StatementCalls};
use crate::values::params_from_js;

/// A prepared statement, made by `pool.prepare(sql)`. Its calls lease a
/// connection each, like the pool's own `get/query/run`.
#[napi(custom_finalize)]
pub struct Statement {
    delivery: Delivery,
    sync: Rc<StatementCalls>,
    /// The raw `*Sync` functions are on the object.
    installed: Cell<bool>,
}

impl Statement {
    pub(crate) fn new(pool: litepool::Pool, delivery: Delivery, sql: Sql, safe_integers: bool, strict: bool) -> Self {
        let sync = Rc::new(StatementCalls::new(pool, sql, safe_integers, strict));
        Statement { delivery, sync, installed: Cell::new(false) }
    }
}

#[napi]
impl Statement {
    /// The SQL text this statement runs.
    #[napi(getter)]
    pub fn source(&self) -> String {
        self.sync.sql.as_str().to_owned()
    }

    /// Runs the statement and resolves with every row, as objects keyed by column name.
    #[napi(
        ts_args_type = "params?: unknown[] | Record<string, unknown>, options?: QueryOptions",
        ts_return_type = "Promise<Record<string, unknown>[]>"
    )]
    pub fn all<'env>(
        &self,
        env: &'env Env,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        self.call(env, Op::All, params, options)
    }

    /// Runs the statement and resolves with its first row, or `undefined`.
    #[napi(
        ts_args_type = "params?: unknown[] | Record<string, unknown>, options?: QueryOptions",
        ts_return_type = "Promise<Record<string, unknown> | undefined>"
    )]
    pub fn get<'env>(
        &self,
        env: &'env Env,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        self.call(env, Op::First, params, options)
    }

    /// Runs the statement for its effect; resolves with `{ changes, lastInsertRowid }`.
    #[napi(
        ts_args_type = "params?: unknown[] | Record<string, unknown>, options?: QueryOptions",
        ts_return_type = "Promise<RunResult>"
    )]
    pub fn run<'env>(
        &self,
        env: &'env Env,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        self.call(env, Op::Run, params, options)
    }

    /// `all()` on the calling thread (blocks it while waiting for a
    /// connection and while the SQL runs).
    #[napi(
        ts_args_type = "params?: unknown[] | Record<string, unknown>, options?: QueryOptions",
        ts_return_type = "Record<string, unknown>[]"
    )]
    pub fn all_sync<'env>(
        &self,
        env: &'env Env,
        this: This,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        self.call_sync(env, this, Op::All, params, options)
    }

    /// `get()` on the calling thread.
    #[napi(
        ts_args_type = "params?: unknown[] | Record<string, unknown>, options?: QueryOptions",
        ts_return_type = "Record<string, unknown> | undefined"
    )]
    pub fn get_sync<'env>(
        &self,
        env: &'env Env,
        this: This,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        self.call_sync(env, this, Op::First, params, options)
    }

    /// `run()` on the calling thread.
    #[napi(
        ts_args_type = "params?: unknown[] | Record<string, unknown>, options?: QueryOptions",
        ts_return_type = "RunResult"
    )]
    pub fn run_sync<'env>(
        &self,
        env: &'env Env,
        this: This,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        self.call_sync(env, this, Op::Run, params, options)
    }
}

impl Statement {
    fn call<'env>(
        &self,
        env: &'env Env,
        op: Op,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        let sync = &self.sync;
        let params = params_from_js(env, params)?;
        let call = Call::new(op, sync.sql.clone()).params(params).rules(rules(sync.strict));
        let opts = parse_query_options(env, options)?;
        call_async(env, &sync.pool, &self.delivery, call, opts, sync.safe_integers)
    }

    /// A `*Sync` call through napi-rs (the first on this object, or one
    /// made through the prototype): runs it, and puts the raw functions on
    /// the object for the calls after.
    fn call_sync<'env>(
        &self,
        env: &'env Env,
        this: This,
        op: Op,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        if !self.installed.replace(true) {
            // Best effort: a frozen object keeps the prototype's methods.
            let _ = install(env.raw(), this.raw(), &self.sync);
        }
        let raw = |v: Option<Unknown>| v.map_or(std::ptr::null_mut(), |v| v.raw());
        let value = self.sync.call(env, op, raw(params), raw(options))?;
        // SAFETY: `value` was created on this env by the call.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), value) })
    }
}

impl ObjectFinalize for Statement {
    /// Garbage-collected: drops the row factories' references once no raw
    /// function holds the statement.
    fn finalize(self, env: Env) -> Result<()> {
        if Rc::strong_count(&self.sync) == 1 {
            self.sync.release(env.raw());
        }
        Ok(())
    }
}
