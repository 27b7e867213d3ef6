//! `Connection`: a lease from the pool, as a PEP 249 connection. It is a
//! core [`Session`]: the transaction rules (PEP 249's implicit transaction,
//! a `write()` lease as one `BEGIN IMMEDIATE` transaction from its first
//! statement, the write gate for writes on an ordinary lease) are the
//! core's; this file converts and releases the GIL.
//!
//! SQL runs with the GIL released. The session sits behind a mutex that is
//! only ever locked while detached from Python, so a thread running SQL
//! never waits for the GIL while another waits for the lease.

use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use litepool::sql::{Call, Column, Fetched, Opened, Produced, Session, StreamId, TxnMode};
use litepool::{Lane, PooledConnection};
use parking_lot::Mutex;
use pyo3::exceptions::PyResourceWarning;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple, PyType};
use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value;

use crate::cursor::Cursor;
use crate::errors::{exception_class, map, programming, to_py_err, Failure, Outcome};
use crate::rows;
use crate::values::{to_params, to_py, to_value};

/// A connection leased from a `Pool`. `close()` (or leaving a `with`
/// block) gives it back; a transaction still open is rolled back first.
#[pyclass(frozen, module = "litepool._native", name = "Connection")]
pub struct Connection {
    session: Mutex<Option<Session>>,
    closed: AtomicBool,
    autocommit: AtomicBool,
    row_factory: Mutex<Option<Py<PyAny>>>,
    /// The last `cursor.description` built, reused while the columns match.
    description: Mutex<Option<(Vec<Column>, Py<PyTuple>)>>,
    lane: Lane,
    connection_id: u64,
    tenant_schema: Option<String>,
}

pub fn closed_error() -> Failure {
    programming("Cannot operate on a closed connection.")
}

impl Connection {
    pub fn new(lease: PooledConnection) -> Connection {
        Connection {
            lane: lease.lane(),
            connection_id: lease.connection_id(),
            tenant_schema: lease.tenant_schema().map(str::to_owned),
            session: Mutex::new(Some(Session::new(lease, TxnMode::Implicit))),
            closed: AtomicBool::new(false),
            autocommit: AtomicBool::new(false),
            row_factory: Mutex::new(None),
            description: Mutex::new(None),
        }
    }

    /// Runs `f` on the session with the GIL released.
    fn with_session<R: Send>(&self, py: Python<'_>, f: impl FnOnce(&mut Session) -> Outcome<R> + Send) -> PyResult<R> {
        let mode = if self.autocommit.load(SeqCst) { TxnMode::Autocommit } else { TxnMode::Implicit };
        let result = py.detach(|| match self.session.lock().as_mut() {
            Some(session) => {
                session.set_mode(mode);
                f(session)
            }
            None => Err(closed_error()),
        });
        map(py, result)
    }

    /// Runs one call under the session's transaction rules.
    pub fn run(&self, py: Python<'_>, call: &Call) -> PyResult<Produced> {
        self.with_session(py, |session| Ok(session.run(call)?))
    }

    /// [`Connection::run`] on a thread that does not hold the GIL (an
    /// executor worker running an asyncio call).
    pub fn run_detached(&self, call: &Call) -> Outcome<Produced> {
        let mode = if self.autocommit.load(SeqCst) { TxnMode::Autocommit } else { TxnMode::Implicit };
        match self.session.lock().as_mut() {
            Some(session) => {
                session.set_mode(mode);
                Ok(session.run(call)?)
            }
            None => Err(closed_error()),
        }
    }

    /// Opens a query: its first `first` rows now, the rest through [`Connection::fetch`].
    pub fn open(&self, py: Python<'_>, call: &Call, first: usize) -> PyResult<Opened> {
        self.with_session(py, |session| Ok(session.open(call, first)?))
    }

    /// Steps up to `max` more rows of an open query.
    pub fn fetch(&self, py: Python<'_>, id: StreamId, max: usize) -> PyResult<Fetched> {
        self.with_session(py, |session| Ok(session.fetch(id, max)?))
    }

    /// Closes an open query (its cursor was reset or dropped); nothing if
    /// the connection was closed meanwhile.
    pub fn close_stream(&self, py: Python<'_>, id: StreamId) {
        py.detach(|| {
            if let Some(session) = self.session.lock().as_mut() {
                session.close_stream(id);
            }
        });
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(SeqCst)
    }

    pub fn row_factory(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.row_factory.lock().as_ref().map(|f| f.clone_ref(py))
    }

    /// `cursor.description` for `columns`, reusing the last one when equal.
    pub fn description(&self, py: Python<'_>, columns: Vec<Column>) -> PyResult<Option<Py<PyTuple>>> {
        if columns.is_empty() {
            return Ok(None);
        }
        if let Some((known, tuple)) = self.description.lock().as_ref() {
            if *known == columns {
                return Ok(Some(tuple.clone_ref(py)));
            }
        }
        let Some(tuple) = rows::description(py, &columns)?.map(Bound::unbind) else { return Ok(None) };
        let old = self.description.lock().replace((columns, tuple.clone_ref(py)));
        drop(old);
        Ok(Some(tuple))
    }

    fn release(&self, py: Python<'_>) -> Option<Session> {
        self.closed.store(true, SeqCst);
        py.detach(|| self.session.lock().take())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let Some(session) = self.session.get_mut().take() else { return };
        let lease = session.into_lease();
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

/// PEP 249's optional extension: the exception classes as attributes of
/// the connection.
macro_rules! exception_attributes {
    ($($name:ident),*) => {
        #[pymethods]
        impl Connection {
            $(
                #[classattr]
                #[allow(non_snake_case)]
                fn $name(py: Python<'_>) -> PyResult<Py<PyAny>> {
                    Ok(exception_class(py, stringify!($name))?.unbind())
                }
            )*
        }
    };
}

exception_attributes!(
    Warning,
    Error,
    InterfaceError,
    DatabaseError,
    DataError,
    OperationalError,
    IntegrityError,
    InternalError,
    ProgrammingError,
    NotSupportedError
);

#[pymethods]
impl Connection {
    /// A new cursor on this connection.
    fn cursor(slf: &Bound<'_, Self>) -> PyResult<Cursor> {
        let me = slf.get();
        if me.is_closed() {
            return Err(map(slf.py(), Err(closed_error()))?);
        }
        Ok(Cursor::new(slf.clone().unbind(), me.row_factory(slf.py())))
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
        let produced = self.run(py, &Call::new(litepool::sql::Op::All, sql).params(params).undescribed())?;
        rows::rows_list(py, produced.rows)
    }

    /// Commits the open transaction, if any. A no-op otherwise.
    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        self.with_session(py, |s| Ok(s.commit()?))
    }

    /// Rolls back the open transaction, if any. A no-op otherwise.
    fn rollback(&self, py: Python<'_>) -> PyResult<()> {
        self.with_session(py, |s| Ok(s.rollback()?))
    }

    /// Returns the connection to the pool (rolling back an open
    /// transaction). Closing twice raises `ProgrammingError` (PEP 249).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        match self.release(py) {
            Some(session) => {
                py.detach(move || drop(session));
                Ok(())
            }
            None => Err(map(py, Err(programming("The connection is already closed.")))?),
        }
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.is_closed()
    }

    /// Whether a transaction is open.
    #[getter]
    fn in_transaction(&self, py: Python<'_>) -> PyResult<bool> {
        self.with_session(py, |s| Ok(s.in_transaction()))
    }

    /// `False` (the default): PEP 249 transactions — a statement that
    /// writes opens one (on a `write()` lease, every statement does),
    /// `commit()` ends it. `True`: SQLite's autocommit, every statement
    /// commits by itself (explicit `BEGIN` still works).
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
        self.row_factory(py)
    }

    #[setter]
    fn set_row_factory(&self, value: Option<Py<PyAny>>) {
        let old = std::mem::replace(&mut *self.row_factory.lock(), value);
        drop(old);
    }

    /// The lane this lease was taken on: `"any"`, `"read"` or `"write"`.
    #[getter(lane)]
    fn lane_name(&self) -> &'static str {
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
    /// (-1: any number), for this lease (the pool removes it when the lease
    /// ends). `deterministic` defaults to `False`.
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
        self.with_session(py, move |session| {
            let lease = session.lease();
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
                    to_value(out.bind(py), &"the function's result").map_err(|f| to_py_err(py, f))
                })
                .map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))
            })?;
            lease.note_function(&name, narg);
            Ok(())
        })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Commits (or, on an exception, rolls back) and returns the connection
    /// to the pool. Never suppresses the exception.
    #[pyo3(signature = (exc_type, _exc = None, _tb = None))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyType>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        if self.is_closed() {
            return Ok(false);
        }
        let ended = if exc_type.is_some() { self.rollback(py) } else { self.commit(py) };
        if let Some(session) = self.release(py) {
            py.detach(move || drop(session));
        }
        ended.map(|()| false)
    }

    fn __repr__(&self) -> String {
        let state = if self.is_closed() { "closed" } else { "open" };
        format!("<litepool.Connection id={} lane={} {state}>", self.connection_id, self.lane.as_str())
    }
}
