//! The calling thread's last error: a message and a SQLite code, set by every
//! failing call and cleared by every successful one.

use std::cell::RefCell;
use std::ffi::{c_char, c_int};

struct LastError {
    /// Always NUL-terminated, never containing another NUL.
    message: Vec<u8>,
    sqlite_code: c_int,
}

thread_local! {
    static LAST_ERROR: RefCell<LastError> = const {
        RefCell::new(LastError { message: Vec::new(), sqlite_code: 0 })
    };
}

/// Records a failure for this thread (interior NULs become spaces).
pub(crate) fn set(message: &str, sqlite_code: c_int) {
    let _ = LAST_ERROR.try_with(|cell| {
        if let Ok(mut last) = cell.try_borrow_mut() {
            last.message.clear();
            last.message.extend(message.bytes().map(|b| if b == 0 { b' ' } else { b }));
            last.message.push(0);
            last.sqlite_code = sqlite_code;
        }
    });
}

/// Forgets the last failure; keeps the buffer so earlier pointers stay valid.
pub(crate) fn clear() {
    let _ = LAST_ERROR.try_with(|cell| {
        if let Ok(mut last) = cell.try_borrow_mut() {
            if !last.message.is_empty() {
                last.message.clear();
                last.message.push(0);
            }
            last.sqlite_code = 0;
        }
    });
}

/// A description of the last failed litepool call on the calling thread, or
/// `""` if the last call succeeded (or none was made). Never NULL.
///
/// The string belongs to litepool: do not free it. It stays valid until the
/// next litepool call on the same thread; copy it to keep it.
#[no_mangle]
pub extern "C" fn litepool_last_error() -> *const c_char {
    crate::panic::boundary_quiet("litepool_last_error", c"".as_ptr(), || {
        let ptr = LAST_ERROR
            .try_with(|cell| match cell.try_borrow() {
                Ok(last) if !last.message.is_empty() => last.message.as_ptr().cast::<c_char>(),
                _ => c"".as_ptr(),
            })
            .unwrap_or(c"".as_ptr());
        Ok(ptr)
    })
}

/// SQLite's extended result code for the last failed call on the calling
/// thread (e.g. 2067 for `SQLITE_CONSTRAINT_UNIQUE`), or 0 when the last
/// failure did not come from SQLite or the last call succeeded.
#[no_mangle]
pub extern "C" fn litepool_last_sqlite_code() -> c_int {
    crate::panic::boundary_quiet("litepool_last_sqlite_code", 0, || {
        Ok(LAST_ERROR.try_with(|cell| cell.try_borrow().map_or(0, |l| l.sqlite_code)).unwrap_or(0))
    })
}
