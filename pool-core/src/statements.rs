//! The pool's statement registry: what it knows about each SQL text run
//! through its SQL layer, pool-wide.
//!
//! - **Counters per statement** (`statement_stats`): calls, statement-cache
//!   hits and misses, time waiting for the pool or the write gate and time
//!   running in SQLite, and SQLite's own `sqlite3_stmt_status` counters
//!   (full-scan steps, sorts, automatic indexes, VM steps), exported as
//!   metrics for the top `statement_stats` statements by run time.
//! - **The warm cache** (`warm_statements`): the most called statements,
//!   and those pinned with [`Pool::prepare`], are prepared on every new
//!   connection when it opens (off the request path, by the housekeeper),
//!   so a fresh connection serves them from its statement cache.
//! - **Slow statements** (`slow_statement_threshold`, `slow.rs`): the first
//!   slow occurrence of a statement keeps its `EXPLAIN QUERY PLAN` here.
//!
//! A hit or a miss is told by the connection's authorizer (`watch.rs`),
//! which SQLite calls only while it prepares: if its call count moved, the
//! statement was prepared (a miss, or a re-prepare after a schema change);
//! if not, it came from the cache.
//!
//! Only state-neutral statements are warmed (`SELECT`, `INSERT`, `UPDATE`,
//! `DELETE`, `REPLACE`, `WITH`, `VALUES`): a cached statement runs without
//! the authorizer seeing it, so one that changes the connection (a pragma, a
//! TEMP object) must be prepared — and seen — in the lease that runs it.
//! The registry keeps at most [`KEPT`] texts; when full, the less called
//! half is forgotten (pinned ones stay).
//!
//! With all three settings off (the default) nothing here runs per call.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use rusqlite::{Connection, StatementStatus};

use crate::config::PoolConfig;
use crate::entry::PoolEntry;
use crate::error::Result;
use crate::guard::PooledConnection;
use crate::metrics::Histogram;
use crate::pool::{AcquireOptions, Pool};
use crate::sql::call::{Call, Op, Sql};
use crate::sql::classify;

/// How many SQL texts the registry remembers.
pub(crate) const KEPT: usize = 1024;

/// What the pool knows about one statement (a snapshot).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementStatistics {
    /// The SQL text.
    pub sql: String,
    /// Times it ran through the pool's SQL layer.
    pub calls: u64,
    /// Times it was served from a connection's statement cache (no prepare).
    pub cache_hits: u64,
    /// Times a connection had to prepare it on the request path.
    pub cache_misses: u64,
    /// Times the warm cache prepared it on a new connection, off the request path.
    pub warmed: u64,
    /// Time spent waiting for the pool or the write gate before it ran.
    pub wait_time: Duration,
    /// Time spent running it in SQLite.
    pub run_time: Duration,
    /// Rows visited by full table scans (`SQLITE_STMTSTATUS_FULLSCAN_STEP`).
    pub fullscan_steps: u64,
    /// Sorts (`SQLITE_STMTSTATUS_SORT`).
    pub sorts: u64,
    /// Rows inserted into automatic indexes (`SQLITE_STMTSTATUS_AUTOINDEX`).
    pub autoindex_rows: u64,
    /// Virtual-machine steps (`SQLITE_STMTSTATUS_VM_STEP`).
    pub vm_steps: u64,
    /// Times it ran past `slow_statement_threshold`.
    pub slow: u64,
    /// Its `EXPLAIN QUERY PLAN`, captured at its first slow run.
    pub plan: Option<String>,
    /// Pinned in the warm cache by [`Pool::prepare`].
    pub pinned: bool,
}

/// The live counters of one statement.
#[derive(Default)]
pub(crate) struct Entry {
    calls: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    warmed: AtomicU64,
    wait_nanos: AtomicU64,
    run_nanos: AtomicU64,
    fullscan: AtomicU64,
    sorts: AtomicU64,
    autoindex: AtomicU64,
    vm_steps: AtomicU64,
    slow: AtomicU64,
    pinned: AtomicBool,
    pub plan: Mutex<Option<String>>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Entry {
    fn snapshot(&self, sql: &str) -> StatementStatistics {
        StatementStatistics {
            sql: sql.to_owned(),
            calls: self.calls.load(Relaxed),
            cache_hits: self.hits.load(Relaxed),
            cache_misses: self.misses.load(Relaxed),
            warmed: self.warmed.load(Relaxed),
            wait_time: Duration::from_nanos(self.wait_nanos.load(Relaxed)),
            run_time: Duration::from_nanos(self.run_nanos.load(Relaxed)),
            fullscan_steps: self.fullscan.load(Relaxed),
            sorts: self.sorts.load(Relaxed),
            autoindex_rows: self.autoindex.load(Relaxed),
            vm_steps: self.vm_steps.load(Relaxed),
            slow: self.slow.load(Relaxed),
            plan: self.plan.lock().clone(),
            pinned: self.pinned.load(Relaxed),
        }
    }

    /// Counts a slow run; `true` the first time (capture its plan).
    pub fn slow_run(&self) -> bool {
        self.slow.fetch_add(1, Relaxed) == 0
    }
}

/// The registry (one per pool).
pub(crate) struct Statements {
    map: RwLock<HashMap<Arc<str>, Arc<Entry>>>,
    /// Per-call counting is on (`statement_stats` or `warm_statements`).
    counting: bool,
    /// Top-N exported as metrics (`statement_stats`).
    top: usize,
    /// How many statements a new connection is warmed with.
    warm: usize,
    /// Statements timed (counting, a slow log, a trace hook or the
    /// `tracing` feature): only then is the clock read around a statement.
    observing: AtomicBool,
    /// Time waiting before SQL-layer statements, and running them.
    pub wait: Histogram,
    pub run: Histogram,
}

/// Whether `sql` may be prepared ahead of a lease (see the module docs).
pub(crate) fn warmable(sql: &str) -> bool {
    let keyword = classify::leading_keyword(sql).to_ascii_lowercase();
    matches!(keyword.as_str(), "select" | "insert" | "update" | "delete" | "replace" | "with" | "values")
        && classify::control(sql).is_none()
}

impl Statements {
    pub fn new(config: &PoolConfig) -> Statements {
        let counting = config.statement_stats > 0 || config.warm_statements > 0;
        let observing = counting || config.slow_statement_threshold.is_some() || cfg!(feature = "tracing");
        Statements {
            map: RwLock::new(HashMap::new()),
            counting,
            top: config.statement_stats as usize,
            warm: config.warm_statements as usize,
            observing: AtomicBool::new(observing),
            wait: Histogram::default(),
            run: Histogram::default(),
        }
    }

    /// Whether statements are timed (see `observing`).
    #[inline]
    pub fn observing(&self) -> bool {
        self.observing.load(Relaxed)
    }

    /// Turns timing on for a trace hook (never off again: the settings that
    /// turned it on may still want it).
    pub fn observe(&self) {
        self.observing.store(true, Relaxed);
    }

    #[inline]
    pub fn counting(&self) -> bool {
        self.counting
    }

    /// The entry for `sql`, made if new.
    pub fn entry(&self, sql: &str) -> Arc<Entry> {
        if let Some(e) = self.map.read().get(sql) {
            return Arc::clone(e);
        }
        let mut map = self.map.write();
        if map.len() >= KEPT && !map.contains_key(sql) {
            forget_the_less_called_half(&mut map);
        }
        Arc::clone(map.entry(Arc::from(sql)).or_default())
    }

    /// Counts a prepare on the request path: `compiled` when the connection
    /// had to compile it (a miss), else a hit. Returns the entry, for
    /// [`Statements::ran`].
    pub fn prepared(&self, sql: &str, compiled: bool) -> Arc<Entry> {
        let e = self.entry(sql);
        if compiled {
            e.misses.fetch_add(1, Relaxed);
        } else {
            e.hits.fetch_add(1, Relaxed);
        }
        e
    }

    /// Records one run (of `entry`, when [`Statements::prepared`] found
    /// it): its wait and run time, and SQLite's counters from `stmt` (reset
    /// for the next run). Only with per-statement counters on.
    #[inline]
    pub fn ran(
        &self,
        sql: &str,
        entry: Option<Arc<Entry>>,
        stmt: Option<&rusqlite::Statement<'_>>,
        wait: Duration,
        run: Duration,
    ) {
        if !self.counting {
            return;
        }
        self.wait.observe(wait);
        self.run.observe(run);
        let e = entry.unwrap_or_else(|| self.entry(sql));
        e.calls.fetch_add(1, Relaxed);
        e.wait_nanos.fetch_add(nanos(wait), Relaxed);
        e.run_nanos.fetch_add(nanos(run), Relaxed);
        if let Some(stmt) = stmt {
            let take = |s| u64::try_from(stmt.reset_status(s)).unwrap_or(0);
            e.fullscan.fetch_add(take(StatementStatus::FullscanStep), Relaxed);
            e.sorts.fetch_add(take(StatementStatus::Sort), Relaxed);
            e.autoindex.fetch_add(take(StatementStatus::AutoIndex), Relaxed);
            e.vm_steps.fetch_add(take(StatementStatus::VmStep), Relaxed);
        }
    }

    /// Pins `sql` in the warm cache.
    pub fn pin(&self, sql: &str) {
        self.entry(sql).pinned.store(true, Relaxed);
    }

    /// The statements a new connection is warmed with: the pinned ones,
    /// then the most called (at least twice), `warm_statements` in all.
    pub fn warm_list(&self) -> Vec<(Arc<str>, Arc<Entry>)> {
        if self.warm == 0 {
            return Vec::new();
        }
        let map = self.map.read();
        let mut hot: Vec<(Arc<str>, Arc<Entry>)> = map
            .iter()
            .filter(|(sql, e)| (e.pinned.load(Relaxed) || e.calls.load(Relaxed) >= 2) && warmable(sql))
            .map(|(sql, e)| (Arc::clone(sql), Arc::clone(e)))
            .collect();
        drop(map);
        hot.sort_by_key(|(_, e)| (!e.pinned.load(Relaxed), std::cmp::Reverse(e.calls.load(Relaxed))));
        hot.truncate(self.warm);
        hot
    }

    /// Prepares the warm list on a new connection (into its statement
    /// cache, made large enough to keep them). Statements that do not
    /// prepare here (a tenant's schema, say) are skipped.
    pub fn warm_up(&self, entry: &PoolEntry) {
        let hot = self.warm_list();
        if hot.is_empty() {
            return;
        }
        warm_connection(&entry.conn, self.warm, entry.watch.as_ref(), &hot);
    }

    /// Snapshots of every statement, the longest running first.
    pub fn snapshot(&self) -> Vec<StatementStatistics> {
        let mut all: Vec<_> = self.map.read().iter().map(|(sql, e)| e.snapshot(sql)).collect();
        all.sort_by(|a, b| b.run_time.cmp(&a.run_time).then(b.calls.cmp(&a.calls)));
        all
    }

    /// The per-statement metrics of the top `statement_stats` statements.
    pub fn metrics_text(&self, pool: &str) -> String {
        if self.top == 0 {
            return String::new();
        }
        let l = format!("pool=\"{pool}\"");
        let mut out = String::new();
        self.wait.render_to(
            &mut out,
            "litepool_statement_wait_seconds",
            "Time SQL-layer statements waited for the pool or the write gate.",
            &l,
        );
        self.run.render_to(&mut out, "litepool_statement_run_seconds", "Time SQL-layer statements ran in SQLite.", &l);
        let top: Vec<StatementStatistics> = self.snapshot().into_iter().take(self.top).collect();
        let series: [Series; 10] = [
            ("litepool_statement_calls_total", "Runs of the statement.", |s| s.calls as f64),
            ("litepool_statement_run_seconds_total", "Time the statement ran in SQLite.", |s| s.run_time.as_secs_f64()),
            (
                "litepool_statement_wait_seconds_total",
                "Time the statement waited for the pool or the write gate.",
                |s| s.wait_time.as_secs_f64(),
            ),
            ("litepool_statement_cache_hits_total", "Runs served from a connection's statement cache.", |s| {
                s.cache_hits as f64
            }),
            ("litepool_statement_cache_misses_total", "Prepares on the request path.", |s| s.cache_misses as f64),
            ("litepool_statement_warmed_total", "Prepares by the warm cache on new connections.", |s| s.warmed as f64),
            ("litepool_statement_fullscan_steps_total", "Full-scan steps (sqlite3_stmt_status).", |s| {
                s.fullscan_steps as f64
            }),
            ("litepool_statement_sorts_total", "Sorts (sqlite3_stmt_status).", |s| s.sorts as f64),
            ("litepool_statement_autoindex_rows_total", "Automatic index rows (sqlite3_stmt_status).", |s| {
                s.autoindex_rows as f64
            }),
            ("litepool_statement_vm_steps_total", "Virtual-machine steps (sqlite3_stmt_status).", |s| {
                s.vm_steps as f64
            }),
        ];
        for (name, help, value) in series {
            let _ =
                writeln!(out, "# HELP {name} {help} Top {} statements by run time.\n# TYPE {name} counter", self.top);
            for s in &top {
                let _ = writeln!(out, "{name}{{{l},sql=\"{}\"}} {}", label(&s.sql), value(s));
            }
        }
        out
    }
}

/// A per-statement metric: its name, help, and how to read it.
type Series = (&'static str, &'static str, fn(&StatementStatistics) -> f64);

/// Prepares `hot` on `conn` as the pool (its authorizer records nothing).
fn warm_connection(conn: &Connection, warm: usize, watch: &crate::watch::Watch, hot: &[(Arc<str>, Arc<Entry>)]) {
    conn.set_prepared_statement_cache_capacity(warm.max(16) + 16);
    watch.internal(|| {
        for (sql, e) in hot {
            match conn.prepare_cached(sql) {
                Ok(_) => {
                    e.warmed.fetch_add(1, Relaxed);
                }
                Err(err) => log::debug!("litepool: warm cache skips {:?}: {err}", crate::deadline::excerpt(sql)),
            }
        }
    });
}

fn forget_the_less_called_half(map: &mut HashMap<Arc<str>, Arc<Entry>>) {
    let mut calls: Vec<u64> = map.values().map(|e| e.calls.load(Relaxed)).collect();
    calls.sort_unstable();
    let median = calls[calls.len() / 2];
    map.retain(|_, e| e.pinned.load(Relaxed) || e.calls.load(Relaxed) > median);
}

/// A Prometheus label value: the SQL on one line, at most 120 characters.
fn label(sql: &str) -> String {
    let one_line: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::new();
    for (i, c) in one_line.chars().enumerate() {
        if i == 120 {
            out.push('…');
            break;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

impl PooledConnection {
    /// Whether preparing `sql` now needs a compile (a miss), told by the
    /// authorizer's call count (see the module docs).
    pub(crate) fn authorizer_calls(&self) -> u64 {
        self.entry().watch.calls()
    }
}

impl Pool {
    /// Prepares `sql` once (checking its syntax and schema, and learning
    /// whether it writes) and pins it in the pool's warm statement cache:
    /// with `warm_statements` set, every connection opened from now on has
    /// it prepared before its first lease. Returns the [`Sql`], which
    /// remembers what the pool learned (reuse it for calls).
    #[track_caller]
    pub fn prepare(&self, sql: impl Into<Sql>) -> Result<Sql> {
        let sql = sql.into();
        let shared = self.shared();
        if shared.routes.known(&sql).is_none() {
            self.call(AcquireOptions::default(), &Call::new(Op::Prepare, sql.clone()))?;
        }
        self.pin_statement(sql.as_str());
        Ok(sql)
    }

    /// Pins `sql` in the warm statement cache without preparing it now (for
    /// callers that must not block, such as Node's `pool.prepare`); `false`
    /// when the warm cache is off or `sql` is not a statement it warms.
    pub fn pin_statement(&self, sql: &str) -> bool {
        let shared = self.shared();
        let pinned = shared.config.warm_statements > 0 && warmable(sql);
        if pinned {
            shared.statements.pin(sql);
        }
        pinned
    }

    /// What the pool knows about each statement run through its SQL layer
    /// (counted with `statement_stats` or `warm_statements` set; slow ones
    /// with `slow_statement_threshold`), the longest running first.
    pub fn statement_statistics(&self) -> Vec<StatementStatistics> {
        self.shared().statements.snapshot()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_state_neutral_statements_are_warmed() {
        for sql in ["SELECT 1", "  insert into t values (1)", "WITH x AS (SELECT 1) SELECT * FROM x", "VALUES (1)"] {
            assert!(warmable(sql), "{sql}");
        }
        for sql in ["PRAGMA foreign_keys = OFF", "CREATE TEMP TABLE t (x)", "BEGIN", "ATTACH 'x' AS y", "COMMIT"] {
            assert!(!warmable(sql), "{sql}");
        }
    }

    #[test]
    fn the_registry_stays_bounded_and_keeps_the_most_called_and_pinned() {
        let stmts = Statements::new(&PoolConfig::default().statement_stats(5));
        stmts.pin("SELECT 'pinned'");
        for i in 0..KEPT * 2 {
            let sql = format!("SELECT {i}");
            stmts.ran(&sql, None, None, Duration::ZERO, Duration::from_micros(1));
            if i % 100 == 0 {
                for _ in 0..10 {
                    stmts.ran(&sql, None, None, Duration::ZERO, Duration::from_micros(1));
                }
            }
        }
        let all = stmts.snapshot();
        assert!(all.len() <= KEPT);
        assert!(all.iter().any(|s| s.sql == "SELECT 'pinned'"));
        assert!(all.iter().any(|s| s.sql == "SELECT 100" && s.calls == 11), "a much-called one survives");
    }

    #[test]
    fn labels_are_escaped_and_on_one_line() {
        assert_eq!(label("SELECT \"a\",\n  '\\'"), "SELECT \\\"a\\\", '\\\\'");
        assert!(label(&"x".repeat(500)).ends_with('…'));
    }
}
