//! `ConnectionBase`: the compiled base of `litepool.sqlite3.Connection`.
//! The Python class adds `__init__` (which finds the pool and calls
//! `_open`) and the rarely used methods; what every statement goes through
//! — the checks, `cursor()`, `execute()`, `commit()` — is here, so a point
//! query costs no Python frames of ours.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering::Relaxed};
use std::thread::ThreadId;

use parking_lot::Mutex;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};

use crate::errors::{map, programming};
use crate::sqlite3::cursor::CursorBase;
use crate::sqlite3::handle::Handle;
use crate::sqlite3::swap;

/// The Python classes of `litepool.sqlite3` the compiled code creates.
pub static CONNECTION_CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
pub static STATEMENT_CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Called once by `litepool.sqlite3` with its `Connection` and `Statement` classes.
#[pyfunction]
pub fn register_classes(py: Python<'_>, connection: Py<PyType>, statement: Py<PyType>) {
    let _ = CONNECTION_CLASS.set(py, connection);
    let _ = STATEMENT_CLASS.set(py, statement);
}

struct Thread {
    id: ThreadId,
    /// `threading.get_ident()` of the creating thread, for the message.
    ident: u64,
}

#[pyclass(subclass, frozen, module = "litepool._native", name = "Sqlite3ConnectionBase")]
pub struct ConnectionBase {
    handle: Mutex<Option<Py<Handle>>>,
    closed: AtomicBool,
    check_same_thread: AtomicBool,
    thread: Mutex<Option<Thread>>,
    detect_types: AtomicI32,
    isolation_level: Mutex<Option<Py<PyAny>>>,
    row_factory: Mutex<Option<Py<PyAny>>>,
    text_factory: Mutex<Option<Py<PyAny>>>,
}

fn get_ident(py: Python<'_>) -> PyResult<u64> {
    static GET_IDENT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    GET_IDENT.import(py, "_thread", "get_ident")?.call0()?.extract()
}

fn none(py: Python<'_>) -> Py<PyAny> {
    py.None()
}

fn isolation_error() -> PyErr {
    PyValueError::new_err("isolation_level string must be '', 'DEFERRED', 'IMMEDIATE', or 'EXCLUSIVE'")
}

/// Checks an `isolation_level` value as the standard library does; returns
/// it as plain text (`None` for autocommit).
pub fn isolation_text(level: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if level.is_none() {
        return Ok(None);
    }
    let Ok(text) = level.cast::<PyString>() else {
        return Err(PyTypeError::new_err("isolation_level must be str or None"));
    };
    let text = text.to_str()?;
    if text.contains('\0') {
        return Err(PyValueError::new_err("embedded null character"));
    }
    match litepool::sql::Begin::parse(text) {
        Some(_) => Ok(Some(text.to_owned())),
        None => Err(isolation_error()),
    }
}

impl ConnectionBase {
    /// The standard library's checks — same thread (unless
    /// `check_same_thread=False`), initialised, open — then the handle.
    pub fn check(&self, py: Python<'_>) -> PyResult<Py<Handle>> {
        if self.check_same_thread.load(Relaxed) {
            let created = self.thread.lock().as_ref().map(|t| (t.id, t.ident));
            if let Some((id, ident)) = created {
                if id != std::thread::current().id() {
                    let message = format!(
                        "SQLite objects created in a thread can only be used in that same thread. The object was \
                         created in thread id {ident} and this is thread id {}.",
                        get_ident(py)?
                    );
                    return map(py, Err(programming(message)));
                }
            }
        }
        let handle = self.handle.lock().as_ref().map(|h| h.clone_ref(py));
        let Some(handle) = handle else {
            return map(py, Err(programming("Base Connection.__init__ not called.")));
        };
        if self.closed.load(Relaxed) {
            return map(py, Err(programming("Cannot operate on a closed database.")));
        }
        Ok(handle)
    }

    pub fn detect_types(&self) -> i32 {
        self.detect_types.load(Relaxed)
    }

    pub fn text_factory<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        match self.text_factory.lock().as_ref() {
            Some(f) => f.bind(py).clone(),
            None => py.get_type::<PyString>().into_any(),
        }
    }

    fn row_factory_of(&self, py: Python<'_>) -> Py<PyAny> {
        self.row_factory.lock().as_ref().map_or_else(|| none(py), |f| f.clone_ref(py))
    }
}

#[pymethods]
impl ConnectionBase {
    /// An uninitialised connection (`__init__` opens it).
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        ConnectionBase {
            handle: Mutex::new(None),
            closed: AtomicBool::new(false),
            check_same_thread: AtomicBool::new(false),
            thread: Mutex::new(None),
            detect_types: AtomicI32::new(0),
            isolation_level: Mutex::new(None),
            row_factory: Mutex::new(None),
            text_factory: Mutex::new(None),
        }
    }

    /// Forgets the handle (the start of `__init__`: a failed re-open leaves
    /// the connection uninitialised, as the standard library does).
    fn _uninit(&self) {
        swap(&self.handle, None);
        self.closed.store(false, Relaxed);
    }

    /// Finishes `__init__` with an open handle.
    fn _open(
        &self,
        py: Python<'_>,
        handle: Py<Handle>,
        detect_types: i32,
        check_same_thread: bool,
        isolation_level: Py<PyAny>,
    ) -> PyResult<()> {
        swap(&self.thread, Some(Thread { id: std::thread::current().id(), ident: get_ident(py)? }));
        self.check_same_thread.store(check_same_thread, Relaxed);
        self.detect_types.store(detect_types, Relaxed);
        swap(&self.isolation_level, Some(isolation_level));
        swap(&self.row_factory, None);
        swap(&self.text_factory, None);
        self.closed.store(false, Relaxed);
        swap(&self.handle, Some(handle));
        Ok(())
    }

    /// The checks, then the handle (for the Python half's methods).
    fn _check(&self, py: Python<'_>) -> PyResult<Py<Handle>> {
        self.check(py)
    }

    #[getter]
    fn _detect_types(&self) -> i32 {
        self.detect_types()
    }

    /// A new cursor; `factory(connection)` must return a `Cursor`.
    #[pyo3(signature = (*args, **kwargs))]
    fn cursor<'py>(
        slf: &Bound<'py, Self>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let me = slf.get();
        let handle = me.check(py)?;
        let factory = match (args.len(), kwargs.map(|k| k.get_item("factory")).transpose()?.flatten()) {
            (0, None) => None,
            (1, None) => Some(args.get_item(0)?),
            (0, Some(f)) => Some(f),
            _ => return Err(PyTypeError::new_err("cursor() takes at most 1 argument (factory)")),
        };
        let cursor = match factory {
            None => Bound::new(py, CursorBase::ready(py, slf.as_any(), handle)?)?.into_any(),
            Some(factory) => {
                let cursor = factory.call1((slf,))?;
                if cursor.cast::<CursorBase>().is_err() {
                    let name = cursor.get_type().name().map(|n| n.to_string()).unwrap_or_default();
                    return Err(PyTypeError::new_err(format!("factory must return a cursor, not {name}")));
                }
                cursor
            }
        };
        let row_factory = me.row_factory_of(py);
        if !row_factory.is_none(py) {
            cursor.setattr("row_factory", row_factory)?;
        }
        Ok(cursor)
    }

    /// `self.cursor().execute(sql, parameters)`.
    #[pyo3(signature = (sql, parameters = None, /))]
    fn execute<'py>(
        slf: &Bound<'py, Self>,
        sql: &Bound<'py, PyAny>,
        parameters: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        // The common case, without method lookups: the module's own class,
        // whose cursor() is this one, making a plain Cursor.
        let plain = CONNECTION_CLASS.get(py).is_some_and(|c| slf.get_type().is(c.bind(py)));
        if plain && slf.get().row_factory.lock().is_none() {
            let handle = slf.get().check(py)?;
            let cursor = Bound::new(py, CursorBase::ready(py, slf.as_any(), handle)?)?;
            return CursorBase::execute(&cursor, sql, parameters).map(Bound::into_any);
        }
        let cursor = slf.call_method0("cursor")?;
        match parameters {
            Some(p) => cursor.call_method1("execute", (sql, p)),
            None => cursor.call_method1("execute", (sql,)),
        }
    }

    /// `self.cursor().executemany(sql, parameters)`.
    fn executemany<'py>(
        slf: &Bound<'py, Self>,
        sql: &Bound<'py, PyAny>,
        parameters: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        slf.call_method0("cursor")?.call_method1("executemany", (sql, parameters))
    }

    /// `self.cursor().executescript(sql_script)`.
    fn executescript<'py>(slf: &Bound<'py, Self>, sql_script: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        slf.call_method0("cursor")?.call_method1("executescript", (sql_script,))
    }

    /// Compiles `sql` (checking it) and returns a `Statement`.
    #[pyo3(signature = (*args))]
    fn __call__<'py>(slf: &Bound<'py, Self>, args: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let handle = slf.get().check(py)?;
        if args.len() != 1 {
            return Err(PyTypeError::new_err(format!(
                "Connection() takes exactly 1 positional argument ({} given)",
                args.len()
            )));
        }
        let sql = args.get_item(0)?;
        let Ok(sql) = sql.cast::<PyString>() else {
            let name = sql.get_type().name().map(|n| n.to_string()).unwrap_or_default();
            return Err(PyTypeError::new_err(format!("SQL must be str, not {name}")));
        };
        handle.bind(py).call_method1("prepare", (sql,))?;
        let class = STATEMENT_CLASS.get(py).ok_or_else(|| PyTypeError::new_err("litepool.sqlite3 is not loaded"))?;
        py.import("builtins")?.getattr("object")?.call_method1("__new__", (class.bind(py),))
    }

    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        self.check(py)?.get().commit(py)
    }

    fn rollback(&self, py: Python<'_>) -> PyResult<()> {
        self.check(py)?.get().rollback(py)
    }

    /// Gives the pooled connection back (rolling back an open transaction).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if self.check_same_thread.load(Relaxed) {
            let created = self.thread.lock().as_ref().map(|t| t.id);
            if created.is_some_and(|id| id != std::thread::current().id()) {
                self.check(py)?;
            }
        }
        let handle = self.handle.lock().as_ref().map(|h| h.clone_ref(py));
        let Some(handle) = handle else {
            return map(py, Err(programming("Base Connection.__init__ not called.")));
        };
        self.closed.store(true, Relaxed);
        handle.get().close(py)
    }

    #[getter]
    fn in_transaction(&self, py: Python<'_>) -> PyResult<bool> {
        self.check(py)?.get().in_transaction(py)
    }

    #[getter]
    fn total_changes(&self, py: Python<'_>) -> PyResult<u64> {
        self.check(py)?.get().total_changes(py)
    }

    #[getter]
    fn get_isolation_level(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.check(py)?;
        Ok(self.isolation_level.lock().as_ref().map_or_else(|| none(py), |l| l.clone_ref(py)))
    }

    #[setter]
    fn set_isolation_level(&self, py: Python<'_>, level: Bound<'_, PyAny>) -> PyResult<()> {
        let handle = self.check(py)?;
        let text = isolation_text(&level)?;
        if text.is_none() {
            handle.get().commit(py)?;
        }
        handle.get().set_isolation_level(py, text.as_deref())?;
        swap(&self.isolation_level, Some(level.unbind()));
        Ok(())
    }

    #[getter]
    fn get_row_factory(&self, py: Python<'_>) -> Py<PyAny> {
        self.row_factory_of(py)
    }

    #[setter]
    fn set_row_factory(&self, py: Python<'_>, factory: Option<Py<PyAny>>) {
        let factory = factory.filter(|f| !f.is_none(py));
        swap(&self.row_factory, factory);
    }

    #[getter]
    fn get_text_factory(&self, py: Python<'_>) -> Py<PyAny> {
        self.text_factory(py).unbind()
    }

    #[setter]
    fn set_text_factory(&self, factory: Option<Py<PyAny>>) {
        swap(&self.text_factory, factory);
    }

    fn __enter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, Self>> {
        slf.get().check(slf.py())?;
        Ok(slf.clone())
    }

    /// Commits (or, after an exception, rolls back); a failed commit is
    /// rolled back too. Never suppresses the exception.
    #[pyo3(signature = (exc_type, exc_value, traceback, /))]
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: &Bound<'_, PyAny>,
        exc_value: &Bound<'_, PyAny>,
        traceback: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let handle = self.check(py)?;
        if exc_type.is_none() && exc_value.is_none() && traceback.is_none() {
            if let Err(e) = handle.get().commit(py) {
                let _ = handle.get().rollback(py);
                return Err(e);
            }
        } else {
            handle.get().rollback(py)?;
        }
        Ok(false)
    }

    fn interrupt(&self, py: Python<'_>) -> PyResult<()> {
        let handle = self.handle.lock().as_ref().map(|h| h.clone_ref(py));
        let Some(handle) = handle else {
            return map(py, Err(programming("Base Connection.__init__ not called.")));
        };
        if self.closed.load(Relaxed) {
            return map(py, Err(programming("Cannot operate on a closed database.")));
        }
        handle.get().interrupt();
        Ok(())
    }
}
