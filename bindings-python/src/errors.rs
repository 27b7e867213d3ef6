//! Errors: the one place where a failure becomes a Python exception.
//!
//! The exception classes live in `litepool/_exceptions.py` (so they can also
//! subclass the standard library's `sqlite3` ones); [`to_py_err`] picks the
//! class from the core's stable [`litepool::Error::code`] and sets
//! `code`, `sqlite_errorcode` and `sqlite_errorname` on the instance.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;

/// Everything the binding can fail with, before it becomes a Python exception.
#[derive(Debug)]
pub enum Failure {
    /// From the core (pool errors and SQLite errors alike).
    Pool(litepool::Error),
    /// Misuse of the API: closed connection, cursor without a result set,
    /// wrong number of parameters…
    Programming(String),
    /// A value that cannot be stored (an `int` beyond 64 bits…).
    Data(String),
    /// A Python exception raised meanwhile (Ctrl-C, a failing `__iter__`…).
    Python(PyErr),
    /// An exception of a named DB-API class (`"OperationalError"`…) with a
    /// message of the binding's own (the drop-in `sqlite3` module's wording).
    Class(&'static str, String),
}

impl From<litepool::Error> for Failure {
    fn from(e: litepool::Error) -> Self {
        Failure::Pool(e)
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Pool(litepool::Error::Sqlite(e))
    }
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Self {
        Failure::Python(e)
    }
}

pub type Outcome<T> = Result<T, Failure>;

/// A `ProgrammingError` with `message`.
pub fn programming(message: impl Into<String>) -> Failure {
    Failure::Programming(message.into())
}

/// The DB-API class name for a core error code.
fn class_for_code(code: &str) -> &'static str {
    match code {
        "LITEPOOL_TIMEOUT" => "PoolTimeout",
        "LITEPOOL_CLOSED" => "PoolClosed",
        "LITEPOOL_EXHAUSTED" => "PoolExhausted",
        "LITEPOOL_CLOSE_TIMEOUT" => "PoolCloseTimeout",
        "LITEPOOL_INVALID_CONFIG" => "InvalidConfig",
        "LITEPOOL_READ_ONLY_LANE" => "ReadOnlyLane",
        "LITEPOOL_READ_ONLY_REPLICA" => "ReadOnlyReplica",
        "LITEPOOL_DEADLINE" => "DeadlineExceeded",
        "LITEPOOL_OVERLOADED" => "PoolOverloaded",
        "LITEPOOL_INVALID_TENANT" => "InvalidTenant",
        "LITEPOOL_UNKNOWN_TENANT" => "UnknownTenant",
        "LITEPOOL_TENANT_BUSY" => "TenantBusy",
        "LITEPOOL_PANIC" => "InternalError",
        "LITEPOOL_INVALID_VALUE" => "DataError",
        "LITEPOOL_INVALID_ARGUMENT" | "LITEPOOL_MISUSE" | "LITEPOOL_RELEASED" | "LITEPOOL_CONNECTION_BUSY" => {
            "ProgrammingError"
        }
        sqlite => class_for_sqlite(sqlite),
    }
}

/// SQLite result codes to DB-API classes, as the standard library's
/// `sqlite3` maps them (by primary code).
fn class_for_sqlite(name: &str) -> &'static str {
    let primary = name.strip_prefix("SQLITE_").unwrap_or(name);
    let primary = primary.split('_').next().unwrap_or(primary);
    match primary {
        "INTERNAL" | "NOTFOUND" => "InternalError",
        "NOMEM" => "MemoryError",
        "ERROR" | "PERM" | "ABORT" | "BUSY" | "LOCKED" | "READONLY" | "INTERRUPT" | "IOERR" | "FULL" | "CANTOPEN"
        | "PROTOCOL" | "EMPTY" | "SCHEMA" | "AUTH" | "NOLFS" => "OperationalError",
        "TOOBIG" => "DataError",
        "CONSTRAINT" | "MISMATCH" => "IntegrityError",
        "MISUSE" | "RANGE" => "InterfaceError",
        _ => "DatabaseError",
    }
}

fn exceptions(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    MODULE.get_or_try_init(py, || py.import("litepool._exceptions").map(Bound::unbind)).map(|m| m.bind(py))
}

/// An exception class from `litepool._exceptions` by name.
pub fn exception_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    exceptions(py)?.getattr(name)
}

/// The one mapping from a [`Failure`] to a Python exception.
pub fn to_py_err(py: Python<'_>, failure: Failure) -> PyErr {
    let mut retry_after = None;
    let (class, code, message, sqlite_code) = match failure {
        Failure::Python(err) => return err,
        Failure::Pool(err) => {
            let code = err.code();
            retry_after = err.retry_after();
            (class_for_code(code), code, err.to_string(), err.sqlite_code())
        }
        Failure::Programming(m) => ("ProgrammingError", "LITEPOOL_MISUSE", m, None),
        Failure::Data(m) => ("DataError", "LITEPOOL_INVALID_VALUE", m, None),
        Failure::Class(class, m) => (class, "LITEPOOL_MISUSE", m, None),
    };
    let build = || -> PyResult<PyErr> {
        let exc = if class == "MemoryError" {
            pyo3::exceptions::PyMemoryError::new_err(message.clone()).into_value(py).into_bound(py).into_any()
        } else {
            exception_class(py, class)?.call1((message.clone(),))?
        };
        exc.setattr("code", code)?;
        let errname = if code.starts_with("SQLITE_") { Some(code) } else { None };
        exc.setattr("sqlite_errorname", errname)?;
        exc.setattr("sqlite_errorcode", sqlite_code)?;
        if let Some(after) = retry_after {
            exc.setattr("retry_after", after.as_secs_f64())?;
        }
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| e)
}

/// Maps a result's error; for `?` in `#[pymethods]`.
pub fn map<T>(py: Python<'_>, result: Outcome<T>) -> PyResult<T> {
    result.map_err(|f| to_py_err(py, f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_codes_map_like_the_standard_library() {
        assert_eq!(class_for_code("SQLITE_CONSTRAINT_UNIQUE"), "IntegrityError");
        assert_eq!(class_for_code("SQLITE_BUSY_TIMEOUT"), "OperationalError");
        assert_eq!(class_for_code("SQLITE_TOOBIG"), "DataError");
        assert_eq!(class_for_code("SQLITE_CORRUPT_INDEX"), "DatabaseError");
        assert_eq!(class_for_code("SQLITE_RANGE"), "InterfaceError");
        assert_eq!(class_for_code("LITEPOOL_TIMEOUT"), "PoolTimeout");
        assert_eq!(class_for_code("LITEPOOL_INVALID_ARGUMENT"), "ProgrammingError");
        assert_eq!(class_for_code("LITEPOOL_MISUSE"), "ProgrammingError");
    }

    #[test]
    fn every_core_code_has_its_own_class() {
        for code in litepool::Error::CODES {
            assert_ne!(class_for_code(code), "DatabaseError", "{code} falls through to DatabaseError");
        }
    }
}
