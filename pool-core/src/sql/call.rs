//! What a call is and what it produced: the SQL text (with what the pool
//! learned about it), the operation, its parameters, and the one result
//! type every binding converts from.

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::Arc;

use rusqlite::types::Value;

use crate::sql::params::{BindRules, Params};

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
    /// Stops the statement inside SQLite once it has run this long, with
    /// [`Error::Deadline`](crate::Error::Deadline); overrides the pool's
    /// `statement_timeout`. Defaults to `None`: the pool's.
    pub timeout: Option<std::time::Duration>,
}

impl Call {
    /// `op` on `sql`, no parameters, strict rules.
    pub fn new(op: Op, sql: impl Into<Sql>) -> Call {
        Call { op, sql: sql.into(), params: Params::None, sets: Vec::new(), rules: BindRules::STRICT, timeout: None }
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

    /// With a statement deadline (see [`Call::timeout`]).
    #[must_use]
    pub fn timeout(mut self, timeout: std::time::Duration) -> Call {
        self.timeout = Some(timeout);
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
