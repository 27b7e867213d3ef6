//! `litepool_result`: the code every fallible function returns, and the
//! mapping from the core's [`litepool_core::Error`].

use std::ffi::c_char;

/// What a litepool call did. `LITEPOOL_OK` is 0; every other value is a
/// failure, and `litepool_last_error()` then describes it.
///
/// The numbers are part of the ABI: a value is never renumbered or reused,
/// new codes are only appended.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum litepool_result {
    /// Success.
    LITEPOOL_OK = 0,
    /// No connection (or write-gate turn) came free within the timeout. The
    /// message states the pool's counts and the last connection error.
    LITEPOOL_TIMEOUT = 1,
    /// The pool is closed (`litepool_close` or `litepool_free` was called):
    /// no new leases are handed out.
    LITEPOOL_CLOSED = 2,
    /// An argument is out of range or malformed: a string that is not UTF-8,
    /// an unknown lane, a buffer pointer that is NULL with a non-zero length.
    LITEPOOL_INVALID_ARGUMENT = 3,
    /// A pointer argument that must not be NULL was NULL.
    LITEPOOL_NULL_ARGUMENT = 4,
    /// The connection handle was already given back with `litepool_release`.
    LITEPOOL_ALREADY_RELEASED = 5,
    /// SQLite reported an error; `litepool_last_sqlite_code()` gives its
    /// extended result code (e.g. 2067, `SQLITE_CONSTRAINT_UNIQUE`).
    LITEPOOL_SQLITE_ERROR = 6,
    /// A bug: Rust code inside litepool panicked. The panic was caught at the
    /// library boundary; the message says where.
    LITEPOOL_PANIC = 7,
    /// `litepool_try_acquire` found no idle connection and no room to open one.
    LITEPOOL_EXHAUSTED = 8,
    /// A `litepool_config` field (or a `DB_POOL_*` variable) is invalid; the
    /// message names it.
    LITEPOOL_INVALID_CONFIG = 9,
    /// The pool handle was already freed with `litepool_free`.
    LITEPOOL_POOL_FREED = 10,
    /// The handle was never issued by this library (or is of the wrong kind,
    /// e.g. a connection passed where a pool is expected).
    LITEPOOL_INVALID_HANDLE = 11,
    /// A write was attempted through a lease taken with `litepool_acquire_read`
    /// (`PRAGMA query_only` is on for it).
    LITEPOOL_READ_ONLY_LANE = 12,
    /// The database could not be opened or set up (`litepool_open`); the
    /// message names the path and SQLite's reason.
    LITEPOOL_OPEN_FAILED = 13,
    /// `litepool_close` gave up waiting for leases to come back; they are
    /// closed when released.
    LITEPOOL_CLOSE_TIMEOUT = 14,
    /// The output buffer is too small; the size needed was written to `*needed`.
    LITEPOOL_BUFFER_TOO_SMALL = 15,
    /// Another error from the pool; the message describes it.
    LITEPOOL_ERROR = 16,
    /// A tenant code is not 1 to 64 characters of `[a-z0-9_]` (lowercase
    /// letters, digits, underscore). Codes are checked so that the schema
    /// name `tenant_<code>` can never inject SQL.
    LITEPOOL_INVALID_TENANT = 17,
    /// No tenant is registered under that code (never registered, or
    /// removed with `litepool_remove_tenant`).
    LITEPOOL_UNKNOWN_TENANT = 18,
    /// `litepool_remove_tenant` gave up: the tenant still had leases out
    /// when `timeout_ms` ran out. It stays registered and usable.
    LITEPOOL_TENANT_BUSY = 19,
    /// The call cannot work as asked (e.g. transaction control where the
    /// pool manages the transaction); the message says why.
    LITEPOOL_MISUSE = 20,
    /// A parameter value cannot be stored in SQLite.
    LITEPOOL_INVALID_VALUE = 21,
    /// The lease was already given back (the core's sessions).
    LITEPOOL_RELEASED = 22,
    /// A call is still running on the lease.
    LITEPOOL_CONNECTION_BUSY = 23,
    /// A write (a write lease, or a writing statement) on a pool that is a
    /// read-only replica (`replica_url`); writes go to the primary.
    LITEPOOL_READ_ONLY_REPLICA = 24,
    /// A statement ran past its deadline (`statement_timeout_ms`, or the
    /// lease's from `litepool_conn_set_deadline`) and SQLite stopped it; the
    /// message names the statement and how long it ran. The connection stays
    /// usable. (Statements run on the raw `sqlite3 *` see `SQLITE_INTERRUPT`.)
    LITEPOOL_DEADLINE = 25,
    /// The pool refused the acquire at once instead of queueing it: its queue
    /// is at `max_waiting`, or (`shed_load`) the wait it expects already
    /// exceeds the timeout. Retry later; the message states the expected wait.
    LITEPOOL_OVERLOADED = 26,
}

use litepool_result::*;

impl litepool_result {
    /// The constant's name, e.g. `"LITEPOOL_TIMEOUT"`.
    pub fn name(self) -> &'static str {
        self.name_nul().trim_end_matches('\0')
    }

    fn name_nul(self) -> &'static str {
        match self {
            LITEPOOL_OK => "LITEPOOL_OK\0",
            LITEPOOL_TIMEOUT => "LITEPOOL_TIMEOUT\0",
            LITEPOOL_CLOSED => "LITEPOOL_CLOSED\0",
            LITEPOOL_INVALID_ARGUMENT => "LITEPOOL_INVALID_ARGUMENT\0",
            LITEPOOL_NULL_ARGUMENT => "LITEPOOL_NULL_ARGUMENT\0",
            LITEPOOL_ALREADY_RELEASED => "LITEPOOL_ALREADY_RELEASED\0",
            LITEPOOL_SQLITE_ERROR => "LITEPOOL_SQLITE_ERROR\0",
            LITEPOOL_PANIC => "LITEPOOL_PANIC\0",
            LITEPOOL_EXHAUSTED => "LITEPOOL_EXHAUSTED\0",
            LITEPOOL_INVALID_CONFIG => "LITEPOOL_INVALID_CONFIG\0",
            LITEPOOL_POOL_FREED => "LITEPOOL_POOL_FREED\0",
            LITEPOOL_INVALID_HANDLE => "LITEPOOL_INVALID_HANDLE\0",
            LITEPOOL_READ_ONLY_LANE => "LITEPOOL_READ_ONLY_LANE\0",
            LITEPOOL_OPEN_FAILED => "LITEPOOL_OPEN_FAILED\0",
            LITEPOOL_CLOSE_TIMEOUT => "LITEPOOL_CLOSE_TIMEOUT\0",
            LITEPOOL_BUFFER_TOO_SMALL => "LITEPOOL_BUFFER_TOO_SMALL\0",
            LITEPOOL_ERROR => "LITEPOOL_ERROR\0",
            LITEPOOL_INVALID_TENANT => "LITEPOOL_INVALID_TENANT\0",
            LITEPOOL_UNKNOWN_TENANT => "LITEPOOL_UNKNOWN_TENANT\0",
            LITEPOOL_TENANT_BUSY => "LITEPOOL_TENANT_BUSY\0",
            LITEPOOL_MISUSE => "LITEPOOL_MISUSE\0",
            LITEPOOL_INVALID_VALUE => "LITEPOOL_INVALID_VALUE\0",
            LITEPOOL_RELEASED => "LITEPOOL_RELEASED\0",
            LITEPOOL_CONNECTION_BUSY => "LITEPOOL_CONNECTION_BUSY\0",
            LITEPOOL_READ_ONLY_REPLICA => "LITEPOOL_READ_ONLY_REPLICA\0",
            LITEPOOL_DEADLINE => "LITEPOOL_DEADLINE\0",
            LITEPOOL_OVERLOADED => "LITEPOOL_OVERLOADED\0",
        }
    }
}

/// Every code, in numeric order (for the name lookup and tests).
const ALL: [litepool_result; 27] = [
    LITEPOOL_OK,
    LITEPOOL_TIMEOUT,
    LITEPOOL_CLOSED,
    LITEPOOL_INVALID_ARGUMENT,
    LITEPOOL_NULL_ARGUMENT,
    LITEPOOL_ALREADY_RELEASED,
    LITEPOOL_SQLITE_ERROR,
    LITEPOOL_PANIC,
    LITEPOOL_EXHAUSTED,
    LITEPOOL_INVALID_CONFIG,
    LITEPOOL_POOL_FREED,
    LITEPOOL_INVALID_HANDLE,
    LITEPOOL_READ_ONLY_LANE,
    LITEPOOL_OPEN_FAILED,
    LITEPOOL_CLOSE_TIMEOUT,
    LITEPOOL_BUFFER_TOO_SMALL,
    LITEPOOL_ERROR,
    LITEPOOL_INVALID_TENANT,
    LITEPOOL_UNKNOWN_TENANT,
    LITEPOOL_TENANT_BUSY,
    LITEPOOL_MISUSE,
    LITEPOOL_INVALID_VALUE,
    LITEPOOL_RELEASED,
    LITEPOOL_CONNECTION_BUSY,
    LITEPOOL_READ_ONLY_REPLICA,
    LITEPOOL_DEADLINE,
    LITEPOOL_OVERLOADED,
];

/// A failed call: the code to return and the message (and SQLite code) for
/// `litepool_last_error()`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub code: litepool_result,
    pub message: String,
    pub sqlite_code: i32,
}

impl Failure {
    pub fn new(code: litepool_result, message: impl Into<String>) -> Failure {
        Failure { code, message: message.into(), sqlite_code: 0 }
    }

    /// A NULL pointer where one is required; `what` names the parameter.
    pub fn null(what: &str) -> Failure {
        Failure::new(LITEPOOL_NULL_ARGUMENT, format!("`{what}` is NULL"))
    }
}

impl From<litepool_core::Error> for Failure {
    /// By [`litepool_core::Error::code`]: a `LITEPOOL_*` code maps to the C
    /// result of the same name, a SQLite one to `LITEPOOL_SQLITE_ERROR` (the
    /// extended code in `litepool_last_sqlite_code()`). One exception: a
    /// database that cannot be opened (whose code is SQLite's reason) is
    /// `LITEPOOL_OPEN_FAILED`.
    fn from(err: litepool_core::Error) -> Failure {
        let code = if matches!(err, litepool_core::Error::Open { .. }) {
            LITEPOOL_OPEN_FAILED
        } else {
            result_for_code(err.code())
        };
        let message = match err.sqlite_code() {
            Some(c) => format!("{err} [{}]", litepool_core::sqlite_code_name(c)),
            None => err.to_string(),
        };
        Failure { code, message, sqlite_code: err.sqlite_code().unwrap_or(0) }
    }
}

/// The C result for a core error code.
fn result_for_code(code: &str) -> litepool_result {
    match ALL.iter().find(|r| r.name() == code) {
        Some(r) => *r,
        None if code.starts_with("SQLITE_") => LITEPOOL_SQLITE_ERROR,
        None => LITEPOOL_ERROR,
    }
}

/// The name of a result code, e.g. `"LITEPOOL_TIMEOUT"` for 1, as a static
/// NUL-terminated string (never free it). An unknown value gives
/// `"LITEPOOL_UNKNOWN"`; this function never fails.
#[no_mangle]
pub extern "C" fn litepool_result_name(code: u32) -> *const c_char {
    crate::panic::boundary_quiet("litepool_result_name", c"LITEPOOL_UNKNOWN".as_ptr(), || {
        let name = ALL.get(code as usize).map_or("LITEPOOL_UNKNOWN\0", |r| r.name_nul());
        Ok(name.as_ptr().cast())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_numeric_order_so_names_index_by_value() {
        for (i, code) in ALL.iter().enumerate() {
            assert_eq!(*code as usize, i, "{code:?}");
            assert!(code.name_nul().ends_with('\0'));
        }
    }

    #[test]
    fn every_core_code_has_the_c_result_of_the_same_name() {
        for code in litepool_core::Error::CODES.iter().copied() {
            let result = result_for_code(code);
            assert_eq!(result.name(), code, "{code}");
            // SAFETY: litepool_result_name returns a static NUL-terminated string.
            let name = unsafe { std::ffi::CStr::from_ptr(litepool_result_name(result as u32)) };
            assert_eq!(name.to_str().unwrap(), code);
        }
        assert_eq!(result_for_code("SQLITE_CONSTRAINT_UNIQUE"), LITEPOOL_SQLITE_ERROR);
        let misuse = Failure::from(litepool_core::Error::Misuse("BEGIN here".into()));
        assert_eq!(misuse.code, LITEPOOL_MISUSE, "was LITEPOOL_ERROR when mapped by variant");
    }

    #[test]
    fn core_errors_map_to_their_codes() {
        let f = Failure::from(litepool_core::Error::Closed);
        assert_eq!(f.code, LITEPOOL_CLOSED);
        let f = Failure::from(litepool_core::Error::CloseTimedOut { active: 2 });
        assert_eq!(f.code, LITEPOOL_CLOSE_TIMEOUT);
        assert!(f.message.contains("2 connection"), "{}", f.message);
    }

    #[test]
    fn tenant_errors_map_to_the_code_the_core_names() {
        use litepool_core::Error as E;
        for (err, expected) in [
            (E::InvalidTenant("K1".into()), LITEPOOL_INVALID_TENANT),
            (E::UnknownTenant("k1".into()), LITEPOOL_UNKNOWN_TENANT),
            (E::TenantBusy { code: "k1".into(), active: 1 }, LITEPOOL_TENANT_BUSY),
        ] {
            let core_code = err.code();
            let f = Failure::from(err);
            assert_eq!(f.code, expected);
            assert_eq!(f.code.name(), core_code, "the C name is the core's Error::code()");
            assert!(f.message.contains("k1") || f.message.contains("K1"), "{}", f.message);
        }
    }
}
