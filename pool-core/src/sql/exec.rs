//! The one row loop: runs a [`Call`] on a lease and collects what it
//! produced into one result type, [`Produced`]. Every statement of the SQL
//! layer passes here: its deadline is armed (`deadline.rs`) and, when
//! something observes statements (per-statement counters, the slow log, a
//! trace hook, the `tracing` feature), it is timed and recorded.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::types::Value;
use rusqlite::{CachedStatement, Statement};

use crate::clock;
use crate::deadline::Armed;
use crate::error::{Error, Result};
use crate::guard::PooledConnection;
use crate::sql::call::{Call, Column, Op, Produced, RowSink};
use crate::sql::params::bind;
use crate::statements::Entry;

/// How long a statement waited for the pool or the write gate before it
/// ran; read only when statements are observed (a clock read otherwise
/// saved).
#[derive(Clone, Copy)]
pub(crate) enum Waited {
    /// This long.
    For(Duration),
    /// Since the call asked for its lease.
    Since(std::time::Instant),
}

impl Waited {
    /// The wait, read before the statement runs.
    fn get(self) -> Duration {
        match self {
            Waited::For(d) => d,
            Waited::Since(t) => t.elapsed(),
        }
    }

    /// The wait, read after the statement `ran` this long.
    fn before(self, ran: Duration) -> Duration {
        match self {
            Waited::For(d) => d,
            Waited::Since(t) => t.elapsed().saturating_sub(ran),
        }
    }
}

/// A call's statement (`None` for scripts), with its registry entry when
/// statements are counted (`statements.rs`).
pub(crate) struct Prepared<'a> {
    pub(crate) stmt: Option<Stmt<'a>>,
    pub(crate) counted: Option<Arc<Entry>>,
}

/// A prepared statement: from the lease's statement cache, or made for one
/// call whose caller set SQLite limits (SQLite checks them while preparing,
/// and a cached statement was prepared under other limits).
pub(crate) enum Stmt<'a> {
    Cached(CachedStatement<'a>),
    Fresh(Statement<'a>),
}

impl<'a> Deref for Stmt<'a> {
    type Target = Statement<'a>;
    fn deref(&self) -> &Statement<'a> {
        match self {
            Stmt::Cached(s) => s,
            Stmt::Fresh(s) => s,
        }
    }
}

impl DerefMut for Stmt<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Stmt::Cached(s) => s,
            Stmt::Fresh(s) => s,
        }
    }
}

impl Prepared<'_> {
    /// Whether the statement is read-only (`false` for scripts).
    pub fn read_only(&self) -> bool {
        self.stmt.as_ref().is_some_and(|s| s.readonly())
    }
}

/// Prepares `sql` on `lease` through its statement cache, uncounted (the
/// group commit's transaction control).
pub(crate) fn prepare_statement<'a>(lease: &'a PooledConnection, sql: &str) -> Result<CachedStatement<'a>> {
    lease.prepare_cached(sql).map_err(|e| lease.error(e))
}

/// Prepares `call`'s statement on `lease` (not for scripts), counting a
/// cache hit or miss when per-statement counters are on.
pub(crate) fn prepare<'a>(lease: &'a PooledConnection, call: &Call) -> Result<Prepared<'a>> {
    if call.op == Op::Script {
        return Ok(Prepared { stmt: None, counted: None });
    }
    let out = if call.context.as_ref().is_some_and(|c| c.has_limits()) {
        lease
            .prepare(call.sql.as_str())
            .map(|s| Prepared { stmt: Some(Stmt::Fresh(s)), counted: None })
            .map_err(|e| lease.error(e))
    } else {
        prepare_sql(lease, call.sql.as_str()).map(|(s, counted)| Prepared { stmt: Some(Stmt::Cached(s)), counted })
    };
    if out.is_err() && call.context.is_some() {
        PREPARE_FAILED.with(|f| f.set(true));
    }
    out
}

/// Prepares `sql` through the lease's statement cache, whatever the call's
/// op (a streamed query steps it itself), with its registry entry when
/// statements are counted.
pub(crate) fn prepare_sql<'a>(
    lease: &'a PooledConnection,
    sql: &str,
) -> Result<(CachedStatement<'a>, Option<Arc<Entry>>)> {
    let statements = &lease.shared().statements;
    if !statements.counting() {
        let stmt = lease.prepare_cached(sql).map_err(|e| lease.error(e))?;
        return Ok((stmt, None));
    }
    let before = lease.authorizer_calls();
    let stmt = lease.prepare_cached(sql).map_err(|e| lease.error(e))?;
    let entry = statements.prepared(sql, lease.authorizer_calls() != before);
    Ok((stmt, Some(entry)))
}

thread_local! {
    /// The last call with a context run on this thread failed while
    /// preparing (see [`failed_to_prepare`]).
    static PREPARE_FAILED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// On the thread that just ran a call carrying a
/// [`CallContext`](crate::sql::CallContext) (its completion runs there):
/// whether it failed while preparing its statement rather than while running
/// it — node-sqlite3 reports the two differently.
pub fn failed_to_prepare() -> bool {
    PREPARE_FAILED.with(std::cell::Cell::get)
}

/// Runs `call` on `lease`, whose statement is `prepared`, within its
/// deadline (`deadline.rs`), after it `waited` for the pool or the gate.
pub(crate) fn run_prepared(
    lease: &PooledConnection,
    prepared: Prepared<'_>,
    call: &Call,
    waited: Waited,
) -> Result<Produced> {
    let Prepared { mut stmt, counted } = prepared;
    if call.op == Op::Prepare {
        // Given parameters are bound too (and then cleared): a bad binding
        // is reported without running the statement.
        if let (Some(stmt), false) = (stmt.as_mut(), call.params == crate::sql::Params::None) {
            bind(stmt, &call.params, call.rules)?;
            stmt.clear_bindings();
        }
        let read_only = stmt.as_ref().is_some_and(|s| s.readonly());
        return Ok(Produced { read_only, ..Produced::default() });
    }
    run_with(lease, stmt.as_deref_mut(), counted, call, waited, |lease, stmt| run_rows(lease, stmt, call))
}

/// Runs `step` (the row loop, or a first batch of a streamed query) on
/// `call`'s statement within its deadline, timed and recorded when
/// statements are observed: the one place every SQL-layer statement
/// passes through.
pub(crate) fn run_with<T>(
    lease: &PooledConnection,
    stmt: Option<&mut Statement<'_>>,
    counted: Option<Arc<Entry>>,
    call: &Call,
    waited: Waited,
    step: impl FnOnce(&PooledConnection, Option<&mut Statement<'_>>) -> Result<T>,
) -> Result<T> {
    let armed = lease.arm_statement(call.timeout.or(lease.shared().config.statement_timeout));
    if !lease.shared().statements.observing() {
        return step(lease, stmt).map_err(|e| armed.check(e, call.sql.as_str()));
    }
    observed(lease, stmt, counted, call, waited, &armed, step)
}

/// More rows of a streamed query (`Session::fetch`), within the pool's
/// `statement_timeout` (per batch) or the lease's deadline.
pub(crate) fn step_more<T>(lease: &PooledConnection, step: impl FnOnce() -> Result<T>) -> Result<T> {
    let armed = lease.arm_statement(lease.shared().config.statement_timeout);
    step().map_err(|e| armed.check(e, "a streamed query (fetching more rows)"))
}

/// A statement run with the clock read around it, then recorded.
fn observed<T>(
    lease: &PooledConnection,
    mut stmt: Option<&mut Statement<'_>>,
    counted: Option<Arc<Entry>>,
    call: &Call,
    waited: Waited,
    armed: &Armed<'_>,
    step: impl FnOnce(&PooledConnection, Option<&mut Statement<'_>>) -> Result<T>,
) -> Result<T> {
    let shared = lease.shared();
    let sql = call.sql.as_str();
    let hook = shared.trace.on();
    // Read now only if something records it for every statement; the slow
    // log reads it when a statement turns out slow.
    let waited = if hook || shared.statements.counting() || cfg!(feature = "tracing") {
        Waited::For(waited.get())
    } else {
        waited
    };
    let wall = if hook { Some(std::time::SystemTime::now()) } else { None };
    #[cfg(feature = "tracing")]
    let span = crate::trace::spans::statement(
        &shared.config.name,
        &crate::deadline::excerpt(sql),
        lease.lane(),
        lease.tenant_schema(),
        lease.acquire_site().as_deref(),
    );
    #[cfg(feature = "tracing")]
    let entered = span.enter();
    let started = clock::now();
    let out = step(lease, stmt.as_deref_mut()).map_err(|e| armed.check(e, sql));
    let run = started.elapsed();
    #[cfg(feature = "tracing")]
    {
        span.record("wait_ms", waited.get().as_secs_f64() * 1e3);
        span.record("run_ms", run.as_secs_f64() * 1e3);
        if let Err(e) = &out {
            span.record("error", e.code());
        }
        drop(entered);
    }
    if shared.statements.counting() {
        shared.statements.ran(sql, counted, stmt.as_deref(), waited.get(), run);
    }
    let error = out.as_ref().err().map(Error::code);
    if shared.config.slow_statement_threshold.is_some_and(|t| run >= t) {
        crate::slow::record(lease, call, waited.before(run), run, error);
    }
    if let Some(start) = wall {
        let waited = waited.get();
        let site = lease.acquire_site();
        shared.trace.emit(&crate::trace::TraceEvent {
            name: "litepool.statement",
            start: start.checked_sub(waited).unwrap_or(start),
            duration: waited + run,
            wait: waited,
            run,
            sql: Some(sql),
            lane: lease.lane(),
            tenant: lease.tenant_schema(),
            site: site.as_deref(),
            connection_id: Some(lease.connection_id()),
            error,
        });
    }
    out
}

/// The row loop.
fn run_rows(lease: &PooledConnection, stmt: Option<&mut Statement<'_>>, call: &Call) -> Result<Produced> {
    let fail = |e: rusqlite::Error| lease.error(e);
    let Some(stmt) = stmt else {
        run_script(lease, call.sql.as_str())?;
        return Ok(Produced { last_insert_rowid: lease.last_insert_rowid(), ..Produced::default() });
    };
    let read_only = stmt.readonly();
    let width = stmt.column_count();
    if call.op == Op::Prepare {
        return Ok(Produced { read_only, ..Produced::default() });
    }
    if call.op == Op::Many && width > 0 {
        return Err(Error::Misuse("executemany() can only execute DML statements (this one returns rows).".to_owned()));
    }
    let sets = if call.op == Op::Many { &call.sets[..] } else { std::slice::from_ref(&call.params) };
    let mut rows = Vec::new();
    let mut changes = 0u64;
    let mut sink = match (&call.sink, call.op) {
        (Some(sink), Op::All) => Some(Batches::new(sink)),
        _ => None,
    };
    for params in sets {
        let stepped = step(lease, &mut *stmt, params, call, &mut |row| {
            // The width after stepping: a statement SQLite re-prepared on
            // this step (the schema changed under `SELECT *`) has its new columns.
            let width = row.as_ref().column_count();
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(row.get::<usize, Value>(i).map_err(fail)?);
            }
            rows.push(values);
            if let Some(sink) = &mut sink {
                sink.maybe_flush(Some(row.as_ref()), &mut rows);
            }
            Ok(true)
        });
        if let Some(sink) = &mut sink {
            // Rows stepped before an error still go to the sink.
            sink.flush(stepped.is_ok().then_some(&*stmt), &mut rows);
        }
        changes += stepped?;
    }
    let columns = if call.describe { columns(stmt) } else { Vec::new() };
    Ok(Produced { columns, rows, changes, last_insert_rowid: lease.last_insert_rowid(), read_only, stateful: false })
}

/// Binds `params` to `stmt` and steps it: to its end, or to its first row
/// for [`Op::First`], or until `each` says stop; rows go to `each` except
/// for [`Op::Run`] and [`Op::Many`], which only step. Returns the rows changed.
pub(crate) fn step(
    lease: &PooledConnection,
    stmt: &mut Statement<'_>,
    params: &crate::sql::Params,
    call: &Call,
    each: &mut dyn FnMut(&rusqlite::Row<'_>) -> Result<bool>,
) -> Result<u64> {
    bind(stmt, params, call.rules)?;
    let read_only = stmt.readonly();
    let mut cursor = stmt.raw_query();
    while let Some(row) = cursor.next().map_err(|e| lease.error(e))? {
        if call.op == Op::Run || call.op == Op::Many {
            continue;
        }
        if !each(row)? || call.op == Op::First {
            break;
        }
    }
    drop(cursor);
    Ok(if read_only { 0 } else { lease.changes() })
}

/// Rows on their way to a [`RowSink`], in batches.
struct Batches<'a> {
    sink: &'a RowSink,
    columns: Option<Vec<Column>>,
    last: Instant,
    sent: usize,
}

impl<'a> Batches<'a> {
    fn new(sink: &'a RowSink) -> Self {
        Batches { sink, columns: None, last: Instant::now(), sent: 0 }
    }

    fn maybe_flush(&mut self, stmt: Option<&rusqlite::Statement<'_>>, rows: &mut Vec<Vec<Value>>) {
        if self.columns.is_none() {
            // Names while the statement steps (the cursor lets go of it at the end).
            self.columns = stmt.map(columns);
        }
        if rows.len() >= RowSink::BATCH || self.last.elapsed() >= Duration::from_millis(1) {
            self.flush(stmt, rows);
        }
    }

    fn flush(&mut self, stmt: Option<&rusqlite::Statement<'_>>, rows: &mut Vec<Vec<Value>>) {
        if rows.is_empty() {
            return;
        }
        let columns = self.columns.get_or_insert_with(|| stmt.map(columns).unwrap_or_default());
        self.sent += rows.len();
        self.last = Instant::now();
        (self.sink.0)(columns, std::mem::take(rows));
    }
}

/// Runs every statement of `sql` to its end (a `SELECT` in a script steps
/// through all its rows, for what its functions do), dropping rows.
fn run_script(lease: &PooledConnection, sql: &str) -> Result<()> {
    use rusqlite::fallible_iterator::FallibleIterator;
    let mut batch = rusqlite::Batch::new(lease, sql);
    while let Some(mut stmt) = batch.next().map_err(|e| lease.error(e))? {
        let mut rows = stmt.raw_query();
        while rows.next().map_err(|e| lease.error(e))?.is_some() {}
    }
    Ok(())
}

/// `stmt`'s result columns. Read them after stepping: a statement SQLite
/// had to re-prepare (the schema changed) has its new names only then.
pub(crate) fn columns(stmt: &rusqlite::Statement<'_>) -> Vec<Column> {
    if stmt.column_count() == 0 {
        return Vec::new();
    }
    stmt.columns()
        .iter()
        .map(|c| Column { name: c.name().to_owned(), decltype: c.decl_type().map(str::to_owned) })
        .collect()
}

/// Runs `call` on `lease` as it is (no transaction rules: see `session.rs`),
/// with its context applied from before it is prepared to its end.
pub fn execute(lease: &PooledConnection, call: &Call) -> Result<Produced> {
    execute_after(lease, call, Waited::For(Duration::ZERO))
}

/// [`execute`] for a one-shot call that `waited` for its lease.
pub(crate) fn execute_after(lease: &PooledConnection, call: &Call, waited: Waited) -> Result<Produced> {
    let _entered = enter(lease, call);
    if call.op != Op::Script && crate::sql::classify::is_empty(call.sql.as_str()) {
        return Ok(Produced { read_only: true, ..Produced::default() });
    }
    let prepared = prepare(lease, call)?;
    run_prepared(lease, prepared, call, waited)
}

/// Applies `call`'s context (if any) to `lease` until the guard drops.
pub(crate) fn enter<'a>(lease: &'a PooledConnection, call: &'a Call) -> Option<crate::sql::context::Entered<'a>> {
    let context = call.context.as_ref()?;
    PREPARE_FAILED.with(|f| f.set(false));
    Some(context.enter(lease, call.op == Op::Script))
}
