//! Values between Python and SQLite, and statement parameters (converted
//! while holding the GIL, into the core's [`Params`], so SQL can run without it).
//!
//! Python → SQLite: `None`, `int` (64-bit), `float`, `str`, `bytes`,
//! `bytearray`, `memoryview`, `bool` (as 0/1), and `datetime.date`,
//! `datetime.time`, `datetime.datetime` (ISO 8601 text, as the standard
//! library's default adapters store them). SQLite → Python: `None`, `int`,
//! `float`, `str`, `bytes`.

use litepool::sql::{BadValue, Params};
use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDate, PyDict, PyFloat, PyInt, PyList, PyMemoryView, PyString, PyTime, PyTuple,
};
use rusqlite::types::Value;

use crate::errors::{programming, Failure, Outcome};

/// Converts one Python value; `what` names it in the error ("parameter 2").
pub fn to_value(obj: &Bound<'_, PyAny>, what: &dyn std::fmt::Display) -> Outcome<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Integer(i64::from(b.is_true())));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        return match i.extract::<i64>() {
            Ok(v) => Ok(Value::Integer(v)),
            Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => Err(Failure::Data(format!(
                "{what}: Python int too large to store in SQLite (INTEGER is 64-bit signed): {}",
                i.repr().map(|r| r.to_string()).unwrap_or_default()
            ))),
            Err(e) => Err(Failure::Python(e)),
        };
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Value::Real(f.value()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::Text(s.to_str()?.to_owned()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Value::Blob(b.as_bytes().to_vec()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Value::Blob(b.to_vec()));
    }
    if obj.is_instance_of::<PyMemoryView>() {
        let bytes = obj.call_method0("tobytes")?;
        return Ok(Value::Blob(bytes.cast::<PyBytes>().map_err(PyErr::from)?.as_bytes().to_vec()));
    }
    // datetime.datetime is a date subclass: " " separator as sqlite3's adapter.
    if obj.is_instance_of::<PyDate>() || obj.is_instance_of::<PyTime>() {
        let is_datetime = obj.hasattr("hour")? && obj.hasattr("year")?;
        let text = if is_datetime { obj.call_method1("isoformat", (" ",))? } else { obj.call_method0("isoformat")? };
        return Ok(Value::Text(text.extract::<String>()?));
    }
    let type_name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".to_owned());
    Err(programming(format!(
        "Error binding {what}: type '{type_name}' is not supported \
         (expected None, int, float, str, bytes, bytearray, memoryview, bool, date, time or datetime)"
    )))
}

/// SQLite value → Python object.
pub fn to_py<'py>(py: Python<'py>, value: Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Integer(i) => i.into_pyobject(py)?.into_any(),
        Value::Real(f) => PyFloat::new(py, f).into_any(),
        Value::Text(s) => PyString::new(py, &s).into_any(),
        Value::Blob(b) => PyBytes::new(py, &b).into_any(),
    })
}

struct Position(usize);

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "parameter {}", self.0)
    }
}

/// Converts `params` (`None`, a sequence or a mapping).
pub fn to_params(params: Option<&Bound<'_, PyAny>>) -> Outcome<Params> {
    let Some(params) = params.filter(|p| !p.is_none()) else { return Ok(Params::None) };
    if let Ok(dict) = params.cast::<PyDict>() {
        let mut named = Vec::with_capacity(dict.len());
        for (k, v) in dict.iter() {
            let key: String = k.extract().map_err(|_| programming("parameter names must be str"))?;
            let value = match to_value(&v, &format!("parameter :{key}")) {
                Ok(v) => Ok(v),
                Err(Failure::Data(message)) => Err(BadValue { message, out_of_range: true }),
                Err(Failure::Programming(message)) => Err(BadValue { message, out_of_range: false }),
                Err(other) => return Err(other),
            };
            named.push((key, value));
        }
        return Ok(Params::Named(named));
    }
    // The common case first: no attribute probing on tuples and lists.
    if let Ok(tuple) = params.cast::<PyTuple>() {
        return positional(tuple.iter());
    }
    if let Ok(list) = params.cast::<PyList>() {
        return positional(list.iter());
    }
    if params.is_instance_of::<PyString>() || params.is_instance_of::<PyBytes>() {
        return Err(programming("parameters must be a sequence or a mapping, not str or bytes"));
    }
    if params.hasattr("keys")? && params.hasattr("__getitem__")? {
        let dict = PyDict::new(params.py());
        dict.call_method1("update", (params,))?;
        return to_params(Some(dict.as_any()));
    }
    let seq = params.try_iter().map_err(|_| {
        let type_name = params.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        programming(format!("parameters must be a sequence or a mapping, not {type_name}"))
    })?;
    let items = seq.collect::<PyResult<Vec<_>>>()?;
    positional(items.into_iter())
}

fn positional<'py>(items: impl ExactSizeIterator<Item = Bound<'py, PyAny>>) -> Outcome<Params> {
    let mut values = Vec::with_capacity(items.len());
    for (i, item) in items.enumerate() {
        values.push(to_value(&item, &Position(i + 1))?);
    }
    Ok(Params::Positional(values))
}
