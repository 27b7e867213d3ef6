//! Parking: a lazy session keeps its clean idle lease between statements
//! while nobody else needs the connection, and the pool takes it back the
//! moment someone does (a blocking, asynchronous or `try_get` caller),
//! when it closes, evicts or shrinks, and after a housekeeping period.
mod common;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use litepool::rusqlite::types::Value;
use litepool::sql::{Call, LazySession, Op, TxnMode};
use litepool::{AcquireOptions, Error, PoolConfig};

/// Housekeeping that never comes round during a test: what is reclaimed
/// was reclaimed on demand.
fn on_demand() -> PoolConfig {
    quick().housekeeping_period(Duration::from_secs(600))
}

fn lazy(db: &TestDb) -> LazySession {
    LazySession::new(db.pool.clone(), TxnMode::Autocommit)
}

fn run(lazy: &mut LazySession, sql: &str) -> Vec<Vec<Value>> {
    let out = lazy.session().unwrap().run(&Call::new(Op::All, sql)).unwrap();
    lazy.settle();
    out.rows
}

/// The connection a statement ran on.
fn connection(lazy: &mut LazySession) -> u64 {
    let id = lazy.session().unwrap().lease().connection_id();
    lazy.settle();
    id
}

#[test]
fn autocommit_statements_take_the_parked_lease_back_without_a_new_acquire() {
    let db = pool_with(on_demand());
    let mut lazy = lazy(&db);
    run(&mut lazy, "CREATE TABLE t (x)");
    let first = connection(&mut lazy);
    let acquired = db.pool.statistics().acquired;
    for i in 0..100 {
        run(&mut lazy, &format!("INSERT INTO t VALUES ({i})"));
        assert!(!lazy.is_leased() && lazy.is_parked(), "parked between statements");
    }
    assert_eq!(connection(&mut lazy), first, "the same connection throughout");
    assert_eq!(db.pool.statistics().acquired, acquired, "no acquire per statement");
    let state = db.pool.state();
    assert_eq!((state.active, state.idle), (0, state.total), "a parked lease counts as idle");
}

#[test]
fn a_blocking_caller_gets_a_parked_lease_at_once() {
    let db = pool_with(on_demand().max_size(1));
    let mut lazy = lazy(&db);
    run(&mut lazy, "SELECT 1");
    assert!(lazy.is_parked());
    let start = Instant::now();
    let lease = db.pool.acquire(AcquireOptions { timeout: Some(Duration::from_secs(5)), ..Default::default() });
    let lease = lease.expect("the parked lease came back for the caller");
    assert!(start.elapsed() < Duration::from_secs(1), "no wait for a timeout: {:?}", start.elapsed());
    assert!(!lazy.is_parked());
    drop(lease);
    assert_eq!(run(&mut lazy, "SELECT 2")[0][0], Value::Integer(2), "the client leases again");
}

#[test]
fn try_get_takes_a_parked_lease_back() {
    let db = pool_with(on_demand().max_size(1));
    let mut lazy = lazy(&db);
    run(&mut lazy, "SELECT 1");
    let lease = db.pool.try_get().expect("a parked lease is there for the taking");
    assert!(matches!(db.pool.try_get(), Err(Error::Exhausted { .. })), "and then the pool is exhausted");
    drop(lease);
}

#[test]
fn an_asynchronous_caller_gets_a_parked_lease() {
    let db = pool_with(on_demand().max_size(1));
    let mut lazy = lazy(&db);
    run(&mut lazy, "SELECT 1");
    let lease = futures_lite_block_on(db.pool.acquire_async(AcquireOptions::default()));
    assert!(lease.is_ok());
}

/// Polls a future to completion on this thread.
fn futures_lite_block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park_timeout(Duration::from_millis(10));
    }
}

#[test]
fn a_client_that_parks_while_a_caller_waits_gives_its_lease_back() {
    let db = pool_with(on_demand().max_size(1));
    let mut lazy = lazy(&db);
    run(&mut lazy, "CREATE TABLE t (x)");
    let session = lazy.session().unwrap();
    session.begin(false).unwrap();
    session.run(&Call::new(Op::Run, "INSERT INTO t VALUES (1)")).unwrap();
    lazy.settle();
    assert!(lazy.is_leased(), "held through the transaction");
    let pool = db.pool.clone();
    let waiter = std::thread::spawn(move || {
        let start = Instant::now();
        let lease = pool.get();
        (lease.map(|l| l.connection_id()), start.elapsed())
    });
    eventually("the caller queued", || db.pool.state().waiting == 1);
    lazy.session().unwrap().commit().unwrap();
    lazy.settle();
    let (got, waited) = waiter.join().unwrap();
    assert!(got.is_ok(), "the waiter got the connection: {got:?}");
    assert!(waited < Duration::from_secs(1), "at once, not at its timeout: {waited:?}");
    assert!(!lazy.is_parked(), "not parked while someone waited");
}

#[test]
fn close_takes_parked_leases_back() {
    let db = pool_with(on_demand());
    let mut a = lazy(&db);
    let mut b = lazy(&db);
    run(&mut a, "SELECT 1");
    run(&mut b, "SELECT 1");
    db.pool.close(Duration::from_secs(1)).expect("no lease left out");
    assert!(!a.is_parked() && !b.is_parked());
}

#[test]
fn evict_retires_parked_connections() {
    let db = pool_with(on_demand());
    let mut lazy = lazy(&db);
    let before = connection(&mut lazy);
    db.pool.evict();
    assert_ne!(connection(&mut lazy), before, "a fresh connection after evict()");
    // A lease in use during evict() is not parked on its old connection either.
    let during = lazy.session().unwrap().lease().connection_id();
    db.pool.evict();
    lazy.settle();
    assert!(!lazy.is_parked(), "its connection is retired, not parked");
    assert_ne!(connection(&mut lazy), during);
}

#[test]
fn resize_below_the_parked_leases_retires_them() {
    let db = pool_with(on_demand().max_size(3));
    let mut sessions: Vec<LazySession> = (0..3).map(|_| lazy(&db)).collect();
    let leases: Vec<_> = sessions.iter_mut().map(|s| s.session().unwrap().lease().connection_id()).collect();
    for s in &mut sessions {
        s.settle();
    }
    assert_eq!(leases.len(), 3);
    db.pool.resize(1, 0).unwrap();
    eventually("the pool shrank to one connection", || db.pool.state().total == 1);
}

#[test]
fn the_housekeeper_takes_back_a_lease_parked_a_whole_period() {
    let db = pool_with(quick().housekeeping_period(Duration::from_millis(20)));
    let mut lazy = lazy(&db);
    run(&mut lazy, "SELECT 1");
    assert!(lazy.is_parked());
    eventually("the parked lease went back", || !lazy.is_parked());
    let acquired = db.pool.statistics().acquired;
    run(&mut lazy, "SELECT 1");
    assert_eq!(db.pool.statistics().acquired, acquired + 1, "leased again");
}

#[test]
fn settings_the_client_set_are_restored_when_the_pool_takes_its_lease() {
    let db = pool_with(on_demand().max_size(1));
    let mut lazy = lazy(&db);
    lazy.set_busy_timeout(Duration::from_millis(7));
    assert_eq!(run(&mut lazy, "PRAGMA busy_timeout")[0][0], Value::Integer(7));
    assert!(lazy.is_parked());
    let lease = db.pool.get().unwrap();
    let busy: i64 = lease.query_row("PRAGMA busy_timeout", [], |r| r.get(0)).unwrap();
    assert_eq!(busy, 5000, "the pool's busy timeout is back");
    drop(lease);
    assert_eq!(run(&mut lazy, "PRAGMA busy_timeout")[0][0], Value::Integer(7), "and the client's on its next lease");
}

#[test]
fn total_changes_add_up_across_parked_and_new_leases() {
    let db = pool_with(on_demand().max_size(1));
    let mut lazy = lazy(&db);
    run(&mut lazy, "CREATE TABLE t (x)");
    run(&mut lazy, "INSERT INTO t VALUES (1), (2)");
    run(&mut lazy, "INSERT INTO t VALUES (3)");
    drop(db.pool.get().unwrap());
    run(&mut lazy, "UPDATE t SET x = x + 1");
    assert_eq!(lazy.total_changes(), 6);
}

#[test]
fn leases_that_are_not_clean_are_not_parked() {
    let db = pool_with(on_demand().foreign_keys(false));
    let mut pinned = lazy(&db);
    run(&mut pinned, "PRAGMA foreign_keys = ON");
    assert!(pinned.is_leased() && !pinned.is_parked(), "changed state: pinned, as before");
    let tracked = pool_with(on_demand().leak_threshold(Some(Duration::from_secs(60))));
    let mut lazy = lazy(&tracked);
    let acquired = tracked.pool.statistics().acquired;
    run(&mut lazy, "SELECT 1");
    run(&mut lazy, "SELECT 1");
    assert!(!lazy.is_parked(), "a lease tracked for leaks would look like a leak parked");
    assert_eq!(tracked.pool.statistics().acquired, acquired + 2);
}

#[test]
fn many_clients_share_few_connections() {
    let db = pool_with(on_demand().max_size(2));
    run(&mut lazy(&db), "CREATE TABLE t (x)");
    let mut clients: Vec<LazySession> = (0..20).map(|_| lazy(&db)).collect();
    for round in 0..5 {
        for (i, c) in clients.iter_mut().enumerate() {
            run(c, &format!("INSERT INTO t VALUES ({})", round * 100 + i));
        }
    }
    let n = &db.pool.query("SELECT count(*) FROM t", []).unwrap().rows[0][0];
    assert_eq!(*n, Value::Integer(100));
    assert!(db.pool.state().total <= 2);
}

#[test]
fn threads_with_their_own_clients_park_and_reclaim_without_losing_a_statement() {
    let db = pool_with(on_demand().max_size(2).acquire_timeout(Duration::from_secs(10)));
    run(&mut lazy(&db), "CREATE TABLE t (x)");
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let pool = db.pool.clone();
            std::thread::spawn(move || {
                let mut lazy = LazySession::new(pool, TxnMode::Autocommit);
                for i in 0..200 {
                    run(&mut lazy, &format!("INSERT INTO t VALUES ({})", t * 1000 + i));
                    run(&mut lazy, "SELECT count(*) FROM t");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let n = &db.pool.query("SELECT count(*) FROM t", []).unwrap().rows[0][0];
    assert_eq!(*n, Value::Integer(1200));
    let state = db.pool.state();
    assert_eq!((state.active, state.waiting), (0, 0));
}
