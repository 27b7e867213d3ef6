//! What the pool tells about its statements and callers, seen from
//! Python: the slow-statement log, per-statement counters, the expected
//! wait, tenant weights, `prepare` (the warm cache) and the trace hook.
//! All of it is the core's (`statements.rs`, `slow.rs`, `shed.rs`,
//! `fair.rs`, `trace.rs`); this file converts to dicts and calls Python.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use litepool::{SlowStatement, StatementStatistics, TraceEvent};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::{map, Failure};
use crate::pool::Pool;

fn slow_dict<'py>(py: Python<'py>, s: &SlowStatement) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("sql", &s.sql)?;
    d.set_item("params", &s.params)?;
    d.set_item("wait", s.wait.as_secs_f64())?;
    d.set_item("run", s.run.as_secs_f64())?;
    d.set_item("at", s.at.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()))?;
    d.set_item("plan", s.plan.as_deref())?;
    d.set_item("connection_id", s.connection_id)?;
    d.set_item("lane", s.lane.as_str())?;
    d.set_item("tenant", s.tenant.as_deref())?;
    d.set_item("site", s.site.as_deref())?;
    d.set_item("error", s.error)?;
    Ok(d)
}

fn stats_dict<'py>(py: Python<'py>, s: &StatementStatistics) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("sql", &s.sql)?;
    for (k, v) in [
        ("calls", s.calls),
        ("cache_hits", s.cache_hits),
        ("cache_misses", s.cache_misses),
        ("warmed", s.warmed),
        ("fullscan_steps", s.fullscan_steps),
        ("sorts", s.sorts),
        ("autoindex_rows", s.autoindex_rows),
        ("vm_steps", s.vm_steps),
        ("slow", s.slow),
    ] {
        d.set_item(k, v)?;
    }
    d.set_item("wait_time", s.wait_time.as_secs_f64())?;
    d.set_item("run_time", s.run_time.as_secs_f64())?;
    d.set_item("plan", s.plan.as_deref())?;
    d.set_item("pinned", s.pinned)?;
    Ok(d)
}

fn event_dict<'py>(py: Python<'py>, e: &TraceEvent<'_>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("name", e.name)?;
    d.set_item("start", e.start.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()))?;
    d.set_item("duration", e.duration.as_secs_f64())?;
    d.set_item("wait", e.wait.as_secs_f64())?;
    d.set_item("run", e.run.as_secs_f64())?;
    d.set_item("sql", e.sql)?;
    d.set_item("lane", e.lane.as_str())?;
    d.set_item("tenant", e.tenant)?;
    d.set_item("site", e.site)?;
    d.set_item("connection_id", e.connection_id)?;
    d.set_item("error", e.error)?;
    Ok(d)
}

#[pymethods]
impl Pool {
    /// The most recent statements that ran past `slow_statement_threshold`
    /// (up to 64, oldest first), as dicts: `sql`, `params` (`?` for each
    /// unless `log_parameters`), `wait` and `run` (seconds), `at` (epoch
    /// seconds), `plan` (the `EXPLAIN QUERY PLAN`, on the first slow run of
    /// each statement), `connection_id`, `lane`, `tenant`, `site`, `error`.
    /// Each is also logged (logger `litepool::slow` of the `log` crate; the
    /// Python side gets them here).
    fn slow_statements<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for s in self.inner.slow_statements() {
            list.append(slow_dict(py, &s)?)?;
        }
        Ok(list)
    }

    /// What the pool knows per statement (with `statement_stats` or
    /// `warm_statements` set), the longest running first: `sql`, `calls`,
    /// `cache_hits`, `cache_misses`, `warmed`, `wait_time`, `run_time`
    /// (seconds), SQLite's `fullscan_steps`, `sorts`, `autoindex_rows`,
    /// `vm_steps`, and `slow`, `plan`, `pinned`.
    fn statement_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for s in self.inner.statement_statistics() {
            list.append(stats_dict(py, &s)?)?;
        }
        Ok(list)
    }

    /// The wait (seconds) a caller queueing for a connection now can
    /// expect: the callers queued (and it) times the recent mean hold time,
    /// divided by `max_size`; 0 while a connection is idle. `shed_load`
    /// refuses callers whose timeout is shorter.
    fn expected_wait(&self) -> f64 {
        self.inner.expected_wait().as_secs_f64()
    }

    /// Prepares `sql` once (raising if it does not prepare) and pins it in
    /// the pool's warm statement cache: with `warm_statements` set, every
    /// connection opened from now on has it prepared before its first lease.
    fn prepare(&self, py: Python<'_>, sql: &str) -> PyResult<()> {
        map(py, py.detach(|| self.inner.prepare(sql)).map(drop).map_err(Failure::Pool))
    }

    /// Sets tenant `code`'s weight (1 to 1000, 1 when registered) in fair
    /// queueing (`fair_tenants`): its queued callers are served that many
    /// per turn.
    fn set_tenant_weight(&self, py: Python<'_>, code: &str, weight: u32) -> PyResult<()> {
        map(py, self.inner.set_tenant_weight(code, weight).map_err(Failure::Pool))
    }

    /// Calls `hook(event)` after every acquire and every statement run
    /// through the pool (`None` removes it), on the thread that did the
    /// work, with a dict: `name` (`"litepool.acquire"` or
    /// `"litepool.statement"`), `start` (epoch seconds), `duration`, `wait`
    /// (for a connection, or the write gate), `run` (in SQLite), `sql`,
    /// `lane`, `tenant`, `site` (the Python stack that acquired the lease),
    /// `connection_id`, `error` (the code it failed with). Make an
    /// OpenTelemetry span from it with the event's start and end times. An
    /// exception in the hook is reported as unraisable.
    #[pyo3(signature = (hook, /))]
    fn set_trace_hook(&self, hook: Option<Py<PyAny>>) {
        let Some(hook) = hook else {
            self.traced.store(false, Relaxed);
            return self.inner.set_trace_hook(None);
        };
        self.traced.store(true, Relaxed);
        self.inner.set_trace_hook(Some(Arc::new(move |event: &TraceEvent<'_>| {
            // Not attachable (interpreter shutting down): nobody to tell.
            let _ = Python::try_attach(|py| {
                if let Err(e) = event_dict(py, event).and_then(|d| hook.call1(py, (d,))) {
                    e.write_unraisable(py, None);
                }
            });
        })));
    }
}
