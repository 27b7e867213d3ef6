//! The one row loop: runs a [`Call`] on a lease and collects what it
//! produced into one result type, [`Produced`].

use rusqlite::types::Value;
use rusqlite::CachedStatement;

use crate::error::{Error, Result};
use crate::guard::PooledConnection;
use std::time::{Duration, Instant};

use crate::sql::call::{Call, Column, Op, Produced, RowSink};
use crate::sql::params::bind;

/// Prepares `sql` on `lease` (through its statement cache).
pub(crate) fn prepare<'a>(lease: &'a PooledConnection, sql: &str) -> Result<CachedStatement<'a>> {
    lease.prepare_cached(sql).map_err(|e| lease.error(e))
}

/// Runs `call` on `lease`, whose statement `stmt` is already prepared
/// (scripts pass `None`).
pub(crate) fn run_prepared(
    lease: &PooledConnection,
    stmt: Option<CachedStatement<'_>>,
    call: &Call,
) -> Result<Produced> {
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
    let _entered = call.context.as_ref().map(|c| c.enter(lease, call.op == Op::Script));
    let Some(mut stmt) = stmt else {
        lease.execute_batch(call.sql.as_str())?;
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
        while let Some(row) = cursor.next().map_err(fail)? {
            if call.op == Op::Run || call.op == Op::Many {
                continue;
            }
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
    // Names read after stepping: a statement SQLite had to re-prepare (the
    // schema changed) has its new names only then.
    let columns = if width > 0 { columns_of(&stmt) } else { Vec::new() };
    Ok(Produced { columns, rows, changes, last_insert_rowid: lease.last_insert_rowid(), read_only, stateful: false })
}

/// Rows on their way to a [`RowSink`]: the first at once, then in batches.
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
        if self.sent == 0 || rows.len() >= RowSink::BATCH || self.last.elapsed() >= Duration::from_millis(1) {
            self.flush(stmt, rows);
        }
    }

    fn flush(&mut self, stmt: Option<&rusqlite::Statement<'_>>, rows: &mut Vec<Vec<Value>>) {
        if rows.is_empty() {
            return;
        }
        let columns = self.columns.get_or_insert_with(|| stmt.map(columns_of).unwrap_or_default());
        self.sent += rows.len();
        self.last = Instant::now();
        (self.sink.0)(columns, std::mem::take(rows));
    }
}

fn columns_of(stmt: &rusqlite::Statement<'_>) -> Vec<Column> {
    stmt.columns()
        .iter()
        .map(|c| Column { name: c.name().to_owned(), decltype: c.decl_type().map(str::to_owned) })
        .collect()
}

/// Runs `call` on `lease` as it is (no transaction rules: see `session.rs`).
pub fn execute(lease: &PooledConnection, call: &Call) -> Result<Produced> {
    let stmt = match call.op {
        Op::Script => None,
        _ => Some(prepare(lease, call.sql.as_str())?),
    };
    run_prepared(lease, stmt, call)
}
