//! `Handle`: a drop-in `sqlite3.Connection`'s hold on the pool — a core
//! `LazySession` (which leases per transaction and pins the lease while
//! the program has changed the connection), and the calls the Python
//! class makes on it. SQL runs with the GIL released; the session sits
//! behind a lock that is only taken while detached.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use litepool::rusqlite::limits::Limit;
use litepool::sql::{classify, Begin, Call, Column, Fetched, LazySession, Op, Opened, StreamId, TxnMode};
use parking_lot::{Mutex, ReentrantMutex};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

use crate::errors::{map, programming, Failure, Outcome};
use crate::options::seconds;
use crate::pool::Pool;
use crate::sqlite3::functions;
use crate::sqlite3::hooks::{self, Tracing};
use crate::sqlite3::params::{memoryview, to_params};
use crate::sqlite3::rows::Rows;
use crate::wait::wait_detached;

/// Rows stepped by `execute()` before it returns: a point query finishes
/// (and gives its lease back) in one call.
const FIRST: usize = 64;

/// Parameter sets converted (with the GIL) per round of `executemany()`.
const MANY: usize = 256;

/// A drop-in connection's session.
#[pyclass(frozen, module = "litepool._native", name = "Sqlite3Handle")]
pub struct Handle {
    /// `None` once closed. Re-entrant so that a callback running inside a
    /// statement finds it busy (a `ProgrammingError`) instead of deadlocking.
    state: ReentrantMutex<RefCell<Option<LazySession>>>,
    interrupter: litepool::sql::Interrupter,
    trace: Mutex<Option<Arc<Py<PyAny>>>>,
    /// Open statements whose cursors were dropped while the session was busy.
    orphans: Mutex<Vec<StreamId>>,
    /// The last `cursor.description` built, reused while the columns match.
    description: Mutex<Option<(Vec<Column>, Py<PyAny>)>>,
    /// The pool, for its shared SQL texts (`Pool::sql`).
    pool: litepool::Pool,
}

fn closed() -> Failure {
    programming("Cannot operate on a closed database.")
}

fn mode_of(isolation_level: Option<&str>) -> Outcome<TxnMode> {
    match isolation_level {
        None => Ok(TxnMode::Autocommit),
        Some(level) => Begin::parse(level).map(TxnMode::Legacy).ok_or_else(|| {
            Failure::Python(PyValueError::new_err(
                "isolation_level string must be '', 'DEFERRED', 'IMMEDIATE', or 'EXCLUSIVE'",
            ))
        }),
    }
}

/// Takes the parked lease back, else leases, waiting without the GIL
/// (Ctrl-C still works).
fn ensure(lazy: &mut LazySession) -> Outcome<()> {
    if !lazy.resume() {
        // An idle connection at once (the common case), else wait in the
        // pool's queue.
        let lease = match lazy.pool().try_get() {
            Ok(lease) => lease,
            Err(_) => wait_detached(lazy.pool().acquire_async(lazy.acquire_options()))?,
        };
        lazy.attach(lease)?;
    }
    Ok(())
}

fn session(lazy: &mut LazySession) -> Outcome<&mut litepool::sql::Session> {
    ensure(lazy)?;
    lazy.current().ok_or_else(closed)
}

/// The standard library's error for more than one statement, else `err`.
fn one_statement(sql: &str, err: Failure) -> Failure {
    let multiple = match &err {
        Failure::Pool(litepool::Error::Sqlite(rusqlite::Error::MultipleStatement)) => true,
        Failure::Pool(_) => {
            classify::statement_end(sql).is_some_and(|end| !classify::skip_comments(&sql[end..]).is_empty())
        }
        _ => false,
    };
    if multiple {
        programming("You can only execute one statement at a time.")
    } else {
        err
    }
}

/// The first statement of `sql` when only comments follow it.
fn first_only(sql: &str) -> Option<&str> {
    let end = classify::statement_end(sql)?;
    (end < sql.len() && classify::skip_comments(&sql[end..]).is_empty()).then(|| &sql[..end])
}

/// `DataError` when `sql` is longer than the connection's `SQLITE_LIMIT_SQL_LENGTH`.
fn check_length(session: &litepool::sql::Session, sql: &str) -> Outcome<()> {
    let max = session.lease().limit(Limit::SQLITE_LIMIT_SQL_LENGTH)?;
    if usize::try_from(max).is_ok_and(|max| sql.len() > max) {
        return Err(Failure::Class("DataError", "query string is too large".to_owned()));
    }
    Ok(())
}

fn limit_of(category: i32) -> Outcome<Limit> {
    use Limit::*;
    let all = [
        SQLITE_LIMIT_LENGTH,
        SQLITE_LIMIT_SQL_LENGTH,
        SQLITE_LIMIT_COLUMN,
        SQLITE_LIMIT_EXPR_DEPTH,
        SQLITE_LIMIT_COMPOUND_SELECT,
        SQLITE_LIMIT_VDBE_OP,
        SQLITE_LIMIT_FUNCTION_ARG,
        SQLITE_LIMIT_ATTACHED,
        SQLITE_LIMIT_LIKE_PATTERN_LENGTH,
        SQLITE_LIMIT_VARIABLE_NUMBER,
        SQLITE_LIMIT_TRIGGER_DEPTH,
        SQLITE_LIMIT_WORKER_THREADS,
    ];
    all.into_iter().find(|l| *l as i32 == category).ok_or_else(|| programming("'category' is out of bounds"))
}

impl Handle {
    /// `cursor.description` for `columns` (no `detect_types`): a 7-tuple per
    /// column, name first; the last one built is reused while they match.
    pub fn description(&self, py: Python<'_>, columns: &[Column]) -> PyResult<Py<PyAny>> {
        if let Some((known, tuple)) = self.description.lock().as_ref() {
            if known.as_slice() == columns {
                return Ok(tuple.clone_ref(py));
            }
        }
        let items = columns
            .iter()
            .map(|c| {
                let none = || py.None();
                PyTuple::new(
                    py,
                    [PyString::new(py, &c.name).into_any().unbind(), none(), none(), none(), none(), none(), none()],
                )
            })
            .collect::<PyResult<Vec<_>>>()?;
        let tuple = PyTuple::new(py, items)?.into_any().unbind();
        let old = self.description.lock().replace((columns.to_vec(), tuple.clone_ref(py)));
        drop(old);
        Ok(tuple)
    }

    /// Runs `f` on the session with the GIL released, then lets the core
    /// give the lease back if the connection is idle and clean.
    pub fn with<R: Send>(&self, py: Python<'_>, f: impl FnOnce(&mut LazySession) -> Outcome<R> + Send) -> PyResult<R> {
        let trace = self.trace.lock().clone();
        let result = py.detach(|| {
            let guard = self.state.lock();
            let Ok(mut cell) = guard.try_borrow_mut() else {
                return Err(programming("Recursive use of cursors not allowed."));
            };
            let lazy = cell.as_mut().ok_or_else(closed)?;
            let orphans = std::mem::take(&mut *self.orphans.lock());
            if let Some(s) = lazy.current() {
                for id in orphans {
                    s.close_stream(id);
                }
            }
            let tracing = Tracing::push(trace);
            let out = f(lazy);
            drop(tracing);
            lazy.settle();
            out
        });
        map(py, result)
    }

    /// Steps up to `max` more rows of an open statement.
    pub fn fetch(&self, py: Python<'_>, id: StreamId, max: usize) -> PyResult<Fetched> {
        self.with(py, |lazy| Ok(lazy.current().ok_or_else(closed)?.fetch(id, max)?))
    }

    /// Closes an open statement (from a cursor that is reset or dropped).
    pub fn close_stream(&self, py: Python<'_>, id: StreamId) {
        let closed_now = py.detach(|| {
            let guard = self.state.lock();
            let Ok(mut cell) = guard.try_borrow_mut() else { return false };
            if let Some(lazy) = cell.as_mut() {
                if let Some(s) = lazy.current() {
                    s.close_stream(id);
                }
                lazy.settle();
            }
            true
        });
        if !closed_now {
            self.orphans.lock().push(id);
        }
    }

    /// The statement's parameter names, `None` for a nameless `?`.
    fn param_names(&self, py: Python<'_>, sql: &str) -> Outcome<Vec<Option<String>>> {
        self.with(py, |lazy| {
            let stmt_names = {
                let s = session(lazy)?;
                let stmt = s.lease().prepare_cached(sql).map_err(|e| one_statement(sql, e.into()))?;
                (1..=stmt.parameter_count()).map(|i| stmt.parameter_name(i).map(str::to_owned)).collect()
            };
            Ok(stmt_names)
        })
        .map_err(Failure::Python)
    }

    /// Runs `f` on the lease (pinning it: what `f` installs is the
    /// program's connection state).
    fn on_lease<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&litepool::PooledConnection) -> rusqlite::Result<R> + Send,
    ) -> PyResult<R> {
        self.with(py, |lazy| {
            let out = f(session(lazy)?.lease())?;
            lazy.pin();
            Ok(out)
        })
    }
}

#[pymethods]
impl Handle {
    /// A session on `pool`; `private` (a `:memory:` database of its own)
    /// leases at once and keeps the lease.
    #[new]
    #[pyo3(signature = (pool, timeout, isolation_level, private))]
    fn new(
        py: Python<'_>,
        pool: &Bound<'_, Pool>,
        timeout: f64,
        isolation_level: Option<&str>,
        private: bool,
    ) -> PyResult<Handle> {
        let mut lazy = LazySession::new(pool.get().inner.clone(), map(py, mode_of(isolation_level))?);
        lazy.set_busy_timeout(map(py, seconds("timeout", timeout.max(0.0)))?);
        let interrupter = lazy.interrupter();
        if private {
            lazy.pin();
            map(py, py.detach(|| ensure(&mut lazy)))?;
        }
        Ok(Handle {
            state: ReentrantMutex::new(RefCell::new(Some(lazy))),
            interrupter,
            trace: Mutex::new(None),
            orphans: Mutex::new(Vec::new()),
            description: Mutex::new(None),
            pool: pool.get().inner.clone(),
        })
    }

    /// Sets the transaction mode from an `isolation_level` (`None`: autocommit).
    pub(crate) fn set_isolation_level(&self, py: Python<'_>, isolation_level: Option<&str>) -> PyResult<()> {
        let mode = map(py, mode_of(isolation_level))?;
        self.with(py, move |lazy| {
            lazy.set_mode(mode);
            Ok(())
        })
    }

    /// Runs one statement; its first rows are stepped now, the rest as the
    /// cursor asks.
    pub(crate) fn execute(
        slf: &Bound<'_, Self>,
        sql: &Bound<'_, PyString>,
        parameters: &Bound<'_, PyAny>,
    ) -> PyResult<Rows> {
        let py = slf.py();
        let me = slf.get();
        let text = sql.to_str()?;
        if text.as_bytes().contains(&0) {
            return map(py, Err(programming("the query contains a null character")));
        }
        let params = map(py, to_params(parameters, || me.param_names(py, text)))?;
        let call = Call::new(Op::All, me.pool.sql(text)).params(params);
        let opened: Opened = me.with(py, |lazy| {
            let s = session(lazy)?;
            check_length(s, text)?;
            match s.open(&call, FIRST) {
                Ok(opened) => Ok(opened),
                Err(e) => match first_only(text) {
                    // Only comments follow (an unterminated one SQLite's
                    // tokenizer rejects on its own): run the statement alone.
                    Some(first) => {
                        let alone = Call { sql: first.into(), ..call.clone() };
                        s.open(&alone, FIRST).map_err(|e| one_statement(text, e.into()))
                    }
                    None => Err(one_statement(text, e.into())),
                },
            }
        })?;
        Ok(Rows::new(slf.clone().unbind(), opened))
    }

    /// Runs a data-changing statement once per parameter set; returns the
    /// rows changed.
    pub(crate) fn executemany(
        slf: &Bound<'_, Self>,
        sql: &Bound<'_, PyString>,
        seq: &Bound<'_, PyAny>,
    ) -> PyResult<u64> {
        let py = slf.py();
        let me = slf.get();
        let text = sql.to_str()?;
        if text.as_bytes().contains(&0) {
            return map(py, Err(programming("the query contains a null character")));
        }
        if !classify::is_legacy_dml(classify::leading_keyword(text)) {
            // Checked like the standard library: after the statement compiles.
            me.with(py, |lazy| {
                let s = session(lazy)?;
                check_length(s, text)?;
                s.lease().prepare_cached(text).map_err(|e| one_statement(text, e.into()))?;
                Ok(())
            })?;
            return map(py, Err(programming("executemany() can only execute DML statements.")));
        }
        let mut names: Option<Vec<Option<String>>> = None;
        let mut changes = 0u64;
        let mut items = seq.try_iter()?.peekable();
        let mut first = true;
        while first || items.peek().is_some() {
            first = false;
            let mut sets = Vec::new();
            for item in items.by_ref().take(MANY) {
                let item = item?;
                let params = map(
                    py,
                    to_params(&item, || {
                        if names.is_none() {
                            names = Some(me.param_names(py, text)?);
                        }
                        Ok(names.clone().unwrap_or_default())
                    }),
                )?;
                sets.push(params);
            }
            let call = Call::many(text, sets);
            changes += me.with(py, |lazy| {
                let s = session(lazy)?;
                check_length(s, text)?;
                Ok(s.run(&call).map_err(|e| one_statement(text, e.into()))?.changes)
            })?;
        }
        Ok(changes)
    }

    /// Commits any open transaction, then runs a script of statements.
    pub(crate) fn executescript(&self, py: Python<'_>, sql: &Bound<'_, PyString>) -> PyResult<()> {
        let text = sql.to_str()?;
        self.with(py, |lazy| {
            let s = session(lazy)?;
            check_length(s, text)?;
            s.commit()?;
            s.run(&Call::new(Op::Script, text))?;
            Ok(())
        })
    }

    /// Compiles `sql` (for `Connection.__call__`), running nothing.
    fn prepare(&self, py: Python<'_>, sql: &Bound<'_, PyString>) -> PyResult<()> {
        let text = sql.to_str()?;
        if text.as_bytes().contains(&0) {
            return map(py, Err(programming("the query contains a null character")));
        }
        self.with(py, |lazy| {
            let s = session(lazy)?;
            check_length(s, text)?;
            s.lease().prepare_cached(text).map_err(|e| one_statement(text, e.into()))?;
            Ok(())
        })
    }

    pub(crate) fn commit(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |lazy| match lazy.current() {
            Some(s) => Ok(s.commit()?),
            None => Ok(()),
        })
    }

    pub(crate) fn rollback(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |lazy| match lazy.current() {
            Some(s) => Ok(s.rollback()?),
            None => Ok(()),
        })
    }

    /// Gives the lease back (an open transaction is rolled back) and closes
    /// the handle. Idempotent.
    pub(crate) fn close(&self, py: Python<'_>) -> PyResult<()> {
        let trace = self.trace.lock().take();
        let result = py.detach(|| {
            let guard = self.state.lock();
            let Ok(mut cell) = guard.try_borrow_mut() else {
                return Err(programming("Recursive use of cursors not allowed."));
            };
            if let Some(mut lazy) = cell.take() {
                if let (Some(s), true) = (lazy.current(), trace.is_some()) {
                    hooks::set_trace(s.lease(), false);
                }
                lazy.close();
            }
            Ok(())
        });
        drop(trace);
        map(py, result)
    }

    #[getter]
    fn closed(&self) -> bool {
        self.state.try_lock().is_some_and(|g| g.try_borrow().is_ok_and(|c| c.is_none()))
    }

    #[getter]
    pub(crate) fn in_transaction(&self, py: Python<'_>) -> PyResult<bool> {
        self.with(py, |lazy| Ok(lazy.in_transaction()))
    }

    #[getter]
    pub(crate) fn total_changes(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |lazy| Ok(lazy.total_changes()))
    }

    /// Interrupts the statement running on this connection (any thread).
    pub(crate) fn interrupt(&self) {
        self.interrupter.interrupt();
    }

    fn getlimit(&self, py: Python<'_>, category: i32) -> PyResult<i32> {
        let limit = map(py, limit_of(category))?;
        self.with(py, |lazy| {
            ensure(lazy)?;
            Ok(lazy.limit(limit)?)
        })
    }

    fn setlimit(&self, py: Python<'_>, category: i32, limit: i32) -> PyResult<i32> {
        let which = map(py, limit_of(category))?;
        self.with(py, |lazy| {
            ensure(lazy)?;
            if limit < 0 {
                return Ok(lazy.limit(which)?);
            }
            Ok(lazy.set_limit(which, limit)?)
        })
    }

    #[pyo3(signature = (name, narg, func, deterministic))]
    fn create_function(
        &self,
        py: Python<'_>,
        name: &str,
        narg: i32,
        func: Option<Py<PyAny>>,
        deterministic: bool,
    ) -> PyResult<()> {
        let name = name.to_owned();
        let result = self.on_lease(py, move |lease| {
            functions::create_function(lease, &name, narg, func, deterministic)?;
            lease.note_function(&name, narg);
            Ok(())
        });
        result.map_err(|e| {
            if e.is_instance_of::<PyTypeError>(py) {
                e
            } else {
                creating(py, "OperationalError", "Error creating function")
            }
        })
    }

    fn create_aggregate(&self, py: Python<'_>, name: &str, narg: i32, class: Option<Py<PyAny>>) -> PyResult<()> {
        let name = name.to_owned();
        let result = self.on_lease(py, move |lease| {
            functions::create_aggregate(lease, &name, narg, class)?;
            lease.note_function(&name, narg);
            Ok(())
        });
        result.map_err(|_| creating(py, "OperationalError", "Error creating aggregate"))
    }

    fn create_window_function(&self, py: Python<'_>, name: &str, narg: i32, class: Option<Py<PyAny>>) -> PyResult<()> {
        let name = name.to_owned();
        let result = self.on_lease(py, move |lease| {
            functions::create_window(lease, &name, narg, class)?;
            lease.note_function(&name, narg);
            Ok(())
        });
        result.map_err(|_| creating(py, "ProgrammingError", "bad parameter or other API misuse"))
    }

    fn create_collation(&self, py: Python<'_>, name: &str, compare: Option<Py<PyAny>>) -> PyResult<()> {
        let name = name.to_owned();
        self.on_lease(py, move |lease| {
            functions::create_collation(lease, &name, compare)?;
            lease.note_collation(&name);
            Ok(())
        })
    }

    fn set_authorizer(&self, py: Python<'_>, callback: Option<Py<PyAny>>) -> PyResult<()> {
        self.on_lease(py, move |lease| {
            // The pool's watch is replaced: it reinstalls it (and restores
            // everything) when the lease goes back.
            lease.note_raw_access();
            hooks::set_authorizer(lease, callback)
        })
    }

    fn set_progress_handler(&self, py: Python<'_>, callback: Option<Py<PyAny>>, n: i32) -> PyResult<()> {
        self.on_lease(py, move |lease| hooks::set_progress_handler(lease, callback, n))
    }

    fn set_trace_callback(&self, py: Python<'_>, callback: Option<Py<PyAny>>) -> PyResult<()> {
        let on = callback.is_some();
        crate::sqlite3::swap(&self.trace, callback.map(Arc::new));
        self.on_lease(py, move |lease| {
            hooks::set_trace(lease, on);
            Ok(())
        })
    }

    /// Opens a blob; returns `(id, length)`. It keeps the lease until closed.
    #[pyo3(signature = (table, column, row, readonly, name))]
    fn blob_open(
        &self,
        py: Python<'_>,
        table: &str,
        column: &str,
        row: i64,
        readonly: bool,
        name: &str,
    ) -> PyResult<(u64, usize)> {
        self.with(py, |lazy| {
            let (id, len) = session(lazy)?.open_blob(name, table, column, row, readonly)?;
            Ok((id.get(), len))
        })
    }

    fn blob_read<'py>(&self, py: Python<'py>, id: u64, offset: usize, length: usize) -> PyResult<Bound<'py, PyBytes>> {
        let data = self.with(py, |lazy| {
            let mut buf = vec![0u8; length];
            lazy.current().ok_or_else(closed)?.read_blob(StreamId::from(id), offset, &mut buf)?;
            Ok(buf)
        })?;
        Ok(PyBytes::new(py, &data))
    }

    fn blob_write(&self, py: Python<'_>, id: u64, offset: usize, data: Vec<u8>) -> PyResult<()> {
        self.with(py, |lazy| Ok(lazy.current().ok_or_else(closed)?.write_blob(StreamId::from(id), offset, &data)?))
    }

    fn blob_close(&self, py: Python<'_>, id: u64) -> PyResult<()> {
        self.with(py, |lazy| {
            if let Some(s) = lazy.current() {
                s.close_blob(StreamId::from(id));
            }
            Ok(())
        })
    }

    /// `sqlite3_serialize` of schema `name`.
    fn serialize<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyBytes>> {
        let data = self.with(py, |lazy| {
            let s = session(lazy)?;
            s.lease()
                .serialize(name)
                .map(|d| d.to_vec())
                .map_err(|_| Failure::Class("OperationalError", format!("unable to serialize '{name}'")))
        })?;
        Ok(PyBytes::new(py, &data))
    }

    /// `sqlite3_deserialize` into schema `name` (the lease is pinned, and
    /// the pool closes its connection when it goes back).
    fn deserialize(&self, py: Python<'_>, data: &Bound<'_, PyAny>, name: &str) -> PyResult<()> {
        let view = memoryview(data).map_err(|_| {
            PyTypeError::new_err(format!(
                "a bytes-like object is required, not '{}'",
                data.get_type().name().map(|n| n.to_string()).unwrap_or_default()
            ))
        })?;
        if !view.getattr("c_contiguous")?.is_truthy()? {
            return Err(pyo3::exceptions::PyBufferError::new_err("underlying buffer is not C-contiguous"));
        }
        let bytes: Vec<u8> = view.call_method0("tobytes")?.extract()?;
        self.with(py, |lazy| {
            let s = session(lazy)?;
            s.with_lease_mut(|lease| {
                lease.note_unrestorable();
                lease.deserialize_read_exact(name, bytes.as_slice(), bytes.len(), false)
            })??;
            lazy.pin();
            Ok(())
        })
    }

    /// Copies this connection's schema `name` into `target`'s `main`.
    #[pyo3(signature = (target, pages, progress, name, sleep))]
    fn backup(
        &self,
        py: Python<'_>,
        target: &Bound<'_, Handle>,
        pages: i32,
        progress: Option<Py<PyAny>>,
        name: &str,
        sleep: f64,
    ) -> PyResult<()> {
        let target = target.get();
        let pause = Duration::try_from_secs_f64(sleep.max(0.0)).unwrap_or_default();
        let pages = if pages == 0 { -1 } else { pages };
        // Both sessions, locked in address order (no deadlock with a backup
        // the other way round).
        let result = py.detach(|| {
            let (a, b) = (&self.state, &target.state);
            let (first, second) = if (a as *const _ as usize) < (b as *const _ as usize) { (a, b) } else { (b, a) };
            let g1 = first.lock();
            let g2 = second.lock();
            let (mut c1, mut c2) = match (g1.try_borrow_mut(), g2.try_borrow_mut()) {
                (Ok(c1), Ok(c2)) => (c1, c2),
                _ => return Err(programming("Recursive use of cursors not allowed.")),
            };
            let (src, dst) = if std::ptr::eq(first, a) { (&mut *c1, &mut *c2) } else { (&mut *c2, &mut *c1) };
            let src = src.as_mut().ok_or_else(closed)?;
            let dst = dst.as_mut().ok_or_else(closed)?;
            if dst.in_transaction() {
                return Err(Failure::Class("OperationalError", "target is in transaction".to_owned()));
            }
            let from = session(src)?;
            let to = session(dst)?;
            let out = to.with_lease_mut(|to| -> Outcome<()> {
                let backup = rusqlite::backup::Backup::new_with_names(from.lease(), name, to, "main")?;
                loop {
                    let step = backup.step(pages)?;
                    use rusqlite::backup::StepResult::*;
                    let rc = match step {
                        Done => rusqlite::ffi::SQLITE_DONE,
                        More => rusqlite::ffi::SQLITE_OK,
                        Busy => rusqlite::ffi::SQLITE_BUSY,
                        Locked => rusqlite::ffi::SQLITE_LOCKED,
                        _ => rusqlite::ffi::SQLITE_OK,
                    };
                    if let Some(progress) = &progress {
                        let p = backup.progress();
                        Python::attach(|py| progress.call1(py, (rc, p.remaining, p.pagecount)).map(drop))?;
                    }
                    match step {
                        Done => return Ok(()),
                        Busy | Locked => std::thread::sleep(pause),
                        _ => {}
                    }
                }
            });
            src.settle();
            dst.settle();
            out?
        });
        map(py, result)
    }
}

fn creating(py: Python<'_>, class: &'static str, message: &str) -> PyErr {
    crate::errors::to_py_err(py, Failure::Class(class, message.to_owned()))
}

impl Drop for Handle {
    fn drop(&mut self) {
        let trace = self.trace.get_mut().take();
        let lazy = self.state.lock().borrow_mut().take();
        if let Some(mut lazy) = lazy {
            if trace.is_some() {
                if let Some(s) = lazy.current() {
                    hooks::set_trace(s.lease(), false);
                }
            }
            let _ = Python::try_attach(|py| py.detach(|| lazy.close()));
        }
        if let Some(trace) = trace {
            let _ = Python::try_attach(move |_py| drop(trace));
        }
    }
}
