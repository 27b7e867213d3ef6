//! Running one statement on a lease, with the DB-API's transaction rules,
//! and turning what it produced into Python objects.

use litepool::{Lane, PooledConnection};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};
use rusqlite::types::Value;

use crate::errors::{programming, Failure, Outcome};
use crate::values::{bind, to_py, Params};

/// A result column: its name and declared type (`cursor.description`).
#[derive(Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub decltype: Option<String>,
}

/// What a statement produced, still without Python objects.
pub struct Produced {
    /// Empty when the statement returns no rows (DDL, plain DML).
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    /// Rows changed for DML, rows returned for a query, else -1.
    pub rowcount: i64,
    /// The rowid of the last `INSERT`/`REPLACE`, when it was one.
    pub lastrowid: Option<i64>,
}

/// How a statement treats transactions.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Txn {
    /// PEP 249: a statement that writes opens a transaction if none is
    /// open (`BEGIN IMMEDIATE` on a `write()` lease); `commit()` ends it.
    Implicit,
    /// SQLite's own autocommit: each statement commits by itself.
    Autocommit,
}

/// The first keyword of `sql` (as written), skipping whitespace and comments.
pub fn leading_keyword(sql: &str) -> &str {
    let mut rest = sql;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, tail)| tail);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, tail)| tail);
        } else {
            break;
        }
    }
    let end = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
    &rest[..end]
}

/// Whether `keyword` is one of `options` (upper case), ignoring case.
fn is_one_of(keyword: &str, options: &[&str]) -> bool {
    options.iter().any(|o| o.eq_ignore_ascii_case(keyword))
}

/// Statements that must not be wrapped in an implicit transaction: the
/// transaction statements themselves (`BEGIN IMMEDIATE` is not "read-only"
/// to SQLite) and those SQLite refuses inside one.
fn controls_transactions(keyword: &str) -> bool {
    is_one_of(keyword, &["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "VACUUM", "PRAGMA"])
}

/// Runs `sql` once per parameter set on `lease` and collects every row.
/// With `many`, statements that return rows are refused (as `executemany`).
pub fn execute(lease: &PooledConnection, sql: &str, sets: &[Params], txn: Txn, many: bool) -> Outcome<Produced> {
    let lane = lease.lane();
    let fail = |e: rusqlite::Error| Failure::Pool(litepool::Error::on_lane(e, lane));
    let mut stmt = lease.prepare_cached(sql).map_err(fail)?;
    let keyword = leading_keyword(sql);
    let read_only = stmt.readonly();
    let dml = !read_only && is_one_of(keyword, &["INSERT", "UPDATE", "DELETE", "REPLACE", "WITH"]);
    let width = stmt.column_count();
    if many && width > 0 {
        return Err(programming("executemany() can only execute DML statements (this one returns rows)."));
    }
    if txn == Txn::Implicit && !read_only && lease.is_autocommit() && !controls_transactions(keyword) {
        let begin = if lane == Lane::Write { "BEGIN IMMEDIATE" } else { "BEGIN" };
        std::ops::Deref::deref(lease).execute_batch(begin).map_err(fail)?;
    }
    let columns: Vec<Column> = if width > 0 {
        stmt.columns()
            .iter()
            .map(|c| Column { name: c.name().to_owned(), decltype: c.decl_type().map(str::to_owned) })
            .collect::<Vec<_>>()
    } else {
        Vec::new()
    };
    let mut rows = Vec::new();
    let mut changes: i64 = 0;
    for params in sets {
        bind(&mut stmt, params)?;
        let mut cursor = stmt.raw_query();
        while let Some(row) = cursor.next().map_err(fail)? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(row.get::<usize, Value>(i).map_err(fail)?);
            }
            rows.push(values);
        }
        drop(cursor);
        if dml {
            changes += i64::try_from(lease.changes()).unwrap_or(i64::MAX);
        }
    }
    let rowcount = if dml {
        changes
    } else if width > 0 && read_only {
        i64::try_from(rows.len()).unwrap_or(i64::MAX)
    } else {
        -1
    };
    let lastrowid = (dml && is_one_of(keyword, &["INSERT", "REPLACE"])).then(|| lease.last_insert_rowid());
    Ok(Produced { columns, rows, rowcount, lastrowid })
}

/// `cursor.description`: a 7-tuple per column, `None` without columns.
pub fn description<'py>(py: Python<'py>, columns: &[Column]) -> PyResult<Option<Bound<'py, PyTuple>>> {
    if columns.is_empty() {
        return Ok(None);
    }
    let items = columns
        .iter()
        .map(|c| {
            let none = py.None();
            PyTuple::new(
                py,
                [
                    PyString::new(py, &c.name).into_any().unbind(),
                    c.decltype.as_deref().map_or_else(|| py.None(), |d| PyString::new(py, d).into_any().unbind()),
                    none.clone_ref(py),
                    none.clone_ref(py),
                    none.clone_ref(py),
                    none.clone_ref(py),
                    none,
                ],
            )
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(Some(PyTuple::new(py, items)?))
}

/// One row as a tuple.
pub fn row_tuple(py: Python<'_>, row: Vec<Value>) -> PyResult<Bound<'_, PyTuple>> {
    let items = row.into_iter().map(|v| to_py(py, v)).collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, items)
}

/// Every row as a list of tuples.
pub fn rows_list(py: Python<'_>, rows: Vec<Vec<Value>>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for row in rows {
        list.append(row_tuple(py, row)?)?;
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::leading_keyword;

    #[test]
    fn leading_keyword_skips_comments_and_space() {
        assert_eq!(leading_keyword("  insert into t values (1)"), "insert");
        assert_eq!(leading_keyword("-- note\n/* x */ UPDATE t SET a=1"), "UPDATE");
        assert_eq!(leading_keyword("with x as (select 1) delete from t"), "with");
        assert_eq!(leading_keyword("BEGIN;"), "BEGIN");
        assert_eq!(leading_keyword(""), "");
    }
}
