//! The one panic boundary every exported function runs inside.
//!
//! A panic must never unwind into C (that is undefined behaviour), so each
//! `extern "C"` body is a closure passed to one of the functions here. They
//! catch the panic, record a message for `litepool_last_error()`, and return
//! `LITEPOOL_PANIC` (or the function's documented neutral value).

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::last_error;
use crate::result::{litepool_result, Failure};

/// Runs a `litepool_result` function: `Ok` clears the thread's last error and
/// returns `LITEPOOL_OK`; a failure records its message (prefixed with the
/// function's name) and returns its code; a panic returns `LITEPOOL_PANIC`.
pub(crate) fn boundary(name: &str, f: impl FnOnce() -> Result<(), Failure>) -> litepool_result {
    boundary_value(name, || f().map(|()| litepool_result::LITEPOOL_OK)).unwrap_or_else(|code| code)
}

/// Like [`boundary`] for a function returning a value: `Ok(v)` returns `v`
/// (and clears the last error), a failure or panic returns `Err(code)` after
/// recording the message — callers turn that into their neutral value.
pub(crate) fn boundary_value<T>(name: &str, f: impl FnOnce() -> Result<T, Failure>) -> Result<T, litepool_result> {
    // AssertUnwindSafe: after a panic we only read the payload and report;
    // the pool's locks (parking_lot) do not poison, and a pool whose state a
    // panic may have left inconsistent is a bug reported as LITEPOOL_PANIC.
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => {
            last_error::clear();
            Ok(value)
        }
        Ok(Err(failure)) => {
            last_error::set(&format!("{name}: {}", failure.message), failure.sqlite_code);
            Err(failure.code)
        }
        Err(payload) => {
            report_panic(name, payload);
            Err(litepool_result::LITEPOOL_PANIC)
        }
    }
}

/// For the few functions that never fail and must not touch the last error
/// (`litepool_last_error`, `litepool_version`, …): a panic returns `fallback`.
pub(crate) fn boundary_quiet<T>(name: &str, fallback: T, f: impl FnOnce() -> Result<T, Failure>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => value,
        Ok(Err(_)) => fallback,
        Err(payload) => {
            report_panic(name, payload);
            fallback
        }
    }
}

fn report_panic(name: &str, payload: Box<dyn Any + Send>) {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned());
    last_error::set(&format!("{name}: internal panic (a bug in litepool, please report it): {what}"), 0);
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;
    use crate::last_error::litepool_last_error;

    fn last() -> String {
        // SAFETY: litepool_last_error never returns NULL and the string
        // stays valid until the next litepool call on this thread.
        unsafe { CStr::from_ptr(litepool_last_error()) }.to_string_lossy().into_owned()
    }

    #[test]
    fn a_panic_becomes_litepool_panic_with_a_message() {
        let code = boundary("litepool_test", || panic!("boom"));
        assert_eq!(code, litepool_result::LITEPOOL_PANIC);
        let msg = last();
        assert!(msg.starts_with("litepool_test: internal panic"), "{msg}");
        assert!(msg.contains("boom"), "{msg}");
    }

    #[test]
    fn a_failure_sets_the_message_and_success_clears_it() {
        let code = boundary("litepool_test", || Err(Failure::null("out")));
        assert_eq!(code, litepool_result::LITEPOOL_NULL_ARGUMENT);
        assert_eq!(last(), "litepool_test: `out` is NULL");
        assert_eq!(boundary("litepool_test", || Ok(())), litepool_result::LITEPOOL_OK);
        assert_eq!(last(), "");
    }

    #[test]
    fn value_functions_return_their_fallback_on_panic() {
        let v: Result<*const u8, _> = boundary_value("litepool_test", || panic!("x"));
        assert_eq!(v, Err(litepool_result::LITEPOOL_PANIC));
        assert_eq!(boundary_quiet("litepool_test", 7, || panic!("y")), 7);
    }
}
