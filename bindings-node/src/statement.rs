//! `Statement`: SQL prepared once in JS (`pool.prepare(sql)`), run many times.
//!
//! What it saves per call, against `pool.getSync(sql, params)`: converting
//! the SQL text from JS, checking and routing it (the pool's routing map,
//! under its lock), and creating the column-name strings of every row
//! object. Each call still leases its own connection (on the lane the pool
//! learned for this SQL) and runs on that connection's statement cache.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use litepool::rusqlite::types::Value;
use litepool::{AcquireOptions as CoreAcquire, Lane, PooledConnection};
use napi::bindgen_prelude::*;
use napi::{sys, Env};
use napi_derive::napi;

use crate::error::{to_js_error, Failure};
use crate::executor::Executor;
use crate::options::parse_query_options;
use crate::pool::dispatch;
use crate::sql::{outcome_to_js, run_job, Job, Op, Outcome};
use crate::values::{params_from_js, row_object};

/// A prepared statement, made by `pool.prepare(sql)`. Its calls lease a
/// connection each, like the pool's own `get/query/run`.
#[napi(custom_finalize)]
pub struct Statement {
    pool: litepool::Pool,
    executor: Executor,
    sql: Arc<str>,
    safe_integers: bool,
    strict: bool,
    /// The lane the pool learned for `sql`, once a call has been routed.
    lane: Cell<Option<Lane>>,
    /// Column-name keys of the last result, kept as JS strings (the `*Sync`
    /// calls, which run on the JS thread).
    keys: RefCell<Keys>,
}

/// Column names, and a reference to a JS array of them as strings.
struct Keys {
    names: Vec<String>,
    /// Null when none is made yet.
    array: sys::napi_ref,
}

impl Default for Keys {
    fn default() -> Self {
        Keys { names: Vec::new(), array: std::ptr::null_mut() }
    }
}

impl Statement {
    pub(crate) fn new(
        pool: litepool::Pool,
        executor: Executor,
        sql: Arc<str>,
        safe_integers: bool,
        strict: bool,
    ) -> Self {
        Statement {
            pool,
            executor,
            sql,
            safe_integers,
            strict,
            lane: Cell::new(None),
            keys: RefCell::new(Keys::default()),
        }
    }
}

#[napi]
impl Statement {
    /// The SQL text this statement runs.
    #[napi(getter)]
    pub fn source(&self) -> String {
        self.sql.to_string()
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
        self.call(env, Op::Get, params, options)
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
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        self.call_sync(env, Op::All, params, options)
    }

    /// `get()` on the calling thread.
    #[napi(
        ts_args_type = "params?: unknown[] | Record<string, unknown>, options?: QueryOptions",
        ts_return_type = "Record<string, unknown> | undefined"
    )]
    pub fn get_sync<'env>(
        &self,
        env: &'env Env,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        self.call_sync(env, Op::Get, params, options)
    }

    /// `run()` on the calling thread.
    #[napi(
        ts_args_type = "params?: unknown[] | Record<string, unknown>, options?: QueryOptions",
        ts_return_type = "RunResult"
    )]
    pub fn run_sync<'env>(
        &self,
        env: &'env Env,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        self.call_sync(env, Op::Run, params, options)
    }
}

impl Statement {
    fn job(&self, env: &Env, op: Op, params: Option<Unknown>) -> Result<Job> {
        let params = params_from_js(env, params)?;
        Ok(Job { op, sql: Arc::clone(&self.sql), params, strict: self.strict, safe_integers: self.safe_integers })
    }

    fn call<'env>(
        &self,
        env: &'env Env,
        op: Op,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        let job = self.job(env, op, params)?;
        let tenant = parse_query_options(env, options)?;
        dispatch(env, &self.pool, &self.executor, job, tenant)
    }

    fn call_sync<'env>(
        &self,
        env: &'env Env,
        op: Op,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        let job = self.job(env, op, params)?;
        let tenant = parse_query_options(env, options)?;
        let result = self.lease(tenant).map_err(Failure::Core).and_then(|mut lease| run_job(&mut lease, &job));
        match result {
            Ok(Outcome::Row(Some((columns, row)))) => {
                let obj = self.row_to_js(env, &columns, row)?;
                // SAFETY: `obj` was created on this env just now.
                Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), obj) })
            }
            Ok(Outcome::Rows(columns, rows)) => self.rows_to_js(env, &columns, rows),
            Ok(outcome) => outcome_to_js(env, outcome, job.safe_integers),
            Err(f) => Err(to_js_error(env, &f)),
        }
    }

    /// The first call is routed by the core (which refuses transaction
    /// control and learns the lane); later calls lease that lane directly.
    fn lease(&self, tenant: Option<String>) -> litepool::Result<PooledConnection> {
        match self.lane.get() {
            Some(lane) => self.pool.acquire(CoreAcquire { lane, tenant, ..CoreAcquire::default() }),
            None => {
                let lease = self.pool.routed(tenant.as_deref(), &self.sql)?;
                self.lane.set(self.pool.known_lane(&self.sql));
                Ok(lease)
            }
        }
    }

    /// The JS keys for `columns`: the kept ones, or new ones when the
    /// columns changed (the first call, or a schema change under `SELECT *`).
    /// Kept as one referenced JS array (Node 20 cannot reference a string).
    fn keys(&self, env: &Env, columns: &[String]) -> Result<Vec<sys::napi_value>> {
        let raw = env.raw();
        let mut keys = self.keys.borrow_mut();
        let mut array = std::ptr::null_mut();
        if keys.names != columns || keys.array.is_null() {
            keys.release(raw);
            // SAFETY: plain napi calls on the JS thread; the array and its
            // strings are created here and the reference is owned by `keys`.
            unsafe {
                check(sys::napi_create_array_with_length(raw, columns.len(), &mut array))?;
                for (i, name) in columns.iter().enumerate() {
                    let value = String::to_napi_value(raw, name.clone())?;
                    check(sys::napi_set_element(raw, array, i as u32, value))?;
                }
                check(sys::napi_create_reference(raw, array, 1, &mut keys.array))?;
            }
            keys.names = columns.to_vec();
        } else {
            // SAFETY: `keys.array` is a live strong reference made on this env.
            check(unsafe { sys::napi_get_reference_value(raw, keys.array, &mut array) })?;
        }
        (0..columns.len())
            .map(|i| {
                let mut value = std::ptr::null_mut();
                // SAFETY: `array` is the live keys array, `i` within its length.
                check(unsafe { sys::napi_get_element(raw, array, i as u32, &mut value) })?;
                Ok(value)
            })
            .collect()
    }

    fn row_to_js(&self, env: &Env, columns: &[String], row: Vec<Value>) -> Result<sys::napi_value> {
        let keys = self.keys(env, columns)?;
        row_object(env.raw(), &keys, row, self.safe_integers)
    }

    fn rows_to_js<'env>(&self, env: &'env Env, columns: &[String], rows: Vec<Vec<Value>>) -> Result<Unknown<'env>> {
        let raw = env.raw();
        let keys = self.keys(env, columns)?;
        let mut array = std::ptr::null_mut();
        // SAFETY: plain napi calls on the JS thread with values created here.
        unsafe {
            check(sys::napi_create_array_with_length(raw, rows.len(), &mut array))?;
            for (i, row) in rows.into_iter().enumerate() {
                let obj = row_object(raw, &keys, row, self.safe_integers)?;
                check(sys::napi_set_element(raw, array, i as u32, obj))?;
            }
            Ok(Unknown::from_raw_unchecked(raw, array))
        }
    }
}

impl Keys {
    /// Deletes the references (on the JS thread).
    fn release(&mut self, env: sys::napi_env) {
        if !self.array.is_null() {
            // SAFETY: the reference was made on this env and is deleted once
            // (the field is nulled right after).
            unsafe { sys::napi_delete_reference(env, self.array) };
            self.array = std::ptr::null_mut();
        }
        self.names.clear();
    }
}

impl ObjectFinalize for Statement {
    /// Garbage-collected: drops the column-name references.
    fn finalize(self, env: Env) -> Result<()> {
        self.keys.borrow_mut().release(env.raw());
        Ok(())
    }
}

fn check(status: sys::napi_status) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(Status::from(status), "a napi call failed while building a row".to_owned()))
    }
}
