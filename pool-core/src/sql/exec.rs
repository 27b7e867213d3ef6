//! The one row loop: runs a [`Call`] on a lease and collects what it
//! produced into one result type, [`Produced`].

use rusqlite::types::Value;
use rusqlite::CachedStatement;

use crate::error::{Error, Result};
use crate::guard::PooledConnection;
use crate::sql::call::{Call, Column, Op, Produced};
use crate::sql::params::bind;

/// Prepares `sql` on `lease` (through its statement cache).
pub(crate) fn prepare<'a>(lease: &'a PooledConnection, sql: &str) -> Result<CachedStatement<'a>> {
    lease.prepare_cached(sql).map_err(|e| lease.error(e))
}

/// Runs `call` on `lease`, whose statement `stmt` is already prepared
/// (scripts pass `None`), within its deadline (`deadline.rs`).
pub(crate) fn run_prepared(
    lease: &PooledConnection,
    stmt: Option<CachedStatement<'_>>,
    call: &Call,
) -> Result<Produced> {
    let armed = lease.arm_statement(call.timeout.or(lease.shared().config.statement_timeout));
    run_rows(lease, stmt, call).map_err(|e| armed.check(e, call.sql.as_str()))
}

/// The row loop.
fn run_rows(lease: &PooledConnection, stmt: Option<CachedStatement<'_>>, call: &Call) -> Result<Produced> {
    let fail = |e: rusqlite::Error| lease.error(e);
    let Some(mut stmt) = stmt else {
        lease.execute_batch(call.sql.as_str())?;
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
        }
        drop(cursor);
        if !read_only {
            changes += lease.changes();
        }
    }
    // Names read after stepping: a statement SQLite had to re-prepare (the
    // schema changed) has its new names only then.
    let columns = if width > 0 {
        stmt.columns()
            .iter()
            .map(|c| Column { name: c.name().to_owned(), decltype: c.decl_type().map(str::to_owned) })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Produced { columns, rows, changes, last_insert_rowid: lease.last_insert_rowid(), read_only })
}

/// Runs `call` on `lease` as it is (no transaction rules: see `session.rs`).
pub fn execute(lease: &PooledConnection, call: &Call) -> Result<Produced> {
    let stmt = match call.op {
        Op::Script => None,
        _ => Some(prepare(lease, call.sql.as_str())?),
    };
    run_prepared(lease, stmt, call)
}
