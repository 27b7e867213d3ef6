//! One-shot calls whose rows are read where they are stepped:
//! [`Pool::call_each`] hands every row to the caller as a [`RowRef`], on
//! the calling thread while the lease is held, instead of copying the rows
//! and column names into [`Produced`]. For a binding that converts rows
//! straight into its own values (Node's `*Sync` calls): no `Vec` per row,
//! no `String` per text value or column name.

use rusqlite::types::{Value, ValueRef};

use crate::error::{Error, Result};
use crate::guard::PooledConnection;
use crate::pool::{AcquireOptions, Pool};
use crate::sql::call::{Call, Column, Op, Produced};
use crate::sql::classify;
use crate::sql::exec::{self, Waited};
use crate::sql::route::Via;

/// One row of a [`Pool::call_each`] call.
#[derive(Clone, Copy)]
pub enum RowRef<'a> {
    /// As SQLite stepped it (valid until the next step).
    Stepped(&'a rusqlite::Row<'a>),
    /// Copied out already (a grouped write's `RETURNING` rows, calls with
    /// a context or a sink): the columns and the values.
    Copied(&'a [Column], &'a [Value]),
}

impl<'a> RowRef<'a> {
    /// How many columns the row has (read after stepping: a statement
    /// SQLite re-prepared on this step has its new columns).
    pub fn len(&self) -> usize {
        match self {
            RowRef::Stepped(row) => row.as_ref().column_count(),
            RowRef::Copied(_, values) => values.len(),
        }
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name of column `i` (from 0).
    pub fn name(&self, i: usize) -> Result<&'a str> {
        match *self {
            RowRef::Stepped(row) => Ok(row.as_ref().column_name(i)?),
            RowRef::Copied(columns, _) => {
                columns.get(i).map(|c| c.name.as_str()).ok_or(Error::Sqlite(rusqlite::Error::InvalidColumnIndex(i)))
            }
        }
    }

    /// The value of column `i` (from 0), borrowed.
    pub fn value(&self, i: usize) -> Result<ValueRef<'a>> {
        match *self {
            RowRef::Stepped(row) => Ok(row.get_ref(i)?),
            RowRef::Copied(_, values) => {
                values.get(i).map(ValueRef::from).ok_or(Error::Sqlite(rusqlite::Error::InvalidColumnIndex(i)))
            }
        }
    }
}

/// Whether `call` can run with its rows read in place (else it runs as
/// [`Pool::call`] and its copied rows are handed over).
fn in_place(call: &Call) -> bool {
    matches!(call.op, Op::First | Op::All | Op::Run) && call.context.is_none() && call.sink.is_none()
}

/// Runs `call` on `lease` as [`exec::execute`] does (within its deadline,
/// observed when statements are), handing each row to `each`.
fn execute_each(
    lease: &PooledConnection,
    call: &Call,
    waited: Waited,
    each: &mut dyn FnMut(RowRef<'_>) -> bool,
) -> Result<Produced> {
    if classify::is_empty(call.sql.as_str()) {
        return Ok(Produced { read_only: true, ..Produced::default() });
    }
    let exec::Prepared { mut stmt, counted } = exec::prepare(lease, call)?;
    exec::run_with(lease, stmt.as_deref_mut(), counted, call, waited, |lease, stmt| {
        let Some(stmt) = stmt else { return Ok(Produced::default()) };
        let read_only = stmt.readonly();
        let changes = exec::step(lease, stmt, &call.params, call, &mut |row| Ok(each(RowRef::Stepped(row))))?;
        Ok(Produced { changes, last_insert_rowid: lease.last_insert_rowid(), read_only, ..Produced::default() })
    })
}

impl Pool {
    /// [`Pool::call`], with every row handed to `each` as it is stepped, on
    /// this thread while the lease is held (`each` returns `false` to stop;
    /// [`Op::First`] stops after one row, [`Op::Run`] hands none over). The
    /// returned [`Produced`] has no rows and no columns. Do not call into
    /// the pool from `each`: it runs while a connection is leased.
    #[track_caller]
    pub fn call_each(
        &self,
        opts: AcquireOptions,
        call: &Call,
        mut each: impl FnMut(RowRef<'_>) -> bool,
    ) -> Result<Produced> {
        if in_place(call) {
            match self.call_via(opts, call, |lease, waited| execute_each(lease, call, waited, &mut each))? {
                Via::Lease(produced) => return Ok(produced),
                Via::Group(produced) => return Ok(hand_over(produced, each)),
            }
        }
        Ok(hand_over(self.call(opts, call)?, each))
    }
}

/// Hands `produced`'s rows to `each` and keeps the rest.
fn hand_over(mut produced: Produced, mut each: impl FnMut(RowRef<'_>) -> bool) -> Produced {
    let rows = std::mem::take(&mut produced.rows);
    for row in &rows {
        if !each(RowRef::Copied(&produced.columns, row)) {
            break;
        }
    }
    produced.columns = Vec::new();
    produced
}
