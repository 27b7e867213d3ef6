//! With `fairness = strict`, waiters are served first come, first served;
//! idle connections are reused LIFO. (Barging, the default: tests/barging.rs.)
mod common;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::*;

#[test]
fn waiters_are_served_in_arrival_order() {
    let db =
        pool_with(quick().fairness(litepool::Fairness::Strict).max_size(1).acquire_timeout(Duration::from_secs(10)));
    let pool = db.pool.clone();
    let held = pool.get().unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for i in 0..6 {
        let (p, order) = (pool.clone(), Arc::clone(&order));
        handles.push(thread::spawn(move || {
            let conn = p.get().unwrap();
            order.lock().unwrap().push(i);
            thread::sleep(Duration::from_millis(2));
            drop(conn);
        }));
        // Make sure waiter i is queued before waiter i+1 arrives.
        eventually("waiter queued", || pool.state().waiting == i + 1);
    }
    drop(held);
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4, 5]);
}

#[test]
fn a_newcomer_never_overtakes_a_waiter() {
    let db =
        pool_with(quick().fairness(litepool::Fairness::Strict).max_size(1).acquire_timeout(Duration::from_secs(5)));
    let pool = db.pool.clone();
    let held = pool.get().unwrap();
    let waiter = {
        let pool = pool.clone();
        thread::spawn(move || pool.get().map(|c| c.connection_id()))
    };
    eventually("waiter queued", || pool.state().waiting == 1);
    let id = held.connection_id();
    drop(held);
    // The connection went straight to the waiter: a newcomer finds none idle.
    assert_eq!(waiter.join().unwrap().unwrap(), id);
    assert_eq!(pool.state().active, 0);
}

#[test]
fn try_get_does_not_jump_the_queue() {
    let db =
        pool_with(quick().fairness(litepool::Fairness::Strict).max_size(1).acquire_timeout(Duration::from_secs(5)));
    let pool = db.pool.clone();
    let held = pool.get().unwrap();
    let waiter = {
        let pool = pool.clone();
        thread::spawn(move || {
            let c = pool.get().unwrap();
            thread::sleep(Duration::from_millis(50));
            drop(c);
        })
    };
    eventually("waiter queued", || pool.state().waiting == 1);
    assert_eq!(pool.try_get().unwrap_err().code(), "LITEPOOL_EXHAUSTED");
    drop(held);
    waiter.join().unwrap();
}

#[test]
fn idle_connections_are_reused_last_in_first_out() {
    let db = pool_with(quick().max_size(3));
    let a = db.pool.get().unwrap();
    let b = db.pool.get().unwrap();
    let c = db.pool.get().unwrap();
    let ids = [a.connection_id(), b.connection_id(), c.connection_id()];
    drop(a);
    drop(b);
    drop(c);
    let again: Vec<_> = (0..3).map(|_| db.pool.get().unwrap()).collect();
    let again_ids: Vec<_> = again.iter().map(|c| c.connection_id()).collect();
    assert_eq!(again_ids, vec![ids[2], ids[1], ids[0]]);
}

#[test]
fn sync_and_async_waiters_share_one_queue() {
    let db =
        pool_with(quick().fairness(litepool::Fairness::Strict).max_size(1).acquire_timeout(Duration::from_secs(10)));
    let pool = db.pool.clone();
    let held = pool.get().unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let o1 = Arc::clone(&order);
    pool.acquire_with(Default::default(), move |r| {
        let c = r.unwrap();
        o1.lock().unwrap().push("async-first");
        drop(c);
    });
    eventually("async queued", || pool.state().waiting == 1);
    let sync_waiter = {
        let (pool, order) = (pool.clone(), Arc::clone(&order));
        thread::spawn(move || {
            let _c = pool.get().unwrap();
            order.lock().unwrap().push("sync-second");
        })
    };
    eventually("sync queued", || pool.state().waiting == 2);
    drop(held);
    sync_waiter.join().unwrap();
    assert_eq!(*order.lock().unwrap(), vec!["async-first", "sync-second"]);
}
