//! `CursorBase`: the compiled base of `litepool.sqlite3.Cursor`. Rows come
//! from a `Rows` (stepped in batches); the checks, `description`,
//! `rowcount` and the converters `detect_types` asks for follow the
//! standard library.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::Relaxed};

use litepool::sql::{classify, Column};
use parking_lot::Mutex;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::errors::{map, programming};
use crate::sqlite3::connection::ConnectionBase;
use crate::sqlite3::convert::TextMode;
use crate::sqlite3::handle::Handle;
use crate::sqlite3::rows::Rows;
use crate::sqlite3::stdlib;
use crate::sqlite3::swap;

/// `PARSE_DECLTYPES` and `PARSE_COLNAMES`.
const PARSE_DECLTYPES: i32 = 1;
const PARSE_COLNAMES: i32 = 2;

#[pyclass(subclass, frozen, dict, weakref, module = "litepool.sqlite3", name = "Cursor")]
pub struct CursorBase {
    connection: Mutex<Option<Py<ConnectionBase>>>,
    handle: Mutex<Option<Py<Handle>>>,
    rows: Mutex<Option<Py<Rows>>>,
    description: Mutex<Option<Py<PyAny>>>,
    /// `-1`, or the rows an `executemany()` changed.
    rowcount: AtomicI64,
    /// The last statement was INSERT/UPDATE/DELETE/REPLACE: `rowcount` is
    /// its changes once done.
    dml: AtomicBool,
    lastrowid: Mutex<Option<i64>>,
    arraysize: AtomicI64,
    row_factory: Mutex<Option<Py<PyAny>>>,
    initialized: AtomicBool,
    closed: AtomicBool,
    locked: AtomicBool,
}

/// Sets `locked` while alive (the standard library's recursion guard).
struct Lock<'a>(&'a AtomicBool);

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        self.0.store(false, Relaxed);
    }
}

fn recursive(py: Python<'_>) -> PyErr {
    map::<()>(py, Err(programming("Recursive use of cursors not allowed."))).unwrap_err()
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
}

impl CursorBase {
    /// A cursor for `connection` (whose checks passed), ready to use.
    pub fn ready(py: Python<'_>, connection: &Bound<'_, PyAny>, handle: Py<Handle>) -> PyResult<CursorBase> {
        let cursor = CursorBase::empty();
        cursor.init(py, connection, handle)?;
        Ok(cursor)
    }

    fn empty() -> CursorBase {
        CursorBase {
            connection: Mutex::new(None),
            handle: Mutex::new(None),
            rows: Mutex::new(None),
            description: Mutex::new(None),
            rowcount: AtomicI64::new(-1),
            dml: AtomicBool::new(false),
            lastrowid: Mutex::new(None),
            arraysize: AtomicI64::new(1),
            row_factory: Mutex::new(None),
            initialized: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            locked: AtomicBool::new(false),
        }
    }

    /// Initialises the cursor for `connection` (whose checks passed).
    pub fn init(&self, py: Python<'_>, connection: &Bound<'_, PyAny>, handle: Py<Handle>) -> PyResult<()> {
        let conn = connection.cast::<ConnectionBase>()?.clone().unbind();
        self.stop(py);
        swap(&self.connection, Some(conn));
        swap(&self.handle, Some(handle));
        swap(&self.description, None);
        swap(&self.lastrowid, None);
        swap(&self.row_factory, None);
        self.rowcount.store(-1, Relaxed);
        self.dml.store(false, Relaxed);
        self.arraysize.store(1, Relaxed);
        self.closed.store(false, Relaxed);
        self.initialized.store(true, Relaxed);
        Ok(())
    }

    /// The standard library's `check_cursor`; returns the connection and its handle.
    fn check(&self, py: Python<'_>) -> PyResult<(Py<ConnectionBase>, Py<Handle>)> {
        if !self.initialized.load(Relaxed) {
            return map(py, Err(programming("Base Cursor.__init__ not called.")));
        }
        if self.closed.load(Relaxed) {
            return map(py, Err(programming("Cannot operate on a closed cursor.")));
        }
        if self.locked.load(Relaxed) {
            return Err(recursive(py));
        }
        let conn = self.connection.lock().as_ref().map(|c| c.clone_ref(py));
        let conn = conn.ok_or_else(|| recursive(py))?;
        let handle = conn.get().check(py)?;
        Ok((conn, handle))
    }

    fn lock(&self, py: Python<'_>) -> PyResult<Lock<'_>> {
        if self.locked.swap(true, Relaxed) {
            return Err(recursive(py));
        }
        Ok(Lock(&self.locked))
    }

    /// Drops the current result set (resetting its statement).
    fn stop(&self, py: Python<'_>) {
        let rows = self.rows.lock().take();
        if let Some(rows) = rows {
            if let Ok(mut r) = rows.bind(py).try_borrow_mut() {
                r.stop(py);
            }
        }
        swap(&self.description, None);
        self.rowcount.store(-1, Relaxed);
        self.dml.store(false, Relaxed);
    }

    fn current_rows(&self, py: Python<'_>) -> Option<Py<Rows>> {
        self.rows.lock().as_ref().map(|r| r.clone_ref(py))
    }

    fn row_factory_of<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.row_factory.lock().as_ref().map_or_else(|| py.None().into_bound(py), |f| f.bind(py).clone())
    }

    fn fetch_some<'py>(slf: &Bound<'py, Self>, size: Option<usize>) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        let me = slf.get();
        let (conn, _) = me.check(py)?;
        let Some(rows) = me.current_rows(py) else { return Ok(PyList::empty(py)) };
        let _lock = me.lock(py)?;
        let text = conn.get().text_factory(py);
        let factory = me.row_factory_of(py);
        let out = rows.bind(py).borrow_mut().take(py, slf.as_any(), &TextMode::of(&text), &factory, size);
        out
    }
}

/// A converter per column (`None`: the value as it is); empty when none applies.
type Converters = Vec<Option<Py<PyAny>>>;

/// `cursor.description` (and converters) for `columns`, as `detect_types` says.
fn describe(
    py: Python<'_>,
    handle: &Handle,
    columns: &[Column],
    detect_types: i32,
) -> PyResult<(Py<PyAny>, Converters)> {
    if detect_types & (PARSE_DECLTYPES | PARSE_COLNAMES) == 0 {
        return Ok((handle.description(py, columns)?, Vec::new()));
    }
    let converters = stdlib(py)?.getattr("converters")?;
    let converters = converters.cast::<PyDict>()?;
    let lookup = |name: &str| -> PyResult<Option<Py<PyAny>>> {
        Ok(converters.get_item(name.to_uppercase())?.map(Bound::unbind))
    };
    let mut found = Vec::with_capacity(columns.len());
    let mut items = Vec::with_capacity(columns.len());
    for c in columns {
        let mut name = c.name.as_str();
        let mut converter = None;
        if detect_types & PARSE_COLNAMES != 0 {
            if let Some(start) = name.find('[') {
                if let Some(end) = name[start + 1..].find(']') {
                    converter = lookup(&name[start + 1..start + 1 + end])?;
                }
                let cut = if start > 0 && name.as_bytes()[start - 1] == b' ' { start - 1 } else { start };
                name = &name[..cut];
            }
        }
        if converter.is_none() && detect_types & PARSE_DECLTYPES != 0 {
            if let Some(decl) = c.decltype.as_deref() {
                let key = decl.split(['(', ' ']).next().unwrap_or(decl);
                converter = lookup(key)?;
            }
        }
        found.push(converter);
        let none = || py.None();
        items.push(PyTuple::new(
            py,
            [PyString::new(py, name).into_any().unbind(), none(), none(), none(), none(), none(), none()],
        )?);
    }
    let converters = if found.iter().any(Option::is_some) { found } else { Vec::new() };
    Ok((PyTuple::new(py, items)?.into_any().unbind(), converters))
}

#[pymethods]
impl CursorBase {
    /// An uninitialised cursor (`__init__(connection)` initialises it, so
    /// a subclass whose `__init__` skips the base's has none).
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        CursorBase::empty()
    }

    /// `Cursor(connection)`: a cursor over a `litepool.sqlite3` connection.
    #[pyo3(signature = (connection, /))]
    fn __init__(&self, py: Python<'_>, connection: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.locked.load(Relaxed) {
            return Err(recursive(py));
        }
        let Ok(conn) = connection.cast::<ConnectionBase>() else {
            return Err(PyTypeError::new_err(format!(
                "Cursor() argument 1 must be litepool.sqlite3.Connection, not {}",
                type_name(connection)
            )));
        };
        let handle = conn.get().check(py)?;
        self.init(py, connection, handle)
    }

    #[getter]
    fn connection(&self, py: Python<'_>) -> Option<Py<ConnectionBase>> {
        self.connection.lock().as_ref().map(|c| c.clone_ref(py))
    }

    #[getter]
    fn description(&self, py: Python<'_>) -> Py<PyAny> {
        self.description.lock().as_ref().map_or_else(|| py.None(), |d| d.clone_ref(py))
    }

    #[getter]
    fn rowcount(&self, py: Python<'_>) -> i64 {
        if self.dml.load(Relaxed) {
            if let Some(rows) = self.current_rows(py) {
                if let Ok(r) = rows.bind(py).try_borrow() {
                    return i64::try_from(r.changes()).unwrap_or(i64::MAX);
                }
            }
        }
        self.rowcount.load(Relaxed)
    }

    #[getter]
    fn lastrowid(&self) -> Option<i64> {
        *self.lastrowid.lock()
    }

    #[getter]
    fn get_arraysize(&self) -> i64 {
        self.arraysize.load(Relaxed)
    }

    #[setter]
    fn set_arraysize(&self, size: i64) {
        self.arraysize.store(size, Relaxed);
    }

    #[getter]
    fn get_row_factory(&self, py: Python<'_>) -> Py<PyAny> {
        self.row_factory_of(py).unbind()
    }

    #[setter]
    fn set_row_factory(&self, py: Python<'_>, factory: Option<Py<PyAny>>) {
        let factory = factory.filter(|f| !f.is_none(py));
        swap(&self.row_factory, factory);
    }

    /// Runs `sql` with `parameters` (a sequence for `?`, a mapping for `:name`).
    #[pyo3(signature = (sql, parameters = None, /))]
    pub fn execute<'py>(
        slf: &Bound<'py, Self>,
        sql: &Bound<'py, PyAny>,
        parameters: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, Self>> {
        let py = slf.py();
        let me = slf.get();
        let (conn, handle) = me.check(py)?;
        let Ok(sql) = sql.cast::<PyString>() else {
            return Err(PyTypeError::new_err(format!("execute() argument 1 must be str, not {}", type_name(sql))));
        };
        me.stop(py);
        let empty;
        let parameters = match parameters {
            Some(p) => p,
            None => {
                empty = PyTuple::empty(py).into_any();
                &empty
            }
        };
        let rows = {
            let _lock = me.lock(py)?;
            Handle::execute(handle.bind(py), sql, parameters)?
        };
        swap(&me.lastrowid, Some(rows.lastrowid()));
        let text = sql.to_str()?;
        me.dml.store(classify::is_legacy_dml(classify::leading_keyword(text)), Relaxed);
        let mut rows = rows;
        if !rows.columns().is_empty() {
            let (description, converters) = describe(py, handle.get(), rows.columns(), conn.get().detect_types())?;
            if !converters.is_empty() {
                rows.set_converters_vec(converters);
            }
            swap(&me.description, Some(description));
        }
        swap(&me.rows, Some(Py::new(py, rows)?));
        Ok(slf.clone())
    }

    /// Runs a data-changing `sql` once per parameter set.
    fn executemany<'py>(
        slf: &Bound<'py, Self>,
        sql: &Bound<'py, PyAny>,
        seq_of_parameters: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, Self>> {
        let py = slf.py();
        let me = slf.get();
        let (_, handle) = me.check(py)?;
        let Ok(sql) = sql.cast::<PyString>() else {
            return Err(PyTypeError::new_err(format!("executemany() argument 1 must be str, not {}", type_name(sql))));
        };
        me.stop(py);
        let changes = {
            let _lock = me.lock(py)?;
            Handle::executemany(handle.bind(py), sql, seq_of_parameters)?
        };
        me.rowcount.store(i64::try_from(changes).unwrap_or(i64::MAX), Relaxed);
        Ok(slf.clone())
    }

    /// Commits any open transaction, then runs a script of statements.
    fn executescript<'py>(slf: &Bound<'py, Self>, sql_script: &Bound<'py, PyAny>) -> PyResult<Bound<'py, Self>> {
        let py = slf.py();
        let me = slf.get();
        let (_, handle) = me.check(py)?;
        let Ok(sql) = sql_script.cast::<PyString>() else {
            return Err(PyTypeError::new_err(format!(
                "executescript() argument 1 must be str, not {}",
                type_name(sql_script)
            )));
        };
        if sql.to_str()?.contains('\0') {
            return Err(PyValueError::new_err("embedded null character"));
        }
        me.stop(py);
        let _lock = me.lock(py)?;
        handle.get().executescript(py, sql)?;
        Ok(slf.clone())
    }

    /// The next row, or `None`.
    fn fetchone<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let py = slf.py();
        let me = slf.get();
        let (conn, _) = me.check(py)?;
        let Some(rows) = me.current_rows(py) else { return Ok(None) };
        let _lock = me.lock(py)?;
        let text = conn.get().text_factory(py);
        let factory = me.row_factory_of(py);
        let out = rows.bind(py).borrow_mut().next(py, slf.as_any(), &TextMode::of(&text), &factory);
        out
    }

    /// Up to `size` rows (default: `arraysize`).
    #[pyo3(signature = (size = None))]
    fn fetchmany<'py>(slf: &Bound<'py, Self>, size: Option<i64>) -> PyResult<Bound<'py, PyList>> {
        let size = size.unwrap_or_else(|| slf.get().arraysize.load(Relaxed));
        Self::fetch_some(slf, Some(usize::try_from(size).unwrap_or(0)))
    }

    /// Every remaining row.
    fn fetchall<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyList>> {
        Self::fetch_some(slf, None)
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyAny>>> {
        Self::fetchone(slf)
    }

    /// Closes the cursor (its statement is reset).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if self.locked.load(Relaxed) {
            return Err(recursive(py));
        }
        if !self.initialized.load(Relaxed) {
            return map(py, Err(programming("Base Cursor.__init__ not called.")));
        }
        let conn = self.connection.lock().as_ref().map(|c| c.clone_ref(py));
        if let Some(conn) = conn {
            conn.get().check(py)?;
        }
        self.stop(py);
        self.closed.store(true, Relaxed);
        Ok(())
    }

    #[pyo3(signature = (sizes, /))]
    fn setinputsizes(&self, sizes: &Bound<'_, PyAny>) {
        let _ = sizes;
    }

    #[pyo3(signature = (size, column = None, /))]
    fn setoutputsize(&self, size: &Bound<'_, PyAny>, column: Option<&Bound<'_, PyAny>>) {
        let _ = (size, column);
    }
}
