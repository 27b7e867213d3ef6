//! The write gate carries its holder's connection: a write lease that ends
//! while another writer of its pool queues at the gate leaves its
//! connection with the gate, so the next writer gets both in one wake-up
//! and never waits behind readers for a connection. The connection goes
//! back to the pool once no writer of that pool queues (gave up, timed out,
//! abandoned), never stays with the writers of a one-connection pool, and
//! never goes to another pool's writer at a shared gate.
mod common;
use std::future::Future;
use std::sync::mpsc;
use std::task::{Context, Waker};
use std::thread;
use std::time::Duration;

use common::*;
use litepool::sql::{Call, Op, Session, TxnMode};
use litepool::{AcquireOptions, Lane, Pool};

const LONG: Duration = Duration::from_secs(10);

/// A thread that leases with `acquire` and reports its connection's id,
/// holding the lease until told to let go.
fn lease_in_thread(
    pool: &Pool,
    lane: Lane,
    timeout: Duration,
) -> (mpsc::Receiver<litepool::Result<u64>>, mpsc::Sender<()>, thread::JoinHandle<()>) {
    let (got_tx, got_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let pool = pool.clone();
    let t = thread::spawn(move || {
        let opts = AcquireOptions { lane, timeout: Some(timeout), ..AcquireOptions::default() };
        match pool.acquire(opts) {
            Ok(lease) => {
                got_tx.send(Ok(lease.connection_id())).unwrap();
                let _ = done_rx.recv();
            }
            Err(e) => got_tx.send(Err(e)).unwrap(),
        }
    });
    (got_rx, done_tx, t)
}

#[test]
fn the_next_writer_gets_the_last_writers_connection_while_readers_hold_the_rest() {
    // A short bound: the queued writer is starving and handed the gate; a
    // long one: it is nudged and takes the gate (and the connection) itself.
    for bound in [Duration::from_millis(1), Duration::from_secs(60)] {
        next_writer_gets_the_connection(bound);
    }
}

fn next_writer_gets_the_connection(bound: Duration) {
    let db = pool_with(quick().max_size(2).acquire_timeout(LONG).starvation_bound(bound));
    let first = db.pool.write().unwrap();
    let writers_connection = first.connection_id();
    let reader = db.pool.get().unwrap();
    // A writer queues at the gate, then a reader queues for a connection.
    let (writer, let_writer_go, wt) = lease_in_thread(&db.pool, Lane::Write, LONG);
    eventually("the writer queued at the gate", || db.pool.state().waiting == 1);
    let (second_reader, let_reader_go, rt) = lease_in_thread(&db.pool, Lane::Any, LONG);
    eventually("the reader queued for a connection", || db.pool.state().waiting == 2);
    drop(first);
    // The writer's connection went with the gate, not to the reader queued
    // for a connection: the writer runs while `reader` still holds the other.
    let got = writer.recv_timeout(Duration::from_secs(5)).expect("the writer did not wait for a reader");
    assert_eq!(got.unwrap(), writers_connection);
    assert!(second_reader.recv_timeout(Duration::from_millis(100)).is_err(), "the reader still waits");
    // No writer queues any more: the connection goes back to the pool.
    let_writer_go.send(()).unwrap();
    assert_eq!(second_reader.recv_timeout(Duration::from_secs(5)).unwrap().unwrap(), writers_connection);
    let_reader_go.send(()).unwrap();
    drop(reader);
    wt.join().unwrap();
    rt.join().unwrap();
    let s = db.pool.state();
    assert_eq!((s.idle, s.total, s.waiting), (2, 2, 0), "{s:?}");
}

#[test]
fn a_connection_left_for_a_writer_that_times_out_goes_back_to_the_pool() {
    let db = pool_with(quick().max_size(3).acquire_timeout(LONG));
    db.pool.execute_batch("CREATE TABLE t (x)").unwrap();
    let first = db.pool.write().unwrap();
    let writers_connection = first.connection_id();
    // A session statement queues at the gate (it holds its own connection) ...
    let pool = db.pool.clone();
    let (began_tx, began) = mpsc::channel();
    let (commit_tx, commit) = mpsc::channel::<()>();
    let session = thread::spawn(move || {
        let mut s = Session::new(pool.get().unwrap(), TxnMode::Autocommit);
        s.run(&Call::new(Op::Run, "BEGIN IMMEDIATE")).unwrap();
        began_tx.send(()).unwrap();
        commit_rx_wait(&commit);
        s.run(&Call::new(Op::Run, "COMMIT")).unwrap();
    });
    eventually("the session queued at the gate", || db.pool.state().waiting == 1);
    // ... then a writer with a short timeout, while a reader holds the third connection.
    let (writer, _keep, wt) = lease_in_thread(&db.pool, Lane::Write, Duration::from_millis(300));
    eventually("the writer queued at the gate", || db.pool.state().waiting == 2);
    let reader = db.pool.get().unwrap();
    // The first writer leaves its connection for the queued writer; the
    // session enters first and holds the gate for its transaction.
    drop(first);
    began.recv_timeout(Duration::from_secs(5)).unwrap();
    let (late_reader, let_go, rt) = lease_in_thread(&db.pool, Lane::Any, LONG);
    // The writer times out: the connection kept for it goes back to the pool,
    // where the reader queued for one gets it.
    assert_eq!(writer.recv_timeout(Duration::from_secs(5)).unwrap().unwrap_err().code(), "LITEPOOL_TIMEOUT");
    let got = late_reader.recv_timeout(Duration::from_secs(5)).expect("the kept connection came back");
    assert_eq!(got.unwrap(), writers_connection);
    let_go.send(()).unwrap();
    commit_tx.send(()).unwrap();
    session.join().unwrap();
    wt.join().unwrap();
    rt.join().unwrap();
    drop(reader);
    let s = db.pool.state();
    assert_eq!((s.idle, s.total, s.waiting), (3, 3, 0), "{s:?}");
}

fn commit_rx_wait(rx: &mpsc::Receiver<()>) {
    let _ = rx.recv_timeout(LONG);
}

#[test]
fn a_connection_granted_with_the_gate_to_an_abandoned_acquire_goes_to_the_next_writer() {
    let db = pool_with(quick().max_size(2).acquire_timeout(LONG));
    let first = db.pool.write().unwrap();
    let writers_connection = first.connection_id();
    let reader = db.pool.get().unwrap();
    // An async writer queues at the gate (polled once), then a blocking one.
    let mut pending = Box::pin(db.pool.write_async());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(pending.as_mut().poll(&mut cx).is_pending());
    let (writer, let_go, wt) = lease_in_thread(&db.pool, Lane::Write, LONG);
    eventually("both writers queued", || db.pool.state().waiting == 2);
    // Async waiters are handed the gate (and the connection) directly;
    // this one is dropped without looking: both pass on.
    drop(first);
    drop(pending);
    let got = writer.recv_timeout(Duration::from_secs(5)).expect("the blocking writer got the gate");
    assert_eq!(got.unwrap(), writers_connection);
    let_go.send(()).unwrap();
    wt.join().unwrap();
    drop(reader);
    let s = db.pool.state();
    assert_eq!((s.idle, s.total, s.waiting), (2, 2, 0), "{s:?}");
}

#[test]
fn a_pool_of_one_connection_never_keeps_it_for_its_writers() {
    let db = pool_with(quick().max_size(1).acquire_timeout(LONG));
    let first = db.pool.write().unwrap();
    let (reader, let_reader_go, rt) = lease_in_thread(&db.pool, Lane::Any, LONG);
    eventually("the reader queued", || db.pool.state().waiting == 1);
    let (writer, let_writer_go, wt) = lease_in_thread(&db.pool, Lane::Write, LONG);
    eventually("the writer queued at the gate", || db.pool.state().waiting == 2);
    drop(first);
    // The reader came first for the one connection: it gets it.
    assert!(reader.recv_timeout(Duration::from_secs(5)).unwrap().is_ok());
    assert!(writer.recv_timeout(Duration::from_millis(100)).is_err(), "the writer waits for the reader");
    let_reader_go.send(()).unwrap();
    assert!(writer.recv_timeout(Duration::from_secs(5)).unwrap().is_ok());
    let_writer_go.send(()).unwrap();
    rt.join().unwrap();
    wt.join().unwrap();
}

#[test]
fn an_evicted_connection_is_not_kept_for_the_next_writer() {
    let db = pool_with(quick().max_size(2).acquire_timeout(LONG));
    let first = db.pool.write().unwrap();
    let old = first.connection_id();
    let (writer, let_go, wt) = lease_in_thread(&db.pool, Lane::Write, LONG);
    eventually("the writer queued at the gate", || db.pool.state().waiting == 1);
    db.pool.evict();
    drop(first);
    let got = writer.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
    assert_ne!(got, old, "the evicted connection was retired, not handed on");
    let_go.send(()).unwrap();
    wt.join().unwrap();
    assert_eq!(db.pool.statistics().closed_evicted, 1);
}

#[test]
fn at_a_gate_shared_by_two_pools_a_connection_goes_only_to_its_own_pools_writer() {
    let db = pool_with(quick().max_size(2).acquire_timeout(LONG));
    let other = Pool::new(db.path(), quick().max_size(2).acquire_timeout(LONG)).unwrap();
    let first = db.pool.write().unwrap();
    let mine = first.connection_id();
    // The other pool's writer queues first, then one of this pool.
    let (theirs, let_theirs_go, tt) = lease_in_thread(&other, Lane::Write, LONG);
    eventually("the other pool's writer queued", || other.state().waiting == 1);
    let (ours, let_ours_go, ot) = lease_in_thread(&db.pool, Lane::Write, LONG);
    eventually("this pool's writer queued", || db.pool.state().waiting == 1);
    drop(first);
    assert!(theirs.recv_timeout(Duration::from_secs(5)).unwrap().is_ok());
    let_theirs_go.send(()).unwrap();
    assert_eq!(ours.recv_timeout(Duration::from_secs(5)).unwrap().unwrap(), mine);
    let_ours_go.send(()).unwrap();
    tt.join().unwrap();
    ot.join().unwrap();
    // Each pool's books still add up: nothing of one ended in the other.
    for pool in [&db.pool, &other] {
        let s = pool.state();
        assert_eq!((s.active, s.waiting), (0, 0), "{s:?}");
        assert!(s.total <= 2 && s.idle == s.total, "{s:?}");
    }
    assert_eq!(other.statistics().acquired, 1);
}

#[test]
fn a_session_write_whose_gate_wait_ends_goes_on_even_when_the_housekeeper_sweeps() {
    // Regression: the housekeeper's sweep of expired async gate waiters took
    // blocking ones too and failed a session's statement with a timeout,
    // where its own wait ending lets it go on without the gate.
    let db = pool_with(quick().busy_timeout(Duration::from_millis(30)).housekeeping_period(Duration::from_millis(1)));
    db.pool.execute_batch("CREATE TABLE t (x)").unwrap();
    let holder = db.pool.write().unwrap();
    let mut s = Session::new(db.pool.get().unwrap(), TxnMode::Autocommit);
    for _ in 0..20 {
        s.run(&Call::new(Op::Run, "INSERT INTO t VALUES (1)")).unwrap();
    }
    drop(holder);
    assert_eq!(db.pool.statistics().gate_bypassed, 20);
}
