//! `litepool._native`: the compiled half of the `litepool` Python package.
//!
//! It only translates: the pool (sizes, waiting, timeouts, reaping, health,
//! leaks, metrics, tenants, fork safety) and how SQL runs on it (routing,
//! sessions, transaction rules, parameters, the row loop) are `pool-core`.
//! The Python package (`python/litepool/`) adds the DB-API module globals,
//! the exception classes and the asyncio face.

mod connection;
mod cursor;
mod errors;
mod mailbox;
mod observe;
mod options;
mod pool;
mod rows;
mod sqlite3;
mod values;
mod wait;

use pyo3::prelude::*;

/// The version of the SQLite library in use (the system one).
#[pyfunction]
fn sqlite_version() -> &'static str {
    rusqlite::version()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<pool::Pool>()?;
    m.add_class::<pool::Executed>()?;
    m.add_class::<pool::AcquireHandle>()?;
    m.add_class::<mailbox::Mailbox>()?;
    m.add_class::<connection::Connection>()?;
    m.add_class::<cursor::Cursor>()?;
    m.add_function(wrap_pyfunction!(sqlite_version, m)?)?;
    m.add_function(wrap_pyfunction!(options::pool_options, m)?)?;
    sqlite3::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
