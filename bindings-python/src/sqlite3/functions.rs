//! SQL functions, aggregates, window functions and collations written in
//! Python, registered on a drop-in connection's lease (which the core then
//! pins: see `LazySession`), with the standard library's error behaviour:
//! an exception becomes `OperationalError` ("user-defined function raised
//! exception"), `MemoryError` becomes `SQLITE_NOMEM` and `OverflowError`
//! `SQLITE_TOOBIG` (`DataError`); the exception itself goes to
//! `sys.unraisablehook` when callback tracebacks are enabled.

use std::cmp::Ordering;
use std::panic::{RefUnwindSafe, UnwindSafe};

use pyo3::exceptions::{PyAttributeError, PyMemoryError, PyOverflowError};
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt, PyString, PyTuple};
use rusqlite::functions::{Aggregate, Context, FunctionFlags, WindowAggregate};
use rusqlite::types::Value;
use rusqlite::{ffi, Connection};

use crate::sqlite3::convert::{to_py, TextMode};
use crate::sqlite3::params::memoryview;
use crate::sqlite3::report;

/// The error SQLite reports for a failed callback, after reporting the
/// Python exception (`obj`: the callback, for `sys.unraisablehook`).
fn failed(py: Python<'_>, err: PyErr, obj: &Bound<'_, PyAny>, message: &str) -> rusqlite::Error {
    let code = if err.is_instance_of::<PyMemoryError>(py) {
        Some(ffi::SQLITE_NOMEM)
    } else if err.is_instance_of::<PyOverflowError>(py) {
        Some(ffi::SQLITE_TOOBIG)
    } else {
        None
    };
    report(py, err, obj);
    match code {
        Some(code) => rusqlite::Error::SqliteFailure(ffi::Error::new(code), None),
        None => rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_ERROR), Some(message.to_owned())),
    }
}

/// A plain SQL error with `message`, no Python exception to report.
fn plain(message: &str) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_ERROR), Some(message.to_owned()))
}

/// The function's arguments as Python values.
fn args<'py>(py: Python<'py>, ctx: &Context<'_>) -> PyResult<Bound<'py, PyTuple>> {
    let values = (0..ctx.len()).map(|i| to_py(py, ctx.get_raw(i), &TextMode::Str, "")).collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, values)
}

/// What a callback returned, as a SQL result; `Ok(None)` for a type SQLite
/// cannot store (no Python exception raised).
fn result_value(obj: &Bound<'_, PyAny>) -> PyResult<Option<Value>> {
    if obj.is_none() {
        return Ok(Some(Value::Null));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        return Ok(Some(Value::Integer(
            i.extract::<i64>()
                .map_err(|_| PyOverflowError::new_err("Python int too large to convert to SQLite INTEGER"))?,
        )));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Some(Value::Real(f.value())));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Some(Value::Text(s.to_str()?.to_owned())));
    }
    match memoryview(obj) {
        Ok(view) => {
            if !view.getattr("c_contiguous")?.is_truthy()? {
                return Err(pyo3::exceptions::PyBufferError::new_err("underlying buffer is not C-contiguous"));
            }
            Ok(Some(Value::Blob(view.call_method0("tobytes")?.extract::<Vec<u8>>()?)))
        }
        Err(_) => Ok(None),
    }
}

/// Calls `func` and turns its result into a SQL value, failing with
/// `message` as SQLite's error.
fn call_for_result<'py>(
    py: Python<'py>,
    call: impl FnOnce() -> PyResult<Bound<'py, PyAny>>,
    obj: &Bound<'py, PyAny>,
    message: &str,
) -> rusqlite::Result<Value> {
    let out = call().and_then(|r| result_value(&r));
    match out {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(plain(message)),
        Err(e) => Err(failed(py, e, obj, message)),
    }
}

fn flags(deterministic: bool) -> FunctionFlags {
    let mut flags = FunctionFlags::SQLITE_UTF8;
    if deterministic {
        flags |= FunctionFlags::SQLITE_DETERMINISTIC;
    }
    flags
}

/// `create_function`: registers `func` (or removes the function for `None`).
pub fn create_function(
    conn: &Connection,
    name: &str,
    narg: i32,
    func: Option<Py<PyAny>>,
    deterministic: bool,
) -> rusqlite::Result<()> {
    let Some(func) = func else { return conn.remove_function(name, narg) };
    conn.create_scalar_function(name, narg, flags(deterministic), move |ctx| {
        Python::attach(|py| {
            let f = func.bind(py);
            call_for_result(py, || f.call1(args(py, ctx)?), f, "user-defined function raised exception")
        })
    })
}

/// An aggregate's instance (one per group).
pub struct Instance(Py<PyAny>);
impl UnwindSafe for Instance {}
impl RefUnwindSafe for Instance {}

/// An aggregate or window function: a Python class.
pub struct PyAggregate {
    class: Py<PyAny>,
}

fn aggregate_error(what: &str, method: &str) -> String {
    format!("user-defined aggregate's '{method}' method {what}")
}

impl PyAggregate {
    /// Calls `method` on the instance with `ctx`'s arguments (if any).
    fn call(&self, method: &str, acc: &Instance, ctx: Option<&Context<'_>>) -> rusqlite::Result<()> {
        Python::attach(|py| {
            let class = self.class.bind(py);
            let bound = match acc.0.bind(py).getattr(method) {
                Ok(m) => m,
                Err(e) => return Err(failed(py, e, class, &aggregate_error("not defined", method))),
            };
            let called = match ctx {
                Some(ctx) => args(py, ctx).and_then(|a| bound.call1(a)),
                None => bound.call0(),
            };
            called.map(drop).map_err(|e| failed(py, e, class, &aggregate_error("raised error", method)))
        })
    }

    /// Calls a result-returning method (`finalize`, `value`).
    fn result(&self, method: &str, acc: &Instance, unset: &str) -> rusqlite::Result<Value> {
        Python::attach(|py| {
            let class = self.class.bind(py);
            let out = acc.0.bind(py).call_method0(method);
            match out {
                Ok(r) => match result_value(&r) {
                    Ok(Some(v)) => Ok(v),
                    Ok(None) => Err(plain(unset)),
                    Err(e) => Err(failed(py, e, class, unset)),
                },
                Err(e) => {
                    let what = if e.is_instance_of::<PyAttributeError>(py) { "not defined" } else { "raised error" };
                    Err(failed(py, e, class, &aggregate_error(what, method)))
                }
            }
        })
    }
}

impl Aggregate<Instance, Value> for PyAggregate {
    fn init(&self, _ctx: &mut Context<'_>) -> rusqlite::Result<Instance> {
        Python::attach(|py| {
            let class = self.class.bind(py);
            class
                .call0()
                .map(|i| Instance(i.unbind()))
                .map_err(|e| failed(py, e, class, &aggregate_error("raised error", "__init__")))
        })
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut Instance) -> rusqlite::Result<()> {
        self.call("step", acc, Some(ctx))
    }

    fn finalize(&self, _ctx: &mut Context<'_>, acc: Option<Instance>) -> rusqlite::Result<Value> {
        match acc {
            // No rows: the step method never ran.
            None => Ok(Value::Null),
            Some(acc) => self.result("finalize", &acc, &aggregate_error("raised error", "finalize")),
        }
    }
}

impl WindowAggregate<Instance, Value> for PyAggregate {
    fn value(&self, acc: Option<&mut Instance>) -> rusqlite::Result<Value> {
        match acc {
            None => Ok(Value::Null),
            Some(acc) => self.result("value", acc, "unable to set result from user-defined aggregate's 'value' method"),
        }
    }

    fn inverse(&self, ctx: &mut Context<'_>, acc: &mut Instance) -> rusqlite::Result<()> {
        self.call("inverse", acc, Some(ctx))
    }
}

/// `create_aggregate`: registers the class (or removes the function for `None`).
pub fn create_aggregate(conn: &Connection, name: &str, narg: i32, class: Option<Py<PyAny>>) -> rusqlite::Result<()> {
    let Some(class) = class else { return conn.remove_function(name, narg) };
    conn.create_aggregate_function(name, narg, flags(false), PyAggregate { class })
}

/// `create_window_function`: registers the class (or removes the function for `None`).
pub fn create_window(conn: &Connection, name: &str, narg: i32, class: Option<Py<PyAny>>) -> rusqlite::Result<()> {
    let Some(class) = class else { return conn.remove_function(name, narg) };
    conn.create_window_function(name, narg, flags(false), PyAggregate { class })
}

/// `create_collation`: `compare(a, b)` returns a negative, zero or positive
/// number (anything else, or an exception, counts as equal).
pub fn create_collation(conn: &Connection, name: &str, compare: Option<Py<PyAny>>) -> rusqlite::Result<()> {
    let Some(compare) = compare else { return conn.remove_collation(name) };
    conn.create_collation(name, move |a: &str, b: &str| {
        Python::attach(|py| {
            let Ok(out) = compare.call1(py, (a, b)) else { return Ordering::Equal };
            let out = out.bind(py);
            if let Ok(n) = out.extract::<i64>() {
                return n.cmp(&0);
            }
            // Beyond 64 bits: only the sign matters.
            match out.cast::<PyInt>() {
                Ok(i) => i.lt(0).map_or(Ordering::Equal, |neg| if neg { Ordering::Less } else { Ordering::Greater }),
                Err(_) => Ordering::Equal,
            }
        })
    })
}
