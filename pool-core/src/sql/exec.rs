//! The one row loop: runs a [`Call`] on a lease and collects what it
//! produced into one result type, [`Produced`].

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::Arc;

use rusqlite::types::Value;
use rusqlite::CachedStatement;

use crate::error::{Error, Result};
use crate::guard::PooledConnection;
use crate::sql::params::{bind, BindRules, Params};

/// SQL text, shared, with what the pool learned about it (whether it is
/// read-only) so a statement run many times is routed without a lookup.
#[derive(Clone, Debug)]
pub struct Sql(Arc<SqlInner>);

#[derive(Debug)]
struct SqlInner {
    text: Box<str>,
    /// 0: not known yet, 1: read-only, 2: writes.
    read_only: AtomicU8,
}

impl Sql {
    /// Wraps `text`.
    pub fn new(text: impl Into<Box<str>>) -> Sql {
        Sql(Arc::new(SqlInner { text: text.into(), read_only: AtomicU8::new(0) }))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0.text
    }

    /// Whether the statement is read-only (`sqlite3_stmt_readonly`), once known.
    pub fn read_only(&self) -> Option<bool> {
        match self.0.read_only.load(Relaxed) {
            1 => Some(true),
            2 => Some(false),
            _ => None,
        }
    }

    pub(crate) fn learn(&self, read_only: bool) {
        self.0.read_only.store(if read_only { 1 } else { 2 }, Relaxed);
    }
}

impl From<&str> for Sql {
    fn from(text: &str) -> Sql {
        Sql::new(text)
    }
}

impl From<String> for Sql {
    fn from(text: String) -> Sql {
        Sql::new(text)
    }
}

/// What a call does with its statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Every row.
    All,
    /// The first row only.
    First,
    /// Steps to the end for the effect; rows (from `RETURNING`) are dropped.
    Run,
    /// Once per parameter set (PEP 249's `executemany`); statements that
    /// return rows are refused.
    Many,
    /// A script of any number of statements, no parameters, no rows.
    Script,
    /// Only prepares (checks syntax and schema).
    Prepare,
}

/// One call: an operation, its SQL and its parameters.
#[derive(Debug, Clone)]
pub struct Call {
    /// What to do.
    pub op: Op,
    /// The SQL.
    pub sql: Sql,
    /// One parameter set; [`Op::Many`] uses `sets` instead.
    pub params: Params,
    /// The parameter sets of [`Op::Many`].
    pub sets: Vec<Params>,
    /// How strictly parameters must match. Defaults to strict.
    pub rules: BindRules,
}

impl Call {
    /// `op` on `sql`, no parameters, strict rules.
    pub fn new(op: Op, sql: impl Into<Sql>) -> Call {
        Call { op, sql: sql.into(), params: Params::None, sets: Vec::new(), rules: BindRules::STRICT }
    }

    /// With parameters.
    #[must_use]
    pub fn params(mut self, params: Params) -> Call {
        self.params = params;
        self
    }

    /// With binding rules.
    #[must_use]
    pub fn rules(mut self, rules: BindRules) -> Call {
        self.rules = rules;
        self
    }

    /// [`Op::Many`] over `sets`.
    pub fn many(sql: impl Into<Sql>, sets: Vec<Params>) -> Call {
        Call { sets, ..Call::new(Op::Many, sql) }
    }
}

/// A result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Its name (as SQLite reports it, after stepping: fresh after a
    /// schema change).
    pub name: String,
    /// Its declared type, for columns read straight from a table.
    pub decltype: Option<String>,
}

/// What a call produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Produced {
    /// Result columns (empty for statements that return none).
    pub columns: Vec<Column>,
    /// Rows, in column order ([`Op::First`]: at most one).
    pub rows: Vec<Vec<Value>>,
    /// Rows changed (`sqlite3_changes`, summed over [`Op::Many`]'s sets);
    /// 0 for read-only statements.
    pub changes: u64,
    /// The connection's last inserted rowid after the call.
    pub last_insert_rowid: i64,
    /// Whether the statement was read-only (`sqlite3_stmt_readonly`;
    /// `false` for scripts).
    pub read_only: bool,
}

impl Produced {
    /// Column names, in order.
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }
}

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
