//! `Cursor`: PEP 249's cursor over a `Connection`. A query's rows are
//! stepped from SQLite in batches as they are fetched (the GIL released
//! while stepping; the core keeps the statement open on the lease), so
//! memory stays flat however many rows it returns.

use std::collections::VecDeque;

use litepool::sql::{classify, Call, Op, Opened, Produced, RowBuf, StreamId};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::connection::{closed_error, Connection};
use crate::errors::{map, programming};
use crate::rows;
use crate::values::to_params;

/// Rows stepped when a query runs; the rest come in batches of [`BATCH`].
const FIRST: usize = 64;
const BATCH: usize = 512;

/// A PEP 249 cursor.
#[pyclass(module = "litepool._native", name = "Cursor")]
pub struct Cursor {
    connection: Py<Connection>,
    description: Option<Py<PyTuple>>,
    /// Rows of a statement that is not a query (`RETURNING` of a
    /// script-less `executemany` never has any), already converted.
    rows: VecDeque<Py<PyTuple>>,
    /// A query's rows stepped so far and not fetched yet.
    buf: RowBuf,
    pos: usize,
    /// The query's open statement, while rows may follow.
    stream: Option<StreamId>,
    /// Rows a query returned so far (its `rowcount` once done).
    returned: i64,
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
            buf: RowBuf::default(),
            pos: 0,
            stream: None,
            returned: 0,
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

    /// A query opened on the session: its first rows, and its statement
    /// while more may follow.
    fn store_opened(&mut self, py: Python<'_>, sql: &str, opened: Opened) -> PyResult<()> {
        let keyword = classify::leading_keyword(sql);
        let inserts = keyword.eq_ignore_ascii_case("INSERT") || keyword.eq_ignore_ascii_case("REPLACE");
        if !opened.read_only && inserts {
            self.lastrowid = Some(opened.last_insert_rowid);
        }
        self.has_result = !opened.columns.is_empty();
        self.stream = opened.stream;
        self.returned = i64::try_from(opened.rows.len()).unwrap_or(i64::MAX);
        self.rowcount = if !opened.read_only && classify::is_dml(keyword) {
            i64::try_from(opened.changes).unwrap_or(i64::MAX)
        } else if opened.read_only && self.has_result && self.stream.is_none() {
            self.returned
        } else {
            -1
        };
        self.description = self.connection.get().description(py, opened.columns)?;
        self.buf = opened.rows;
        self.pos = 0;
        Ok(())
    }

    fn reset(&mut self, py: Python<'_>) {
        self.description = None;
        self.has_result = false;
        self.rows.clear();
        self.buf = RowBuf::default();
        self.pos = 0;
        self.rowcount = -1;
        if let Some(id) = self.stream.take() {
            self.connection.get().close_stream(py, id);
        }
    }

    fn run_on(slf: &Bound<'_, Self>, call: Call) -> PyResult<()> {
        let py = slf.py();
        let mut me = slf.borrow_mut();
        me.check_open(py)?;
        me.reset(py);
        let conn = me.connection.clone_ref(py);
        if call.op == Op::All {
            let opened = conn.get().open(py, &call, FIRST)?;
            return me.store_opened(py, call.sql.as_str(), opened);
        }
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

    /// The next row as a tuple, stepping more rows when the buffer is used up.
    fn next_tuple(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyTuple>>> {
        if let Some(row) = self.rows.pop_front() {
            return Ok(Some(row));
        }
        while self.pos >= self.buf.len() {
            let Some(id) = self.stream else { return Ok(None) };
            let fetched = match self.connection.get().fetch(py, id, BATCH) {
                Ok(f) => f,
                Err(e) => {
                    self.stream = None;
                    return Err(e);
                }
            };
            self.returned += i64::try_from(fetched.rows.len()).unwrap_or(i64::MAX);
            if fetched.done {
                self.stream = None;
                if self.rowcount == -1 && self.has_result {
                    self.rowcount = self.returned;
                }
            }
            self.buf = fetched.rows;
            self.pos = 0;
        }
        let at = self.pos;
        self.pos += 1;
        let items = (0..self.buf.width())
            .map(|col| rows::value_ref_to_py(py, self.buf.get(at, col)))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Some(PyTuple::new(py, items)?.unbind()))
    }

    fn next_row(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        let py = slf.py();
        let (row, factory) = {
            let mut me = slf.borrow_mut();
            me.check_open(py)?;
            if !me.has_result {
                return map(py, Err(programming("No result set: execute a statement that returns rows first.")));
            }
            let Some(row) = me.next_tuple(py)? else { return Ok(None) };
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

    /// Steps every remaining row now (the asyncio wrapper's cursors never
    /// step on the event loop).
    pub fn prefetch(&mut self, py: Python<'_>) -> PyResult<()> {
        let mut all = VecDeque::new();
        while let Some(row) = self.next_tuple(py)? {
            all.push_back(row);
        }
        self.rows = all;
        Ok(())
    }
}

impl Drop for Cursor {
    fn drop(&mut self) {
        if let Some(id) = self.stream.take() {
            let conn = self.connection.get();
            let _ = Python::try_attach(|py| conn.close_stream(py, id));
        }
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
    fn close(&mut self, py: Python<'_>) {
        self.closed = true;
        self.reset(py);
    }

    /// Steps every remaining row now (`fetch*` then never touch SQLite).
    fn _prefetch(&mut self, py: Python<'_>) -> PyResult<()> {
        self.prefetch(py)
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
    /// by the last query once every row was stepped (-1 before), or -1.
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
