//! Pool options from Python keyword arguments, read through the core's
//! option table (`litepool::OPTIONS`): names as in the table, durations in
//! seconds, `None` for the core's default. No default is restated here.

use std::time::Duration;

use litepool::{OptionKind, OptionValue, PoolConfig, OPTIONS};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};

use crate::errors::{map, Failure};

fn invalid(field: &'static str, reason: String) -> Failure {
    Failure::Pool(litepool::Error::InvalidConfig { field, reason })
}

/// Seconds from Python as a `Duration`; `field` names the option at fault.
pub fn seconds(field: &'static str, value: f64) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| invalid(field, format!("must be a finite, non-negative number of seconds (got {value})")))
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value.get_type().name().map(|n| n.to_string()).unwrap_or_default()
}

/// One keyword argument as the option's kind of value: a value of the
/// wrong type is a `TypeError`, one out of range `InvalidConfig`.
fn convert(name: &'static str, kind: OptionKind, value: &Bound<'_, PyAny>) -> Result<OptionValue, Failure> {
    let wrong = |what: &str| {
        Failure::Python(PyTypeError::new_err(format!("Pool() option {name} must be {what}, not {}", type_name(value))))
    };
    match kind {
        OptionKind::Count { .. } => {
            if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
                return Err(wrong("an int"));
            }
            let n: i128 = value.extract()?;
            u64::try_from(n)
                .map(OptionValue::Count)
                .map_err(|_| invalid(name, format!("must not be negative (got {n})")))
        }
        OptionKind::Duration | OptionKind::DurationOrOff | OptionKind::DurationOrZero => {
            if value.is_instance_of::<PyBool>()
                || !(value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>())
            {
                return Err(wrong("a number of seconds"));
            }
            Ok(OptionValue::Duration(seconds(name, value.extract()?)?))
        }
        OptionKind::Text | OptionKind::TextOrNone => {
            value.cast::<PyString>().map_err(|_| wrong("a str"))?;
            Ok(OptionValue::Text(value.extract()?))
        }
        OptionKind::Flag => Ok(OptionValue::Flag(value.cast::<PyBool>().map_err(|_| wrong("a bool"))?.is_true())),
    }
}

/// The pool configuration for `Pool(path, **options)`.
pub fn config_from(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<PoolConfig> {
    let mut given = Vec::new();
    for (key, value) in options.into_iter().flat_map(|d| d.iter()) {
        let key: String = key.extract()?;
        let Some(spec) = litepool::option(&key) else {
            let known: Vec<&str> = OPTIONS.iter().map(|o| o.name).collect();
            return Err(PyTypeError::new_err(format!(
                "Pool() got an unexpected keyword argument {key:?} (options: {})",
                known.join(", ")
            )));
        };
        if !value.is_none() {
            given.push((spec.name, map(py, convert(spec.name, spec.kind, &value))?));
        }
    }
    map(py, PoolConfig::default().with_options(given).map_err(Failure::Pool))
}

/// The option table: one dict per option (`name`, `kind`, `default`,
/// `doc`, `env`), defaults as the core states them (milliseconds; Python
/// takes seconds).
#[pyfunction]
pub fn pool_options(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for spec in OPTIONS.iter() {
        let d = PyDict::new(py);
        let kind = match spec.kind {
            OptionKind::Count { .. } => "int",
            OptionKind::Duration | OptionKind::DurationOrOff | OptionKind::DurationOrZero => "seconds",
            OptionKind::Text | OptionKind::TextOrNone => "str",
            OptionKind::Flag => "bool",
        };
        d.set_item("name", spec.name)?;
        d.set_item("kind", kind)?;
        d.set_item("default", spec.default)?;
        d.set_item("doc", spec.doc)?;
        d.set_item("env", spec.env)?;
        list.append(d)?;
    }
    Ok(list)
}
