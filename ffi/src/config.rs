//! `litepool_config`: the pool's settings as a plain C struct.

use std::ffi::{c_char, CStr};
use std::time::Duration;

use litepool_core::{OptionValue, PoolConfig};

use crate::result::{litepool_result, Failure};

/// How a pool is sized, timed and how its connections are set up.
///
/// Always start from `litepool_config_default()` and change the fields you
/// need: a zeroed struct is not a valid configuration. All times are in
/// milliseconds. The strings are only read during `litepool_open` (copied),
/// so they may be freed afterwards.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct litepool_config {
    /// The most connections the pool opens. Default 10; must be at least 1.
    pub max_size: u32,
    /// Idle connections kept open and ready. Default 2; at most `max_size`.
    pub min_idle: u32,
    /// How long an acquire waits when called with `LITEPOOL_POOL_TIMEOUT`.
    /// Default 5000; must be greater than 0.
    pub acquire_timeout_ms: u32,
    /// Idle connections above `min_idle` are closed after this long unused.
    /// Default 30000; 0 keeps them forever.
    pub idle_timeout_ms: u32,
    /// Connections are retired once this old (minus up to 2.5 % jitter).
    /// Default 1800000 (30 minutes); 0 means no limit.
    pub max_lifetime_ms: u32,
    /// A connection idle longer than this is checked before it is handed
    /// out. Default 500; 0 checks every time.
    pub validation_window_ms: u32,
    /// A lease held longer than this is logged once as a leak (with the
    /// label given to `litepool_acquire_labeled`) and counted in
    /// `litepool_stats.leaks`. Default 0: leak detection off.
    pub leak_threshold_ms: u32,
    /// SQLite's `busy_timeout` on every connection. Default 5000; at most
    /// 2147483647.
    pub busy_timeout_ms: u32,
    /// How often the background thread retires idle and old connections and
    /// refills `min_idle`. Default 1000; must be greater than 0.
    pub housekeeping_period_ms: u32,
    /// `PRAGMA foreign_keys` on every connection. Default true.
    pub foreign_keys: bool,
    /// Threads that run the SQL of asynchronous calls. Default 0: as many as
    /// the machine has cores, at most `max_size` (C callers, which lease and
    /// run SQL themselves, never use them).
    pub workers: u32,
    /// The `pool` label in `litepool_metrics`. Default "litepool"; NULL means
    /// the default. Must not contain a quote, backslash or newline.
    pub name: *const c_char,
    /// `PRAGMA journal_mode` for file databases: DELETE, TRUNCATE, PERSIST,
    /// MEMORY, WAL or OFF. Default "WAL"; NULL leaves SQLite's default.
    pub journal_mode: *const c_char,
    /// `PRAGMA synchronous`: OFF, NORMAL, FULL or EXTRA. Default "NORMAL";
    /// NULL leaves SQLite's default.
    pub synchronous: *const c_char,
    /// SQL run on every new connection after the pragmas. Default NULL (none).
    pub init_sql: *const c_char,
    /// How waiters are served: "barging" (a running thread may go first,
    /// until a waiter has waited past `starvation_bound_ms`) or "strict"
    /// (first come, first served). Default "barging"; NULL means the default.
    pub fairness: *const c_char,
    /// With barging: how long the first waiter may wait before freed
    /// connections are handed to it directly. Default 1; must be greater than 0.
    pub starvation_bound_ms: u32,
    /// One-shot writes queued behind the write gate commit together (each in
    /// its own savepoint). Default false (C callers run their own SQL; this
    /// serves the pool's one-shot calls).
    pub group_commit: bool,
    /// Who checkpoints the WAL: "pool" (off the request path, with reader
    /// back-pressure above `wal_high_water`), "external" (Litestream or
    /// another tool; the pool only watches) or "sqlite" (SQLite's own
    /// autocheckpoint). Default "pool"; NULL means the default.
    pub checkpoint: *const c_char,
    /// With checkpoint "pool": a PASSIVE checkpoint runs once this many new
    /// pages are in the WAL. Default 1000; must be at least 1.
    pub checkpoint_pages: u32,
    /// With checkpoint "pool": above this many WAL bytes, new read and
    /// ordinary leases wait (at most 1 s) while the pool runs a TRUNCATE
    /// checkpoint. Default 67108864 (64 MiB); 0 turns it off.
    pub wal_high_water: u64,
    /// `PRAGMA journal_size_limit` in bytes: a larger WAL file is truncated
    /// to this when it restarts. Default 67108864 (64 MiB).
    pub journal_size_limit: u64,
    /// A SQLite loadable extension (a path) loaded once per process before
    /// the first connection opens, e.g. the Litestream VFS. Default NULL (none).
    pub extension: *const c_char,
    /// The SQLite VFS connections open with. Default NULL (SQLite's default).
    pub vfs: *const c_char,
    /// A Litestream replica URL: the pool is a read-only replica through the
    /// Litestream VFS, and writes fail with `LITEPOOL_READ_ONLY_REPLICA`.
    /// Default NULL (none).
    pub replica_url: *const c_char,
    /// A statement run by the pool (`litepool_exec`) longer than this is
    /// stopped inside SQLite with `LITEPOOL_DEADLINE`; the connection stays
    /// usable. Default 0: off.
    pub statement_timeout_ms: u32,
    /// The most callers that may queue for a connection (or at the write
    /// gate); one more fails at once with `LITEPOOL_OVERLOADED`. Default 0:
    /// unbounded.
    pub max_waiting: u32,
    /// Fail an acquire at once with `LITEPOOL_OVERLOADED` when the wait the
    /// pool expects (queue position x mean hold time / connections) already
    /// exceeds its timeout. Default false.
    pub shed_load: bool,
    /// Serve queued callers by weighted fair queueing across tenants
    /// (`litepool_set_tenant_weight`) instead of one FIFO queue. Default false.
    pub fair_tenants: bool,
    /// The most leases one tenant may hold at once (its further callers
    /// queue); any value turns `fair_tenants` on. Default 0: no limit.
    pub max_leases_per_tenant: u32,
    /// Up to this many hot statements (the most run, and those pinned with
    /// `litepool_prepare`) are prepared on each new connection when it opens.
    /// Default 0: off.
    pub warm_statements: u32,
    /// Keep per-statement counters and export this many statements (the
    /// longest running) in `litepool_metrics`. Default 0: off.
    pub statement_stats: u32,
    /// A statement that runs longer is logged (see `litepool_slow_statements`)
    /// with its EXPLAIN QUERY PLAN the first time. Default 0: off.
    pub slow_statement_threshold_ms: u32,
    /// Show parameter values in the slow-statement log (redacted by default).
    /// Default false.
    pub log_parameters: bool,
}

/// Fills `*cfg` with the defaults documented on each field of
/// `litepool_config`. Does nothing if `cfg` is NULL.
///
/// # Safety
/// `cfg` must be NULL or point to writable memory for one `litepool_config`.
#[no_mangle]
pub unsafe extern "C" fn litepool_config_default(cfg: *mut litepool_config) {
    let _ = crate::panic::boundary("litepool_config_default", || {
        if cfg.is_null() {
            return Err(Failure::null("cfg"));
        }
        let value = defaults();
        // SAFETY: non-NULL, and the caller guarantees it points to writable
        // memory for one litepool_config; `write` does not read the old value.
        unsafe { cfg.write(value) };
        Ok(())
    });
}

fn defaults() -> litepool_config {
    let d = PoolConfig::default();
    let ms = |t: Option<Duration>| t.map_or(0, |t| u32::try_from(t.as_millis()).unwrap_or(u32::MAX));
    litepool_config {
        max_size: d.max_size,
        min_idle: d.min_idle,
        acquire_timeout_ms: ms(Some(d.acquire_timeout)),
        idle_timeout_ms: ms(d.idle_timeout),
        max_lifetime_ms: ms(d.max_lifetime),
        validation_window_ms: ms(Some(d.validation_window)),
        leak_threshold_ms: ms(d.leak_threshold),
        busy_timeout_ms: ms(Some(d.busy_timeout)),
        housekeeping_period_ms: ms(Some(d.housekeeping_period)),
        foreign_keys: d.foreign_keys,
        workers: d.workers,
        // The defaults are static strings owned by the library.
        name: c"litepool".as_ptr(),
        journal_mode: c"WAL".as_ptr(),
        synchronous: c"NORMAL".as_ptr(),
        init_sql: std::ptr::null(),
        fairness: c"barging".as_ptr(),
        starvation_bound_ms: ms(Some(d.starvation_bound)),
        group_commit: d.group_commit,
        checkpoint: c"pool".as_ptr(),
        checkpoint_pages: d.checkpoint_pages,
        wal_high_water: d.wal_high_water,
        journal_size_limit: d.journal_size_limit,
        extension: std::ptr::null(),
        vfs: std::ptr::null(),
        replica_url: std::ptr::null(),
        statement_timeout_ms: ms(d.statement_timeout),
        max_waiting: d.max_waiting,
        shed_load: d.shed_load,
        fair_tenants: d.fair_tenants,
        max_leases_per_tenant: d.max_leases_per_tenant,
        warm_statements: d.warm_statements,
        statement_stats: d.statement_stats,
        slow_statement_threshold_ms: ms(d.slow_statement_threshold),
        log_parameters: d.log_parameters,
    }
}

/// Reads a NUL-terminated UTF-8 string; `what` names it in errors.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that stays alive
/// and unchanged for `'a`.
pub(crate) unsafe fn c_str<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-NULL, and the caller guarantees NUL termination and lifetime.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes.to_str().map_err(|e| {
        Failure::new(
            litepool_result::LITEPOOL_INVALID_ARGUMENT,
            format!("`{what}` is not valid UTF-8 (invalid byte at offset {})", e.valid_up_to()),
        )
    })
}

/// [`c_str`] where NULL means "not set".
///
/// # Safety
/// As for [`c_str`].
unsafe fn optional_str(ptr: *const c_char, what: &str) -> Result<Option<String>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded from the caller.
    unsafe { c_str(ptr, what) }.map(|s| Some(s.to_owned()))
}

/// Translates a C config into the core's, through the core's option table
/// (which checks every range and names the field at fault).
///
/// # Safety
/// Every non-NULL string field must be NUL-terminated and alive for the call.
pub(crate) unsafe fn to_pool_config(cfg: &litepool_config) -> Result<PoolConfig, Failure> {
    let count = |v: u32| OptionValue::Count(u64::from(v));
    let ms = |v: u32| OptionValue::Duration(Duration::from_millis(u64::from(v)));
    let text = |v: Option<String>| v.map_or(OptionValue::Off, OptionValue::Text);
    let mut given = vec![
        ("max_size", count(cfg.max_size)),
        ("min_idle", count(cfg.min_idle)),
        ("acquire_timeout", ms(cfg.acquire_timeout_ms)),
        ("idle_timeout", ms(cfg.idle_timeout_ms)),
        ("max_lifetime", ms(cfg.max_lifetime_ms)),
        ("validation_window", ms(cfg.validation_window_ms)),
        ("leak_threshold", ms(cfg.leak_threshold_ms)),
        ("busy_timeout", ms(cfg.busy_timeout_ms)),
        ("housekeeping_period", ms(cfg.housekeeping_period_ms)),
        ("workers", count(cfg.workers)),
        ("foreign_keys", OptionValue::Flag(cfg.foreign_keys)),
        ("starvation_bound", ms(cfg.starvation_bound_ms)),
        ("group_commit", OptionValue::Flag(cfg.group_commit)),
        ("checkpoint_pages", count(cfg.checkpoint_pages)),
        ("wal_high_water", OptionValue::Count(cfg.wal_high_water)),
        ("journal_size_limit", OptionValue::Count(cfg.journal_size_limit)),
        ("statement_timeout", ms(cfg.statement_timeout_ms)),
        ("max_waiting", count(cfg.max_waiting)),
        ("shed_load", OptionValue::Flag(cfg.shed_load)),
        ("fair_tenants", OptionValue::Flag(cfg.fair_tenants)),
        ("max_leases_per_tenant", count(cfg.max_leases_per_tenant)),
        ("warm_statements", count(cfg.warm_statements)),
        ("statement_stats", count(cfg.statement_stats)),
        ("slow_statement_threshold", ms(cfg.slow_statement_threshold_ms)),
        ("log_parameters", OptionValue::Flag(cfg.log_parameters)),
    ];
    // SAFETY (all five): the caller guarantees the string fields.
    if let Some(name) = unsafe { optional_str(cfg.name, "cfg->name") }? {
        given.push(("name", OptionValue::Text(name)));
    }
    given.push(("journal_mode", text(unsafe { optional_str(cfg.journal_mode, "cfg->journal_mode") }?)));
    given.push(("synchronous", text(unsafe { optional_str(cfg.synchronous, "cfg->synchronous") }?)));
    given.push(("init_sql", text(unsafe { optional_str(cfg.init_sql, "cfg->init_sql") }?)));
    if let Some(fairness) = unsafe { optional_str(cfg.fairness, "cfg->fairness") }? {
        given.push(("fairness", OptionValue::Text(fairness)));
    }
    // SAFETY: as above.
    if let Some(mode) = unsafe { optional_str(cfg.checkpoint, "cfg->checkpoint") }? {
        given.push(("checkpoint", OptionValue::Text(mode)));
    }
    // SAFETY (all three): as above.
    given.push(("extension", text(unsafe { optional_str(cfg.extension, "cfg->extension") }?)));
    given.push(("vfs", text(unsafe { optional_str(cfg.vfs, "cfg->vfs") }?)));
    given.push(("replica_url", text(unsafe { optional_str(cfg.replica_url, "cfg->replica_url") }?)));
    Ok(PoolConfig::default().with_options(given)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_to_the_core_defaults() {
        let c = defaults();
        // SAFETY: the default strings are static and NUL-terminated.
        let p = unsafe { to_pool_config(&c) }.unwrap();
        let d = PoolConfig::default();
        assert_eq!(format!("{p:?}"), format!("{d:?}"));
    }
}
