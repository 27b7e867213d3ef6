//! What a statement produced (the core's [`Produced`]), as PEP 249 sees it:
//! `description`, row tuples, `rowcount` and `lastrowid`.

use litepool::sql::{classify, Column, Produced};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFloat};
use pyo3::types::{PyList, PyString, PyTuple};
use rusqlite::types::{Value, ValueRef};

use crate::values::to_py;

/// PEP 249 `rowcount`: rows changed by DML (summed over `executemany`),
/// rows returned by a query, else -1.
pub fn rowcount(sql: &str, produced: &Produced) -> i64 {
    if !produced.read_only && classify::is_dml(classify::leading_keyword(sql)) {
        i64::try_from(produced.changes).unwrap_or(i64::MAX)
    } else if produced.read_only && !produced.columns.is_empty() {
        i64::try_from(produced.rows.len()).unwrap_or(i64::MAX)
    } else {
        -1
    }
}

/// PEP 249 `lastrowid`: the rowid an `INSERT`/`REPLACE` added, else `None`.
pub fn lastrowid(sql: &str, produced: &Produced) -> Option<i64> {
    let keyword = classify::leading_keyword(sql);
    let inserts = keyword.eq_ignore_ascii_case("INSERT") || keyword.eq_ignore_ascii_case("REPLACE");
    (!produced.read_only && inserts).then_some(produced.last_insert_rowid)
}

/// `cursor.description`: a 7-tuple per column, `None` without columns.
pub fn description<'py>(py: Python<'py>, columns: &[Column]) -> PyResult<Option<Bound<'py, PyTuple>>> {
    if columns.is_empty() {
        return Ok(None);
    }
    let items = columns
        .iter()
        .map(|c| {
            let name = PyString::new(py, &c.name).into_any().unbind();
            let decltype =
                c.decltype.as_deref().map_or_else(|| py.None(), |d| PyString::new(py, d).into_any().unbind());
            let mut seven = vec![name, decltype];
            seven.extend((0..5).map(|_| py.None()));
            PyTuple::new(py, seven)
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

/// A value stepped into a `RowBuf`, as Python: text that is not UTF-8
/// (SQLite does not check) is decoded with replacement characters.
pub fn value_ref_to_py<'py>(py: Python<'py>, value: ValueRef<'_>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        ValueRef::Null => py.None().into_bound(py),
        ValueRef::Integer(i) => i.into_pyobject(py)?.into_any(),
        ValueRef::Real(f) => PyFloat::new(py, f).into_any(),
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) => PyString::new(py, s).into_any(),
            Err(_) => PyString::new(py, &String::from_utf8_lossy(t)).into_any(),
        },
        ValueRef::Blob(b) => PyBytes::new(py, b).into_any(),
    })
}
