//! Pool configuration: every knob, its default, its validation, and
//! [`PoolConfig::from_env`] for the `DB_POOL_*` variables.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::checkpoint::CheckpointMode;
use crate::error::{Error, Result};

/// A closure run on every new connection after the pool's own setup.
pub type InitHook = Arc<dyn Fn(&rusqlite::Connection) -> rusqlite::Result<()> + Send + Sync>;

/// How waiters are served; see `slots.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fairness {
    /// A running thread may take a connection that just came free ahead of
    /// queued waiters, until the first of them has waited longer than
    /// `starvation_bound`; then strictly first come, first served until the
    /// queue catches up (Go's `sync.Mutex`). The default: a hand-off to a
    /// parked thread costs a wake-up and a context switch, more than a
    /// cached point select, so barging is much faster when threads outnumber
    /// cores, and the bound keeps the wait tail short. When the waiters it
    /// wakes keep finding the connection (or the gate) taken again, nobody
    /// is woken: the first waiter looks for itself once the bound passed.
    #[default]
    Barging,
    /// Every freed connection (and write-gate turn) goes to the first
    /// waiter: no one ever overtakes a queued caller.
    Strict,
}

impl Fairness {
    /// `"barging"` or `"strict"`.
    pub fn parse(name: &str) -> Option<Fairness> {
        match name {
            "barging" => Some(Fairness::Barging),
            "strict" => Some(Fairness::Strict),
            _ => None,
        }
    }
}

/// How the pool is sized, timed and how its connections are set up.
///
/// Build one with [`PoolConfig::default`] and the chaining setters, or read
/// one from the environment with [`PoolConfig::from_env`].
#[derive(Clone)]
pub struct PoolConfig {
    /// The `pool` label in metrics. Defaults to `"litepool"`.
    pub name: String,
    /// The most connections the pool opens. Defaults to 10.
    pub max_size: u32,
    /// Idle connections the housekeeper keeps warm. Defaults to 2.
    pub min_idle: u32,
    /// How long an acquire waits before failing. Defaults to 5000 ms.
    pub acquire_timeout: Duration,
    /// Idle connections above `min_idle` are closed after this long unused.
    /// `None` keeps them. Defaults to 30 s.
    pub idle_timeout: Option<Duration>,
    /// Connections are retired once this old (when next idle), minus up to
    /// 2.5 % jitter so they do not all expire at once. `None` keeps them.
    /// Defaults to 30 min.
    pub max_lifetime: Option<Duration>,
    /// A connection idle longer than this is validated before it is handed
    /// out. Defaults to 500 ms.
    pub validation_window: Duration,
    /// A lease held longer than this is reported once as a leak. `None`
    /// (the default) turns leak detection off.
    pub leak_threshold: Option<Duration>,
    /// SQLite's `busy_timeout` on every connection. Defaults to 5000 ms.
    pub busy_timeout: Duration,
    /// `PRAGMA journal_mode` for file databases. Defaults to `Some("WAL")`;
    /// `None` leaves SQLite's default.
    pub journal_mode: Option<String>,
    /// `PRAGMA synchronous`. Defaults to `Some("NORMAL")`.
    pub synchronous: Option<String>,
    /// `PRAGMA foreign_keys`. Defaults to `true`.
    pub foreign_keys: bool,
    /// SQL run on every new connection after the pragmas. Defaults to none.
    pub init_sql: Option<String>,
    /// A closure run on every new connection after `init_sql`. Defaults to none.
    pub init_hook: Option<InitHook>,
    /// How often the housekeeper retires idle and old connections and
    /// refills `min_idle`. Defaults to 1 s.
    pub housekeeping_period: Duration,
    /// Threads that run the SQL of asynchronous calls (`call_with`,
    /// sessions' `submit`), started when first needed. `0` (the default):
    /// as many as the machine has cores, at most `max_size`.
    pub workers: u32,
    /// How waiters for a connection or the write gate are served. Defaults
    /// to [`Fairness::Barging`].
    pub fairness: Fairness,
    /// With barging: how long the first waiter may wait before freed
    /// connections are handed to it directly (and when a waiter nobody
    /// woke looks for itself). Defaults to 1 ms: a shorter bound cuts the
    /// wait tail and costs throughput (250 µs: p99.9 from 1 ms to 0.4 ms,
    /// throughput −22 % and −38 % with 8 and 16 threads on 4 connections,
    /// 2 cores). At the write gate it is the least: a writer queued there
    /// waits up to 10 bounds when hand-offs to sleeping writers are dear,
    /// so that they keep the gate idle at most 5 % of the time
    /// (`patience.rs`; 8 writers on a 2-core VM: p99 wait about 5 ms,
    /// throughput up from 0.75× to 1.0× one connection behind a mutex).
    /// The price: when a busy spell of writers ends, the first one still
    /// queued may wait out its patience once with the gate free.
    pub starvation_bound: Duration,
    /// One-shot writes (`Pool::call`/`call_with` of plain `INSERT`,
    /// `UPDATE`, `DELETE` and `REPLACE` statements) queued behind the write
    /// gate are run together in one `BEGIN IMMEDIATE … COMMIT`; each caller
    /// gets the result it would have had alone (a failed write rolls back
    /// only itself), once the group committed. Defaults to `false`.
    pub group_commit: bool,
    /// Who checkpoints the WAL (see `checkpoint.rs`). Defaults to
    /// [`CheckpointMode::Pool`].
    pub checkpoint: CheckpointMode,
    /// With [`CheckpointMode::Pool`]: a PASSIVE checkpoint runs off the
    /// request path once this many new pages are in the WAL. Defaults to 1000
    /// (SQLite's own autocheckpoint threshold).
    pub checkpoint_pages: u32,
    /// With [`CheckpointMode::Pool`]: once the WAL holds this many bytes, new
    /// read and ordinary leases wait (at most 1 s) while the pool runs a
    /// TRUNCATE checkpoint. `0` turns back-pressure off. Defaults to 64 MiB.
    pub wal_high_water: u64,
    /// `PRAGMA journal_size_limit` in bytes: a WAL file larger than this is
    /// truncated to it when it restarts. Defaults to 64 MiB.
    pub journal_size_limit: u64,
    /// The SQLite VFS connections open with (e.g. `"litestream"`). Defaults
    /// to none: SQLite's default VFS.
    pub vfs: Option<String>,
    /// A SQLite loadable extension (a path) loaded once per process before
    /// the first connection opens, e.g. the Litestream VFS. Defaults to none.
    pub extension: Option<String>,
    /// A Litestream replica URL (`file:///…`, `s3://…`): the pool is a
    /// read-only replica, opened through the VFS (`vfs` defaults to
    /// `"litestream"`); writes fail with `LITEPOOL_READ_ONLY_REPLICA`.
    /// Defaults to none.
    pub replica_url: Option<String>,
    /// Statements run through the pool's SQL layer (`Pool::call`, sessions,
    /// every binding's query calls) are stopped inside SQLite once they ran
    /// this long, with `LITEPOOL_DEADLINE` (see `deadline.rs`). A call's own
    /// timeout overrides it. `None` (the default) turns it off.
    pub statement_timeout: Option<Duration>,
    /// The most callers that may queue for a connection; one more fails at
    /// once with `LITEPOOL_OVERLOADED`. `0` (the default): unbounded.
    pub max_waiting: u32,
    /// Fail an acquire at once with `LITEPOOL_OVERLOADED` when the wait the
    /// pool expects (queue position × mean hold time ÷ connections) already
    /// exceeds its timeout, instead of queueing it to time out. Defaults to
    /// `false`.
    pub shed_load: bool,
    /// Serve queued callers by weighted fair queueing across tenants
    /// (deficit round robin, FIFO within a tenant; weights from
    /// `Pool::set_tenant_weight`), so one tenant's burst cannot delay the
    /// others' requests behind it (see `fair.rs`). Defaults to `false`
    /// (one FIFO queue).
    pub fair_tenants: bool,
    /// The most leases one tenant may hold at once; its further callers
    /// queue even with connections idle. `0` (the default): no limit. Any
    /// value turns `fair_tenants` on.
    pub max_leases_per_tenant: u32,
    /// Up to this many hot statements (the most called, and those pinned
    /// with `Pool::prepare`) are prepared on each new connection when it
    /// opens, off the request path (see `statements.rs`). `0` (the
    /// default) turns the warm cache off.
    pub warm_statements: u32,
    /// Per-statement counters (calls, statement-cache hits and misses, wait
    /// and run time, SQLite's `sqlite3_stmt_status` counters) are kept, and
    /// exported as metrics for this many statements, the longest running.
    /// `0` (the default) turns them off.
    pub statement_stats: u32,
    /// A statement that runs in SQLite longer than this is logged, with its
    /// wait and run time and, the first time, its `EXPLAIN QUERY PLAN`
    /// (see `slow.rs`). `None` (the default) turns the log off.
    pub slow_statement_threshold: Option<Duration>,
    /// The slow-statement log shows parameter values; by default they are
    /// redacted to `?` (they are often personal data). Defaults to `false`.
    pub log_parameters: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            name: "litepool".to_owned(),
            max_size: 10,
            min_idle: 2,
            acquire_timeout: Duration::from_millis(5000),
            idle_timeout: Some(Duration::from_secs(30)),
            max_lifetime: Some(Duration::from_secs(30 * 60)),
            validation_window: Duration::from_millis(500),
            leak_threshold: None,
            busy_timeout: Duration::from_millis(5000),
            journal_mode: Some("WAL".to_owned()),
            synchronous: Some("NORMAL".to_owned()),
            foreign_keys: true,
            init_sql: None,
            init_hook: None,
            housekeeping_period: Duration::from_secs(1),
            workers: 0,
            fairness: Fairness::Barging,
            starvation_bound: Duration::from_millis(1),
            group_commit: false,
            checkpoint: CheckpointMode::Pool,
            checkpoint_pages: 1000,
            wal_high_water: 64 << 20,
            journal_size_limit: 64 << 20,
            vfs: None,
            extension: None,
            replica_url: None,
            statement_timeout: None,
            max_waiting: 0,
            shed_load: false,
            fair_tenants: false,
            max_leases_per_tenant: 0,
            warm_statements: 0,
            statement_stats: 0,
            slow_statement_threshold: None,
            log_parameters: false,
        }
    }
}

impl fmt::Debug for PoolConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolConfig")
            .field("name", &self.name)
            .field("max_size", &self.max_size)
            .field("min_idle", &self.min_idle)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_lifetime", &self.max_lifetime)
            .field("validation_window", &self.validation_window)
            .field("leak_threshold", &self.leak_threshold)
            .field("busy_timeout", &self.busy_timeout)
            .field("journal_mode", &self.journal_mode)
            .field("synchronous", &self.synchronous)
            .field("foreign_keys", &self.foreign_keys)
            .field("init_sql", &self.init_sql)
            .field("init_hook", &self.init_hook.as_ref().map(|_| "<closure>"))
            .field("housekeeping_period", &self.housekeeping_period)
            .field("workers", &self.workers)
            .field("fairness", &self.fairness)
            .field("starvation_bound", &self.starvation_bound)
            .field("group_commit", &self.group_commit)
            .field("checkpoint", &self.checkpoint)
            .field("checkpoint_pages", &self.checkpoint_pages)
            .field("wal_high_water", &self.wal_high_water)
            .field("journal_size_limit", &self.journal_size_limit)
            .field("vfs", &self.vfs)
            .field("extension", &self.extension)
            .field("replica_url", &self.replica_url)
            .field("statement_timeout", &self.statement_timeout)
            .field("max_waiting", &self.max_waiting)
            .field("shed_load", &self.shed_load)
            .field("fair_tenants", &self.fair_tenants)
            .field("max_leases_per_tenant", &self.max_leases_per_tenant)
            .field("warm_statements", &self.warm_statements)
            .field("statement_stats", &self.statement_stats)
            .field("slow_statement_threshold", &self.slow_statement_threshold)
            .field("log_parameters", &self.log_parameters)
            .finish()
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        #[must_use]
        pub fn $name(mut self, value: $ty) -> Self {
            self.$name = value;
            self
        }
    };
}

impl PoolConfig {
    setter!(/// Sets [`PoolConfig::min_idle`].
        min_idle: u32);
    setter!(/// Sets [`PoolConfig::acquire_timeout`].
        acquire_timeout: Duration);
    setter!(/// Sets [`PoolConfig::idle_timeout`].
        idle_timeout: Option<Duration>);
    setter!(/// Sets [`PoolConfig::max_lifetime`].
        max_lifetime: Option<Duration>);
    setter!(/// Sets [`PoolConfig::validation_window`].
        validation_window: Duration);
    setter!(/// Sets [`PoolConfig::leak_threshold`].
        leak_threshold: Option<Duration>);
    setter!(/// Sets [`PoolConfig::busy_timeout`].
        busy_timeout: Duration);
    setter!(/// Sets [`PoolConfig::journal_mode`].
        journal_mode: Option<String>);
    setter!(/// Sets [`PoolConfig::synchronous`].
        synchronous: Option<String>);
    setter!(/// Sets [`PoolConfig::foreign_keys`].
        foreign_keys: bool);
    setter!(/// Sets [`PoolConfig::init_sql`].
        init_sql: Option<String>);
    setter!(/// Sets [`PoolConfig::housekeeping_period`].
        housekeeping_period: Duration);
    setter!(/// Sets [`PoolConfig::workers`].
        workers: u32);
    setter!(/// Sets [`PoolConfig::fairness`].
        fairness: Fairness);
    setter!(/// Sets [`PoolConfig::starvation_bound`].
        starvation_bound: Duration);
    setter!(/// Sets [`PoolConfig::group_commit`].
        group_commit: bool);
    setter!(/// Sets [`PoolConfig::checkpoint`].
        checkpoint: CheckpointMode);
    setter!(/// Sets [`PoolConfig::checkpoint_pages`].
        checkpoint_pages: u32);
    setter!(/// Sets [`PoolConfig::wal_high_water`].
        wal_high_water: u64);
    setter!(/// Sets [`PoolConfig::journal_size_limit`].
        journal_size_limit: u64);
    setter!(/// Sets [`PoolConfig::vfs`].
        vfs: Option<String>);
    setter!(/// Sets [`PoolConfig::extension`].
        extension: Option<String>);
    setter!(/// Sets [`PoolConfig::replica_url`].
        replica_url: Option<String>);
    setter!(/// Sets [`PoolConfig::statement_timeout`].
        statement_timeout: Option<Duration>);
    setter!(/// Sets [`PoolConfig::max_waiting`].
        max_waiting: u32);
    setter!(/// Sets [`PoolConfig::shed_load`].
        shed_load: bool);
    setter!(/// Sets [`PoolConfig::fair_tenants`].
        fair_tenants: bool);
    setter!(/// Sets [`PoolConfig::max_leases_per_tenant`].
        max_leases_per_tenant: u32);
    setter!(/// Sets [`PoolConfig::warm_statements`].
        warm_statements: u32);
    setter!(/// Sets [`PoolConfig::statement_stats`].
        statement_stats: u32);
    setter!(/// Sets [`PoolConfig::slow_statement_threshold`].
        slow_statement_threshold: Option<Duration>);
    setter!(/// Sets [`PoolConfig::log_parameters`].
        log_parameters: bool);

    /// Sets [`PoolConfig::max_size`], lowering `min_idle` to fit if needed
    /// (so `max_size(1)` works with the default `min_idle` of 2).
    #[must_use]
    pub fn max_size(mut self, value: u32) -> Self {
        self.max_size = value;
        self.min_idle = self.min_idle.min(value);
        self
    }

    /// Sets the `pool` label used in metrics.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets a closure run on every new connection (after `init_sql`).
    #[must_use]
    pub fn init_hook<F>(mut self, hook: F) -> Self
    where
        F: Fn(&rusqlite::Connection) -> rusqlite::Result<()> + Send + Sync + 'static,
    {
        self.init_hook = Some(Arc::new(hook));
        self
    }

    /// The executor's thread count `workers` stands for.
    pub fn worker_threads(&self) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let wanted = if self.workers == 0 { cores } else { self.workers as usize };
        wanted.min(self.max_size as usize).max(1)
    }

    /// Checks every field; the error names the first one at fault.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, reason: &str| Err(Error::InvalidConfig { field, reason: reason.to_owned() });
        if self.max_size == 0 {
            return bad("max_size", "must be at least 1");
        }
        if self.min_idle > self.max_size {
            return Err(Error::InvalidConfig {
                field: "min_idle",
                reason: format!("({}) must not exceed max_size ({})", self.min_idle, self.max_size),
            });
        }
        let non_zero = [
            ("acquire_timeout", Some(self.acquire_timeout)),
            ("idle_timeout", self.idle_timeout),
            ("max_lifetime", self.max_lifetime),
            ("leak_threshold", self.leak_threshold),
            ("statement_timeout", self.statement_timeout),
            ("slow_statement_threshold", self.slow_statement_threshold),
            ("housekeeping_period", Some(self.housekeeping_period)),
        ];
        for (field, value) in non_zero {
            if value == Some(Duration::ZERO) {
                return bad(field, "must be greater than zero (use None to turn it off)");
            }
        }
        if self.busy_timeout.as_millis() > i32::MAX as u128 {
            return bad("busy_timeout", "is too large (at most i32::MAX milliseconds)");
        }
        if let Some(mode) = &self.journal_mode {
            const MODES: [&str; 6] = ["DELETE", "TRUNCATE", "PERSIST", "MEMORY", "WAL", "OFF"];
            if !MODES.contains(&mode.to_ascii_uppercase().as_str()) {
                return bad("journal_mode", "must be one of DELETE, TRUNCATE, PERSIST, MEMORY, WAL, OFF");
            }
        }
        if let Some(sync) = &self.synchronous {
            const LEVELS: [&str; 4] = ["OFF", "NORMAL", "FULL", "EXTRA"];
            if !LEVELS.contains(&sync.to_ascii_uppercase().as_str()) {
                return bad("synchronous", "must be one of OFF, NORMAL, FULL, EXTRA");
            }
        }
        if self.checkpoint_pages == 0 {
            return bad("checkpoint_pages", "must be at least 1");
        }
        if self.journal_size_limit > i64::MAX as u64 {
            return bad("journal_size_limit", "is too large");
        }
        if self.warm_statements > 1000 {
            return bad("warm_statements", "is too large (at most 1000)");
        }
        if self.statement_stats > 1000 {
            return bad("statement_stats", "is too large (at most 1000: each is a metric label)");
        }
        if self.name.is_empty() || self.name.contains(['"', '\\', '\n']) {
            return bad("name", "must be non-empty and contain no quote, backslash or newline");
        }
        Ok(())
    }
}
