//! Tenants from C: register a tenant database, lease a connection with it
//! attached as schema `tenant_<code>`, read its counters, remove it.
//!
//! Everything here translates to the core's `Pool::register_tenant`,
//! `remove_tenant`, `acquire` (with `AcquireOptions::tenant`) and
//! `tenant_statistics_of`; attachment, affinity and LRU detaching live there.

use std::ffi::c_char;
use std::time::Duration;

use litepool_core::{is_valid_tenant_code, AcquireOptions, AcquireSite, Error};

use crate::config::c_str;
use crate::conn::{acquire_into, lane_from, litepool_conn, timeout};
use crate::panic::boundary;
use crate::pool::{litepool_pool, pool_of};
use crate::result::{litepool_result, Failure};

/// The counters of one tenant, from `litepool_get_tenant_stats`: its leases
/// out now, then counters that only grow from its registration.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct litepool_tenant_stats {
    /// Leases with this tenant attached that are out right now.
    pub active: u32,
    /// Leases handed out for this tenant, in all.
    pub acquired: u64,
    /// Times its database was ATTACHed to a connection.
    pub attaches: u64,
    /// Times it was DETACHed from a connection: to make room for another
    /// tenant (SQLite allows few attachments per connection; the least
    /// recently used one goes), or to replace a stale attachment.
    pub detaches: u64,
    /// Leases served by a connection that already had it attached, so no
    /// ATTACH was needed.
    pub affinity_hits: u64,
}

/// Reads a tenant code argument (UTF-8; its form is checked by the core).
///
/// # Safety
/// As for [`c_str`].
unsafe fn code_arg<'a>(code: *const c_char) -> Result<&'a str, Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { c_str(code, "code") }
}

/// Registers tenant `code` whose SQLite database is the file at `path`
/// (created if missing). Leases taken with `litepool_acquire_tenant(pool,
/// code, ...)` then have it ATTACHed under the schema name `tenant_<code>`,
/// so SQL on them reaches its tables as `tenant_<code>.<table>`. The file is
/// opened once here, so a bad path fails now, and it gets the same setup as
/// the main database (journal mode, busy timeout, foreign keys).
///
/// `code` must be 1 to 64 characters of `[a-z0-9_]`: anything else fails
/// with `LITEPOOL_INVALID_TENANT`, so a code can never inject SQL.
/// Registering the same code again with the same path does nothing; with a
/// different path it fails with `LITEPOOL_INVALID_CONFIG` (remove it
/// first). A path that cannot be opened fails with `LITEPOOL_OPEN_FAILED`,
/// the message naming it. Both strings are copied.
///
/// # Safety
/// `code` and `path` must be NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn litepool_register_tenant(
    pool: *mut litepool_pool,
    code: *const c_char,
    path: *const c_char,
) -> litepool_result {
    boundary("litepool_register_tenant", || {
        // SAFETY: the caller guarantees both are NUL-terminated.
        let (code, path) = unsafe { (code_arg(code)?, c_str(path, "path")?) };
        pool_of(pool)?.register_tenant(code, path)?;
        Ok(())
    })
}

/// Removes tenant `code`: new acquires for it fail at once with
/// `LITEPOOL_UNKNOWN_TENANT`, and the call waits up to `timeout_ms`
/// milliseconds (0: not at all) for its leases to be released. If some are
/// still out then, it fails with `LITEPOOL_TENANT_BUSY` (the message says
/// how many) and the tenant stays registered and usable; release the leases
/// and call again.
///
/// Its database file is not deleted. Idle connections may keep it attached
/// until they need the slot for another tenant; a later
/// `litepool_register_tenant` of the same code replaces such stale
/// attachments. An unregistered code fails with `LITEPOOL_UNKNOWN_TENANT`,
/// a malformed one with `LITEPOOL_INVALID_TENANT`.
///
/// # Safety
/// `code` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn litepool_remove_tenant(
    pool: *mut litepool_pool,
    code: *const c_char,
    timeout_ms: u32,
) -> litepool_result {
    boundary("litepool_remove_tenant", || {
        // SAFETY: the caller guarantees `code` is NUL-terminated.
        let code = unsafe { code_arg(code) }?;
        pool_of(pool)?.remove_tenant(code, Duration::from_millis(u64::from(timeout_ms)))?;
        Ok(())
    })
}

/// Leases a connection on which tenant `code` is attached as schema
/// `tenant_<code>`, on `lane` (a `litepool_lane` value), waiting up to
/// `timeout_ms` milliseconds (`LITEPOOL_POOL_TIMEOUT`: the pool's
/// `acquire_timeout_ms`). On success writes the lease to `*out`; give it
/// back with `litepool_release`.
///
/// The pool prefers an idle connection that already has the tenant attached
/// (no ATTACH needed); otherwise it attaches it, first detaching that
/// connection's least recently used tenant if the connection is at SQLite's
/// attachment limit (10 in Debian's build). The main database stays
/// reachable as `main`, so one transaction can span `main` and the tenant.
/// Do not ATTACH or DETACH `tenant_*` schemas yourself on the `sqlite3 *`:
/// the pool keeps track of them. Other tenants may also be attached on the
/// connection: always qualify tenant tables by their schema.
///
/// `LITEPOOL_LANE_WRITE` holds the tenant's own write gate, not the pool's,
/// so writers of different tenants do not queue behind one another; writes
/// to `main` through it are not queued behind the pool's other writers
/// (SQLite's busy timeout still applies).
///
/// Fails with `LITEPOOL_INVALID_TENANT`, `LITEPOOL_UNKNOWN_TENANT`,
/// `LITEPOOL_INVALID_ARGUMENT` (an unknown lane), `LITEPOOL_TIMEOUT`,
/// `LITEPOOL_CLOSED`, `LITEPOOL_OPEN_FAILED` (the tenant's file can no
/// longer be attached), or a handle error.
///
/// # Safety
/// `code` must be a NUL-terminated string; `out` must point to writable
/// memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn litepool_acquire_tenant(
    pool: *mut litepool_pool,
    code: *const c_char,
    lane: u32,
    timeout_ms: u32,
    out: *mut *mut litepool_conn,
) -> litepool_result {
    boundary("litepool_acquire_tenant", || {
        // SAFETY: the caller guarantees `code` is NUL-terminated.
        let code = unsafe { code_arg(code) }?;
        let lane = lane_from(lane)?;
        // SAFETY: forwarded from the caller.
        unsafe {
            acquire_into(pool, out, |p| {
                // A C call site cannot be captured: name the function and
                // tenant in leak reports (only built when detection is on).
                let site = p
                    .config()
                    .leak_threshold
                    .map(|_| AcquireSite::Text(format!("litepool_acquire_tenant (tenant {code:?})")));
                p.acquire(AcquireOptions {
                    lane,
                    timeout: timeout(timeout_ms),
                    site,
                    tenant: Some(code.to_owned()),
                    deadline: None,
                })
            })
        }
    })
}

/// Sets tenant `code`'s weight (1 to 1000; 1 when registered) in fair
/// queueing (`fair_tenants`): its queued callers are served that many per
/// turn. Fails with `LITEPOOL_INVALID_CONFIG` (a weight out of range),
/// `LITEPOOL_INVALID_TENANT` or `LITEPOOL_UNKNOWN_TENANT`.
///
/// # Safety
/// `code` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn litepool_set_tenant_weight(
    pool: *mut litepool_pool,
    code: *const c_char,
    weight: u32,
) -> litepool_result {
    boundary("litepool_set_tenant_weight", || {
        // SAFETY: the caller guarantees `code` is NUL-terminated.
        let code = unsafe { code_arg(code) }?;
        pool_of(pool)?.set_tenant_weight(code, weight)?;
        Ok(())
    })
}

/// Writes tenant `code`'s counters to `*out`. Fails with
/// `LITEPOOL_INVALID_TENANT` or `LITEPOOL_UNKNOWN_TENANT` (a removed
/// tenant's counters are gone with it).
///
/// # Safety
/// `code` must be a NUL-terminated string; `out` must point to writable
/// memory for one `litepool_tenant_stats`.
#[no_mangle]
pub unsafe extern "C" fn litepool_get_tenant_stats(
    pool: *const litepool_pool,
    code: *const c_char,
    out: *mut litepool_tenant_stats,
) -> litepool_result {
    boundary("litepool_get_tenant_stats", || {
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        // SAFETY: the caller guarantees `code` is NUL-terminated.
        let code = unsafe { code_arg(code) }?;
        let pool = pool_of(pool)?;
        if !is_valid_tenant_code(code) {
            return Err(Error::InvalidTenant(code.to_owned()).into());
        }
        let s = pool.tenant_statistics_of(code)?;
        let stats = litepool_tenant_stats {
            active: s.active,
            acquired: s.acquired,
            attaches: s.attaches,
            detaches: s.detaches,
            affinity_hits: s.affinity_hits,
        };
        // SAFETY: non-NULL; the caller guarantees it is writable.
        unsafe { out.write(stats) };
        Ok(())
    })
}
