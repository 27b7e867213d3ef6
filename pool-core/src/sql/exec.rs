//! The one row loop: runs a [`Call`] on a lease and collects what it
//! produced into one result type, [`Produced`].

use std::ops::{Deref, DerefMut};

use rusqlite::types::Value;
use rusqlite::{CachedStatement, Statement};

use crate::error::{Error, Result};
use crate::guard::PooledConnection;
use std::time::{Duration, Instant};

use crate::sql::call::{Call, Column, Op, Produced, RowSink};
use crate::sql::params::bind;

/// Prepares `sql` on `lease` (through its statement cache).
pub(crate) fn prepare<'a>(lease: &'a PooledConnection, sql: &str) -> Result<CachedStatement<'a>> {
    lease.prepare_cached(sql).map_err(|e| lease.error(e))
}

/// A prepared statement, from the cache or made for one call.
pub(crate) enum Prepared<'a> {
    Cached(CachedStatement<'a>),
    Fresh(Statement<'a>),
}

impl<'a> Deref for Prepared<'a> {
    type Target = Statement<'a>;
    fn deref(&self) -> &Statement<'a> {
        match self {
            Prepared::Cached(s) => s,
            Prepared::Fresh(s) => s,
        }
    }
}

impl DerefMut for Prepared<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Prepared::Cached(s) => s,
            Prepared::Fresh(s) => s,
        }
    }
}

/// Prepares `call`'s statement on `lease`: through the statement cache,
/// unless the caller set SQLite limits, which SQLite checks while preparing
/// (a cached statement was prepared under other limits).
pub(crate) fn prepare_call<'a>(lease: &'a PooledConnection, call: &Call) -> Result<Prepared<'a>> {
    let out = if call.context.as_ref().is_some_and(|c| c.has_limits()) {
        lease.prepare(call.sql.as_str()).map(Prepared::Fresh).map_err(|e| lease.error(e))
    } else {
        prepare(lease, call.sql.as_str()).map(Prepared::Cached)
    };
    if out.is_err() && call.context.is_some() {
        PREPARE_FAILED.with(|f| f.set(true));
    }
    out
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

/// Runs `call` on `lease`, whose statement `stmt` is already prepared
/// (scripts pass `None`). The caller applied `call`'s context.
pub(crate) fn run_prepared(lease: &PooledConnection, stmt: Option<Prepared<'_>>, call: &Call) -> Result<Produced> {
    let fail = |e: rusqlite::Error| lease.error(e);
    if call.op == Op::Prepare {
        // Given parameters are bound too (and then cleared): a bad binding
        // is reported without running the statement.
        let mut stmt = stmt;
        if let (Some(stmt), false) = (stmt.as_mut(), call.params == crate::sql::Params::None) {
            bind(stmt, &call.params, call.rules)?;
            stmt.clear_bindings();
        }
        let read_only = stmt.as_ref().is_some_and(|s| s.readonly());
        return Ok(Produced { read_only, ..Produced::default() });
    }
    let Some(mut stmt) = stmt else {
        run_script(lease, call.sql.as_str())?;
        return Ok(Produced { last_insert_rowid: lease.last_insert_rowid(), ..Produced::default() });
    };
    let read_only = stmt.readonly();
    let width = stmt.column_count();
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
        bind(&mut stmt, params, call.rules)?;
        let mut cursor = stmt.raw_query();
        loop {
            let row = match cursor.next() {
                Ok(Some(row)) => row,
                Ok(None) => break,
                Err(e) => {
                    // Rows stepped before the error still go to the sink.
                    if let Some(sink) = &mut sink {
                        sink.flush(None, &mut rows);
                    }
                    return Err(fail(e));
                }
            };
            if call.op == Op::Run || call.op == Op::Many {
                continue;
            }
            // The width after stepping: a statement SQLite re-prepared on
            // this step (the schema changed under `SELECT *`) has its new columns.
            let width = row.as_ref().column_count();
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(row.get::<usize, Value>(i).map_err(fail)?);
            }
            rows.push(values);
            if call.op == Op::First {
                break;
            }
            if let Some(sink) = &mut sink {
                sink.maybe_flush(cursor.as_ref(), &mut rows);
            }
        }
        if let Some(sink) = &mut sink {
            sink.flush(cursor.as_ref(), &mut rows);
        }
        drop(cursor);
        if !read_only {
            changes += lease.changes();
        }
    }
    let columns = columns(&stmt);
    Ok(Produced { columns, rows, changes, last_insert_rowid: lease.last_insert_rowid(), read_only, stateful: false })
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
    let _entered = enter(lease, call);
    if call.op != Op::Script && crate::sql::classify::is_empty(call.sql.as_str()) {
        return Ok(Produced { read_only: true, ..Produced::default() });
    }
    let stmt = match call.op {
        Op::Script => None,
        _ => Some(prepare_call(lease, call)?),
    };
    run_prepared(lease, stmt, call)
}

/// Applies `call`'s context (if any) to `lease` until the guard drops.
pub(crate) fn enter<'a>(lease: &'a PooledConnection, call: &'a Call) -> Option<crate::sql::context::Entered<'a>> {
    let context = call.context.as_ref()?;
    PREPARE_FAILED.with(|f| f.set(false));
    Some(context.enter(lease, call.op == Op::Script))
}
