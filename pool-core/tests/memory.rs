//! ":memory:" is one in-memory database shared by the pool's connections.
mod common;
use std::time::Duration;

use common::*;
use litepool::Pool;

#[test]
fn every_connection_sees_the_same_memory_database() {
    let pool = Pool::new(":memory:", quick().max_size(3)).unwrap();
    pool.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (42);").unwrap();
    let a = pool.get().unwrap();
    let b = pool.get().unwrap();
    let c = pool.get().unwrap();
    for conn in [&a, &b, &c] {
        let x: i64 = conn.query_row("SELECT x FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(x, 42);
    }
}

#[test]
fn the_memory_database_survives_idle_retirement() {
    let cfg = quick().max_size(2).min_idle(0).idle_timeout(Some(Duration::from_millis(30)));
    let pool = Pool::new(":memory:", cfg).unwrap();
    pool.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);").unwrap();
    eventually("all idle retired", || pool.state().total == 0);
    assert_eq!(pool.query("SELECT x FROM t", []).unwrap().rows.len(), 1);
}

#[test]
fn two_memory_pools_are_separate() {
    let p1 = Pool::open(":memory:").unwrap();
    let p2 = Pool::open(":memory:").unwrap();
    p1.execute_batch("CREATE TABLE only_in_p1 (x)").unwrap();
    assert!(p2.query("SELECT * FROM only_in_p1", []).is_err());
}

#[test]
fn writes_are_serialized_through_the_gate_in_memory_too() {
    let pool = Pool::new(":memory:", quick().max_size(4)).unwrap();
    pool.execute_batch("CREATE TABLE c (n INTEGER); INSERT INTO c VALUES (0);").unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                for _ in 0..50 {
                    pool.execute("UPDATE c SET n = n + 1", []).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let n: i64 = pool.get().unwrap().query_row("SELECT n FROM c", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 200);
}
