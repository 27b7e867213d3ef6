//! The compiled half of `litepool.sqlite3`, the pool-backed drop-in for the
//! standard library's `sqlite3` module.
//!
//! A drop-in `Connection` is a core [`LazySession`](litepool::sql::LazySession)
//! behind a [`Handle`]: it leases per transaction (or open statement) and
//! pins its lease while its program has changed the connection — those
//! rules are the core's. What lives here is translation: the standard
//! library's parameter binding and adapters (`params.rs`), its value
//! conversions (`convert.rs`), SQL functions, aggregates and collations
//! (`functions.rs`), hooks (`hooks.rs`), blobs, backup and serialization
//! (`handle.rs`), and cursors that step rows in batches with the GIL
//! released (`rows.rs`). The Python half (`python/litepool/sqlite3/`)
//! holds the classes users see.

pub mod connection;
pub mod convert;
pub mod cursor;
pub mod functions;
pub mod handle;
pub mod hooks;
pub mod params;
pub mod rows;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// `enable_callback_tracebacks()`: report exceptions raised in callbacks
/// through `sys.unraisablehook`. Defaults to off, as in the standard library.
static TRACEBACKS: AtomicBool = AtomicBool::new(false);

/// An adapter is registered for `int`, `float`, `str` or `bytearray`, so
/// even those go through `adapt()` (the standard library's `BaseTypeAdapted`).
static BASE_TYPE_ADAPTED: AtomicBool = AtomicBool::new(false);

#[pyfunction]
fn enable_callback_tracebacks(flag: bool) {
    TRACEBACKS.store(flag, Relaxed);
}

#[pyfunction]
fn set_base_type_adapted(flag: bool) {
    BASE_TYPE_ADAPTED.store(flag, Relaxed);
}

/// Reports an exception a callback raised: through `sys.unraisablehook`
/// (with `obj`, the callback) when tracebacks are enabled, else drops it.
pub fn report(py: Python<'_>, err: PyErr, obj: &Bound<'_, PyAny>) {
    if TRACEBACKS.load(Relaxed) {
        err.write_unraisable(py, Some(obj));
    }
    let _ = py;
}

/// The standard library's `_sqlite3` module: its `adapters` registry,
/// `adapt()` and `PrepareProtocol` are shared, so adapters registered through
/// either module apply to both.
pub fn stdlib(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    MODULE.get_or_try_init(py, || py.import("_sqlite3").map(Bound::unbind)).map(|m| m.bind(py))
}

/// Replaces the value in `slot`, dropping the old one after the lock is
/// released (dropping a Python object can run code — a `__del__` — that
/// sets the same slot again).
pub fn swap<T>(slot: &parking_lot::Mutex<Option<T>>, value: Option<T>) {
    let old = std::mem::replace(&mut *slot.lock(), value);
    drop(old);
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<handle::Handle>()?;
    m.add_class::<connection::ConnectionBase>()?;
    m.add("Sqlite3Cursor", m.py().get_type::<cursor::CursorBase>())?;
    m.add_function(wrap_pyfunction!(connection::register_classes, m)?)?;
    m.add_function(wrap_pyfunction!(enable_callback_tracebacks, m)?)?;
    m.add_function(wrap_pyfunction!(set_base_type_adapted, m)?)?;
    Ok(())
}
