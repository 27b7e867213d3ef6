//! Leases: acquire a connection, use its `sqlite3 *`, release it.

use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

use litepool_core::rusqlite::ffi::sqlite3;
use litepool_core::sql::{Call, Op};
use litepool_core::{AcquireOptions, AcquireSite, Lane, Pool, PooledConnection};
use parking_lot::Mutex;

use crate::config::c_str;
use crate::handles::{HandleTable, Lookup};
use crate::panic::{boundary, boundary_value};
use crate::pool::{handle_of, litepool_pool, pool_of, ptr_of, LITEPOOL_POOL_TIMEOUT};
use crate::result::{litepool_result, litepool_result::*, Failure};

/// A leased connection. Opaque: get one with `litepool_acquire` (or a
/// sibling), give it back with `litepool_release`.
///
/// The pointer is a checked handle, not an address: never dereference it.
/// After `litepool_release` every use of it fails with
/// `LITEPOOL_ALREADY_RELEASED`. litepool calls on one lease from several
/// threads are serialised; the `sqlite3 *` itself must be used by one thread
/// at a time (SQLite's rule for a connection shared between threads).
#[allow(non_camel_case_types)]
pub struct litepool_conn {
    _private: [u8; 0],
}

/// How a lease behaves, for `litepool_acquire_labeled` and
/// `litepool_acquire_tenant`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum litepool_lane {
    /// An ordinary read-write connection (`litepool_acquire`).
    LITEPOOL_LANE_ANY = 0,
    /// `PRAGMA query_only=ON` for the lease (`litepool_acquire_read`).
    LITEPOOL_LANE_READ = 1,
    /// The lease holds the pool's write gate (`litepool_acquire_write`).
    LITEPOOL_LANE_WRITE = 2,
}

/// A lease as the handle table keeps it.
pub(crate) struct Lease {
    /// `None` once released; the mutex serialises litepool calls on the lease.
    conn: Mutex<Option<PooledConnection>>,
    /// The connection's `sqlite3 *`, as an address.
    db: usize,
}

static CONNS: HandleTable<Lease> = HandleTable::new(0x1C0);

fn lease_of(conn: *const litepool_conn) -> Result<Arc<Lease>, Failure> {
    if conn.is_null() {
        return Err(Failure::null("conn"));
    }
    match CONNS.get(handle_of(conn)) {
        Lookup::Live(lease) => Ok(lease),
        Lookup::Stale => Err(released()),
        Lookup::Invalid => Err(not_a_conn()),
    }
}

fn released() -> Failure {
    Failure::new(LITEPOOL_ALREADY_RELEASED, "the connection was already released with litepool_release")
}

fn not_a_conn() -> Failure {
    Failure::new(LITEPOOL_INVALID_HANDLE, "`conn` is not a connection handle returned by litepool_acquire")
}

pub(crate) fn timeout(timeout_ms: u32) -> Option<Duration> {
    (timeout_ms != LITEPOOL_POOL_TIMEOUT).then(|| Duration::from_millis(u64::from(timeout_ms)))
}

/// A `litepool_lane` value as the core's [`Lane`]; anything else is
/// `LITEPOOL_INVALID_ARGUMENT`.
pub(crate) fn lane_from(lane: u32) -> Result<Lane, Failure> {
    match lane {
        0 => Ok(Lane::Any),
        1 => Ok(Lane::Read),
        2 => Ok(Lane::Write),
        other => Err(Failure::new(
            LITEPOOL_INVALID_ARGUMENT,
            format!("`lane` is {other}; expected LITEPOOL_LANE_ANY (0), _READ (1) or _WRITE (2)"),
        )),
    }
}

/// Leases with `opts` and publishes the lease to `*out`.
///
/// # Safety
/// `out` must be NULL (rejected) or writable for one pointer.
pub(crate) unsafe fn acquire_into(
    pool: *mut litepool_pool,
    out: *mut *mut litepool_conn,
    take: impl FnOnce(&Pool) -> litepool_core::Result<PooledConnection>,
) -> Result<(), Failure> {
    if out.is_null() {
        return Err(Failure::null("out"));
    }
    let pool = pool_of(pool)?;
    let conn = take(&pool)?;
    // SAFETY: `handle()` only reads the connection's pointer. The pointer is
    // never used by Rust; C gets it and may use it until `litepool_release`,
    // for as long as this lease (and so the connection) is alive: the
    // connection is owned by the lease, is not closed while leased, and its
    // `sqlite3` object does not move when the lease moves.
    let db = unsafe { conn.handle() }.expose_provenance();
    let lease = Arc::new(Lease { conn: Mutex::new(Some(conn)), db });
    let handle =
        CONNS.insert(lease).ok_or_else(|| Failure::new(LITEPOOL_ERROR, "too many leases are out at once (2^20)"))?;
    // SAFETY: non-NULL; the caller guarantees it is writable.
    unsafe { out.write(ptr_of(handle)) };
    Ok(())
}

fn options(pool: &Pool, lane: Lane, timeout_ms: u32, label: Option<&str>, function: &str) -> AcquireOptions {
    // A C call site cannot be captured; name it in leak reports by its label,
    // or by the function (only built when leak detection is on).
    let site = match label {
        Some(text) => Some(AcquireSite::Text(text.to_owned())),
        None if pool.config().leak_threshold.is_some() => Some(AcquireSite::Text(format!(
            "{function} (no label; use litepool_acquire_labeled to name the call site)"
        ))),
        None => None,
    };
    AcquireOptions { lane, timeout: timeout(timeout_ms), site, tenant: None, deadline: None }
}

/// Leases a read-write connection, waiting up to `timeout_ms` milliseconds
/// (`LITEPOOL_POOL_TIMEOUT`, i.e. 0, waits the pool's `acquire_timeout_ms`).
/// Waiters are served first come, first served. On success writes the
/// lease to `*out`; give it back with `litepool_release`.
///
/// Fails with `LITEPOOL_TIMEOUT` (the message states the pool's counts),
/// `LITEPOOL_CLOSED`, or a handle error.
///
/// # Safety
/// `out` must point to writable memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn litepool_acquire(
    pool: *mut litepool_pool,
    timeout_ms: u32,
    out: *mut *mut litepool_conn,
) -> litepool_result {
    boundary("litepool_acquire", || {
        // SAFETY: forwarded from the caller.
        unsafe { acquire_into(pool, out, |p| p.acquire(options(p, Lane::Any, timeout_ms, None, "litepool_acquire"))) }
    })
}

/// Leases an idle connection now, or opens a new one if the pool has room;
/// never waits. Fails with `LITEPOOL_EXHAUSTED` when neither is possible.
///
/// # Safety
/// `out` must point to writable memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn litepool_try_acquire(
    pool: *mut litepool_pool,
    out: *mut *mut litepool_conn,
) -> litepool_result {
    boundary("litepool_try_acquire", || {
        // SAFETY: forwarded from the caller.
        unsafe { acquire_into(pool, out, Pool::try_get) }
    })
}

/// On a replica pool (`replica_url`): a read lease that sees at least
/// commit `token` (from `litepool_commit_token` on the primary), waiting up
/// to the pool's `acquire_timeout_ms`; then `LITEPOOL_TIMEOUT`, whose
/// message names the token asked for and the one the replica has.
///
/// # Safety
/// `out` must point to writable memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn litepool_acquire_at_least(
    pool: *mut litepool_pool,
    token: u64,
    out: *mut *mut litepool_conn,
) -> litepool_result {
    boundary("litepool_acquire_at_least", || {
        // SAFETY: forwarded from the caller.
        unsafe { acquire_into(pool, out, |p| p.read_at_least(token)) }
    })
}

/// Like `litepool_acquire`, for reading: the lease has `PRAGMA query_only=ON`,
/// so a write through `litepool_exec` fails with `LITEPOOL_READ_ONLY_LANE`
/// (through the raw `sqlite3 *`, with `SQLITE_READONLY`).
///
/// # Safety
/// `out` must point to writable memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn litepool_acquire_read(
    pool: *mut litepool_pool,
    timeout_ms: u32,
    out: *mut *mut litepool_conn,
) -> litepool_result {
    boundary("litepool_acquire_read", || {
        // SAFETY: forwarded from the caller.
        unsafe {
            acquire_into(pool, out, |p| p.acquire(options(p, Lane::Read, timeout_ms, None, "litepool_acquire_read")))
        }
    })
}

/// Like `litepool_acquire`, for writing: the lease also holds the pool's
/// write gate (one holder at a time, first come first served), so writers
/// queue here instead of colliding in SQLite's busy handler. `timeout_ms`
/// covers both waits. Use `BEGIN IMMEDIATE` for transactions on it.
///
/// # Safety
/// `out` must point to writable memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn litepool_acquire_write(
    pool: *mut litepool_pool,
    timeout_ms: u32,
    out: *mut *mut litepool_conn,
) -> litepool_result {
    boundary("litepool_acquire_write", || {
        // SAFETY: forwarded from the caller.
        unsafe {
            acquire_into(pool, out, |p| p.acquire(options(p, Lane::Write, timeout_ms, None, "litepool_acquire_write")))
        }
    })
}

/// Leases on `lane` (a `litepool_lane` value) like the functions above, and
/// records `label` (e.g. `"quota.c:42 reserve()"`) as the lease's call site:
/// it is what a leak report shows when `leak_threshold_ms` is set. An
/// unknown lane fails with `LITEPOOL_INVALID_ARGUMENT`.
///
/// # Safety
/// `label` must be a NUL-terminated string; `out` must point to writable
/// memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn litepool_acquire_labeled(
    pool: *mut litepool_pool,
    lane: u32,
    timeout_ms: u32,
    label: *const c_char,
    out: *mut *mut litepool_conn,
) -> litepool_result {
    boundary("litepool_acquire_labeled", || {
        // SAFETY: the caller guarantees `label` is NUL-terminated.
        let label = unsafe { c_str(label, "label") }?;
        let lane = lane_from(lane)?;
        // SAFETY: forwarded from the caller.
        unsafe {
            acquire_into(pool, out, |p| {
                p.acquire(options(p, lane, timeout_ms, Some(label), "litepool_acquire_labeled"))
            })
        }
    })
}

/// The lease's raw SQLite connection, for the ordinary SQLite C API
/// (`sqlite3_prepare_v2`, `sqlite3_step`, …). Returns NULL when `conn` is
/// NULL, released or not a lease (the reason is in `litepool_last_error()`).
///
/// The pool owns the connection: it is valid only until `litepool_release`.
/// Do not `sqlite3_close` it, and finalize every statement you prepared on
/// it before releasing (a statement left behind keeps the connection from
/// closing cleanly later). A transaction left open is rolled back on release.
#[no_mangle]
pub extern "C" fn litepool_conn_db(conn: *mut litepool_conn) -> *mut sqlite3 {
    boundary_value("litepool_conn_db", || {
        let lease = lease_of(conn)?;
        // The pool then checks and restores the connection on release.
        lease.conn.lock().as_ref().ok_or_else(released)?.note_raw_access();
        Ok(std::ptr::with_exposed_provenance_mut::<sqlite3>(lease.db))
    })
    .unwrap_or(std::ptr::null_mut())
}

/// Runs one or more SQL statements (separated by `;`, no results returned)
/// on the lease. SQLite errors give `LITEPOOL_SQLITE_ERROR` with the
/// extended code in `litepool_last_sqlite_code()`; a write on a read lease
/// gives `LITEPOOL_READ_ONLY_LANE`; SQL stopped by `statement_timeout_ms`
/// or the lease's deadline gives `LITEPOOL_DEADLINE`.
///
/// # Safety
/// `sql` must be a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn litepool_exec(conn: *mut litepool_conn, sql: *const c_char) -> litepool_result {
    boundary("litepool_exec", || {
        let lease = lease_of(conn)?;
        // SAFETY: the caller guarantees `sql` is NUL-terminated.
        let sql = unsafe { c_str(sql, "sql") }?;
        let guard = lease.conn.lock();
        let pooled = guard.as_ref().ok_or_else(released)?;
        // Through the core's SQL layer: statement_timeout_ms, the slow log.
        litepool_core::sql::execute(pooled, &Call::new(Op::Script, sql))?;
        Ok(())
    })
}

/// Stops every statement run on this lease once `deadline_ms` milliseconds
/// have passed from now: `litepool_exec` then fails with
/// `LITEPOOL_DEADLINE`, and statements run on the raw `sqlite3 *` with
/// `SQLITE_INTERRUPT` (SQLite's progress handler stops them from inside,
/// on the thread running them). The connection stays usable; the deadline
/// ends with the lease. `deadline_ms` must be at least 1.
#[no_mangle]
pub extern "C" fn litepool_conn_set_deadline(conn: *mut litepool_conn, deadline_ms: u32) -> litepool_result {
    boundary("litepool_conn_set_deadline", || {
        if deadline_ms == 0 {
            return Err(Failure::new(LITEPOOL_INVALID_ARGUMENT, "`deadline_ms` is 0; it must be at least 1"));
        }
        let lease = lease_of(conn)?;
        let guard = lease.conn.lock();
        guard.as_ref().ok_or_else(released)?.set_deadline(Duration::from_millis(u64::from(deadline_ms)));
        Ok(())
    })
}

/// Writes the pooled connection's id (as in leak reports) to `*out`.
///
/// # Safety
/// `out` must point to a writable `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn litepool_conn_id(conn: *mut litepool_conn, out: *mut u64) -> litepool_result {
    boundary("litepool_conn_id", || {
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        let lease = lease_of(conn)?;
        let id = lease.conn.lock().as_ref().ok_or_else(released)?.connection_id();
        // SAFETY: non-NULL; the caller guarantees it is writable.
        unsafe { out.write(id) };
        Ok(())
    })
}

/// Gives the connection back to the pool (rolling back a transaction left
/// open). The handle is dead afterwards: releasing it again, or any other
/// use, fails with `LITEPOOL_ALREADY_RELEASED` and changes nothing.
///
/// Releasing into a closed or freed pool is fine: the connection is closed.
#[no_mangle]
pub extern "C" fn litepool_release(conn: *mut litepool_conn) -> litepool_result {
    boundary("litepool_release", || {
        if conn.is_null() {
            return Err(Failure::null("conn"));
        }
        match CONNS.remove(handle_of(conn)) {
            Lookup::Live(lease) => {
                // Waits for a litepool call running on this lease in another
                // thread; the connection goes back to the pool on drop.
                let pooled = lease.conn.lock().take();
                drop(pooled);
                Ok(())
            }
            Lookup::Stale => Err(released()),
            Lookup::Invalid => Err(not_a_conn()),
        }
    })
}
