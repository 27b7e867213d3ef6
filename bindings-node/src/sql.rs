//! One SQL call: what to run ([`Job`]), running it on a lease (on a libuv
//! worker, or inline for the `*Sync` twins) and turning the outcome into JS.

use litepool::rusqlite::types::Value;
use std::sync::Arc;

use litepool::rusqlite::{self, ffi, params_from_iter, Statement};
use litepool::{Executed, Lane, PooledConnection};
use napi::bindgen_prelude::*;
use napi::{sys, Env};

use crate::error::Failure;
use crate::values::{row_to_js, rows_to_js, value_to_js, Params};

/// What a call does with its statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Every row.
    All,
    /// The first row.
    Get,
    /// For its effect: `{ changes, lastInsertRowid }`.
    Run,
    /// A multi-statement script, no parameters.
    Exec,
    /// Only prepares the statement (the node-sqlite3 drop-in's `prepare`).
    Prepare,
    /// Begins a transaction the way the core does for the lease's lane:
    /// `BEGIN IMMEDIATE` on a write lease, `BEGIN DEFERRED` otherwise.
    Begin,
}

/// One call, owned, so it can cross to a worker thread.
#[derive(Debug, Clone)]
pub struct Job {
    pub op: Op,
    /// Shared, so a prepared `Statement` hands it to each call without a copy.
    pub sql: Arc<str>,
    pub params: Params,
    /// Pool API: the parameter count must match and named parameters must
    /// all be given. node-sqlite3 mode: missing ones bind NULL.
    pub strict: bool,
    pub safe_integers: bool,
}

/// What a call produced.
#[derive(Debug)]
pub enum Outcome {
    Rows(Vec<String>, Vec<Vec<Value>>),
    Row(Option<(Vec<String>, Vec<Value>)>),
    Run(Executed),
    Done,
}

/// Runs `job` on `conn`.
pub fn run_job(conn: &mut PooledConnection, job: &Job) -> std::result::Result<Outcome, Failure> {
    if job.op == Op::Begin {
        let mut tx = conn.transaction()?;
        // Left open on purpose: COMMIT/ROLLBACK come as later calls.
        tx.set_drop_behavior(rusqlite::DropBehavior::Ignore);
        return Ok(Outcome::Done);
    }
    let conn = &*conn;
    let on_lane = |e: rusqlite::Error| Failure::Core(litepool::Error::on_lane(e, conn.lane()));
    match job.op {
        Op::Begin => Ok(Outcome::Done),
        Op::Exec => {
            conn.execute_batch(&job.sql)?;
            Ok(Outcome::Done)
        }
        Op::Prepare => {
            conn.prepare_cached(&job.sql).map_err(on_lane)?;
            Ok(Outcome::Done)
        }
        Op::All => {
            let values = bind_values(&*conn.prepare_cached(&job.sql).map_err(on_lane)?, job)?;
            let rows = conn.query_rows(&job.sql, params_from_iter(values))?;
            Ok(Outcome::Rows(rows.columns, rows.rows))
        }
        Op::Run => {
            let values = bind_values(&*conn.prepare_cached(&job.sql).map_err(on_lane)?, job)?;
            Ok(Outcome::Run(conn.run(&job.sql, params_from_iter(values))?))
        }
        Op::Get => {
            // One statement-cache lookup serves binding and running.
            let mut stmt = conn.prepare_cached(&job.sql).map_err(on_lane)?;
            let values = bind_values(&stmt, job)?;
            let mut rows = stmt.query(params_from_iter(values)).map_err(on_lane)?;
            let row = match rows.next().map_err(on_lane)? {
                Some(row) => {
                    // Names read after the step: a statement SQLite had to
                    // re-prepare (the schema changed) has its new names only then.
                    let stmt = row.as_ref();
                    let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
                    let mut values = Vec::with_capacity(columns.len());
                    for i in 0..columns.len() {
                        values.push(row.get::<_, Value>(i).map_err(on_lane)?);
                    }
                    Some((columns, values))
                }
                None => None,
            };
            Ok(Outcome::Row(row))
        }
    }
}

/// Lines the given parameters up with `stmt`'s placeholders (`job.sql`,
/// prepared), by position and by name.
pub fn bind_values(stmt: &Statement<'_>, job: &Job) -> std::result::Result<Vec<Value>, Failure> {
    let count = stmt.parameter_count();
    match &job.params {
        Params::None if count == 0 || !job.strict => Ok(vec![Value::Null; count]),
        Params::None => Err(rusqlite::Error::InvalidParameterCount(0, count).into()),
        Params::Positional(given) => {
            if given.len() > count || (job.strict && given.len() != count) {
                if job.strict {
                    return Err(rusqlite::Error::InvalidParameterCount(given.len(), count).into());
                }
                return Err(range_failure());
            }
            let mut out = given.clone();
            out.resize(count, Value::Null);
            Ok(out)
        }
        Params::Named(given) => {
            let mut out = Vec::with_capacity(count);
            for i in 1..=count {
                let value = match stmt.parameter_name(i) {
                    Some(name) => lookup(given, name),
                    None => given.iter().find(|(k, _)| k.parse::<usize>() == Ok(i)).map(|(_, v)| v.clone()),
                };
                match value {
                    Some(v) => out.push(v),
                    None if job.strict => {
                        let name = stmt.parameter_name(i).map_or_else(|| format!("?{i}"), str::to_owned);
                        return Err(rusqlite::Error::InvalidParameterName(name).into());
                    }
                    None => out.push(Value::Null),
                }
            }
            Ok(out)
        }
    }
}

/// `:a` is found under `:a` or `a`; `?5` under `5`.
fn lookup(given: &[(String, Value)], name: &str) -> Option<Value> {
    let bare = &name[1..];
    given.iter().find(|(k, _)| k == name).or_else(|| given.iter().find(|(k, _)| k == bare)).map(|(_, v)| v.clone())
}

/// SQLITE_RANGE, as SQLite reports binding past the last placeholder.
fn range_failure() -> Failure {
    rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_RANGE), Some("column index out of range".to_owned()))
        .into()
}

/// The JS value for an outcome.
pub fn outcome_to_js<'env>(env: &'env Env, outcome: Outcome, safe_integers: bool) -> Result<Unknown<'env>> {
    let raw = match outcome {
        Outcome::Rows(columns, rows) => rows_to_js(env, &columns, rows, safe_integers)?,
        Outcome::Row(Some((columns, row))) => row_to_js(env, &columns, row, safe_integers)?,
        // SAFETY: creating `undefined` on the JS thread.
        Outcome::Row(None) | Outcome::Done => unsafe { Undefined::to_napi_value(env.raw(), ())? },
        Outcome::Run(ex) => run_result(env.raw(), ex, safe_integers)?,
    };
    // SAFETY: `raw` was created on this env just now.
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), raw) })
}

fn run_result(env: sys::napi_env, ex: Executed, safe_integers: bool) -> Result<sys::napi_value> {
    let changes = value_to_js(env, Value::Integer(i64::try_from(ex.changes).unwrap_or(i64::MAX)), false)?;
    let rowid = value_to_js(env, Value::Integer(ex.last_insert_rowid), safe_integers)?;
    let mut obj = std::ptr::null_mut();
    // SAFETY: plain napi calls on the JS thread with values created here.
    unsafe {
        if sys::napi_create_object(env, &mut obj) != sys::Status::napi_ok
            || sys::napi_set_named_property(env, obj, c"changes".as_ptr(), changes) != sys::Status::napi_ok
            || sys::napi_set_named_property(env, obj, c"lastInsertRowid".as_ptr(), rowid) != sys::Status::napi_ok
        {
            return Err(napi::Error::from_reason("could not build the run() result"));
        }
    }
    Ok(obj)
}

/// The lane a `mode` option names.
pub fn lane_of(mode: Option<&str>) -> Option<Lane> {
    match mode {
        None | Some("any") => Some(Lane::Any),
        Some("read") => Some(Lane::Read),
        Some("write") => Some(Lane::Write),
        Some(_) => None,
    }
}
