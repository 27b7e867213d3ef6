//! What a call is and what it produced: the SQL text (with what the pool
//! learned about it), the operation, its parameters, and the one result
//! type every binding converts from.

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::Arc;

use rusqlite::types::Value;

use crate::sql::context::CallContext;
use crate::sql::params::{BindRules, Params};

const KNOWN_RO: u8 = 1;
const RO: u8 = 2;
const KNOWN_STATE: u8 = 4;
const STATE: u8 = 8;
const ONE_SHOT_OK: u8 = 16;

/// SQL text, shared, with what the pool learned about it (whether it is
/// read-only) so a statement run many times is routed without a lookup.
#[derive(Clone, Debug)]
pub struct Sql(Arc<SqlInner>);

#[derive(Debug)]
struct SqlInner {
    text: Box<str>,
    /// Bits: `KNOWN_RO`/`RO` (read-only), `KNOWN_STATE`/`STATE` (changes
    /// the connection's own state), `ONE_SHOT_OK` (not transaction control:
    /// may run as a one-shot call).
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
        let bits = self.0.read_only.load(Relaxed);
        (bits & KNOWN_RO != 0).then_some(bits & RO != 0)
    }

    /// Whether running the statement changes the connection's own state (a
    /// pragma, a TEMP object, an attachment), once a session has run it.
    pub fn changes_connection(&self) -> Option<bool> {
        let bits = self.0.read_only.load(Relaxed);
        (bits & KNOWN_STATE != 0).then_some(bits & STATE != 0)
    }

    pub(crate) fn learn(&self, read_only: bool) {
        self.set(KNOWN_RO, RO, read_only);
    }

    /// Whether the text was found not to be transaction control (which
    /// one-shot calls refuse), so it need not be looked at again.
    pub(crate) fn one_shot_ok(&self) -> bool {
        self.0.read_only.load(Relaxed) & ONE_SHOT_OK != 0
    }

    pub(crate) fn learn_one_shot_ok(&self) {
        self.0.read_only.fetch_or(ONE_SHOT_OK, Relaxed);
    }

    pub(crate) fn learn_state(&self, stateful: bool) {
        self.set(KNOWN_STATE, STATE, stateful);
    }

    /// Marks `known` and sets or clears `bit`, leaving the other answer as is.
    fn set(&self, known: u8, bit: u8, on: bool) {
        let _ =
            self.0.read_only.fetch_update(Relaxed, Relaxed, |b| Some((b | known) & !bit | if on { bit } else { 0 }));
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
    /// Only prepares (checks syntax and schema), and binds the parameters
    /// given, if any (checks them), without running.
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
    /// The caller's own connection settings and hooks, applied to the lease
    /// while the call runs (see `context.rs`). Defaults to none.
    pub context: Option<Arc<CallContext>>,
    /// With [`Op::All`]: rows go to this sink in batches while the
    /// statement steps, instead of into [`Produced::rows`]. Defaults to none.
    pub sink: Option<RowSink>,
    /// Whether [`Produced::columns`] is filled. Defaults to `true`; a caller
    /// that reads rows by position turns it off (a column's name and declared
    /// type cost two allocations on every call). A sink gets the columns
    /// either way.
    pub describe: bool,
}

/// Receives an [`Op::All`] call's rows in batches as they are stepped
/// (node-sqlite3's `each`): the column names, then the rows. Called on the
/// thread running the call, with batches of up to [`RowSink::BATCH`] rows,
/// at least every millisecond while rows come.
#[derive(Clone)]
pub struct RowSink(pub Arc<SinkFn>);

/// What a [`RowSink`] calls: the column names, then a batch of rows.
pub type SinkFn = dyn Fn(&[Column], Vec<Vec<Value>>) + Send + Sync;

impl RowSink {
    /// The most rows one batch carries.
    pub const BATCH: usize = 256;
}

impl std::fmt::Debug for RowSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RowSink")
    }
}

impl Call {
    /// `op` on `sql`, no parameters, strict rules.
    pub fn new(op: Op, sql: impl Into<Sql>) -> Call {
        Call {
            op,
            sql: sql.into(),
            params: Params::None,
            sets: Vec::new(),
            rules: BindRules::STRICT,
            context: None,
            sink: None,
            timeout: None,
            describe: true,
        }
    }

    /// Without [`Produced::columns`] (see [`Call::describe`]).
    #[must_use]
    pub fn undescribed(mut self) -> Call {
        self.describe = false;
        self
    }

    /// With the caller's settings and hooks.
    #[must_use]
    pub fn context(mut self, context: Arc<CallContext>) -> Call {
        self.context = Some(context);
        self
    }

    /// With a row sink (for [`Op::All`]).
    #[must_use]
    pub fn sink(mut self, sink: RowSink) -> Call {
        self.sink = Some(sink);
        self
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
    /// Whether the call changed the connection's own state (set a pragma,
    /// created a TEMP object, attached a database…): what follows must run
    /// on the same connection to see it. Set by sessions only.
    pub stateful: bool,
}

impl Produced {
    /// Column names, in order.
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }
}
