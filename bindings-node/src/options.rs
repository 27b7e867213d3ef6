//! Options objects: their documented shapes (these structs become the
//! `.d.ts` interfaces) and their checking, done by hand so that a bad value
//! gets a precise `TypeError`/`RangeError` naming the option.

use std::time::Duration;

use litepool::{Lane, PoolConfig};
use napi::bindgen_prelude::*;
use napi::{Env, ValueType};
use napi_derive::napi;

use crate::error::{range_error, type_error};
use crate::sql::lane_of;

/// Options for `new Pool(path, options)` and `Pool.fromEnv(path, options)`.
/// Every duration is in milliseconds.
#[napi(object)]
pub struct PoolOptions {
    /// The most connections the pool opens (default: 10).
    pub max: Option<u32>,
    /// Idle connections the pool keeps open and warm (default: 2, or `max`
    /// if that is smaller).
    pub min: Option<u32>,
    /// Idle connections above `min` are closed after this long unused; 0
    /// keeps them (default: 30000).
    pub idle_timeout_millis: Option<u32>,
    /// How long an acquire — and so a `query`/`get`/`run` — waits for a free
    /// connection before failing with `LITEPOOL_TIMEOUT` (default: 5000).
    pub connection_timeout_millis: Option<u32>,
    /// Connections are retired once this old (when next idle); 0 means no
    /// limit (default: 1800000).
    pub max_lifetime_millis: Option<u32>,
    /// A lease held longer than this is reported as an apparent leak, and a
    /// connection garbage-collected without `release()` emits a warning
    /// naming its acquire stack; 0 turns leak detection off (default: 0).
    pub leak_detection_millis: Option<u32>,
    /// SQLite's `busy_timeout` on every connection (default: 5000).
    pub busy_timeout_millis: Option<u32>,
    /// SQL run on every new connection after the pool's pragmas (default: none).
    pub init_sql: Option<String>,
    /// Return every INTEGER as a `BigInt`, exact beyond 2^53 (default: false).
    pub safe_integers: Option<bool>,
    /// `PRAGMA journal_mode` for the database file (default: `'WAL'`).
    pub journal_mode: Option<String>,
    /// `PRAGMA synchronous` (default: `'NORMAL'`).
    pub synchronous: Option<String>,
    /// `PRAGMA foreign_keys` (default: true).
    pub foreign_keys: Option<bool>,
    /// The `pool` label in `metrics()` (default: `'litepool'`).
    pub name: Option<String>,
    /// `false` binds missing parameters as NULL and ignores a short
    /// positional list, as node-sqlite3 does; `true` makes both an error
    /// (`LITEPOOL_INVALID_ARGUMENT`) (default: true).
    pub strict_parameters: Option<bool>,
}

/// Options for `pool.acquire(options)`.
#[napi(object)]
pub struct AcquireOptions {
    /// `'read'`: a lease with `PRAGMA query_only=ON`; `'write'`: a lease that
    /// also holds the pool's write gate (one writer at a time, first come first
    /// served; transactions are `BEGIN IMMEDIATE`); `'any'` or omitted: an
    /// ordinary lease.
    pub mode: Option<String>,
    /// Overrides `connectionTimeoutMillis` for this acquire.
    pub timeout_millis: Option<u32>,
    /// A registered tenant whose database is attached to the lease as schema
    /// `tenant_<code>`.
    pub tenant: Option<String>,
}

/// Options for `pool.query/get/run/exec` and their `*Sync` twins.
#[napi(object)]
pub struct QueryOptions {
    /// A registered tenant whose database is attached (as schema
    /// `tenant_<code>`) while the statement runs.
    pub tenant: Option<String>,
}

/// The pool options that were given, checked; `safe_integers` is the
/// binding's own.
pub struct Parsed {
    pub config: PoolConfig,
    pub safe_integers: bool,
    pub strict_parameters: bool,
}

const MAX_MILLIS: u32 = i32::MAX as u32;

#[derive(Clone, Copy)]
enum Kind {
    Positive,
    NonNegative,
    Text,
    Flag,
}

const POOL_OPTIONS: [(&str, Kind); 14] = [
    ("max", Kind::Positive),
    ("min", Kind::NonNegative),
    ("idleTimeoutMillis", Kind::NonNegative),
    ("connectionTimeoutMillis", Kind::Positive),
    ("maxLifetimeMillis", Kind::NonNegative),
    ("leakDetectionMillis", Kind::NonNegative),
    ("busyTimeoutMillis", Kind::NonNegative),
    ("initSql", Kind::Text),
    ("safeIntegers", Kind::Flag),
    ("journalMode", Kind::Text),
    ("synchronous", Kind::Text),
    ("foreignKeys", Kind::Flag),
    ("name", Kind::Text),
    ("strictParameters", Kind::Flag),
];

enum Given {
    Int(u32),
    Text(String),
    Flag(bool),
}

/// Reads `options` over `config`.
pub fn parse_pool_options(env: &Env, options: Option<Unknown>, mut config: PoolConfig) -> Result<Parsed> {
    let mut safe_integers = false;
    let mut strict_parameters = true;
    let Some(obj) = options_object(env, options, "options")? else {
        return Ok(Parsed { config, safe_integers, strict_parameters });
    };
    check_known_keys(env, &obj, &POOL_OPTIONS.map(|(k, _)| k))?;
    for (key, kind) in POOL_OPTIONS {
        let Some(given) = read_option(env, &obj, key, kind)? else { continue };
        let ms = |v: u32| Duration::from_millis(u64::from(v));
        let off_if_zero = |v: u32| (v > 0).then(|| ms(v));
        match (key, given) {
            // The core lowers the default `min` to fit (`{ max: 1 }` is a pool of one);
            // an explicit `min`, read after `max`, still has to fit under it.
            ("max", Given::Int(v)) => config = config.max_size(v),
            ("min", Given::Int(v)) => config.min_idle = v,
            ("idleTimeoutMillis", Given::Int(v)) => config.idle_timeout = off_if_zero(v),
            ("connectionTimeoutMillis", Given::Int(v)) => config.acquire_timeout = ms(v),
            ("maxLifetimeMillis", Given::Int(v)) => config.max_lifetime = off_if_zero(v),
            ("leakDetectionMillis", Given::Int(v)) => config.leak_threshold = off_if_zero(v),
            ("busyTimeoutMillis", Given::Int(v)) => config.busy_timeout = ms(v),
            ("initSql", Given::Text(v)) => config.init_sql = Some(v),
            ("safeIntegers", Given::Flag(v)) => safe_integers = v,
            ("journalMode", Given::Text(v)) => config.journal_mode = Some(v),
            ("synchronous", Given::Text(v)) => config.synchronous = Some(v),
            ("foreignKeys", Given::Flag(v)) => config.foreign_keys = v,
            ("name", Given::Text(v)) => config.name = v,
            ("strictParameters", Given::Flag(v)) => strict_parameters = v,
            _ => {}
        }
    }
    Ok(Parsed { config, safe_integers, strict_parameters })
}

/// A checked `pool.acquire()` options object.
pub struct Acquire {
    pub lane: Lane,
    pub timeout: Option<Duration>,
    pub tenant: Option<String>,
}

/// Reads `pool.acquire(options)`.
pub fn parse_acquire_options(env: &Env, options: Option<Unknown>) -> Result<Acquire> {
    let mut out = Acquire { lane: Lane::Any, timeout: None, tenant: None };
    let Some(obj) = options_object(env, options, "options")? else { return Ok(out) };
    check_known_keys(env, &obj, &["mode", "timeoutMillis", "tenant"])?;
    if let Some(Given::Text(mode)) = read_option(env, &obj, "mode", Kind::Text)? {
        out.lane = lane_of(Some(&mode)).ok_or_else(|| {
            range_error(env, format!("Expected the \"mode\" option to be 'read', 'write' or 'any', got {mode:?}"))
        })?;
    }
    if let Some(Given::Int(ms)) = read_option(env, &obj, "timeoutMillis", Kind::Positive)? {
        out.timeout = Some(Duration::from_millis(u64::from(ms)));
    }
    out.tenant = read_tenant(env, &obj)?;
    Ok(out)
}

/// Reads the `{ tenant }` options of the one-call methods.
pub fn parse_query_options(env: &Env, options: Option<Unknown>) -> Result<Option<String>> {
    let Some(obj) = options_object(env, options, "options")? else { return Ok(None) };
    check_known_keys(env, &obj, &["tenant"])?;
    read_tenant(env, &obj)
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

/// Reads an `sql` argument.
pub fn sql_arg(env: &Env, sql: Unknown) -> Result<String> {
    if sql.get_type()? != ValueType::String {
        return Err(type_error(env, "Expected the \"sql\" argument to be a string"));
    }
    // SAFETY: get_type() said string.
    unsafe { sql.cast::<String>() }
}
