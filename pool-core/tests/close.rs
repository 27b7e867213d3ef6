//! Graceful close: new acquires fail with Closed, waiters are woken with
//! Closed, active leases are awaited, then everything is closed.
mod common;
use std::thread;
use std::time::Duration;

use common::*;
use litepool::Error;

#[test]
fn close_rejects_new_acquires() {
    let db = pool_with(quick());
    db.pool.close(Duration::from_secs(1)).unwrap();
    assert!(matches!(db.pool.get(), Err(Error::Closed)));
    assert!(matches!(db.pool.try_get(), Err(Error::Closed)));
    assert!(matches!(db.pool.write(), Err(Error::Closed)));
    assert_eq!(db.pool.get().unwrap_err().code(), "LITEPOOL_CLOSED");
    assert!(db.pool.is_closed());
    assert_eq!(db.pool.health().as_str(), "degraded");
    assert_eq!(db.pool.state().total, 0);
}

#[test]
fn close_wakes_every_waiter_with_closed() {
    let db = pool_with(quick().max_size(1).acquire_timeout(Duration::from_secs(30)));
    let held = db.pool.get().unwrap();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let pool = db.pool.clone();
            thread::spawn(move || pool.get().map(|_| ()))
        })
        .collect();
    let (tx, rx) = std::sync::mpsc::channel();
    db.pool.acquire_with(Default::default(), move |r| tx.send(r.map(|_| ())).unwrap());
    eventually("all queued", || db.pool.state().waiting == 4);
    let pool = db.pool.clone();
    let closer = thread::spawn(move || pool.close(Duration::from_secs(5)));
    for w in waiters {
        assert!(matches!(w.join().unwrap(), Err(Error::Closed)));
    }
    assert!(matches!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), Err(Error::Closed)));
    // close() still waits for the lease that is out.
    thread::sleep(Duration::from_millis(50));
    assert!(!closer.is_finished());
    drop(held);
    closer.join().unwrap().unwrap();
    assert_eq!(db.pool.state().total, 0);
}

#[test]
fn close_times_out_when_a_lease_is_kept() {
    let db = pool_with(quick());
    let held = db.pool.get().unwrap();
    let err = db.pool.close(Duration::from_millis(50)).unwrap_err();
    assert!(matches!(err, Error::CloseTimedOut { active: 1 }), "{err}");
    // It is closed when it comes back.
    drop(held);
    assert_eq!(db.pool.state().total, 0);
}

#[test]
fn dropping_the_pool_closes_it_and_leases_still_work() {
    let db = pool_with(quick());
    db.pool.execute_batch("CREATE TABLE t (x)").unwrap();
    let conn = db.pool.get().unwrap();
    drop(db.pool);
    conn.execute("INSERT INTO t VALUES (1)", []).unwrap();
    drop(conn);
}
