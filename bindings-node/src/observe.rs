//! What the pool tells about its statements and callers, seen from JS:
//! the slow-statement log, per-statement counters, tenant weights and the
//! trace hook. All of it is the core's (`statements.rs`, `slow.rs`,
//! `fair.rs`, `trace.rs`); this file converts, and delivers trace events
//! to the JS thread through a thread-safe function.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi::Env;
use napi_derive::napi;

use crate::error::{to_js_error, Failure};
use crate::pool::Pool;

/// One statement that ran past `slowStatementMillis`.
#[napi(object)]
pub struct SlowStatement {
    /// The SQL text.
    pub sql: String,
    /// Its parameters: `?` for each unless `logParameters` is set.
    pub params: String,
    /// Time it waited for a connection or the write gate, in milliseconds.
    pub wait_millis: f64,
    /// Time it ran in SQLite, in milliseconds.
    pub run_millis: f64,
    /// When it finished (milliseconds since the epoch, as `Date.now()`).
    pub at: f64,
    /// Its EXPLAIN QUERY PLAN, on the first slow run of this SQL only.
    pub plan: Option<String>,
    /// The connection it ran on.
    pub connection_id: i64,
    /// The lease's mode: `'any'`, `'read'` or `'write'`.
    pub mode: String,
    /// The tenant schema, if any.
    pub tenant: Option<String>,
    /// Where the call acquired its connection (a JS stack), when known.
    pub site: Option<String>,
    /// The error code it failed with, if it failed.
    pub error: Option<String>,
}

/// What the pool knows about one statement.
#[napi(object)]
pub struct StatementStats {
    /// The SQL text.
    pub sql: String,
    /// Times it ran.
    pub calls: i64,
    /// Runs served from a connection's statement cache (no prepare).
    pub cache_hits: i64,
    /// Prepares on the request path.
    pub cache_misses: i64,
    /// Prepares by the warm cache on new connections, off the request path.
    pub warmed: i64,
    /// Total time it waited for a connection or the write gate, in milliseconds.
    pub wait_time_millis: f64,
    /// Total time it ran in SQLite, in milliseconds.
    pub run_time_millis: f64,
    /// Full-scan steps (`sqlite3_stmt_status`).
    pub fullscan_steps: i64,
    /// Sorts.
    pub sorts: i64,
    /// Rows of automatic indexes.
    pub autoindex_rows: i64,
    /// Virtual-machine steps.
    pub vm_steps: i64,
    /// Runs past `slowStatementMillis`.
    pub slow: i64,
    /// Its EXPLAIN QUERY PLAN, from its first slow run.
    pub plan: Option<String>,
    /// Pinned in the warm cache by `pool.prepare()`.
    pub pinned: bool,
}

/// A finished acquire or statement, for the trace hook.
#[napi(object)]
pub struct TraceEvent {
    /// `'litepool.acquire'` or `'litepool.statement'`.
    pub name: String,
    /// When it began (milliseconds since the epoch).
    pub start: f64,
    /// How long it took in all, in milliseconds.
    pub duration_millis: f64,
    /// Time waiting for a connection (or the write gate), in milliseconds.
    pub wait_millis: f64,
    /// Time running in SQLite, in milliseconds (0 for acquires).
    pub run_millis: f64,
    /// The statement's SQL.
    pub sql: Option<String>,
    /// `'any'`, `'read'` or `'write'`.
    pub mode: String,
    /// The tenant (code for acquires, schema for statements).
    pub tenant: Option<String>,
    /// Where it was acquired: the JS stack of the call.
    pub site: Option<String>,
    /// The connection, once there is one.
    pub connection_id: Option<i64>,
    /// The error code it failed with.
    pub error: Option<String>,
}

fn n(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn epoch_ms(t: std::time::SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

impl From<&litepool::TraceEvent<'_>> for TraceEvent {
    fn from(e: &litepool::TraceEvent<'_>) -> Self {
        TraceEvent {
            name: e.name.to_owned(),
            start: epoch_ms(e.start),
            duration_millis: ms(e.duration),
            wait_millis: ms(e.wait),
            run_millis: ms(e.run),
            sql: e.sql.map(str::to_owned),
            mode: e.lane.as_str().to_owned(),
            tenant: e.tenant.map(str::to_owned),
            site: e.site.map(str::to_owned),
            connection_id: e.connection_id.map(n),
            error: e.error.map(str::to_owned),
        }
    }
}

#[napi]
impl Pool {
    /// The most recent statements that ran past `slowStatementMillis` (up
    /// to 64, oldest first), each with its SQL, parameters (redacted unless
    /// `logParameters`), wait and run time, and, on the first slow run of a
    /// statement, its EXPLAIN QUERY PLAN.
    #[napi]
    pub fn slow_statements(&self) -> Vec<SlowStatement> {
        self.inner
            .slow_statements()
            .into_iter()
            .map(|s| SlowStatement {
                wait_millis: ms(s.wait),
                run_millis: ms(s.run),
                at: epoch_ms(s.at),
                connection_id: n(s.connection_id),
                mode: s.lane.as_str().to_owned(),
                error: s.error.map(str::to_owned),
                sql: s.sql,
                params: s.params,
                plan: s.plan,
                tenant: s.tenant,
                site: s.site,
            })
            .collect()
    }

    /// What the pool knows per statement (with `statementStats` or
    /// `warmStatements` set), the longest running first.
    #[napi]
    pub fn statement_stats(&self) -> Vec<StatementStats> {
        self.inner
            .statement_statistics()
            .into_iter()
            .map(|s| StatementStats {
                calls: n(s.calls),
                cache_hits: n(s.cache_hits),
                cache_misses: n(s.cache_misses),
                warmed: n(s.warmed),
                wait_time_millis: ms(s.wait_time),
                run_time_millis: ms(s.run_time),
                fullscan_steps: n(s.fullscan_steps),
                sorts: n(s.sorts),
                autoindex_rows: n(s.autoindex_rows),
                vm_steps: n(s.vm_steps),
                slow: n(s.slow),
                pinned: s.pinned,
                sql: s.sql,
                plan: s.plan,
            })
            .collect()
    }

    /// Sets tenant `code`'s weight (1 to 1000; 1 when registered) in fair
    /// queueing (`fairTenants`): its queued calls are served that many per
    /// turn. Throws `LITEPOOL_INVALID_CONFIG` or `LITEPOOL_UNKNOWN_TENANT`.
    #[napi]
    pub fn set_tenant_weight(&self, env: Env, code: String, weight: u32) -> Result<()> {
        self.inner.set_tenant_weight(&code, weight).map_err(|e| to_js_error(&env, &Failure::Core(e)))
    }

    /// Calls `hook(event)` on the JS thread after every acquire and every
    /// statement (`null` removes it): `{ name, start, durationMillis,
    /// waitMillis, runMillis, sql, mode, tenant, site, connectionId, error }`,
    /// where `site` is the JS stack of the call. Make an OpenTelemetry span
    /// from each (its start and duration). Events are queued to the event
    /// loop without blocking the pool's threads; the hook does not keep the
    /// process alive.
    #[napi(ts_args_type = "hook: ((event: TraceEvent) => void) | null")]
    pub fn set_trace_hook(&self, hook: Option<Function<'_, TraceEvent, ()>>) -> Result<()> {
        let Some(hook) = hook else {
            self.traced.store(false, Relaxed);
            self.inner.set_trace_hook(None);
            return Ok(());
        };
        let tsfn = hook.build_threadsafe_function::<TraceEvent>().callee_handled::<false>().weak::<true>().build()?;
        self.traced.store(true, Relaxed);
        self.inner.set_trace_hook(Some(Arc::new(move |event: &litepool::TraceEvent<'_>| {
            // Fails only while Node tears the environment down.
            let _ = tsfn.call(TraceEvent::from(event), ThreadsafeFunctionCallMode::NonBlocking);
        })));
        Ok(())
    }
}
