//! Spans around acquires and statements, for OpenTelemetry and the like.
//!
//! Two ways out, both off by default:
//!
//! - **The `tracing` feature** (Rust): `litepool.acquire` and
//!   `litepool.statement` spans through the `tracing` crate, entered around
//!   the work (so a subscriber's timing and parenting apply), with the pool,
//!   lane, tenant, acquire site and, for statements, the SQL, the wait and
//!   the run time as fields. `tracing-opentelemetry` turns them into
//!   OpenTelemetry spans.
//! - **A trace hook** ([`Pool::set_trace_hook`]): a function called after
//!   each acquire and each SQL-layer statement with a [`TraceEvent`] (its
//!   start, duration and the same attributes). The Python and Node bindings
//!   expose it; their OpenTelemetry code makes a span from each event.
//!
//! The acquire site is the caller's (`file:line` for Rust, the stack a
//! binding passes); with a hook set, the pool keeps it for every lease, so
//! statement events of held leases carry it too. Without a hook (and
//! without the feature) nothing here runs.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::RwLock;

use crate::guard::Lane;
use crate::pool::Pool;

/// One finished acquire or statement.
#[derive(Debug, Clone)]
pub struct TraceEvent<'a> {
    /// `"litepool.acquire"` or `"litepool.statement"`.
    pub name: &'static str,
    /// When it began.
    pub start: SystemTime,
    /// How long it took in all (`wait + run`).
    pub duration: Duration,
    /// Time waiting for a connection (acquire) or for the pool and the
    /// write gate (statement).
    pub wait: Duration,
    /// Time running in SQLite (statements; zero for acquires).
    pub run: Duration,
    /// The statement's SQL.
    pub sql: Option<&'a str>,
    /// The lane asked for (acquire) or leased (statement).
    pub lane: Lane,
    /// The tenant code (acquire) or schema (statement), if any.
    pub tenant: Option<&'a str>,
    /// Where the lease was acquired, when known.
    pub site: Option<&'a str>,
    /// The connection, once there is one.
    pub connection_id: Option<u64>,
    /// The error code it failed with, if it failed.
    pub error: Option<&'static str>,
}

impl<'a> TraceEvent<'a> {
    /// A finished acquire.
    pub(crate) fn acquire(
        start: SystemTime,
        took: Duration,
        lane: Lane,
        tenant: Option<&'a str>,
        site: Option<&'a str>,
        out: &crate::Result<crate::PooledConnection>,
    ) -> TraceEvent<'a> {
        TraceEvent {
            name: "litepool.acquire",
            start,
            duration: took,
            wait: took,
            run: Duration::ZERO,
            sql: None,
            lane,
            tenant,
            site,
            connection_id: out.as_ref().ok().map(crate::PooledConnection::connection_id),
            error: out.as_ref().err().map(crate::Error::code),
        }
    }
}

/// A trace hook; see [`Pool::set_trace_hook`].
pub type TraceHook = Arc<dyn Fn(&TraceEvent<'_>) + Send + Sync>;

/// The pool's hook, if set.
#[derive(Default)]
pub(crate) struct Tracer {
    on: AtomicBool,
    hook: RwLock<Option<TraceHook>>,
}

impl Tracer {
    /// Whether a hook is set.
    #[inline]
    pub fn on(&self) -> bool {
        self.on.load(Relaxed)
    }

    /// Calls the hook (a panicking hook is logged, never propagated).
    pub fn emit(&self, event: &TraceEvent<'_>) {
        let Some(hook) = self.hook.read().clone() else { return };
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| hook(event))) {
            log::error!("litepool: the trace hook panicked: {}", crate::sqlite::panic_message(&*panic));
        }
    }
}

impl Pool {
    /// Sets (or, with `None`, removes) the function called after every
    /// acquire and every statement run through the pool's SQL layer, with a
    /// [`TraceEvent`]. It runs on the thread that did the work, so keep it
    /// short (hand the event to your tracer). While a hook is set the pool
    /// times every statement and keeps each lease's acquire site.
    pub fn set_trace_hook(&self, hook: Option<TraceHook>) {
        let sh = self.shared();
        let on = hook.is_some();
        *sh.trace.hook.write() = hook;
        if on {
            sh.statements.observe();
            sh.leases.keep_sites();
        }
        sh.trace.on.store(on, Relaxed);
    }
}

/// The `tracing` spans (feature `tracing`).
#[cfg(feature = "tracing")]
pub(crate) mod spans {
    use crate::guard::Lane;

    /// A `litepool.acquire` span.
    pub fn acquire(pool: &str, lane: Lane, tenant: Option<&str>, site: &str) -> tracing::Span {
        tracing::info_span!(
            "litepool.acquire",
            pool,
            lane = lane.as_str(),
            tenant,
            site,
            wait_ms = tracing::field::Empty,
            connection_id = tracing::field::Empty,
            error = tracing::field::Empty,
        )
    }

    /// Records how an acquire ended on its span.
    pub fn acquired(span: &tracing::Span, took: std::time::Duration, out: &crate::Result<crate::PooledConnection>) {
        span.record("wait_ms", took.as_secs_f64() * 1e3);
        match out {
            Ok(lease) => span.record("connection_id", lease.connection_id()),
            Err(e) => span.record("error", e.code()),
        };
    }

    /// A `litepool.statement` span.
    pub fn statement(pool: &str, sql: &str, lane: Lane, tenant: Option<&str>, site: Option<&str>) -> tracing::Span {
        tracing::info_span!(
            "litepool.statement",
            pool,
            sql,
            lane = lane.as_str(),
            tenant,
            site,
            wait_ms = tracing::field::Empty,
            run_ms = tracing::field::Empty,
            error = tracing::field::Empty,
        )
    }
}
