//! The one table of the pool's options: every [`PoolConfig`] knob a
//! binding or the environment can set, declared once — its name in each
//! language, its kind and unit, its default, what 0 means, its doc and its
//! `DB_POOL_*` variable. Python's keyword arguments, Node's option objects,
//! the C config struct and [`PoolConfig::from_env`] are all read through it
//! (and their documentation is checked against it by tests).

use crate::checkpoint::CheckpointMode;
use crate::config::{Fairness, PoolConfig};
use crate::error::{Error, Result};

/// What kind of value an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// A whole number, at least `min`.
    Count {
        /// The smallest value allowed.
        min: u64,
    },
    /// A duration (seconds in Python, milliseconds elsewhere), above zero.
    Duration,
    /// A duration, or off: `0` (or Python's `0.0`) turns it off.
    DurationOrOff,
    /// A duration that may be zero (e.g. `busy_timeout`: fail at once).
    DurationOrZero,
    /// Text.
    Text,
    /// Text, or none: SQLite's own default (an empty string means none).
    TextOrNone,
    /// A boolean.
    Flag,
}

/// One option.
#[derive(Debug, Clone, Copy)]
pub struct OptionSpec {
    /// The Rust field and Python keyword (`snake_case`).
    pub name: &'static str,
    /// The Node option key.
    pub js: &'static str,
    /// The `DB_POOL_*` variable that sets it, if any (milliseconds for durations).
    pub env: Option<&'static str>,
    /// Its kind.
    pub kind: OptionKind,
    /// The default, as the docs state it (`"10"`, `"5000 ms"`, `"off"`).
    pub default: &'static str,
    /// One line: what it does.
    pub doc: &'static str,
}

/// A value given for an option, already converted from the binding's language.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    /// A whole number.
    Count(u64),
    /// A duration.
    Duration(std::time::Duration),
    /// Off (`DurationOrOff`), or none (`TextOrNone`).
    Off,
    /// Text.
    Text(String),
    /// A boolean.
    Flag(bool),
}

const fn opt(
    name: &'static str,
    js: &'static str,
    env: Option<&'static str>,
    kind: OptionKind,
    default: &'static str,
    doc: &'static str,
) -> OptionSpec {
    OptionSpec { name, js, env, kind, default, doc }
}

use OptionKind::*;

/// Every option, in the order they are applied (`max_size` before
/// `min_idle`: a `max_size` alone lowers the default `min_idle` to fit).
pub const OPTIONS: [OptionSpec; 34] = [
    opt("max_size", "max", Some("DB_POOL_MAX"), Count { min: 1 }, "10", "The most connections the pool opens."),
    opt(
        "min_idle",
        "min",
        Some("DB_POOL_MIN"),
        Count { min: 0 },
        "2 (or max_size if smaller)",
        "Idle connections the housekeeper keeps open and warm.",
    ),
    opt(
        "acquire_timeout",
        "connectionTimeoutMillis",
        Some("DB_POOL_ACQUIRE_TIMEOUT"),
        Duration,
        "5000 ms",
        "How long an acquire (and so a one-shot call) waits for a connection before failing with LITEPOOL_TIMEOUT.",
    ),
    opt(
        "idle_timeout",
        "idleTimeoutMillis",
        Some("DB_POOL_IDLE_TIMEOUT"),
        DurationOrOff,
        "30000 ms",
        "Idle connections above min_idle are closed after this long unused; 0 keeps them.",
    ),
    opt(
        "max_lifetime",
        "maxLifetimeMillis",
        Some("DB_POOL_MAX_LIFETIME"),
        DurationOrOff,
        "1800000 ms",
        "Connections are retired once this old (when next idle, with up to 2.5 % jitter); 0 means no limit.",
    ),
    opt(
        "leak_threshold",
        "leakDetectionMillis",
        Some("DB_POOL_LEAK_THRESHOLD"),
        DurationOrOff,
        "off",
        "A lease held longer is reported once as an apparent leak, with the site that acquired it; 0 turns it off.",
    ),
    opt(
        "busy_timeout",
        "busyTimeoutMillis",
        Some("DB_POOL_BUSY_TIMEOUT"),
        DurationOrZero,
        "5000 ms",
        "SQLite's busy_timeout on every connection; 0 fails at once on a lock.",
    ),
    opt(
        "validation_window",
        "validationWindowMillis",
        None,
        DurationOrZero,
        "500 ms",
        "A connection idle longer than this is checked before it is handed out; 0 checks every time.",
    ),
    opt(
        "housekeeping_period",
        "housekeepingPeriodMillis",
        Some("DB_POOL_HOUSEKEEPING_PERIOD"),
        Duration,
        "1000 ms",
        "How often the housekeeper retires idle and old connections and refills min_idle.",
    ),
    opt(
        "workers",
        "workers",
        Some("DB_POOL_WORKERS"),
        Count { min: 0 },
        "0 (as many as cores, at most max_size)",
        "Threads that run the SQL of asynchronous calls; 0 picks as many as the machine has cores.",
    ),
    opt("journal_mode", "journalMode", None, TextOrNone, "WAL", "PRAGMA journal_mode for file databases."),
    opt("synchronous", "synchronous", None, TextOrNone, "NORMAL", "PRAGMA synchronous on every connection."),
    opt("foreign_keys", "foreignKeys", None, Flag, "true", "PRAGMA foreign_keys on every connection."),
    opt("init_sql", "initSql", None, TextOrNone, "none", "SQL run on every new connection after the pool's pragmas."),
    opt("name", "name", None, Text, "litepool", "The pool label in metrics and thread names."),
    opt(
        "fairness",
        "fairness",
        Some("DB_POOL_FAIRNESS"),
        Text,
        "barging",
        "How waiters are served: barging (a running thread may go first, until a waiter waited past starvation_bound) or strict (first come, first served).",
    ),
    opt(
        "starvation_bound",
        "starvationBoundMillis",
        None,
        Duration,
        "1 ms",
        "With barging: how long the first waiter may wait before freed connections are handed to it directly.",
    ),
    opt(
        "group_commit",
        "groupCommit",
        None,
        Flag,
        "false",
        "One-shot writes queued behind the write gate commit together in one transaction; each call still gets its own result.",
    ),
    opt(
        "checkpoint",
        "checkpoint",
        Some("DB_POOL_CHECKPOINT"),
        Text,
        "pool",
        "Who checkpoints the WAL: pool (off the request path, with reader back-pressure above wal_high_water), external (Litestream or another tool; the pool only watches) or sqlite (SQLite's autocheckpoint).",
    ),
    opt(
        "checkpoint_pages",
        "checkpointPages",
        None,
        Count { min: 1 },
        "1000",
        "With checkpoint = pool: a PASSIVE checkpoint runs once this many new pages are in the WAL.",
    ),
    opt(
        "wal_high_water",
        "walHighWater",
        Some("DB_POOL_WAL_HIGH_WATER"),
        Count { min: 0 },
        "67108864 (64 MiB)",
        "With checkpoint = pool: above this many WAL bytes, new read and ordinary leases wait (at most 1 s) while the pool runs a TRUNCATE checkpoint; 0 turns it off.",
    ),
    opt(
        "journal_size_limit",
        "journalSizeLimit",
        None,
        Count { min: 0 },
        "67108864 (64 MiB)",
        "PRAGMA journal_size_limit (bytes): a larger WAL file is truncated to this when it restarts.",
    ),
    opt(
        "extension",
        "extension",
        Some("DB_POOL_EXTENSION"),
        TextOrNone,
        "none",
        "A SQLite loadable extension (a path) loaded once per process before the first connection opens, e.g. the Litestream VFS.",
    ),
    opt("vfs", "vfs", Some("DB_POOL_VFS"), TextOrNone, "none", "The SQLite VFS connections open with; none: SQLite's default."),
    opt(
        "replica_url",
        "replicaUrl",
        Some("DB_POOL_REPLICA_URL"),
        TextOrNone,
        "none",
        "A Litestream replica URL: the pool is a read-only replica through the Litestream VFS; writes fail with LITEPOOL_READ_ONLY_REPLICA.",
    ),
    opt(
        "statement_timeout",
        "statementTimeoutMillis",
        Some("DB_POOL_STATEMENT_TIMEOUT"),
        DurationOrOff,
        "off",
        "A statement that runs longer is stopped inside SQLite with LITEPOOL_DEADLINE (the connection stays usable); a call's own timeout overrides it; 0 turns it off.",
    ),
    opt(
        "max_waiting",
        "maxWaiting",
        Some("DB_POOL_MAX_WAITING"),
        Count { min: 0 },
        "0 (unbounded)",
        "The most callers that may queue for a connection; one more fails at once with LITEPOOL_OVERLOADED; 0: unbounded.",
    ),
    opt(
        "shed_load",
        "shedLoad",
        Some("DB_POOL_SHED_LOAD"),
        Flag,
        "false",
        "Fail an acquire at once with LITEPOOL_OVERLOADED when the expected wait (queue position x mean hold time / connections) exceeds its timeout.",
    ),
    opt(
        "fair_tenants",
        "fairTenants",
        Some("DB_POOL_FAIR_TENANTS"),
        Flag,
        "false",
        "Serve queued callers by weighted fair queueing across tenants (deficit round robin, FIFO within a tenant; weights from set_tenant_weight) instead of one FIFO queue.",
    ),
    opt(
        "max_leases_per_tenant",
        "maxLeasesPerTenant",
        Some("DB_POOL_MAX_LEASES_PER_TENANT"),
        Count { min: 0 },
        "0 (no limit)",
        "The most leases one tenant may hold at once (its further callers queue); any value turns fair_tenants on; 0: no limit.",
    ),
    opt(
        "warm_statements",
        "warmStatements",
        Some("DB_POOL_WARM_STATEMENTS"),
        Count { min: 0 },
        "0 (off)",
        "Up to this many hot statements (the most called, and those pinned with prepare()) are prepared on each new connection when it opens, off the request path; 0 turns the warm cache off.",
    ),
    opt(
        "statement_stats",
        "statementStats",
        Some("DB_POOL_STATEMENT_STATS"),
        Count { min: 0 },
        "0 (off)",
        "Keep per-statement counters (calls, cache hits/misses, wait and run time, sqlite3_stmt_status) and export this many statements, the longest running, as metrics; 0 turns them off.",
    ),
    opt(
        "slow_statement_threshold",
        "slowStatementMillis",
        Some("DB_POOL_SLOW_STATEMENT"),
        DurationOrOff,
        "off",
        "A statement that runs longer in SQLite is logged with its parameters (redacted), wait and run time and, the first time, its EXPLAIN QUERY PLAN; 0 turns the log off.",
    ),
    opt(
        "log_parameters",
        "logParameters",
        None,
        Flag,
        "false",
        "Show parameter values in the slow-statement log (redacted to ? by default).",
    ),
];

/// The spec of option `name` (snake case).
pub fn option(name: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|o| o.name == name)
}

/// The spec of Node option `key`.
pub fn option_js(key: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|o| o.js == key)
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidConfig { field, reason: reason.into() }
}

/// A count that may exceed `u32` (bytes), up to `i64::MAX` (SQLite's pragmas).
fn bytes(spec: &OptionSpec, value: OptionValue) -> Result<u64> {
    match value {
        OptionValue::Count(n) if n > i64::MAX as u64 => Err(invalid(spec.name, "is too large")),
        OptionValue::Count(n) => Ok(n),
        other => Err(invalid(spec.name, format!("must be a whole number of bytes (got {other:?})"))),
    }
}

fn count(spec: &OptionSpec, value: OptionValue) -> Result<u32> {
    let OptionKind::Count { min } = spec.kind else { unreachable!("count() on a {:?}", spec.kind) };
    match value {
        OptionValue::Count(n) if n >= min => u32::try_from(n).map_err(|_| invalid(spec.name, "is too large")),
        OptionValue::Count(n) => Err(invalid(spec.name, format!("must be at least {min} (got {n})"))),
        other => Err(invalid(spec.name, format!("must be a whole number (got {other:?})"))),
    }
}

fn duration(spec: &OptionSpec, value: OptionValue) -> Result<Option<std::time::Duration>> {
    match (spec.kind, value) {
        (DurationOrOff, OptionValue::Off) => Ok(None),
        (DurationOrOff, OptionValue::Duration(d)) if d.is_zero() => Ok(None),
        (Duration, OptionValue::Duration(d)) if d.is_zero() => Err(invalid(spec.name, "must be greater than zero")),
        (_, OptionValue::Duration(d)) => Ok(Some(d)),
        (_, other) => Err(invalid(spec.name, format!("must be a duration (got {other:?})"))),
    }
}

fn text(spec: &OptionSpec, value: OptionValue) -> Result<Option<String>> {
    match (spec.kind, value) {
        (TextOrNone, OptionValue::Off) => Ok(None),
        (TextOrNone, OptionValue::Text(t)) if t.is_empty() => Ok(None),
        (_, OptionValue::Text(t)) => Ok(Some(t)),
        (_, other) => Err(invalid(spec.name, format!("must be text (got {other:?})"))),
    }
}

fn flag(spec: &OptionSpec, value: OptionValue) -> Result<bool> {
    match value {
        OptionValue::Flag(b) => Ok(b),
        other => Err(invalid(spec.name, format!("must be a boolean (got {other:?})"))),
    }
}

impl PoolConfig {
    /// Sets option `name` (see [`OPTIONS`]). The value must be of the
    /// option's kind; ranges are checked here, the rest by [`PoolConfig::validate`].
    pub fn set_option(&mut self, name: &str, value: OptionValue) -> Result<()> {
        let spec = option(name).ok_or_else(|| {
            let known: Vec<&str> = OPTIONS.iter().map(|o| o.name).collect();
            invalid("options", format!("unknown option {name:?} (known: {})", known.join(", ")))
        })?;
        let need = |d: Option<std::time::Duration>| d.ok_or_else(|| invalid(spec.name, "cannot be turned off"));
        match spec.name {
            "max_size" => *self = std::mem::take(self).max_size(count(spec, value)?),
            "min_idle" => self.min_idle = count(spec, value)?,
            "workers" => self.workers = count(spec, value)?,
            "acquire_timeout" => self.acquire_timeout = need(duration(spec, value)?)?,
            "idle_timeout" => self.idle_timeout = duration(spec, value)?,
            "max_lifetime" => self.max_lifetime = duration(spec, value)?,
            "leak_threshold" => self.leak_threshold = duration(spec, value)?,
            "statement_timeout" => self.statement_timeout = duration(spec, value)?,
            "max_waiting" => self.max_waiting = count(spec, value)?,
            "shed_load" => self.shed_load = flag(spec, value)?,
            "fair_tenants" => self.fair_tenants = flag(spec, value)?,
            "max_leases_per_tenant" => self.max_leases_per_tenant = count(spec, value)?,
            "warm_statements" => self.warm_statements = count(spec, value)?,
            "statement_stats" => self.statement_stats = count(spec, value)?,
            "slow_statement_threshold" => self.slow_statement_threshold = duration(spec, value)?,
            "log_parameters" => self.log_parameters = flag(spec, value)?,
            "busy_timeout" => self.busy_timeout = need(duration(spec, value)?)?,
            "validation_window" => self.validation_window = need(duration(spec, value)?)?,
            "housekeeping_period" => self.housekeeping_period = need(duration(spec, value)?)?,
            "journal_mode" => self.journal_mode = text(spec, value)?,
            "synchronous" => self.synchronous = text(spec, value)?,
            "init_sql" => self.init_sql = text(spec, value)?,
            "extension" => self.extension = text(spec, value)?,
            "vfs" => self.vfs = text(spec, value)?,
            "replica_url" => self.replica_url = text(spec, value)?,
            "name" => self.name = text(spec, value)?.ok_or_else(|| invalid("name", "must be non-empty"))?,
            "foreign_keys" => self.foreign_keys = flag(spec, value)?,
            "group_commit" => self.group_commit = flag(spec, value)?,
            "starvation_bound" => self.starvation_bound = need(duration(spec, value)?)?,
            "checkpoint_pages" => self.checkpoint_pages = count(spec, value)?,
            "wal_high_water" => self.wal_high_water = bytes(spec, value)?,
            "journal_size_limit" => self.journal_size_limit = bytes(spec, value)?,
            "checkpoint" => {
                let text = text(spec, value)?.unwrap_or_default();
                self.checkpoint = CheckpointMode::parse(&text).ok_or_else(|| {
                    invalid("checkpoint", format!("must be \"pool\", \"external\" or \"sqlite\" (got {text:?})"))
                })?;
            }
            "fairness" => {
                let text = text(spec, value)?.unwrap_or_default();
                self.fairness = Fairness::parse(&text)
                    .ok_or_else(|| invalid("fairness", format!("must be \"barging\" or \"strict\" (got {text:?})")))?;
            }
            _ => unreachable!("every option in OPTIONS has a field: {name}"),
        }
        Ok(())
    }

    /// `base` with `options` applied in [`OPTIONS`] order (whatever order
    /// they were given in), then validated.
    pub fn with_options<'a>(mut self, options: impl IntoIterator<Item = (&'a str, OptionValue)>) -> Result<PoolConfig> {
        let mut given: Vec<(&str, OptionValue)> = options.into_iter().collect();
        given.sort_by_key(|(name, _)| OPTIONS.iter().position(|o| o.name == *name).unwrap_or(usize::MAX));
        for (name, value) in given {
            self.set_option(name, value)?;
        }
        self.validate()?;
        Ok(self)
    }

    /// Reads the `DB_POOL_*` variables of [`OPTIONS`] over the defaults
    /// (whole numbers; milliseconds for durations; `0` turns the optional
    /// durations off). Each is named in the options table:
    /// `DB_POOL_MAX`, `DB_POOL_MIN`, `DB_POOL_ACQUIRE_TIMEOUT`,
    /// `DB_POOL_IDLE_TIMEOUT`, `DB_POOL_MAX_LIFETIME`,
    /// `DB_POOL_LEAK_THRESHOLD`, `DB_POOL_BUSY_TIMEOUT`,
    /// `DB_POOL_HOUSEKEEPING_PERIOD`, `DB_POOL_WORKERS`, `DB_POOL_FAIRNESS`,
    /// `DB_POOL_CHECKPOINT`, `DB_POOL_WAL_HIGH_WATER`, `DB_POOL_EXTENSION`,
    /// `DB_POOL_VFS`, `DB_POOL_REPLICA_URL`, `DB_POOL_STATEMENT_TIMEOUT`,
    /// `DB_POOL_MAX_WAITING`, `DB_POOL_MAX_LEASES_PER_TENANT`,
    /// `DB_POOL_WARM_STATEMENTS`, `DB_POOL_STATEMENT_STATS`,
    /// `DB_POOL_SLOW_STATEMENT`, and the flags `DB_POOL_SHED_LOAD`,
    /// `DB_POOL_FAIR_TENANTS` (`1`/`0`, `true`/`false`).
    ///
    /// A value that is not a whole number (or, for a flag, `1`/`0`/`true`/`false`) is an [`Error::InvalidEnv`] naming
    /// the variable and the value; the result is validated as a whole.
    pub fn from_env() -> Result<PoolConfig> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// [`PoolConfig::from_env`] over any lookup function (for tests and for
    /// embedding hosts that keep their settings elsewhere).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<PoolConfig> {
        let mut given = Vec::new();
        for spec in OPTIONS.iter() {
            let Some(var) = spec.env else { continue };
            let Some(raw) = lookup(var) else { continue };
            if matches!(spec.kind, Text | TextOrNone) {
                given.push((spec.name, OptionValue::Text(raw.trim().to_owned())));
                continue;
            }
            if spec.kind == Flag {
                let flag = match raw.trim() {
                    "1" | "true" => true,
                    "0" | "false" => false,
                    _ => {
                        return Err(Error::InvalidEnv {
                            var,
                            value: raw.clone(),
                            reason: "expected 1, 0, true or false".to_owned(),
                        })
                    }
                };
                given.push((spec.name, OptionValue::Flag(flag)));
                continue;
            }
            let n: u64 = raw.trim().parse().map_err(|_| Error::InvalidEnv {
                var,
                value: raw.clone(),
                reason: "expected a whole number (milliseconds for timeouts)".to_owned(),
            })?;
            let value = match spec.kind {
                Count { .. } => OptionValue::Count(n),
                _ => OptionValue::Duration(std::time::Duration::from_millis(n)),
            };
            given.push((spec.name, value));
        }
        PoolConfig::default().with_options(given)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_sets_its_field_and_defaults_match_the_table() {
        let d = PoolConfig::default();
        let ms = |d: std::time::Duration| format!("{} ms", d.as_millis());
        for spec in OPTIONS.iter() {
            let stated = match spec.name {
                "max_size" => d.max_size.to_string(),
                "acquire_timeout" => ms(d.acquire_timeout),
                "idle_timeout" => ms(d.idle_timeout.unwrap()),
                "max_lifetime" => ms(d.max_lifetime.unwrap()),
                "busy_timeout" => ms(d.busy_timeout),
                "validation_window" => ms(d.validation_window),
                "housekeeping_period" => ms(d.housekeeping_period),
                "journal_mode" => d.journal_mode.clone().unwrap(),
                "synchronous" => d.synchronous.clone().unwrap(),
                "foreign_keys" => d.foreign_keys.to_string(),
                "name" => d.name.clone(),
                "leak_threshold" | "statement_timeout" | "slow_statement_threshold" => {
                    assert!(d.leak_threshold.is_none() && d.statement_timeout.is_none());
                    assert!(d.slow_statement_threshold.is_none());
                    "off".into()
                }
                "max_waiting" => d.max_waiting.to_string(),
                "shed_load" => d.shed_load.to_string(),
                "fair_tenants" => d.fair_tenants.to_string(),
                "log_parameters" => d.log_parameters.to_string(),
                "max_leases_per_tenant" => d.max_leases_per_tenant.to_string(),
                "warm_statements" => d.warm_statements.to_string(),
                "statement_stats" => d.statement_stats.to_string(),
                "init_sql" | "extension" | "vfs" | "replica_url" => {
                    assert!(d.init_sql.is_none() && d.extension.is_none() && d.vfs.is_none());
                    assert!(d.replica_url.is_none());
                    "none".into()
                }
                "min_idle" | "workers" => spec.default.to_owned(),
                "fairness" => "barging".into(),
                "starvation_bound" => ms(d.starvation_bound),
                "group_commit" => d.group_commit.to_string(),
                "checkpoint" => d.checkpoint.as_str().into(),
                "checkpoint_pages" => d.checkpoint_pages.to_string(),
                "wal_high_water" => d.wal_high_water.to_string(),
                "journal_size_limit" => d.journal_size_limit.to_string(),
                other => panic!("unlisted option {other}"),
            };
            assert!(
                spec.default.starts_with(&stated),
                "{}: table says {:?}, default is {stated}",
                spec.name,
                spec.default
            );
            let value = match spec.kind {
                Count { min } => OptionValue::Count(min.max(1)),
                Duration | DurationOrOff | DurationOrZero => OptionValue::Duration(std::time::Duration::from_millis(7)),
                Text | TextOrNone => OptionValue::Text(match spec.name {
                    "journal_mode" => "DELETE".into(),
                    "fairness" => "strict".into(),
                    "checkpoint" => "external".into(),
                    _ => "x".into(),
                }),
                Flag => OptionValue::Flag(spec.default != "true"),
            };
            let mut cfg = PoolConfig::default();
            cfg.set_option(spec.name, value).unwrap();
            assert_ne!(format!("{cfg:?}"), format!("{d:?}"), "{} changed nothing", spec.name);
        }
    }

    #[test]
    fn options_apply_in_table_order_and_kinds_are_checked() {
        let cfg = PoolConfig::default()
            .with_options([("min_idle", OptionValue::Count(1)), ("max_size", OptionValue::Count(1))])
            .unwrap();
        assert_eq!((cfg.max_size, cfg.min_idle), (1, 1));
        let cfg = PoolConfig::default().with_options([("max_size", OptionValue::Count(1))]).unwrap();
        assert_eq!(cfg.min_idle, 1, "max_size alone lowers the default min_idle");
        let err = PoolConfig::default().with_options([("max_size", OptionValue::Count(0))]).unwrap_err();
        assert!(err.to_string().contains("max_size"), "{err}");
        let err = PoolConfig::default().with_options([("acquire_timeout", OptionValue::Off)]).unwrap_err();
        assert!(err.to_string().contains("acquire_timeout"), "{err}");
        let err = PoolConfig::default().with_options([("nope", OptionValue::Flag(true))]).unwrap_err();
        assert!(err.to_string().contains("unknown option \"nope\""), "{err}");
        let cfg = PoolConfig::default().with_options([("idle_timeout", OptionValue::Off)]).unwrap();
        assert_eq!(cfg.idle_timeout, None);
    }
}
