//! # liblitepool: the C ABI of litepool
//!
//! This crate builds `liblitepool.so` and `liblitepool.a` and, through
//! cbindgen, `include/litepool.h`. It only translates: every rule of the
//! pool lives in the `litepool` crate. The doc comments on the exported
//! items are the header's comments, so they are written for a C reader.
//!
//! The conventions (names, handles, result codes, errors, threads, panics)
//! are written once, at the top of `include/litepool.h` (from
//! `cbindgen.toml`), and summarised in `ffi/README.md`.
//!
//! Module map: [`result`] (the result enum and error mapping), `panic` (the
//! panic boundary), `last_error` (the thread-local message), `handles`
//! (generation-checked handle tables), [`config`], [`pool`], [`conn`],
//! [`tenant`], [`statements`].

mod handles;
mod last_error;
mod panic;

pub mod config;
pub mod conn;
pub mod pool;
pub mod result;
pub mod statements;
pub mod tenant;

use std::ffi::c_char;

pub use config::{litepool_config, litepool_config_default};
pub use conn::{
    litepool_acquire, litepool_acquire_labeled, litepool_acquire_read, litepool_acquire_write, litepool_conn,
    litepool_conn_db, litepool_conn_id, litepool_conn_set_deadline, litepool_exec, litepool_lane, litepool_release,
    litepool_try_acquire,
};
pub use last_error::{litepool_last_error, litepool_last_sqlite_code};
pub use pool::{
    litepool_close, litepool_free, litepool_get_stats, litepool_health, litepool_health_status, litepool_metrics,
    litepool_open, litepool_open_from_env, litepool_pool, litepool_stats, LITEPOOL_POOL_TIMEOUT,
};
pub use result::{litepool_result, litepool_result_name};
pub use statements::{litepool_prepare, litepool_slow_statements};
pub use tenant::{
    litepool_acquire_tenant, litepool_get_tenant_stats, litepool_register_tenant, litepool_remove_tenant,
    litepool_set_tenant_weight, litepool_tenant_stats,
};

/// The library's version, e.g. `"0.1.0"`: the crate version it was built
/// from. Compare it with `LITEPOOL_VERSION` to catch a header that does not
/// match the library. A static string; never free it.
#[no_mangle]
pub extern "C" fn litepool_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    panic::boundary_quiet("litepool_version", c"".as_ptr(), || Ok(VERSION.as_ptr().cast()))
}
