//! `Cursor`: PEP 249's cursor over a `Connection`. Rows are fetched from
//! SQLite when the statement runs (with the GIL released), so `fetch*`
//! never blocks.

use std::collections::VecDeque;

use litepool::sql::{Call, Op, Produced};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::connection::{closed_error, Connection};
use crate::errors::{map, programming};
use crate::rows;
use crate::values::to_params;

/// A PEP 249 cursor.
#[pyclass(module = "litepool._native", name = "Cursor")]
pub struct Cursor {
    connection: Py<Connection>,
    description: Option<Py<PyTuple>>,
    rows: VecDeque<Py<PyTuple>>,
    has_result: bool,
    rowcount: i64,
    lastrowid: Option<i64>,
    /// Rows `fetchmany()` returns by default. Defaults to 1.
    #[pyo3(get, set)]
    arraysize: usize,
    row_factory: Option<Py<PyAny>>,
    closed: bool,
}

impl Cursor {
    pub fn new(connection: Py<Connection>, row_factory: Option<Py<PyAny>>) -> Cursor {
        Cursor {
            connection,
            description: None,
            rows: VecDeque::new(),
            has_result: false,
            rowcount: -1,
            lastrowid: None,
            arraysize: 1,
            row_factory,
            closed: false,
        }
    }

    fn check_open(&self, py: Python<'_>) -> PyResult<()> {
        if self.closed {
            return map(py, Err(programming("Cannot operate on a closed cursor.")));
        }
        if self.connection.get().is_closed() {
            return map(py, Err(closed_error()));
        }
        Ok(())
    }

    fn store(&mut self, py: Python<'_>, call: &Call, produced: Produced) -> PyResult<()> {
        if call.op == Op::Script {
            return Ok(());
        }
        let sql = call.sql.as_str();
        self.rowcount = rows::rowcount(sql, &produced);
        if let Some(id) = rows::lastrowid(sql, &produced) {
            self.lastrowid = Some(id);
        }
        self.has_result = !produced.columns.is_empty();
        self.description = self.connection.get().description(py, produced.columns)?;
        self.rows =
            produced.rows.into_iter().map(|r| rows::row_tuple(py, r).map(Bound::unbind)).collect::<PyResult<_>>()?;
        Ok(())
    }

    fn reset(&mut self) {
        self.description = None;
        self.has_result = false;
        self.rows.clear();
        self.rowcount = -1;
    }

    fn run_on(slf: &Bound<'_, Self>, call: Call) -> PyResult<()> {
        let py = slf.py();
        let mut me = slf.borrow_mut();
        me.check_open(py)?;
        me.reset();
        let conn = me.connection.clone_ref(py);
        let produced = conn.get().run(py, &call)?;
        me.store(py, &call, produced)
    }

    pub fn execute_on(slf: &Bound<'_, Self>, sql: &str, parameters: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let params = map(slf.py(), to_params(parameters))?;
        Self::run_on(slf, Call::new(Op::All, sql).params(params))
    }

    pub fn executemany_on(slf: &Bound<'_, Self>, sql: &str, seq: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let mut sets = Vec::new();
        for item in seq.try_iter()? {
            sets.push(map(py, to_params(Some(&item?)))?);
        }
        Self::run_on(slf, Call::many(sql, sets))
    }

    pub fn executescript_on(slf: &Bound<'_, Self>, script: &str) -> PyResult<()> {
        Self::run_on(slf, Call::new(Op::Script, script))
    }

    fn next_row(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        let py = slf.py();
        let (row, factory) = {
            let mut me = slf.borrow_mut();
            me.check_open(py)?;
            if !me.has_result {
                return map(py, Err(programming("No result set: execute a statement that returns rows first.")));
            }
            let Some(row) = me.rows.pop_front() else { return Ok(None) };
            (row, me.row_factory.as_ref().map(|f| f.clone_ref(py)))
        };
        match factory {
            Some(f) => Ok(Some(f.call1(py, (slf, row))?)),
            None => Ok(Some(row.into_any())),
        }
    }

    fn fetch_n(slf: &Bound<'_, Self>, n: Option<usize>) -> PyResult<Vec<Py<PyAny>>> {
        let mut out = Vec::new();
        while n.is_none_or(|n| out.len() < n) {
            match Self::next_row(slf)? {
                Some(row) => out.push(row),
                None => break,
            }
        }
        Ok(out)
    }
}

#[pymethods]
impl Cursor {
    /// Runs `sql` with `parameters` (a sequence for `?`, a mapping for
    /// `:name`); returns the cursor.
    #[pyo3(signature = (sql, parameters = None, /))]
    fn execute<'py>(
        slf: &Bound<'py, Self>,
        sql: &str,
        parameters: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, Self>> {
        Self::execute_on(slf, sql, parameters)?;
        Ok(slf.clone())
    }

    /// Runs a data-changing `sql` once per parameter set; `rowcount` is the total.
    fn executemany<'py>(
        slf: &Bound<'py, Self>,
        sql: &str,
        seq_of_parameters: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, Self>> {
        Self::executemany_on(slf, sql, seq_of_parameters)?;
        Ok(slf.clone())
    }

    /// Commits any open transaction, then runs a multi-statement script.
    fn executescript<'py>(slf: &Bound<'py, Self>, sql_script: &str) -> PyResult<Bound<'py, Self>> {
        Self::executescript_on(slf, sql_script)?;
        Ok(slf.clone())
    }

    /// The next row, or `None` when there are no more.
    fn fetchone(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        Self::next_row(slf)
    }

    /// Up to `size` rows (default: `arraysize`).
    #[pyo3(signature = (size = None))]
    fn fetchmany(slf: &Bound<'_, Self>, size: Option<usize>) -> PyResult<Vec<Py<PyAny>>> {
        let n = size.unwrap_or_else(|| slf.borrow().arraysize);
        Self::fetch_n(slf, Some(n))
    }

    /// Every remaining row.
    fn fetchall(slf: &Bound<'_, Self>) -> PyResult<Vec<Py<PyAny>>> {
        Self::fetch_n(slf, None)
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        Self::next_row(slf)
    }

    /// Closes the cursor (the connection stays open). Idempotent.
    fn close(&mut self) {
        self.closed = true;
        self.reset();
    }

    /// A no-op (PEP 249).
    fn setinputsizes(&self, _sizes: &Bound<'_, PyAny>) {}

    /// A no-op (PEP 249).
    #[pyo3(signature = (_size, _column = None))]
    fn setoutputsize(&self, _size: &Bound<'_, PyAny>, _column: Option<&Bound<'_, PyAny>>) {}

    /// One 7-tuple `(name, declared_type, None, None, None, None, None)`
    /// per result column; `None` for statements that return no rows.
    #[getter]
    fn description(&self, py: Python<'_>) -> Option<Py<PyTuple>> {
        self.description.as_ref().map(|d| d.clone_ref(py))
    }

    /// Rows changed by the last DML (summed by `executemany`), rows returned
    /// by the last query, or -1.
    #[getter]
    fn rowcount(&self) -> i64 {
        self.rowcount
    }

    /// The rowid of the last row inserted through this cursor, or `None`.
    #[getter]
    fn lastrowid(&self) -> Option<i64> {
        self.lastrowid
    }

    /// The connection this cursor runs on.
    #[getter]
    fn connection(&self, py: Python<'_>) -> Py<Connection> {
        self.connection.clone_ref(py)
    }

    /// Called as `row_factory(cursor, row_tuple)` per row fetched; defaults
    /// to the connection's `row_factory` when the cursor was made.
    #[getter]
    fn get_row_factory(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.row_factory.as_ref().map(|f| f.clone_ref(py))
    }

    #[setter]
    fn set_row_factory(&mut self, value: Option<Py<PyAny>>) {
        self.row_factory = value;
    }
}
