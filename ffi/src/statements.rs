//! Statements the pool knows: pinning one in the warm cache, and the
//! slow-statement log.

use std::ffi::c_char;

use crate::config::c_str;
use crate::panic::boundary;
use crate::pool::{litepool_pool, pool_of, write_text};
use crate::result::litepool_result;

/// Prepares `sql` once on a pooled connection (checking its syntax and the
/// tables it names) and pins it in the pool's warm statement cache: with
/// `warm_statements` set, every connection opened from now on has it
/// prepared before its first lease, so its first run there needs no
/// prepare. Only `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `REPLACE`, `WITH`
/// and `VALUES` statements are warmed.
///
/// Fails with `LITEPOOL_SQLITE_ERROR` (the statement does not prepare),
/// `LITEPOOL_MISUSE` (transaction control), `LITEPOOL_TIMEOUT`, or a handle
/// error.
///
/// # Safety
/// `sql` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn litepool_prepare(pool: *mut litepool_pool, sql: *const c_char) -> litepool_result {
    boundary("litepool_prepare", || {
        // SAFETY: the caller guarantees `sql` is NUL-terminated.
        let sql = unsafe { c_str(sql, "sql") }?;
        pool_of(pool)?.prepare(sql)?;
        Ok(())
    })
}

/// Writes the pool's most recent slow statements (up to 64, oldest first;
/// see `slow_statement_threshold_ms`) to `buf` as NUL-terminated text: one
/// entry per paragraph, each a line `slow statement: ran <ms> ms (waited
/// <ms> ms) on connection <id> (<lane>): <sql> <parameters>` followed, on
/// the first slow run of a statement, by its EXPLAIN QUERY PLAN lines.
/// Parameters show as `?` unless `log_parameters` is set.
///
/// `*needed` receives the size the text needs, NUL included, as for
/// `litepool_metrics`; pass `buf = NULL, len = 0` to size a buffer.
///
/// # Safety
/// `buf` must be NULL (only with `len == 0`) or point to `len` writable
/// bytes; `needed` must be NULL or point to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn litepool_slow_statements(
    pool: *const litepool_pool,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> litepool_result {
    boundary("litepool_slow_statements", || {
        let slow = pool_of(pool)?.slow_statements();
        let text: Vec<String> = slow.iter().map(ToString::to_string).collect();
        // SAFETY: forwarded from the caller.
        unsafe { write_text(&text.join("\n\n"), "the slow-statement log", buf, len, needed) }
    })
}
