//! `Connection`: a lease from the pool, as a PEP 249 connection, and its
//! `Cursor`.
//!
//! SQL runs with the GIL released. The lease sits behind a mutex that is
//! only ever locked while detached from Python, so a thread running SQL
//! never waits for the GIL while another waits for the lease.

use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use litepool::{Lane, PooledConnection};
use parking_lot::Mutex;
use pyo3::exceptions::PyResourceWarning;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple, PyType};
use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value;

use crate::errors::{exception_class, map, programming, Failure, Outcome};
use crate::exec::{self, Column, Produced, Txn};
use crate::values::{to_params, to_py, to_value, Params};

/// A connection leased from a `Pool`. `close()` (or leaving a `with`
/// block) gives it back; a transaction still open is rolled back first.
#[pyclass(frozen, module = "litepool._native", name = "Connection")]
pub struct Connection {
    lease: Mutex<Option<PooledConnection>>,
    closed: AtomicBool,
    autocommit: AtomicBool,
    row_factory: Mutex<Option<Py<PyAny>>>,
    /// The last `cursor.description` built, reused while the columns match.
    description: Mutex<Option<(Vec<Column>, Py<PyTuple>)>>,
    lane: Lane,
    connection_id: u64,
    tenant_schema: Option<String>,
}

fn closed_error() -> Failure {
    programming("Cannot operate on a closed connection.")
}

impl Connection {
    pub fn new(lease: PooledConnection) -> Connection {
        Connection {
            lane: lease.lane(),
            connection_id: lease.connection_id(),
            tenant_schema: lease.tenant_schema().map(str::to_owned),
            lease: Mutex::new(Some(lease)),
            closed: AtomicBool::new(false),
            autocommit: AtomicBool::new(false),
            row_factory: Mutex::new(None),
            description: Mutex::new(None),
        }
    }

    /// Runs `f` on the lease with the GIL released.
    fn with_lease<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&PooledConnection) -> Outcome<R> + Send,
    ) -> PyResult<R> {
        let result = py.detach(|| match self.lease.lock().as_ref() {
            Some(lease) => f(lease),
            None => Err(closed_error()),
        });
        map(py, result)
    }

    fn txn(&self) -> Txn {
        if self.autocommit.load(SeqCst) {
            Txn::Autocommit
        } else {
            Txn::Implicit
        }
    }

    /// Runs one statement (or one per parameter set with `many`).
    pub fn run(&self, py: Python<'_>, sql: &str, sets: Vec<Params>, many: bool) -> PyResult<Produced> {
        let txn = self.txn();
        self.with_lease(py, |lease| exec::execute(lease, sql, &sets, txn, many))
    }

    /// `cursor.description` for `columns`, reusing the last one when equal.
    fn description(&self, py: Python<'_>, columns: Vec<Column>) -> PyResult<Option<Py<PyTuple>>> {
        if columns.is_empty() {
            return Ok(None);
        }
        if let Some((known, tuple)) = self.description.lock().as_ref() {
            if *known == columns {
                return Ok(Some(tuple.clone_ref(py)));
            }
        }
        let Some(tuple) = exec::description(py, &columns)?.map(Bound::unbind) else { return Ok(None) };
        let old = self.description.lock().replace((columns, tuple.clone_ref(py)));
        drop(old);
        Ok(Some(tuple))
    }

    fn end_transaction(&self, py: Python<'_>, sql: &'static str) -> PyResult<()> {
        self.with_lease(py, |lease| {
            if !lease.is_autocommit() {
                std::ops::Deref::deref(lease).execute_batch(sql)?;
            }
            Ok(())
        })
    }

    fn release(&self, py: Python<'_>) -> Option<PooledConnection> {
        self.closed.store(true, SeqCst);
        py.detach(|| self.lease.lock().take())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let Some(lease) = self.lease.get_mut().take() else { return };
        // Known only when leak detection is on.
        let site = lease.acquire_site();
        let id = lease.connection_id();
        let _ = Python::try_attach(move |py| {
            py.detach(move || drop(lease));
            if let Some(site) = site {
                let message = format!(
                    "litepool: connection {id} was garbage-collected without being returned to the pool \
                     (it has been returned now); it was acquired at:\n{site}"
                );
                let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
                let category = py.get_type::<PyResourceWarning>();
                if let Err(e) = PyErr::warn(py, category.as_any(), &message, 1) {
                    e.write_unraisable(py, None);
                }
            }
        });
    }
}

#[pymethods]
impl Connection {
    #[classattr]
    #[allow(non_snake_case)]
    fn Warning(py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(exception_class(py, "Warning")?.unbind())
    }

    #[classattr]
    #[allow(non_snake_case)]
    fn Error(py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(exception_class(py, "Error")?.unbind())
    }

    #[classattr]
    #[allow(non_snake_case)]
    fn InterfaceError(py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(exception_class(py, "InterfaceError")?.unbind())
    }

    #[classattr]
    #[allow(non_snake_case)]
    fn DatabaseError(py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(exception_class(py, "DatabaseError")?.unbind())
    }

    #[classattr]
    #[allow(non_snake_case)]
    fn DataError(py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(exception_class(py, "DataError")?.unbind())
    }

    #[classattr]
    #[allow(non_snake_case)]
    fn OperationalError(py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(exception_class(py, "OperationalError")?.unbind())
    }

    #[classattr]
    #[allow(non_snake_case)]
    fn IntegrityError(py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(exception_class(py, "IntegrityError")?.unbind())
    }

    #[classattr]
    #[allow(non_snake_case)]
    fn InternalError(py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(exception_class(py, "InternalError")?.unbind())
    }

    #[classattr]
    #[allow(non_snake_case)]
    fn ProgrammingError(py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(exception_class(py, "ProgrammingError")?.unbind())
    }

    #[classattr]
    #[allow(non_snake_case)]
    fn NotSupportedError(py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(exception_class(py, "NotSupportedError")?.unbind())
    }

    /// A new cursor on this connection.
    fn cursor(slf: &Bound<'_, Self>) -> PyResult<Cursor> {
        let me = slf.get();
        if me.closed.load(SeqCst) {
            return Err(map(slf.py(), Err(closed_error()))?);
        }
        let row_factory = me.row_factory.lock().as_ref().map(|f| f.clone_ref(slf.py()));
        Ok(Cursor::new(slf.clone().unbind(), row_factory))
    }

    /// Shorthand: a new cursor, `execute(sql, parameters)` on it; returns the cursor.
    #[pyo3(signature = (sql, parameters = None, /))]
    fn execute<'py>(
        slf: &Bound<'py, Self>,
        sql: &str,
        parameters: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, Cursor>> {
        let cursor = Bound::new(slf.py(), Self::cursor(slf)?)?;
        Cursor::execute_on(&cursor, sql, parameters)?;
        Ok(cursor)
    }

    /// Shorthand: a new cursor, `executemany(sql, seq_of_parameters)` on it.
    fn executemany<'py>(
        slf: &Bound<'py, Self>,
        sql: &str,
        seq_of_parameters: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, Cursor>> {
        let cursor = Bound::new(slf.py(), Self::cursor(slf)?)?;
        Cursor::executemany_on(&cursor, sql, seq_of_parameters)?;
        Ok(cursor)
    }

    /// Commits any open transaction, then runs a multi-statement script.
    fn executescript<'py>(slf: &Bound<'py, Self>, sql_script: &str) -> PyResult<Bound<'py, Cursor>> {
        let cursor = Bound::new(slf.py(), Self::cursor(slf)?)?;
        Cursor::executescript_on(&cursor, sql_script)?;
        Ok(cursor)
    }

    /// Runs one statement and returns every row as a list of tuples.
    #[pyo3(signature = (sql, parameters = None, /))]
    fn query<'py>(
        &self,
        py: Python<'py>,
        sql: &str,
        parameters: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let params = map(py, to_params(parameters))?;
        let produced = self.run(py, sql, vec![params], false)?;
        exec::rows_list(py, produced.rows)
    }

    /// Commits the open transaction, if any. A no-op otherwise.
    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        self.end_transaction(py, "COMMIT")
    }

    /// Rolls back the open transaction, if any. A no-op otherwise.
    fn rollback(&self, py: Python<'_>) -> PyResult<()> {
        self.end_transaction(py, "ROLLBACK")
    }

    /// Returns the connection to the pool (rolling back an open
    /// transaction). Closing twice raises `ProgrammingError` (PEP 249).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        match self.release(py) {
            Some(lease) => {
                py.detach(move || drop(lease));
                Ok(())
            }
            None => Err(map(py, Err(programming("The connection is already closed.")))?),
        }
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(SeqCst)
    }

    /// Whether a transaction is open.
    #[getter]
    fn in_transaction(&self, py: Python<'_>) -> PyResult<bool> {
        self.with_lease(py, |lease| Ok(!lease.is_autocommit()))
    }

    /// `False` (the default): PEP 249 transactions — a statement that
    /// writes opens one, `commit()` ends it. `True`: SQLite's autocommit,
    /// every statement commits by itself (explicit `BEGIN` still works).
    #[getter]
    fn get_autocommit(&self) -> bool {
        self.autocommit.load(SeqCst)
    }

    #[setter]
    fn set_autocommit(&self, value: bool) {
        self.autocommit.store(value, SeqCst);
    }

    /// Called as `row_factory(cursor, row_tuple)` for every row fetched by
    /// cursors created afterwards. Defaults to `None` (plain tuples).
    #[getter]
    fn get_row_factory(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.row_factory.lock().as_ref().map(|f| f.clone_ref(py))
    }

    #[setter]
    fn set_row_factory(&self, value: Option<Py<PyAny>>) {
        let old = std::mem::replace(&mut *self.row_factory.lock(), value);
        drop(old);
    }

    /// The lane this lease was taken on: `"any"`, `"read"` or `"write"`.
    #[getter]
    fn lane(&self) -> &'static str {
        self.lane.as_str()
    }

    /// The pooled connection's id (as in leak reports).
    #[getter]
    fn connection_id(&self) -> u64 {
        self.connection_id
    }

    /// `tenant_<code>` when the lease was taken for a tenant, else `None`.
    #[getter]
    fn tenant_schema(&self) -> Option<&str> {
        self.tenant_schema.as_deref()
    }

    /// Registers a SQL function `name` calling `func` with `narg` arguments
    /// (-1: any number). It stays registered on this pooled connection for
    /// later leases too. `deterministic` defaults to `False`.
    #[pyo3(signature = (name, narg, func, *, deterministic = false))]
    fn create_function(
        &self,
        py: Python<'_>,
        name: &str,
        narg: i32,
        func: Py<PyAny>,
        deterministic: bool,
    ) -> PyResult<()> {
        let mut flags = FunctionFlags::SQLITE_UTF8;
        if deterministic {
            flags |= FunctionFlags::SQLITE_DETERMINISTIC;
        }
        let name = name.to_owned();
        self.with_lease(py, move |lease| {
            lease.create_scalar_function(name.as_str(), narg, flags, move |ctx| {
                Python::attach(|py| -> PyResult<Value> {
                    let args = (0..ctx.len())
                        .map(|i| {
                            ctx.get::<Value>(i)
                                .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
                                .and_then(|v| to_py(py, v))
                        })
                        .collect::<PyResult<Vec<_>>>()?;
                    let out = func.call1(py, PyTuple::new(py, args)?)?;
                    to_value(out.bind(py), &"the function's result").map_err(|f| crate::errors::to_py_err(py, f))
                })
                .map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))
            })?;
            Ok(())
        })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Commits (or, on an exception, rolls back) and returns the connection
    /// to the pool.
    #[pyo3(signature = (exc_type, _exc = None, _tb = None))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyType>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        if self.closed.load(SeqCst) {
            return Ok(false);
        }
        let ended = if exc_type.is_some() { self.rollback(py) } else { self.commit(py) };
        if let Some(lease) = self.release(py) {
            py.detach(move || drop(lease));
        }
        ended.map(|()| false)
    }

    fn __repr__(&self) -> String {
        let state = if self.closed.load(SeqCst) { "closed" } else { "open" };
        format!("<litepool.Connection id={} lane={} {state}>", self.connection_id, self.lane.as_str())
    }
}

/// A PEP 249 cursor. Rows are fetched from SQLite when the statement runs
/// (with the GIL released), so `fetch*` never blocks.
#[pyclass(module = "litepool._native", name = "Cursor")]
pub struct Cursor {
    connection: Py<Connection>,
    description: Option<Py<PyTuple>>,
    rows: std::collections::VecDeque<Py<PyTuple>>,
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
    fn new(connection: Py<Connection>, row_factory: Option<Py<PyAny>>) -> Cursor {
        Cursor {
            connection,
            description: None,
            rows: std::collections::VecDeque::new(),
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
        if self.connection.get().closed.load(SeqCst) {
            return map(py, Err(closed_error()));
        }
        Ok(())
    }

    fn store(&mut self, py: Python<'_>, produced: Produced) -> PyResult<()> {
        self.has_result = !produced.columns.is_empty();
        self.description = self.connection.get().description(py, produced.columns)?;
        self.rows =
            produced.rows.into_iter().map(|r| exec::row_tuple(py, r).map(Bound::unbind)).collect::<PyResult<_>>()?;
        self.rowcount = produced.rowcount;
        if produced.lastrowid.is_some() {
            self.lastrowid = produced.lastrowid;
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.description = None;
        self.has_result = false;
        self.rows.clear();
        self.rowcount = -1;
    }

    fn run_on(slf: &Bound<'_, Self>, sql: &str, sets: Vec<Params>, many: bool) -> PyResult<()> {
        let py = slf.py();
        let mut me = slf.borrow_mut();
        me.check_open(py)?;
        me.reset();
        let conn = me.connection.clone_ref(py);
        let produced = conn.get().run(py, sql, sets, many)?;
        me.store(py, produced)
    }

    pub fn execute_on(slf: &Bound<'_, Self>, sql: &str, parameters: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let params = map(slf.py(), to_params(parameters))?;
        Self::run_on(slf, sql, vec![params], false)
    }

    pub fn executemany_on(slf: &Bound<'_, Self>, sql: &str, seq: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let mut sets = Vec::new();
        for item in seq.try_iter()? {
            sets.push(map(py, to_params(Some(&item?)))?);
        }
        Self::run_on(slf, sql, sets, true)
    }

    pub fn executescript_on(slf: &Bound<'_, Self>, script: &str) -> PyResult<()> {
        let py = slf.py();
        let mut me = slf.borrow_mut();
        me.check_open(py)?;
        me.reset();
        let conn = me.connection.clone_ref(py);
        let lane = conn.get().lane;
        conn.get().with_lease(py, |lease| {
            let raw: &rusqlite::Connection = lease;
            if !raw.is_autocommit() {
                raw.execute_batch("COMMIT")?;
            }
            raw.execute_batch(script).map_err(|e| litepool::Error::on_lane(e, lane))?;
            Ok(())
        })
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
