//! Resizing a live pool, soft eviction, and health that sees the queue.
mod common;
use std::thread;
use std::time::Duration;

use common::*;
use litepool::Health;

#[test]
fn growing_max_serves_queued_waiters_and_shrinking_closes_the_excess() {
    let db = pool_with(quick().max_size(1).acquire_timeout(Duration::from_secs(10)));
    let held = db.pool.get().unwrap();
    let pool = db.pool.clone();
    let waiter = thread::spawn(move || pool.get().map(|c| c.connection_id()));
    eventually("waiter queued", || db.pool.state().waiting == 1);
    db.pool.resize(3, 0).unwrap();
    assert!(waiter.join().unwrap().is_ok(), "the new room served the waiter while the first lease is still out");
    assert_eq!(db.pool.state().max, 3);
    let more: Vec<_> = (0..2).map(|_| db.pool.get().unwrap()).collect();
    assert_eq!(db.pool.state().total, 3);
    drop(more);
    db.pool.resize(1, 0).unwrap();
    assert_eq!(db.pool.state().total, 1, "idle connections above the new max closed now");
    drop(held);
    eventually("leased excess closed on return", || db.pool.state().total <= 1);
    assert!(db.pool.statistics().closed_evicted >= 2);
    assert_eq!(db.pool.resize(0, 0).unwrap_err().code(), "LITEPOOL_INVALID_CONFIG");
    assert_eq!(db.pool.resize(2, 3).unwrap_err().code(), "LITEPOOL_INVALID_CONFIG");
}

#[test]
fn raising_min_idle_is_refilled_by_the_housekeeper() {
    let db = pool_with(quick().max_size(4).min_idle(0));
    db.pool.resize(4, 3).unwrap();
    eventually("three idle", || db.pool.state().idle >= 3);
}

#[test]
fn evict_retires_idle_connections_now_and_leased_ones_on_return() {
    let db = pool_with(quick().max_size(3));
    let a = db.pool.get().unwrap();
    let old_id = a.connection_id();
    let b = db.pool.get().unwrap();
    drop(b);
    assert_eq!(db.pool.evict(), 1, "the idle one closed at once");
    drop(a);
    eventually("the leased one closed on return", || db.pool.state().total == 0);
    let fresh = db.pool.get().unwrap();
    assert_ne!(fresh.connection_id(), old_id, "a fresh connection");
    assert_eq!(db.pool.statistics().closed_evicted, 2);
}

#[test]
fn health_accounts_for_queued_callers() {
    let db = pool_with(quick().max_size(10).acquire_timeout(Duration::from_secs(10)));
    let held: Vec<_> = (0..2).map(|_| db.pool.get().unwrap()).collect();
    assert_eq!(db.pool.health(), Health::Healthy);
    db.pool.resize(2, 0).unwrap();
    let pool = db.pool.clone();
    let waiter = thread::spawn(move || pool.get().map(|_| ()));
    eventually("waiter queued", || db.pool.state().waiting == 1);
    assert_eq!(db.pool.health(), Health::Degraded, "all connections out and a queue");
    drop(held);
    waiter.join().unwrap().unwrap();
    assert_eq!(db.pool.health(), Health::Healthy);
}
