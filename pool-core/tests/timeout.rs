//! Acquire timeouts and `try_get()`.
mod common;
use std::time::Duration;

use common::*;
use litepool::{AcquireOptions, Error};

#[test]
fn timeout_error_states_the_pools_counts() {
    let db = pool_with(quick().max_size(2).acquire_timeout(Duration::from_millis(100)));
    let _a = db.pool.get().unwrap();
    let _b = db.pool.get().unwrap();
    let err = db.pool.get().unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_TIMEOUT");
    let msg = err.to_string();
    assert!(msg.starts_with("timed out after 1"), "{msg}");
    assert!(msg.contains("waiting for a connection (total=2, active=2, idle=0, waiting="), "{msg}");
    assert_eq!(db.pool.statistics().timeouts, 1);
}

#[test]
fn per_call_timeout_overrides_the_config() {
    let db = pool_with(quick().max_size(1).acquire_timeout(Duration::from_secs(30)));
    let _a = db.pool.get().unwrap();
    let opts = AcquireOptions { timeout: Some(Duration::from_millis(50)), ..Default::default() };
    let started = std::time::Instant::now();
    assert!(matches!(db.pool.acquire(opts), Err(Error::Timeout { .. })));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn try_get_never_waits() {
    let db = pool_with(quick().max_size(1));
    let a = db.pool.try_get().unwrap();
    let err = db.pool.try_get().unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_EXHAUSTED");
    drop(a);
    assert!(db.pool.try_get().is_ok());
}

#[test]
fn try_get_opens_a_connection_when_there_is_room() {
    let db = pool_with(quick().max_size(3));
    let a = db.pool.try_get().unwrap();
    let b = db.pool.try_get().unwrap();
    assert_ne!(a.connection_id(), b.connection_id());
    assert_eq!(db.pool.state().total, 2);
}

#[test]
fn write_gate_wait_times_out_with_its_own_message() {
    let db = pool_with(quick().max_size(2).acquire_timeout(Duration::from_millis(80)));
    let _w = db.pool.write().unwrap();
    let err = db.pool.write().unwrap_err();
    assert!(err.to_string().contains("waiting for the write gate"), "{err}");
}
