//! Statement parameters as the standard library's `sqlite3` binds them:
//! a sequence binds by position, a `dict` (subclasses too, with their
//! `__missing__`) by the statement's parameter names; values go through
//! the shared `adapters` registry (`adapt()`) unless they are plain `int`,
//! `float`, `str` or `bytearray`. Conversion happens with the GIL held,
//! into the core's `Params`, so SQL runs without it.

use std::sync::atomic::Ordering::Relaxed;

use litepool::sql::Params;
use pyo3::exceptions::{PyBufferError, PyKeyError, PyOverflowError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use rusqlite::types::Value;

use crate::errors::{programming, Failure, Outcome};
use crate::sqlite3::{stdlib, BASE_TYPE_ADAPTED};

/// Converts `params` for a statement; `names` gives the statement's
/// parameter names (`None` for a nameless `?`) when a mapping was passed.
pub fn to_params(params: &Bound<'_, PyAny>, names: impl FnOnce() -> Outcome<Vec<Option<String>>>) -> Outcome<Params> {
    let exact_seq = params.is_exact_instance_of::<PyTuple>() || params.is_exact_instance_of::<PyList>();
    if exact_seq || (!params.is_instance_of::<PyDict>() && params.downcast_sequence_check()) {
        let n = params.len()?;
        let mut values = Vec::with_capacity(n);
        for i in 0..n {
            let item = params.get_item(i)?;
            values.push(bind_value(&item, i + 1)?);
        }
        return Ok(Params::Positional(values));
    }
    if let Ok(dict) = params.cast::<PyDict>() {
        let names = names()?;
        let exact = params.is_exact_instance_of::<PyDict>();
        let mut values = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let Some(name) = name else {
                return Err(programming(format!(
                    "Binding {} has no name, but you supplied a dictionary (which has only names).",
                    i + 1
                )));
            };
            let key = &name[1..];
            let missing = || programming(format!("You did not supply a value for binding parameter {name}."));
            let item = if exact {
                dict.get_item(key)?.ok_or_else(missing)?
            } else {
                match params.get_item(key) {
                    Ok(item) => item,
                    Err(e) if e.is_instance_of::<PyKeyError>(params.py()) => return Err(missing()),
                    Err(e) => return Err(e.into()),
                }
            };
            values.push(bind_value(&item, i + 1)?);
        }
        return Ok(Params::Positional(values));
    }
    Err(programming("parameters are of unsupported type"))
}

trait SequenceCheck {
    fn downcast_sequence_check(&self) -> bool;
}

impl SequenceCheck for Bound<'_, PyAny> {
    /// `PySequence_Check`: has `__getitem__` and is not a dict.
    fn downcast_sequence_check(&self) -> bool {
        self.cast::<pyo3::types::PySequence>().is_ok()
            || (self.hasattr("__getitem__").unwrap_or(false) && self.hasattr("__len__").unwrap_or(false))
    }
}

/// Whether `obj` must go through `adapt()` (the standard library's `_need_adapt`).
fn needs_adapt(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    if BASE_TYPE_ADAPTED.load(Relaxed) {
        return Ok(true);
    }
    if obj.is_exact_instance_of::<PyInt>()
        || obj.is_exact_instance_of::<PyFloat>()
        || obj.is_exact_instance_of::<PyString>()
        || obj.is_exact_instance_of::<PyByteArray>()
    {
        return Ok(false);
    }
    // None and bytes have no `__conform__`: only a registered adapter applies.
    if obj.is_none() || obj.is_exact_instance_of::<PyBytes>() {
        let std = stdlib(obj.py())?;
        let key = (obj.get_type(), std.getattr("PrepareProtocol")?);
        return std.getattr("adapters")?.cast::<PyDict>()?.contains(key);
    }
    Ok(true)
}

/// One parameter value, adapted and converted; `pos` is 1-based.
pub fn bind_value(obj: &Bound<'_, PyAny>, pos: usize) -> Outcome<Value> {
    let adapted;
    let obj = if needs_adapt(obj)? {
        let std = stdlib(obj.py())?;
        adapted = std.getattr("adapt")?.call1((obj, std.getattr("PrepareProtocol")?, obj))?;
        &adapted
    } else {
        obj
    };
    to_value(obj).map_err(|failure| match failure {
        Failure::Programming(_) => programming(format!(
            "Error binding parameter {pos}: type '{}' is not supported",
            obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        )),
        other => other,
    })
}

/// A Python value as SQLite stores it (after adaptation): `None`, `int`
/// (64-bit), `float`, `str`, or a C-contiguous buffer. Anything else is a
/// `Failure::Programming` (the caller names the parameter).
pub fn to_value(obj: &Bound<'_, PyAny>) -> Outcome<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        return match i.extract::<i64>() {
            Ok(v) => Ok(Value::Integer(v)),
            Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => {
                Err(Failure::Python(PyOverflowError::new_err("Python int too large to convert to SQLite INTEGER")))
            }
            Err(e) => Err(e.into()),
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
    // Any other buffer (memoryview, array…): its bytes, if C-contiguous.
    if let Ok(view) = memoryview(obj) {
        if !view.getattr("c_contiguous")?.is_truthy()? {
            return Err(PyBufferError::new_err("underlying buffer is not C-contiguous").into());
        }
        let raw = view.call_method0("tobytes")?;
        return Ok(Value::Blob(raw.cast::<PyBytes>().map_err(PyErr::from)?.as_bytes().to_vec()));
    }
    Err(programming("unsupported type"))
}

/// `memoryview(obj)`: fails for objects that are not buffers.
pub fn memoryview<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    obj.py().get_type::<pyo3::types::PyMemoryView>().call1((obj,))
}
