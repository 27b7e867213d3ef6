//! Options objects: their documented shapes (these structs become the
//! `.d.ts` interfaces) and their checking, so that a bad value gets a
//! precise `TypeError`/`RangeError` naming the option. Which pool options
//! exist, their kinds and defaults come from the core's one option table
//! (`litepool::OPTIONS`); a test checks the `.d.ts` against it.

use std::time::Duration;

use litepool::sql::Sql;
use litepool::{Lane, OptionKind, OptionValue, PoolConfig, OPTIONS};
use napi::bindgen_prelude::*;
use napi::{sys, Env, ValueType};
use napi_derive::napi;

use crate::error::{range_error, to_js_error, type_error, Failure};

/// Options for `new Pool(path, options)` and `Pool.fromEnv(path, options)`.
/// Every duration is in milliseconds.
#[napi(object)]
pub struct PoolOptions {
    /// The most connections the pool opens (default: 10).
    pub max: Option<u32>,
    /// Idle connections the housekeeper keeps open and warm (default: 2 (or
    /// max_size if smaller)).
    pub min: Option<u32>,
    /// How long an acquire (and so a one-shot call) waits for a connection
    /// before failing with LITEPOOL_TIMEOUT (default: 5000 ms).
    pub connection_timeout_millis: Option<u32>,
    /// Idle connections above min_idle are closed after this long unused; 0
    /// keeps them (default: 30000 ms).
    pub idle_timeout_millis: Option<u32>,
    /// Connections are retired once this old (when next idle, with up to
    /// 2.5 % jitter); 0 means no limit (default: 1800000 ms).
    pub max_lifetime_millis: Option<u32>,
    /// A lease held longer is reported once as an apparent leak, with the
    /// site that acquired it (and a connection garbage-collected without
    /// `release()` emits a warning naming its acquire stack); 0 turns it off
    /// (default: off).
    pub leak_detection_millis: Option<u32>,
    /// SQLite's busy_timeout on every connection; 0 fails at once on a lock
    /// (default: 5000 ms).
    pub busy_timeout_millis: Option<u32>,
    /// A connection idle longer than this is checked before it is handed
    /// out; 0 checks every time (default: 500 ms).
    pub validation_window_millis: Option<u32>,
    /// How often the housekeeper retires idle and old connections and
    /// refills min_idle (default: 1000 ms).
    pub housekeeping_period_millis: Option<u32>,
    /// Threads that run the SQL of asynchronous calls; 0 picks as many as
    /// the machine has cores (default: 0 (as many as cores, at most max_size)).
    pub workers: Option<u32>,
    /// PRAGMA journal_mode for file databases (default: WAL).
    pub journal_mode: Option<String>,
    /// PRAGMA synchronous on every connection (default: NORMAL).
    pub synchronous: Option<String>,
    /// PRAGMA foreign_keys on every connection (default: true).
    pub foreign_keys: Option<bool>,
    /// SQL run on every new connection after the pool's pragmas (default: none).
    pub init_sql: Option<String>,
    /// The pool label in metrics and thread names (default: litepool).
    pub name: Option<String>,
    /// How waiters are served: `'barging'` (a running call may go first,
    /// until a waiter has waited past `starvationBoundMillis`) or `'strict'`
    /// (first come, first served) (default: barging).
    #[napi(ts_type = "'barging' | 'strict'")]
    pub fairness: Option<String>,
    /// With barging: how long the first waiter may wait before freed
    /// connections are handed to it directly (default: 1 ms).
    pub starvation_bound_millis: Option<u32>,
    /// One-shot writes queued behind the write gate commit together in one
    /// transaction; each call still gets its own result, and a failed one rolls
    /// back only itself (default: false).
    pub group_commit: Option<bool>,
    /// Who checkpoints the WAL: `'pool'` (off the request path, with reader
    /// back-pressure above `walHighWater`), `'external'` (Litestream or
    /// another tool; the pool only watches) or `'sqlite'` (SQLite's own
    /// autocheckpoint) (default: pool).
    #[napi(ts_type = "'pool' | 'external' | 'sqlite'")]
    pub checkpoint: Option<String>,
    /// With checkpoint `'pool'`: a PASSIVE checkpoint runs once this many new
    /// pages are in the WAL (default: 1000).
    pub checkpoint_pages: Option<u32>,
    /// With checkpoint `'pool'`: above this many WAL bytes, new read and
    /// ordinary leases wait (at most 1 s) while the pool runs a TRUNCATE
    /// checkpoint; 0 turns it off (default: 67108864 (64 MiB)).
    pub wal_high_water: Option<u32>,
    /// `PRAGMA journal_size_limit` in bytes: a larger WAL file is truncated
    /// to this when it restarts (default: 67108864 (64 MiB)).
    pub journal_size_limit: Option<u32>,
    /// A SQLite loadable extension (a path) loaded once per process before
    /// the first connection opens, e.g. the Litestream VFS (default: none).
    pub extension: Option<String>,
    /// The SQLite VFS connections open with; none: SQLite's default (default: none).
    pub vfs: Option<String>,
    /// A Litestream replica URL: the pool is a read-only replica through the
    /// Litestream VFS; writes fail with `LITEPOOL_READ_ONLY_REPLICA` (default: none).
    pub replica_url: Option<String>,
    /// A statement that runs longer is stopped inside SQLite with
    /// `LITEPOOL_DEADLINE` (the connection stays usable); a call's own
    /// `deadlineMillis` overrides it; 0 turns it off (default: off).
    pub statement_timeout_millis: Option<u32>,
    /// The most calls that may queue for a connection (or the write gate);
    /// one more rejects at once with `LITEPOOL_OVERLOADED`; 0: unbounded
    /// (default: 0 (unbounded)).
    pub max_waiting: Option<u32>,
    /// Reject a call at once with `LITEPOOL_OVERLOADED` (its `retryAfterMillis`
    /// is the expected wait) when the wait the pool expects (queue position x
    /// mean hold time / connections) exceeds its timeout (default: false).
    pub shed_load: Option<bool>,
    /// Serve queued calls by weighted fair queueing across tenants
    /// (`setTenantWeight`), first come first served within one (default: false).
    pub fair_tenants: Option<bool>,
    /// The most leases one tenant may hold at once (its further calls
    /// queue); any value turns `fairTenants` on; 0: no limit (default: 0 (no limit)).
    pub max_leases_per_tenant: Option<u32>,
    /// Up to this many hot statements (the most run, and those of
    /// `pool.prepare()`) are prepared on each new connection when it opens;
    /// 0 turns the warm cache off (default: 0 (off)).
    pub warm_statements: Option<u32>,
    /// Keep per-statement counters (`statementStats()`) and export this many
    /// statements, the longest running, in `metrics()`; 0 turns them off
    /// (default: 0 (off)).
    pub statement_stats: Option<u32>,
    /// A statement that runs longer is logged (`slowStatements()`) with its
    /// EXPLAIN QUERY PLAN the first time; 0 turns the log off (default: off).
    pub slow_statement_millis: Option<u32>,
    /// Show parameter values in the slow-statement log; they are redacted to
    /// `?` by default (default: false).
    pub log_parameters: Option<bool>,
    /// Return every INTEGER as a `BigInt`, exact beyond 2^53 (default: false).
    pub safe_integers: Option<bool>,
    /// `false` binds missing parameters as NULL and ignores a short
    /// positional list, as node-sqlite3 does; `true` makes both an error
    /// (`LITEPOOL_INVALID_ARGUMENT`) (default: true).
    pub strict_parameters: Option<bool>,
}

/// One entry of the core's option table, as `poolOptions()` lists it.
#[napi(object)]
pub struct OptionInfo {
    /// The key in `PoolOptions`.
    pub key: String,
    /// The core's (and Python's) name.
    pub name: String,
    /// The `DB_POOL_*` variable that sets it, if any.
    pub env: Option<String>,
    /// The default, as documented.
    pub default_value: String,
    /// What it does.
    pub doc: String,
}

/// The pool options the core knows (its one option table), for tools and
/// documentation; `safeIntegers` and `strictParameters` are this binding's own.
#[napi]
pub fn pool_options() -> Vec<OptionInfo> {
    OPTIONS
        .iter()
        .map(|o| OptionInfo {
            key: o.js.to_owned(),
            name: o.name.to_owned(),
            env: o.env.map(str::to_owned),
            default_value: o.default.to_owned(),
            doc: o.doc.to_owned(),
        })
        .collect()
}

/// Options for `pool.acquire(options)`.
#[napi(object)]
pub struct AcquireOptions {
    /// `'read'`: a lease with `PRAGMA query_only=ON`; `'write'`: a lease that
    /// also holds the pool's write gate (one writer at a time, first come first
    /// served; transactions are `BEGIN IMMEDIATE`); `'any'` or omitted: an
    /// ordinary lease.
    #[napi(ts_type = "'any' | 'read' | 'write'")]
    pub mode: Option<String>,
    /// Overrides `connectionTimeoutMillis` for this acquire.
    pub timeout_millis: Option<u32>,
    /// A registered tenant whose database is attached to the lease as schema
    /// `tenant_<code>`.
    pub tenant: Option<String>,
    /// A time budget for the whole lease from now: the acquire waits no
    /// longer, and every statement on the lease is stopped inside SQLite
    /// once it passes (`LITEPOOL_DEADLINE`).
    pub deadline_millis: Option<u32>,
}

/// Options for `pool.query/get/run/exec` and their `*Sync` twins.
#[napi(object)]
pub struct QueryOptions {
    /// A registered tenant whose database is attached (as schema
    /// `tenant_<code>`) while the statement runs.
    pub tenant: Option<String>,
    /// A time budget for the call from now (the wait for a connection and
    /// the statement): it is stopped inside SQLite once it passes, with
    /// `LITEPOOL_DEADLINE`.
    pub deadline_millis: Option<u32>,
}

/// The pool options that were given, checked; `safe_integers` and
/// `strict_parameters` are the binding's own (how values are converted).
pub struct Parsed {
    pub config: PoolConfig,
    pub safe_integers: bool,
    pub strict_parameters: bool,
}

const MAX_MILLIS: u32 = i32::MAX as u32;

/// What a JS option must be.
#[derive(Clone, Copy)]
enum Kind {
    Positive,
    NonNegative,
    Text,
    Flag,
}

fn kind_of(kind: OptionKind) -> Kind {
    match kind {
        OptionKind::Count { min } if min > 0 => Kind::Positive,
        OptionKind::Duration => Kind::Positive,
        OptionKind::Count { .. } | OptionKind::DurationOrOff | OptionKind::DurationOrZero => Kind::NonNegative,
        OptionKind::Text | OptionKind::TextOrNone => Kind::Text,
        OptionKind::Flag => Kind::Flag,
    }
}

/// The binding's own options, beside the core's table.
const OWN_OPTIONS: [&str; 2] = ["safeIntegers", "strictParameters"];

enum Given {
    Int(u32),
    Text(String),
    Flag(bool),
}

/// Reads `options` over `config` through the core's option table.
pub fn parse_pool_options(env: &Env, options: Option<Unknown>, config: PoolConfig) -> Result<Parsed> {
    let mut parsed = Parsed { config, safe_integers: false, strict_parameters: true };
    let Some(obj) = options_object(env, options, "options")? else { return Ok(parsed) };
    let known: Vec<&str> = OPTIONS.iter().map(|o| o.js).chain(OWN_OPTIONS).collect();
    check_known_keys(env, &obj, &known)?;
    let mut given = Vec::new();
    for spec in OPTIONS.iter() {
        let value = match read_option(env, &obj, spec.js, kind_of(spec.kind))? {
            None => continue,
            Some(Given::Int(v)) => match spec.kind {
                OptionKind::Count { .. } => OptionValue::Count(u64::from(v)),
                _ => OptionValue::Duration(Duration::from_millis(u64::from(v))),
            },
            Some(Given::Text(t)) => OptionValue::Text(t),
            Some(Given::Flag(b)) => OptionValue::Flag(b),
        };
        given.push((spec.name, value));
    }
    for key in OWN_OPTIONS {
        if let Some(Given::Flag(b)) = read_option(env, &obj, key, Kind::Flag)? {
            match key {
                "safeIntegers" => parsed.safe_integers = b,
                _ => parsed.strict_parameters = b,
            }
        }
    }
    parsed.config = parsed.config.with_options(given).map_err(|e| to_js_error(env, &Failure::Core(e)))?;
    Ok(parsed)
}

/// A checked `pool.acquire()` options object.
pub struct Acquire {
    pub lane: Lane,
    pub timeout: Option<Duration>,
    pub tenant: Option<String>,
    pub deadline: Option<Duration>,
}

/// Reads `pool.acquire(options)`.
pub fn parse_acquire_options(env: &Env, options: Option<Unknown>) -> Result<Acquire> {
    let mut out = Acquire { lane: Lane::Any, timeout: None, tenant: None, deadline: None };
    let Some(obj) = options_object(env, options, "options")? else { return Ok(out) };
    check_known_keys(env, &obj, &["mode", "timeoutMillis", "tenant", "deadlineMillis"])?;
    if let Some(Given::Text(mode)) = read_option(env, &obj, "mode", Kind::Text)? {
        out.lane = Lane::parse(&mode).ok_or_else(|| {
            range_error(env, format!("Expected the \"mode\" option to be 'read', 'write' or 'any', got {mode:?}"))
        })?;
    }
    if let Some(Given::Int(ms)) = read_option(env, &obj, "timeoutMillis", Kind::Positive)? {
        out.timeout = Some(Duration::from_millis(u64::from(ms)));
    }
    out.tenant = read_tenant(env, &obj)?;
    out.deadline = read_deadline(env, &obj)?;
    Ok(out)
}

/// Reads the `{ tenant, deadlineMillis }` options of the one-call methods,
/// as the core's acquire options.
pub fn parse_query_options(env: &Env, options: Option<Unknown>) -> Result<litepool::AcquireOptions> {
    let mut out = litepool::AcquireOptions::default();
    let Some(obj) = options_object(env, options, "options")? else { return Ok(out) };
    check_known_keys(env, &obj, &["tenant", "deadlineMillis"])?;
    out.tenant = read_tenant(env, &obj)?;
    out.deadline = read_deadline(env, &obj)?;
    Ok(out)
}

fn read_deadline(env: &Env, obj: &Object) -> Result<Option<Duration>> {
    Ok(match read_option(env, obj, "deadlineMillis", Kind::Positive)? {
        Some(Given::Int(ms)) => Some(Duration::from_millis(u64::from(ms))),
        _ => None,
    })
}

fn read_tenant(env: &Env, obj: &Object) -> Result<Option<String>> {
    Ok(match read_option(env, obj, "tenant", Kind::Text)? {
        Some(Given::Text(t)) => Some(t),
        _ => None,
    })
}

/// `undefined`/`null` → `None`; a plain object → it; anything else → TypeError.
fn options_object<'env>(env: &Env, options: Option<Unknown<'env>>, what: &str) -> Result<Option<Object<'env>>> {
    let Some(options) = options else { return Ok(None) };
    match options.get_type()? {
        ValueType::Undefined | ValueType::Null => Ok(None),
        // SAFETY: get_type() said object.
        ValueType::Object => Ok(Some(unsafe { options.cast::<Object>()? })),
        _ => Err(type_error(env, format!("Expected the {what} argument to be an object"))),
    }
}

fn check_known_keys(env: &Env, obj: &Object, known: &[&str]) -> Result<()> {
    let names = obj.get_property_names()?;
    for i in 0..names.get_array_length()? {
        let key: String = names.get_element(i)?;
        if !known.contains(&key.as_str()) {
            return Err(type_error(env, format!("Unknown option \"{key}\" (known options: {})", known.join(", "))));
        }
    }
    Ok(())
}

fn read_option(env: &Env, obj: &Object, key: &str, kind: Kind) -> Result<Option<Given>> {
    let value: Unknown = obj.get_named_property(key)?;
    let t = value.get_type()?;
    if t == ValueType::Undefined {
        return Ok(None);
    }
    let expected = match kind {
        Kind::Positive => "a positive integer",
        Kind::NonNegative => "a non-negative integer",
        Kind::Text => "a string",
        Kind::Flag => "a boolean",
    };
    let message = format!("Expected the \"{key}\" option to be {expected}");
    match (kind, t) {
        (Kind::Positive | Kind::NonNegative, ValueType::Number) => {
            // SAFETY: get_type() said number.
            let n = unsafe { value.cast::<f64>()? };
            let min = if matches!(kind, Kind::Positive) { 1.0 } else { 0.0 };
            if n.fract() != 0.0 || !n.is_finite() || n < min {
                return Err(range_error(env, message));
            }
            if n > f64::from(MAX_MILLIS) {
                return Err(range_error(env, format!("The \"{key}\" option cannot be greater than {MAX_MILLIS}")));
            }
            Ok(Some(Given::Int(n as u32)))
        }
        // SAFETY: get_type() said string.
        (Kind::Text, ValueType::String) => Ok(Some(Given::Text(unsafe { value.cast::<String>()? }))),
        // SAFETY: get_type() said boolean.
        (Kind::Flag, ValueType::Boolean) => Ok(Some(Given::Flag(unsafe { value.cast::<bool>()? }))),
        _ => Err(type_error(env, message)),
    }
}

/// Reads the `path` argument.
pub fn path_arg(env: &Env, path: Unknown) -> Result<String> {
    if path.get_type()? != ValueType::String {
        return Err(type_error(env, "Expected the \"path\" argument to be a string (a file path or \":memory:\")"));
    }
    // SAFETY: get_type() said string.
    let path = unsafe { path.cast::<String>()? };
    if path.is_empty() {
        return Err(type_error(env, "Expected the \"path\" argument to be a non-empty string"));
    }
    Ok(path)
}

/// Reads an `sql` argument as `pool`'s shared [`Sql`] for it (see
/// `Pool::sql`): a text this thread sent recently costs no allocation, its
/// bytes read into a buffer on the stack.
pub fn pooled_sql(env: &Env, pool: &litepool::Pool, sql: Unknown) -> Result<Sql> {
    if sql.get_type()? != ValueType::String {
        return Err(type_error(env, "Expected the \"sql\" argument to be a string"));
    }
    let mut buf = [0u8; 512];
    let mut written = 0usize;
    // SAFETY: a string value on its env; napi writes at most `buf.len() - 1`
    // bytes (whole characters) and a NUL into `buf`, and their count into
    // `written`.
    let status = unsafe {
        sys::napi_get_value_string_utf8(env.raw(), sql.raw(), buf.as_mut_ptr().cast(), buf.len(), &mut written)
    };
    if status == sys::Status::napi_ok && written < buf.len() - 1 {
        if let Ok(text) = std::str::from_utf8(&buf[..written]) {
            return Ok(pool.sql(text));
        }
    }
    // Longer (or possibly cut short): read it whole.
    // SAFETY: get_type() said string.
    Ok(pool.sql(&unsafe { sql.cast::<String>() }?))
}

/// Reads an `sql` argument.
pub fn sql_arg(env: &Env, sql: Unknown) -> Result<String> {
    if sql.get_type()? != ValueType::String {
        return Err(type_error(env, "Expected the \"sql\" argument to be a string"));
    }
    // SAFETY: get_type() said string.
    unsafe { sql.cast::<String>() }
}
