//! `Statement`: SQL prepared once in JS (`pool.prepare(sql)`), run many times.
//!
//! What it saves per call, against `pool.getSync(sql, params)`: converting
//! the SQL text from JS, looking its lane up (the core's `Sql` remembers
//! it), and creating the column-name strings of every row object. Each call
//! still leases its own connection and runs on that connection's statement
//! cache.

use std::cell::RefCell;

use litepool::rusqlite::types::Value;
use litepool::sql::{Call, Op, Sql};
use napi::bindgen_prelude::*;
use napi::{sys, Env};
use napi_derive::napi;

use crate::call::{call_async, rules};
use crate::delivery::Delivery;
use crate::error::{to_js_error, Failure};
use crate::options::parse_query_options;
use crate::values::{
    check, make_row_factory, params_from_js, produced_to_js, row_from_factory, row_object, rows_array,
};

/// A prepared statement, made by `pool.prepare(sql)`. Its calls lease a
/// connection each, like the pool's own `get/query/run`.
#[napi(custom_finalize)]
pub struct Statement {
    pool: litepool::Pool,
    delivery: Delivery,
    sql: Sql,
    safe_integers: bool,
    strict: bool,
    /// Column-name keys of the last result, kept as JS strings (the `*Sync`
    /// calls, which run on the JS thread).
    keys: RefCell<Keys>,
}

/// Column names, and a reference to a JS array of them as strings, and
/// to a row factory for them (see `values::make_row_factory`).
struct Keys {
    names: Vec<String>,
    /// Null when none is made yet.
    array: sys::napi_ref,
    /// Null when none is made yet, or none can be (see `row_factory_source`).
    factory: sys::napi_ref,
}

impl Default for Keys {
    fn default() -> Self {
        Keys { names: Vec::new(), array: std::ptr::null_mut(), factory: std::ptr::null_mut() }
    }
}

impl Statement {
    pub(crate) fn new(pool: litepool::Pool, delivery: Delivery, sql: Sql, safe_integers: bool, strict: bool) -> Self {
        Statement { pool, delivery, sql, safe_integers, strict, keys: RefCell::new(Keys::default()) }
    }
}

#[napi]
impl Statement {
    /// The SQL text this statement runs.
    #[napi(getter)]
    pub fn source(&self) -> String {
        self.sql.as_str().to_owned()
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
        self.call_sync(env, Op::First, params, options)
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
    fn call_of(&self, env: &Env, op: Op, params: Option<Unknown>) -> Result<Call> {
        let params = params_from_js(env, params)?;
        Ok(Call::new(op, self.sql.clone()).params(params).rules(rules(self.strict)))
    }

    fn call<'env>(
        &self,
        env: &'env Env,
        op: Op,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        let call = self.call_of(env, op, params)?;
        let opts = parse_query_options(env, options)?;
        call_async(env, &self.pool, &self.delivery, call, opts, self.safe_integers)
    }

    fn call_sync<'env>(
        &self,
        env: &'env Env,
        op: Op,
        params: Option<Unknown>,
        options: Option<Unknown>,
    ) -> Result<Unknown<'env>> {
        let call = self.call_of(env, op, params)?;
        let opts = parse_query_options(env, options)?;
        let produced = self.pool.call(opts, &call).map_err(|e| to_js_error(env, &Failure::Core(e)))?;
        match op {
            Op::First => match produced.rows.into_iter().next() {
                Some(row) => {
                    let names: Vec<&str> = produced.columns.iter().map(|c| c.name.as_str()).collect();
                    let obj = self.row_to_js(env, &names, row)?;
                    // SAFETY: `obj` was created on this env just now.
                    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), obj) })
                }
                None => produced_to_js(env, op, litepool::sql::Produced::default(), self.safe_integers),
            },
            Op::All => {
                let names: Vec<&str> = produced.columns.iter().map(|c| c.name.as_str()).collect();
                let keys = self.keys(env, &names)?;
                let array = rows_array(env.raw(), &keys, produced.rows, self.safe_integers)?;
                // SAFETY: `array` was created on this env just now.
                Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), array) })
            }
            _ => produced_to_js(env, op, produced, self.safe_integers),
        }
    }

    /// The JS keys for `columns`: the kept ones, or new ones when the
    /// columns changed (the first call, or a schema change under `SELECT *`).
    /// Kept as one referenced JS array (Node 20 cannot reference a string).
    fn keys(&self, env: &Env, columns: &[&str]) -> Result<Vec<sys::napi_value>> {
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
                    let value = String::to_napi_value(raw, (*name).to_owned())?;
                    check(sys::napi_set_element(raw, array, i as u32, value))?;
                }
                check(sys::napi_create_reference(raw, array, 1, &mut keys.array))?;
            }
            keys.names = columns.iter().map(|c| (*c).to_owned()).collect();
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

    /// One row object: through the statement's row factory (made on the
    /// first row, again when the columns change), else key by key.
    fn row_to_js(&self, env: &Env, columns: &[&str], row: Vec<Value>) -> Result<sys::napi_value> {
        let raw = env.raw();
        let factory = {
            let mut keys = self.keys.borrow_mut();
            if keys.names != columns {
                keys.release(raw);
                keys.names = columns.iter().map(|c| (*c).to_owned()).collect();
            }
            if keys.factory.is_null() {
                if let Some(f) = make_row_factory(raw, &keys.names)? {
                    // SAFETY: `f` is a live function on this env; the reference is owned by `keys`.
                    check(unsafe { sys::napi_create_reference(raw, f, 1, &mut keys.factory) })?;
                }
            }
            let mut f = std::ptr::null_mut();
            if !keys.factory.is_null() {
                // SAFETY: `keys.factory` is a live strong reference made on this env.
                check(unsafe { sys::napi_get_reference_value(raw, keys.factory, &mut f) })?;
            }
            f
        };
        if !factory.is_null() {
            return row_from_factory(raw, factory, row, self.safe_integers);
        }
        let keys = self.keys(env, columns)?;
        row_object(raw, &keys, row, self.safe_integers)
    }
}

impl Keys {
    /// Deletes the references (on the JS thread).
    fn release(&mut self, env: sys::napi_env) {
        for r in [&mut self.array, &mut self.factory] {
            if !r.is_null() {
                // SAFETY: the reference was made on this env and is deleted
                // once (the field is nulled right after).
                unsafe { sys::napi_delete_reference(env, *r) };
                *r = std::ptr::null_mut();
            }
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
