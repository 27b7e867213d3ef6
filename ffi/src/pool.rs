//! Pool handles: open, inspect, close and free a pool from C.

use std::ffi::{c_char, c_int};
use std::sync::Arc;
use std::time::Duration;

use litepool_core::{Health, Pool, PoolConfig};

use crate::config::{c_str, litepool_config, to_pool_config};
use crate::handles::{HandleTable, Lookup};
use crate::panic::{boundary, boundary_value};
use crate::result::{litepool_result, litepool_result::*, Failure};

/// A connection pool. Opaque: create it with `litepool_open` (or
/// `litepool_open_from_env`), destroy it with `litepool_free`.
///
/// The pointer is a checked handle, not an address: never dereference it.
/// A pool handle may be used from any number of threads at once.
#[allow(non_camel_case_types)]
pub struct litepool_pool {
    _private: [u8; 0],
}

static POOLS: HandleTable<Pool> = HandleTable::new(0x1B0);

/// Pass as `timeout_ms` to wait the pool's configured `acquire_timeout_ms`.
pub const LITEPOOL_POOL_TIMEOUT: u32 = 0;

/// A snapshot of a pool: the current counts, then counters that only grow
/// from the moment the pool was opened.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct litepool_stats {
    /// Connections leased out right now.
    pub active: u32,
    /// Open connections waiting in the pool to be leased.
    pub idle: u32,
    /// `active + idle`: every open connection the pool owns.
    pub total: u32,
    /// The configured `max_size`.
    pub max: u32,
    /// The configured `min_idle`.
    pub min: u32,
    /// Callers queued for a connection or for the write gate.
    pub waiting: u32,
    /// Leases handed out, in all (`acquired_direct + acquired_waited`).
    pub acquired: u64,
    /// Leases served at once from an idle connection.
    pub acquired_direct: u64,
    /// Leases that had to queue first.
    pub acquired_waited: u64,
    /// Acquires that gave up at their timeout.
    pub timeouts: u64,
    /// Connections opened.
    pub created: u64,
    /// Connection attempts that failed.
    pub create_failures: u64,
    /// Connections retired for sitting idle past `idle_timeout_ms`.
    pub closed_idle: u64,
    /// Connections retired for outliving `max_lifetime_ms`.
    pub closed_lifetime: u64,
    /// Connections discarded because they failed validation or reset.
    pub closed_broken: u64,
    /// Leases released inside an open transaction, and rolled back.
    pub rolled_back_on_return: u64,
    /// Leases held past `leak_threshold_ms` (each counted once).
    pub leaks: u64,
    /// Total time callers spent waiting for a connection, in microseconds.
    pub wait_time_us: u64,
}

/// The verdicts of `litepool_health`, by `active / max`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum litepool_health_status {
    /// Fewer than 80 % of `max_size` connections are leased.
    LITEPOOL_HEALTHY = 0,
    /// 80 % to 90 % of `max_size` connections are leased.
    LITEPOOL_WARNING = 1,
    /// 90 % or more are leased, or the pool is closed.
    LITEPOOL_DEGRADED = 2,
}

pub(crate) fn handle_of<T>(ptr: *const T) -> u64 {
    ptr.addr() as u64
}

pub(crate) fn ptr_of<T>(handle: u64) -> *mut T {
    // Handles are 64-bit values (see handles.rs), and usize is 64 bits here.
    std::ptr::without_provenance_mut(handle as usize)
}

/// The pool behind a handle, or the failure that names what is wrong with it.
pub(crate) fn pool_of(pool: *const litepool_pool) -> Result<Arc<Pool>, Failure> {
    if pool.is_null() {
        return Err(Failure::null("pool"));
    }
    match POOLS.get(handle_of(pool)) {
        Lookup::Live(p) => Ok(p),
        Lookup::Stale => Err(freed()),
        Lookup::Invalid => Err(not_a_pool()),
    }
}

fn freed() -> Failure {
    Failure::new(LITEPOOL_POOL_FREED, "the pool was already freed with litepool_free")
}

fn not_a_pool() -> Failure {
    Failure::new(LITEPOOL_INVALID_HANDLE, "`pool` is not a pool handle returned by litepool_open")
}

/// Registers a new pool and writes its handle to `*out`.
///
/// # Safety
/// `out` must be non-NULL and writable.
unsafe fn publish(pool: Pool, out: *mut *mut litepool_pool) -> Result<(), Failure> {
    let handle = POOLS
        .insert(Arc::new(pool))
        .ok_or_else(|| Failure::new(LITEPOOL_ERROR, "too many pools are open at once (2^20)"))?;
    // SAFETY: the caller guarantees `out` is non-NULL and writable.
    unsafe { out.write(ptr_of(handle)) };
    Ok(())
}

/// Opens a pool over the SQLite database at `path` (created if missing;
/// `":memory:"` gives one in-memory database shared by all the pool's
/// connections) with the settings in `*cfg`, and opens its first connection
/// so a bad path fails here. On success writes the new pool to `*out`.
///
/// Fails with `LITEPOOL_NULL_ARGUMENT`, `LITEPOOL_INVALID_ARGUMENT` (a string
/// that is not UTF-8), `LITEPOOL_INVALID_CONFIG` (the message names the
/// field) or `LITEPOOL_OPEN_FAILED`.
///
/// # Safety
/// `path` must be a NUL-terminated string, `cfg` must point to a valid
/// `litepool_config` and `out` to writable memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn litepool_open(
    path: *const c_char,
    cfg: *const litepool_config,
    out: *mut *mut litepool_pool,
) -> litepool_result {
    boundary("litepool_open", || {
        if cfg.is_null() {
            return Err(Failure::null("cfg"));
        }
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        // SAFETY: the caller guarantees `path` is NUL-terminated.
        let path = unsafe { c_str(path, "path") }?;
        // SAFETY: non-NULL, and the caller guarantees it points to a config.
        let cfg = unsafe { cfg.read() };
        // SAFETY: the caller guarantees the config's string fields.
        let config = unsafe { to_pool_config(&cfg) }?;
        let pool = Pool::new(path, config)?;
        // SAFETY: `out` was checked for NULL; the caller guarantees it is writable.
        unsafe { publish(pool, out) }
    })
}

/// Like `litepool_open`, with the settings read from the environment over
/// the defaults: `DB_POOL_MAX`, `DB_POOL_MIN`, `DB_POOL_IDLE_TIMEOUT`,
/// `DB_POOL_ACQUIRE_TIMEOUT`, `DB_POOL_MAX_LIFETIME`,
/// `DB_POOL_LEAK_THRESHOLD`, `DB_POOL_BUSY_TIMEOUT` (times in milliseconds;
/// 0 turns idle timeout, lifetime and leak detection off). A value that is
/// not a whole number fails with `LITEPOOL_INVALID_CONFIG` naming the
/// variable.
///
/// # Safety
/// `path` must be a NUL-terminated string and `out` must point to writable
/// memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn litepool_open_from_env(path: *const c_char, out: *mut *mut litepool_pool) -> litepool_result {
    boundary("litepool_open_from_env", || {
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        // SAFETY: the caller guarantees `path` is NUL-terminated.
        let path = unsafe { c_str(path, "path") }?;
        let pool = Pool::new(path, PoolConfig::from_env()?)?;
        // SAFETY: `out` was checked for NULL; the caller guarantees it is writable.
        unsafe { publish(pool, out) }
    })
}

/// Writes a snapshot of the pool's counts and counters to `*out`.
///
/// # Safety
/// `out` must point to writable memory for one `litepool_stats`.
#[no_mangle]
pub unsafe extern "C" fn litepool_get_stats(pool: *const litepool_pool, out: *mut litepool_stats) -> litepool_result {
    boundary("litepool_get_stats", || {
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        let pool = pool_of(pool)?;
        let (s, c) = (pool.state(), pool.statistics());
        let stats = litepool_stats {
            active: s.active,
            idle: s.idle,
            total: s.total,
            max: s.max,
            min: s.min,
            waiting: s.waiting,
            acquired: c.acquired,
            acquired_direct: c.acquired_direct,
            acquired_waited: c.acquired_waited,
            timeouts: c.timeouts,
            created: c.created,
            create_failures: c.create_failures,
            closed_idle: c.closed_idle,
            closed_lifetime: c.closed_lifetime,
            closed_broken: c.closed_broken,
            rolled_back_on_return: c.rolled_back_on_return,
            leaks: c.leaks,
            wait_time_us: u64::try_from(c.wait_time.as_micros()).unwrap_or(u64::MAX),
        };
        // SAFETY: non-NULL; the caller guarantees it is writable.
        unsafe { out.write(stats) };
        Ok(())
    })
}

/// Changes `max_size` and `min_idle` on the live pool: idle connections
/// above the new maximum close now, leased ones when released; queued
/// callers get the new room at once. `LITEPOOL_INVALID_CONFIG` when
/// `max_size` is 0 or `min_idle` exceeds it.
#[no_mangle]
pub extern "C" fn litepool_resize(pool: *mut litepool_pool, max_size: u32, min_idle: u32) -> litepool_result {
    boundary("litepool_resize", || Ok(pool_of(pool)?.resize(max_size, min_idle)?))
}

/// Retires every connection gracefully (after a schema migration, say):
/// idle ones close now, leased ones when released, and fresh ones are
/// opened as needed. Writes how many closed now to `*closed` (which may be NULL).
///
/// # Safety
/// `closed` must be NULL or point to writable memory for one `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn litepool_evict(pool: *mut litepool_pool, closed: *mut u32) -> litepool_result {
    boundary("litepool_evict", || {
        let n = pool_of(pool)?.evict();
        if !closed.is_null() {
            // SAFETY: non-NULL; the caller guarantees it is writable.
            unsafe { closed.write(u32::try_from(n).unwrap_or(u32::MAX)) };
        }
        Ok(())
    })
}

/// On a primary pool: commits a marker after everything written so far and
/// writes it to `*token`, for `litepool_acquire_at_least` on a replica
/// (read-your-writes). On a replica pool: `LITEPOOL_READ_ONLY_REPLICA`.
///
/// # Safety
/// `token` must point to writable memory for one `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn litepool_commit_token(pool: *mut litepool_pool, token: *mut u64) -> litepool_result {
    boundary("litepool_commit_token", || {
        if token.is_null() {
            return Err(Failure::null("token"));
        }
        let value = pool_of(pool)?.commit_token()?;
        // SAFETY: non-NULL; the caller guarantees it is writable.
        unsafe { token.write(value) };
        Ok(())
    })
}

/// The pool's health: `LITEPOOL_HEALTHY` (0), `LITEPOOL_WARNING` (1) or
/// `LITEPOOL_DEGRADED` (2) — see `litepool_health_status`. Returns -1 when
/// `pool` is NULL, freed or not a pool (the reason is in
/// `litepool_last_error()`).
#[no_mangle]
pub extern "C" fn litepool_health(pool: *const litepool_pool) -> c_int {
    boundary_value("litepool_health", || {
        let status = match pool_of(pool)?.health() {
            Health::Healthy => litepool_health_status::LITEPOOL_HEALTHY,
            Health::Warning => litepool_health_status::LITEPOOL_WARNING,
            _ => litepool_health_status::LITEPOOL_DEGRADED,
        };
        Ok(status as c_int)
    })
    .unwrap_or(-1)
}

/// Writes the pool's metrics in the Prometheus text format (labelled
/// `pool="<name>"`) to `buf` as a NUL-terminated string.
///
/// `*needed` receives the size the text needs, NUL included, both on success
/// and on `LITEPOOL_BUFFER_TOO_SMALL` (then `buf` is left untouched). To
/// size a buffer first, pass `buf = NULL, len = 0`. `needed` may be NULL.
///
/// # Safety
/// `buf` must be NULL (only with `len == 0`) or point to `len` writable
/// bytes; `needed` must be NULL or point to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn litepool_metrics(
    pool: *const litepool_pool,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> litepool_result {
    boundary("litepool_metrics", || {
        let text = pool_of(pool)?.metrics_text();
        // SAFETY: forwarded from the caller.
        unsafe { write_text(&text, "the metrics text", buf, len, needed) }
    })
}

/// Writes `text` to `buf` as a NUL-terminated string (the convention of
/// `litepool_metrics`): `*needed` gets the size, NUL included, when
/// `needed` is not NULL; a short buffer is `LITEPOOL_BUFFER_TOO_SMALL` and
/// left untouched.
///
/// # Safety
/// `buf` must be NULL (only with `len == 0`) or point to `len` writable
/// bytes; `needed` must be NULL or point to a writable `size_t`.
pub(crate) unsafe fn write_text(
    text: &str,
    what: &str,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> Result<(), Failure> {
    if buf.is_null() && len > 0 {
        return Err(Failure::new(LITEPOOL_INVALID_ARGUMENT, "`buf` is NULL but `len` is not 0"));
    }
    let size = text.len() + 1;
    if !needed.is_null() {
        // SAFETY: non-NULL; the caller guarantees it is writable.
        unsafe { needed.write(size) };
    }
    if size > len {
        return Err(Failure::new(
            LITEPOOL_BUFFER_TOO_SMALL,
            format!("{what} needs {size} bytes, the buffer has {len}"),
        ));
    }
    // SAFETY: `buf` is non-NULL here (len >= size > 0) and the caller
    // guarantees `len` writable bytes; we write `size <= len` bytes.
    // A Rust string cannot overlap the caller's buffer.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len());
        buf.add(text.len()).write(0);
    }
    Ok(())
}

/// Closes the pool gracefully: new acquires fail with `LITEPOOL_CLOSED`,
/// callers waiting for a connection are woken with `LITEPOOL_CLOSED`, idle
/// connections are closed, and the call waits up to `timeout_ms` for leases
/// to be released. Leases still out after that stay usable and are closed
/// when released; the call then returns `LITEPOOL_CLOSE_TIMEOUT`.
///
/// The handle stays valid (statistics can still be read) until
/// `litepool_free`. Closing twice is allowed.
#[no_mangle]
pub extern "C" fn litepool_close(pool: *mut litepool_pool, timeout_ms: u32) -> litepool_result {
    boundary("litepool_close", || {
        pool_of(pool)?.close(Duration::from_millis(u64::from(timeout_ms)))?;
        Ok(())
    })
}

/// Frees the pool handle. Never blocks and never fails for a live pool.
///
/// If leases are still out, the pool is closed as by `litepool_close` with
/// a zero timeout and its memory is kept until the last lease is released:
/// those connections stay usable until then and are closed on release.
///
/// `litepool_free(NULL)` does nothing. Freeing a pool twice (or a value that
/// is not a pool) does nothing either, and sets `litepool_last_error()`
/// (`LITEPOOL_POOL_FREED` / `LITEPOOL_INVALID_HANDLE`).
#[no_mangle]
pub extern "C" fn litepool_free(pool: *mut litepool_pool) {
    let _ = boundary("litepool_free", || {
        if pool.is_null() {
            return Ok(());
        }
        match POOLS.remove(handle_of(pool)) {
            Lookup::Live(p) => {
                // Leases still out make this CloseTimedOut: that is the
                // documented deferred free, not an error.
                let _ = p.close(Duration::ZERO);
                Ok(())
            }
            Lookup::Stale => Err(freed()),
            Lookup::Invalid => Err(not_a_pool()),
        }
    });
}
