//! `Pool`: the core's pool, seen from Python. Options are the core's
//! option table (seconds for durations); every wait for a connection
//! releases the GIL and answers Ctrl-C. One-shot calls are the core's
//! `Pool::call_async` (routing, the write lane, one deadline), polled here.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::Arc;

use litepool::sql::{Call, Op, Params, Produced, Sql};
use litepool::{AcquireOptions, AcquireSite, Lane, LeakReport, PoolConfig, PoolEvents, PooledConnection};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule, PyString};

use crate::connection::Connection;
use crate::errors::{map, programming, to_py_err, Failure, Outcome};
use crate::mailbox::{Build, Mailbox};
use crate::options::{config_from, seconds};
use crate::rows;
use crate::values::to_params;
use crate::wait::wait_detached;

fn optional_seconds(field: &'static str, value: Option<f64>) -> Outcome<Option<std::time::Duration>> {
    value.map(|v| seconds(field, v)).transpose()
}

/// A call's `timeout` (for a connection) and `deadline` (for the whole
/// call or lease: the wait and every statement), in seconds.
#[derive(Clone, Copy)]
struct Wait {
    timeout: Option<f64>,
    deadline: Option<f64>,
}

fn lane_from(name: &str) -> Outcome<Lane> {
    match name {
        "any" => Ok(Lane::Any),
        "read" => Ok(Lane::Read),
        "write" => Ok(Lane::Write),
        other => Err(programming(format!("unknown lane {other:?}: expected \"any\", \"read\" or \"write\""))),
    }
}

fn op_from(name: &str) -> Outcome<Op> {
    match name {
        "all" => Ok(Op::All),
        "run" => Ok(Op::Run),
        "script" => Ok(Op::Script),
        other => Err(programming(format!("unknown op {other:?}: expected \"all\", \"run\" or \"script\""))),
    }
}

/// A one-shot call whose outcome [`outcome`] shapes: query rows are tuples,
/// so no column names are read (execute's `rowcount` needs them).
fn one_shot(op: Op, sql: Sql, params: Params) -> Call {
    let call = Call::new(op, sql).params(params);
    if op == Op::All {
        call.undescribed()
    } else {
        call
    }
}

/// What a one-shot call returns to Python: the rows for `query`, an
/// `Executed` for `execute`, `None` for a script.
fn outcome(py: Python<'_>, sql: &str, op: Op, produced: Produced) -> PyResult<Py<PyAny>> {
    Ok(match op {
        Op::All => rows::rows_list(py, produced.rows)?.into_any().unbind(),
        Op::Script => py.None(),
        _ => {
            let executed =
                Executed { rowcount: rows::rowcount(sql, &produced), lastrowid: rows::lastrowid(sql, &produced) };
            Py::new(py, executed)?.into_any()
        }
    })
}

/// The caller's Python stack, for leak reports.
fn python_stack(py: Python<'_>) -> PyResult<String> {
    static FORMAT_STACK: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let format_stack = FORMAT_STACK.import(py, "traceback", "format_stack")?;
    let lines: Vec<String> = format_stack.call0()?.extract()?;
    Ok(lines.concat())
}

/// `litepool._aio`, where the asyncio face lives.
fn aio(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    MODULE.get_or_try_init(py, || py.import("litepool._aio").map(Bound::unbind)).map(|m| m.bind(py))
}

/// A pool of SQLite connections to one database file.
#[pyclass(frozen, module = "litepool._native", name = "Pool")]
pub struct Pool {
    pub(crate) inner: litepool::Pool,
    path: String,
    /// A trace hook is set: acquires pass the Python stack as their site.
    pub(crate) traced: AtomicBool,
}

impl Pool {
    fn options(&self, py: Python<'_>, lane: Lane, tenant: Option<String>, wait: Wait) -> PyResult<AcquireOptions> {
        let timeout = map(py, optional_seconds("timeout", wait.timeout))?;
        let deadline = map(py, optional_seconds("deadline", wait.deadline))?;
        if deadline.is_some_and(|d| d.is_zero()) {
            return map(py, Err(programming("deadline must be greater than 0 seconds")));
        }
        let site = if self.inner.config().leak_threshold.is_some() || self.traced.load(Relaxed) {
            Some(AcquireSite::Text(python_stack(py)?))
        } else {
            None
        };
        Ok(AcquireOptions { lane, timeout, site, tenant, deadline })
    }

    fn lease(&self, py: Python<'_>, lane: Lane, tenant: Option<String>, wait: Wait) -> PyResult<Connection> {
        let opts = self.options(py, lane, tenant, wait)?;
        let lease = py.detach(|| wait_detached(self.inner.acquire_async(opts)));
        Ok(Connection::new(map(py, lease)?))
    }

    /// Runs a one-shot call (the core routes it) on this thread, the GIL released.
    fn call(
        &self,
        py: Python<'_>,
        op: Op,
        sql: &str,
        parameters: Option<&Bound<'_, PyAny>>,
        tenant: Option<String>,
        wait: Wait,
    ) -> PyResult<Py<PyAny>> {
        let params = map(py, to_params(parameters))?;
        let opts = self.options(py, Lane::Any, tenant, wait)?;
        let call = one_shot(op, self.inner.sql(sql), params);
        let produced = map(py, py.detach(|| wait_detached(self.inner.call_async(opts, call))))?;
        outcome(py, sql, op, produced)
    }
}

#[pymethods]
impl Pool {
    /// Opens a pool over the database at `path` (`":memory:"`: one
    /// in-memory database shared by the pool's connections). Options are
    /// keyword arguments named as in `litepool.pool_options()` (the core's
    /// table, with each default): durations in seconds, `0` turns an
    /// optional duration off, `None` means the default.
    ///
    /// With `leak_threshold` set, a lease held longer is reported once
    /// through `logging` (logger `"litepool"`, `WARNING`, naming the Python
    /// stack that acquired it), and a lease garbage-collected without being
    /// returned warns with a `ResourceWarning`.
    #[new]
    #[pyo3(signature = (path, **options))]
    fn new(py: Python<'_>, path: PathBuf, options: Option<&Bound<'_, PyDict>>) -> PyResult<Pool> {
        let config = config_from(py, options)?;
        Self::open(py, path, config)
    }

    /// A pool over `path` configured from the `DB_POOL_*` environment
    /// variables (milliseconds; see the core's `PoolConfig::from_env`).
    #[staticmethod]
    fn from_env(py: Python<'_>, path: PathBuf) -> PyResult<Pool> {
        let config = map(py, litepool::PoolConfig::from_env().map_err(Failure::Pool))?;
        Self::open(py, path, config)
    }

    /// `async with pool.aconnection(lane="any") as conn:` — waits for a
    /// lease without blocking the event loop; SQL on `conn` runs in the
    /// loop's default executor. `lane`: `"any"`, `"read"` or `"write"`.
    #[pyo3(signature = (lane = "any", *, tenant = None, timeout = None, deadline = None))]
    fn aconnection<'py>(
        slf: &Bound<'py, Self>,
        lane: &str,
        tenant: Option<String>,
        timeout: Option<f64>,
        deadline: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        map(slf.py(), lane_from(lane))?;
        aio(slf.py())?.call_method1("aconnection", (slf, lane, tenant, timeout, deadline))
    }

    /// `await pool.aquery(sql, parameters)`: `query` for asyncio code.
    #[pyo3(signature = (sql, parameters = None, /, *, tenant = None, timeout = None, deadline = None))]
    fn aquery<'py>(
        slf: &Bound<'py, Self>,
        sql: &str,
        parameters: Option<Bound<'py, PyAny>>,
        tenant: Option<String>,
        timeout: Option<f64>,
        deadline: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        aio(slf.py())?.call_method1("_call", (slf, "all", sql, parameters, tenant, timeout, deadline))
    }

    /// `await pool.aexecute(sql, parameters)`: `execute` for asyncio code.
    #[pyo3(signature = (sql, parameters = None, /, *, tenant = None, timeout = None, deadline = None))]
    fn aexecute<'py>(
        slf: &Bound<'py, Self>,
        sql: &str,
        parameters: Option<Bound<'py, PyAny>>,
        tenant: Option<String>,
        timeout: Option<f64>,
        deadline: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        aio(slf.py())?.call_method1("_call", (slf, "run", sql, parameters, tenant, timeout, deadline))
    }

    /// An ordinary read-write lease (waits up to `timeout` seconds, default:
    /// the pool's `acquire_timeout`). `tenant`: attach that tenant's database.
    #[pyo3(signature = (*, tenant = None, timeout = None, deadline = None))]
    fn connection(
        &self,
        py: Python<'_>,
        tenant: Option<String>,
        timeout: Option<f64>,
        deadline: Option<f64>,
    ) -> PyResult<Connection> {
        self.lease(py, Lane::Any, tenant, Wait { timeout, deadline })
    }

    /// A lease with `PRAGMA query_only=ON`: writes through it fail with `ReadOnlyLane`.
    #[pyo3(signature = (*, tenant = None, timeout = None, deadline = None))]
    fn read(
        &self,
        py: Python<'_>,
        tenant: Option<String>,
        timeout: Option<f64>,
        deadline: Option<f64>,
    ) -> PyResult<Connection> {
        self.lease(py, Lane::Read, tenant, Wait { timeout, deadline })
    }

    /// A lease holding the pool's write gate (one writer at a time, first
    /// come first served); its transactions are `BEGIN IMMEDIATE`.
    #[pyo3(signature = (*, tenant = None, timeout = None, deadline = None))]
    fn write(
        &self,
        py: Python<'_>,
        tenant: Option<String>,
        timeout: Option<f64>,
        deadline: Option<f64>,
    ) -> PyResult<Connection> {
        self.lease(py, Lane::Write, tenant, Wait { timeout, deadline })
    }

    /// Runs `sql` on a pooled connection routed by statement (read-only
    /// statements skip the write gate) and returns every row as a list of
    /// tuples. Each call commits by itself, so transaction control (`BEGIN`,
    /// `COMMIT`, `SAVEPOINT`…) is refused with `ProgrammingError` (code
    /// `LITEPOOL_MISUSE`): hold a lease (`write()`) for a transaction.
    #[pyo3(signature = (sql, parameters = None, /, *, tenant = None, timeout = None, deadline = None))]
    #[allow(clippy::too_many_arguments)]
    fn query(
        &self,
        py: Python<'_>,
        sql: &str,
        parameters: Option<&Bound<'_, PyAny>>,
        tenant: Option<String>,
        timeout: Option<f64>,
        deadline: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, Op::All, sql, parameters, tenant, Wait { timeout, deadline })
    }

    /// Runs a data-changing `sql` (routed like `query`) and returns an
    /// `Executed` with `rowcount` and `lastrowid`.
    #[pyo3(signature = (sql, parameters = None, /, *, tenant = None, timeout = None, deadline = None))]
    #[allow(clippy::too_many_arguments)]
    fn execute(
        &self,
        py: Python<'_>,
        sql: &str,
        parameters: Option<&Bound<'_, PyAny>>,
        tenant: Option<String>,
        timeout: Option<f64>,
        deadline: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, Op::Run, sql, parameters, tenant, Wait { timeout, deadline })
    }

    /// Runs a multi-statement script on the write lane.
    #[pyo3(signature = (sql_script, /, *, tenant = None, timeout = None, deadline = None))]
    fn executescript(
        &self,
        py: Python<'_>,
        sql_script: &str,
        tenant: Option<String>,
        timeout: Option<f64>,
        deadline: Option<f64>,
    ) -> PyResult<()> {
        self.call(py, Op::Script, sql_script, None, tenant, Wait { timeout, deadline }).map(drop)
    }

    /// A snapshot and the cumulative counters, as one dict: `active`,
    /// `idle`, `total`, `max`, `min`, `waiting`, then every core counter
    /// (`acquired`, `acquired_direct`, `acquired_waited`, `timeouts`,
    /// `created`, `create_failures`, `closed_idle`, `closed_lifetime`,
    /// `closed_broken`, `rolled_back_on_return`, `leaks`, `reset_on_return`,
    /// `closed_dirty`, `closed_evicted`, `gate_bypassed`, the WAL's
    /// `wal_bytes`, `wal_peak_bytes`, `checkpoints_*`, `checkpoint_pages`,
    /// `backpressure_waits`, `wal_pinned`, `shed`: callers refused with
    /// `PoolOverloaded`), `wait_time` and `backpressure_wait_time` (seconds).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.inner.state().fields() {
            d.set_item(k, v)?;
        }
        let c = self.inner.statistics();
        for (k, v) in c.counters() {
            d.set_item(k, v)?;
        }
        d.set_item("wait_time", c.wait_time.as_secs_f64())?;
        d.set_item("backpressure_wait_time", c.backpressure_wait_time.as_secs_f64())?;
        Ok(d)
    }

    /// `"healthy"`, `"warning"` or `"degraded"`: by active / max (below
    /// 0.8, below 0.9, else) and by the queue (anyone waiting: at least a
    /// warning; as many waiting as `max`: degraded); a closed pool is
    /// degraded.
    fn health(&self) -> &'static str {
        self.inner.health().as_str()
    }

    /// Changes the pool's size limits while it runs: above the new
    /// `max_size`, connections close as they come back; `min_idle` is
    /// refilled by the housekeeper.
    fn resize(&self, py: Python<'_>, max_size: u32, min_idle: u32) -> PyResult<()> {
        map(py, py.detach(|| self.inner.resize(max_size, min_idle)).map_err(Failure::Pool))
    }

    /// Closes every idle connection now and those leased out when they come
    /// back (after a schema migration or a file swap); returns how many
    /// closed at once.
    fn evict(&self, py: Python<'_>) -> usize {
        py.detach(|| self.inner.evict())
    }

    /// On a primary: commits a marker after everything this caller wrote
    /// and returns it, for `read_at_least` on a replica (read-your-writes).
    fn commit_token(&self, py: Python<'_>) -> PyResult<u64> {
        map(py, py.detach(|| self.inner.commit_token()).map_err(Failure::from))
    }

    /// On a replica (`replica_url`): a read lease that sees at least commit
    /// `token`; waits up to the pool's `acquire_timeout`, then raises
    /// `PoolTimeout` naming both tokens.
    fn read_at_least(&self, py: Python<'_>, token: u64) -> PyResult<Connection> {
        let lease = py.detach(|| self.inner.read_at_least(token)).map_err(Failure::from);
        Ok(Connection::new(map(py, lease)?))
    }

    /// The pool's metrics in the Prometheus text format.
    fn metrics(&self) -> String {
        self.inner.metrics_text()
    }

    /// Closes the pool: new acquires and waiters fail with `PoolClosed`,
    /// idle connections close, and it waits up to `timeout` seconds
    /// (default 5.0) for leases to come back, else raises `PoolCloseTimeout`
    /// (leases still out close when returned).
    #[pyo3(signature = (timeout = 5.0))]
    fn close(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let timeout = map(py, seconds("timeout", timeout))?;
        map(py, py.detach(|| self.inner.close(timeout)).map_err(Failure::Pool))
    }

    /// Whether the pool is closed.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// The path (or `":memory:"`) the pool opens.
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    /// Registers tenant `code` (`[a-z0-9_]{1,64}`): its database at `path`
    /// is attached as schema `tenant_<code>` on leases asked with `tenant=code`.
    fn register_tenant(&self, py: Python<'_>, code: &str, path: PathBuf) -> PyResult<()> {
        map(py, py.detach(|| self.inner.register_tenant(code, &path)).map_err(Failure::Pool))
    }

    /// Removes tenant `code`: new leases for it fail at once; waits up to
    /// `timeout` seconds (default 5.0) for its leases to come back, else
    /// raises `TenantBusy` and keeps it registered.
    #[pyo3(signature = (code, *, timeout = 5.0))]
    fn remove_tenant(&self, py: Python<'_>, code: &str, timeout: f64) -> PyResult<()> {
        let timeout = map(py, seconds("timeout", timeout))?;
        map(py, py.detach(|| self.inner.remove_tenant(code, timeout)).map_err(Failure::Pool))
    }

    /// Per-tenant counters: `{code: {"attaches", "detaches", "affinity_hits",
    /// "acquired", "active", "weight", "wait_time", "hold_time"}}` (times in
    /// seconds).
    fn tenant_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for t in self.inner.tenant_statistics() {
            let d = PyDict::new(py);
            d.set_item("attaches", t.attaches)?;
            d.set_item("detaches", t.detaches)?;
            d.set_item("affinity_hits", t.affinity_hits)?;
            d.set_item("acquired", t.acquired)?;
            d.set_item("active", t.active)?;
            d.set_item("weight", t.weight)?;
            d.set_item("wait_time", t.wait_time.as_secs_f64())?;
            d.set_item("hold_time", t.hold_time.as_secs_f64())?;
            out.set_item(PyString::new(py, &t.code), d)?;
        }
        Ok(out)
    }

    /// Acquires without blocking and calls `callback(connection_or_exception)`
    /// from whichever thread completes the acquire (for asyncio). The
    /// returned handle's `cancel()` withdraws it.
    #[pyo3(signature = (callback, lane = "any", *, tenant = None, timeout = None, deadline = None))]
    fn _acquire_with(
        &self,
        py: Python<'_>,
        callback: Py<PyAny>,
        lane: &str,
        tenant: Option<String>,
        timeout: Option<f64>,
        deadline: Option<f64>,
    ) -> PyResult<AcquireHandle> {
        let lane = map(py, lane_from(lane))?;
        let opts = self.options(py, lane, tenant, Wait { timeout, deadline })?;
        Ok(AcquireHandle(py.detach(|| self.inner.acquire_with(opts, deliver_to(callback)))))
    }

    /// A one-shot call (`op`: `"all"`, `"run"` or `"script"`) run on the
    /// core's executor; its outcome settles `future` through the loop's
    /// `mailbox` (see `mailbox.rs`). The handle's `cancel()` withdraws a
    /// call still waiting for a connection.
    #[pyo3(signature = (mailbox, future, op, sql, parameters = None, *, tenant = None, timeout = None, deadline = None))]
    #[allow(clippy::too_many_arguments)]
    fn _call_into(
        &self,
        py: Python<'_>,
        mailbox: &Mailbox,
        future: Py<PyAny>,
        op: &str,
        sql: String,
        parameters: Option<&Bound<'_, PyAny>>,
        tenant: Option<String>,
        timeout: Option<f64>,
        deadline: Option<f64>,
    ) -> PyResult<AcquireHandle> {
        let op = map(py, op_from(op))?;
        let params = map(py, to_params(parameters))?;
        let opts = self.options(py, Lane::Any, tenant, Wait { timeout, deadline })?;
        let call = one_shot(op, self.inner.sql(&sql), params);
        let sender = mailbox.sender();
        let done = move |result: litepool::Result<Produced>| {
            let build: Build = Box::new(move |py| match result {
                Ok(produced) => outcome(py, &sql, op, produced),
                Err(e) => Ok(to_py_err(py, Failure::Pool(e)).into_value(py).into_any()),
            });
            sender.post(future, build);
        };
        Ok(AcquireHandle(py.detach(|| self.inner.call_with(opts, call, done))))
    }

    /// Acquires without blocking; the lease (or the error) settles `future`
    /// through the loop's `mailbox` — or at once, here, when a connection
    /// was free (no trip through the loop). The handle's `cancel()`
    /// withdraws a waiting acquire.
    #[pyo3(signature = (mailbox, future, lane = "any", *, tenant = None, timeout = None, deadline = None))]
    #[allow(clippy::too_many_arguments)]
    fn _acquire_into(
        &self,
        py: Python<'_>,
        mailbox: &Mailbox,
        future: Py<PyAny>,
        lane: &str,
        tenant: Option<String>,
        timeout: Option<f64>,
        deadline: Option<f64>,
    ) -> PyResult<AcquireHandle> {
        let lane = map(py, lane_from(lane))?;
        let opts = self.options(py, lane, tenant, Wait { timeout, deadline })?;
        let sender = mailbox.sender();
        // Filled instead of the mailbox when the acquire completes inline.
        let inline: Arc<parking_lot::Mutex<Option<litepool::Result<PooledConnection>>>> = Arc::default();
        let waiting = Arc::new(AtomicBool::new(false));
        let (slot, late, target) = (Arc::clone(&inline), Arc::clone(&waiting), future.clone_ref(py));
        let done = move |result: litepool::Result<PooledConnection>| {
            let mut slot = slot.lock();
            if !late.load(SeqCst) {
                *slot = Some(result);
                return;
            }
            drop(slot);
            let build: Build = Box::new(move |py| match result {
                Ok(lease) => Py::new(py, Connection::new(lease)).map(Py::into_any),
                Err(e) => Ok(to_py_err(py, Failure::Pool(e)).into_value(py).into_any()),
            });
            sender.post(target, build);
        };
        let handle = py.detach(|| {
            let handle = self.inner.acquire_with(opts, done);
            let mut slot = inline.lock();
            waiting.store(true, SeqCst);
            (handle, slot.take())
        });
        let (handle, now) = handle;
        if let Some(result) = now {
            let outcome = match result {
                Ok(lease) => Py::new(py, Connection::new(lease))?.into_any(),
                Err(e) => to_py_err(py, Failure::Pool(e)).into_value(py).into_any(),
            };
            aio(py)?.getattr("_settle")?.call1((future, outcome))?;
        }
        Ok(AcquireHandle(handle))
    }

    /// Runs `connection.query(sql, parameters)` on the core's executor
    /// (for `AsyncConnection`); the rows settle `future` through `mailbox`.
    #[pyo3(signature = (mailbox, future, connection, sql, parameters = None))]
    fn _query_into(
        &self,
        py: Python<'_>,
        mailbox: &Mailbox,
        future: Py<PyAny>,
        connection: Py<Connection>,
        sql: &str,
        parameters: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let params = map(py, to_params(parameters))?;
        let call = Call::new(Op::All, sql).params(params).undescribed();
        let sender = mailbox.sender();
        self.inner.executor().submit(Box::new(move || {
            let result = connection.get().run_detached(&call);
            let build: Build = Box::new(move |py| match result {
                Ok(produced) => Ok(rows::rows_list(py, produced.rows)?.into_any().unbind()),
                Err(e) => Ok(to_py_err(py, e).into_value(py).into_any()),
            });
            sender.post(future, build);
        }));
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Closes the pool (waiting up to 5 seconds for leases).
    #[pyo3(signature = (_exc_type = None, _exc = None, _tb = None))]
    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.close(py, 5.0)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        let s = self.inner.state();
        format!(
            "<litepool.Pool {:?} active={} idle={} max={} waiting={}{}>",
            self.path,
            s.active,
            s.idle,
            s.max,
            s.waiting,
            if self.inner.is_closed() { " closed" } else { "" }
        )
    }
}

impl Pool {
    fn open(py: Python<'_>, path: PathBuf, config: PoolConfig) -> PyResult<Pool> {
        let display = path.to_string_lossy().into_owned();
        // The hook is only needed (and only costs anything) with leak detection on.
        let leaks = config.leak_threshold.is_some();
        let inner = py.detach(|| {
            let builder = litepool::Pool::builder(&path).config(config);
            if leaks {
                builder.events(LeakLogger).build()
            } else {
                builder.build()
            }
        });
        Ok(Pool { inner: map(py, inner.map_err(Failure::Pool))?, path: display, traced: AtomicBool::new(false) })
    }
}

/// The callback the core calls with an asynchronous acquire's outcome: it
/// hands `callback` a `Connection` or the exception, on whichever thread
/// completed the acquire.
fn deliver_to(callback: Py<PyAny>) -> impl FnOnce(litepool::Result<PooledConnection>) + Send + 'static {
    move |outcome| {
        // Not attachable (interpreter shutting down): the lease drops here
        // and goes back to the pool.
        let _ = Python::try_attach(|py| {
            let arg = match outcome {
                Ok(lease) => Py::new(py, Connection::new(lease)).map(Py::into_any),
                Err(e) => Ok(to_py_err(py, Failure::Pool(e)).into_value(py).into_any()),
            };
            if let Err(e) = arg.and_then(|a| callback.call1(py, (a,))) {
                e.write_unraisable(py, None);
            }
        });
    }
}

/// A pending `_acquire_with` / `_acquire_into` / `_call_into`.
#[pyclass(frozen, module = "litepool._native", name = "AcquireHandle")]
pub struct AcquireHandle(litepool::AcquireHandle);

#[pymethods]
impl AcquireHandle {
    /// Withdraws the acquire if its callback has not run yet: the waiter
    /// leaves the queue at once (a connection granted meanwhile goes back to
    /// the pool) and the callback is never called. `False` when the callback
    /// already ran or is running.
    fn cancel(&self, py: Python<'_>) -> bool {
        py.detach(|| self.0.cancel())
    }
}

/// Reports leases held past `leak_threshold` through Python's `logging`
/// (logger `litepool`, `WARNING`), besides the core's own count.
struct LeakLogger;

impl PoolEvents for LeakLogger {
    fn on_leak(&self, report: &LeakReport) {
        // This runs on the core's housekeeper thread, which Python does not
        // know: attach for the call (not at all once the interpreter is
        // shutting down), and report a failing handler or filter as
        // unraisable rather than let the exception go anywhere.
        let _ = Python::try_attach(|py| {
            if let Err(e) = log_leak(py, report) {
                e.write_unraisable(py, None);
            }
        });
    }
}

fn log_leak(py: Python<'_>, report: &LeakReport) -> PyResult<()> {
    let logger = py.import("logging")?.call_method1("getLogger", ("litepool",))?;
    let site = report.site.trim_end();
    let held = report.held_for.as_secs_f64();
    let extra = PyDict::new(py);
    extra.set_item("connection_id", report.connection_id)?;
    extra.set_item("held_for", held)?;
    extra.set_item("acquire_site", site)?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("extra", extra)?;
    let message = "apparent connection leak detected: connection %d held for %.3f s (past leak_threshold), \
                   acquired at:\n%s";
    logger.call_method("warning", (message, report.connection_id, held, site), Some(&kwargs))?;
    Ok(())
}

/// What `Pool.execute` did.
#[pyclass(frozen, module = "litepool._native", name = "Executed")]
pub struct Executed {
    /// Rows inserted, updated or deleted (-1 for other statements).
    #[pyo3(get)]
    rowcount: i64,
    /// The rowid of the row an `INSERT`/`REPLACE` added, else `None`.
    #[pyo3(get)]
    lastrowid: Option<i64>,
}

#[pymethods]
impl Executed {
    #[new]
    #[pyo3(signature = (rowcount, lastrowid = None))]
    fn new(rowcount: i64, lastrowid: Option<i64>) -> Executed {
        Executed { rowcount, lastrowid }
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Executed>().is_ok_and(|o| {
            let o = o.get();
            o.rowcount == self.rowcount && o.lastrowid == self.lastrowid
        })
    }

    fn __repr__(&self) -> String {
        match self.lastrowid {
            Some(id) => format!("Executed(rowcount={}, lastrowid={id})", self.rowcount),
            None => format!("Executed(rowcount={}, lastrowid=None)", self.rowcount),
        }
    }
}
