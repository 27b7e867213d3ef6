//! The one place where errors become JS values.
//!
//! Core errors become `Error`s whose `code` is [`litepool::Error::code`]
//! (`LITEPOOL_TIMEOUT`, `SQLITE_CONSTRAINT_UNIQUE`, …) and, when SQLite
//! raised them, whose `errno` is SQLite's extended result code. Bad
//! arguments become `TypeError`s (`ERR_INVALID_ARG_TYPE`) or `RangeError`s
//! (`ERR_OUT_OF_RANGE`) naming what was wrong.

use napi::bindgen_prelude::*;
use napi::{Env, JsError, JsRangeError, JsTypeError};

/// What can fail off the JS thread.
#[derive(Debug)]
pub enum Failure {
    /// Anything the pool or SQLite reported.
    Core(litepool::Error),
    /// The same, raised while preparing a statement (the node-sqlite3
    /// drop-in reports those as node-sqlite3 does): the JS error gets
    /// `prepareFailed: true`.
    Prepare(litepool::Error),
    /// The call was lost inside the binding before it could settle (a panic
    /// on a worker thread, or a thread the OS would not start).
    Lost,
}

impl From<litepool::Error> for Failure {
    fn from(e: litepool::Error) -> Self {
        Failure::Core(e)
    }
}

impl From<litepool::rusqlite::Error> for Failure {
    fn from(e: litepool::rusqlite::Error) -> Self {
        Failure::Core(litepool::Error::Sqlite(e))
    }
}

impl Failure {
    fn code(&self) -> &'static str {
        match self {
            Failure::Core(e) | Failure::Prepare(e) => e.code(),
            Failure::Lost => "LITEPOOL_PANIC",
        }
    }

    fn message(&self) -> String {
        match self {
            Failure::Core(e) | Failure::Prepare(e) => e.to_string(),
            Failure::Lost => {
                "this call was lost inside the binding (a worker thread panicked or could not be started)".to_owned()
            }
        }
    }

    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Failure::Core(e) | Failure::Prepare(e) => e.retry_after(),
            Failure::Lost => None,
        }
    }

    fn errno(&self) -> Option<i32> {
        match self {
            Failure::Core(e) | Failure::Prepare(e) => e.sqlite_code(),
            Failure::Lost => None,
        }
    }
}

/// The JS `Error` object for a failure: `code` from [`litepool::Error::code`],
/// `errno` from [`litepool::Error::sqlite_code`], and for
/// `LITEPOOL_OVERLOADED` `retryAfterMillis` (the wait the pool expects).
pub fn js_error_value<'env>(env: &'env Env, err: &Failure) -> Unknown<'env> {
    let value = JsError::from(napi::Error::new(err.code(), err.message())).into_unknown(*env);
    let (errno, retry_after) = (err.errno(), err.retry_after());
    if errno.is_some() || retry_after.is_some() {
        // SAFETY: `value` was just created as an Error object by napi_create_error.
        if let Ok(mut obj) = unsafe { value.cast::<Object>() } {
            if let Some(errno) = errno {
                let _ = obj.set_named_property("errno", errno);
            }
            if let Some(after) = retry_after {
                let _ = obj.set_named_property("retryAfterMillis", after.as_secs_f64() * 1000.0);
            }
            if matches!(err, Failure::Prepare(_)) {
                let _ = obj.set_named_property("prepareFailed", true);
            }
        }
    }
    value
}

/// A core error as a napi error that throws (or rejects with) the JS object
/// built by [`js_error_value`].
pub fn to_js_error(env: &Env, err: &Failure) -> napi::Error {
    napi::Error::from(js_error_value(env, err))
}

/// A `TypeError` for an argument of the wrong type.
pub fn type_error(env: &Env, msg: impl Into<String>) -> napi::Error {
    let value = JsTypeError::from(napi::Error::new("ERR_INVALID_ARG_TYPE", msg.into())).into_unknown(*env);
    napi::Error::from(value)
}

/// A `RangeError` for an argument of the right type but out of range.
pub fn range_error(env: &Env, msg: impl Into<String>) -> napi::Error {
    let value = JsRangeError::from(napi::Error::new("ERR_OUT_OF_RANGE", msg.into())).into_unknown(*env);
    napi::Error::from(value)
}
