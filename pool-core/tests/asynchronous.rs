//! The asynchronous acquire: a runtime-agnostic future that parks no thread,
//! honours the timeout, and leaves the queue cleanly when dropped.
mod common;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

use common::*;
use litepool::{Error, Lane};

struct ThreadWaker(Thread);
impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// A minimal executor: poll, park until woken.
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = Box::pin(fut);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        thread::park();
    }
}

fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    Pin::new(fut).poll(&mut Context::from_waker(&waker))
}

#[test]
fn get_async_resolves_at_once_when_idle() {
    let db = pool_with(quick());
    let conn = block_on(db.pool.get_async()).unwrap();
    assert_eq!(conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).unwrap(), 1);
}

#[test]
fn get_async_waits_without_a_thread_and_resolves_on_release() {
    let db = pool_with(quick().max_size(1));
    let held = db.pool.get().unwrap();
    let mut fut = db.pool.get_async();
    assert!(poll_once(&mut fut).is_pending());
    assert_eq!(db.pool.state().waiting, 1);
    let id = held.connection_id();
    drop(held);
    // Handed over on release, before anyone polls again.
    assert_eq!(db.pool.state().active, 1);
    let conn = block_on(fut).unwrap();
    assert_eq!(conn.connection_id(), id);
}

#[test]
fn a_dropped_future_leaves_the_queue_and_strands_nothing() {
    let db = pool_with(quick().max_size(1));
    let held = db.pool.get().unwrap();
    let mut fut = db.pool.get_async();
    assert!(poll_once(&mut fut).is_pending());
    drop(fut);
    assert_eq!(db.pool.state().waiting, 0);
    drop(held);
    assert_eq!(db.pool.state().idle, 1);

    // Granted but never polled again, then dropped: the connection comes back.
    let held = db.pool.get().unwrap();
    let mut fut = db.pool.get_async();
    assert!(poll_once(&mut fut).is_pending());
    drop(held); // granted to the future
    assert_eq!(db.pool.state().active, 1);
    drop(fut);
    assert_eq!(db.pool.state().active, 0);
    assert!(db.pool.try_get().is_ok());
}

#[test]
fn get_async_times_out_through_the_housekeeper() {
    let db = pool_with(quick().max_size(1).acquire_timeout(Duration::from_millis(100)));
    let _held = db.pool.get().unwrap();
    let err = block_on(db.pool.get_async()).unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("total=1, active=1"), "{err}");
}

#[test]
fn write_async_waits_for_the_gate() {
    let db = pool_with(quick().max_size(3));
    let w = db.pool.write().unwrap();
    let mut fut = db.pool.write_async();
    assert!(poll_once(&mut fut).is_pending());
    drop(w);
    let w2 = block_on(fut).unwrap();
    assert_eq!(w2.lane(), Lane::Write);
    // A dropped gate waiter passes the gate on.
    let mut fut = db.pool.write_async();
    assert!(poll_once(&mut fut).is_pending());
    drop(fut);
    drop(w2);
    assert!(db.pool.write().is_ok());
}

#[test]
fn many_async_waiters_on_few_connections_all_complete() {
    let db = pool_with(quick().max_size(2).acquire_timeout(Duration::from_secs(10)));
    db.pool.execute_batch("CREATE TABLE t (x)").unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..50 {
        let tx = tx.clone();
        db.pool.acquire_with(Default::default(), move |r| {
            let conn = r.unwrap();
            conn.execute("INSERT INTO t VALUES (?1)", [i]).unwrap();
            tx.send(i).unwrap();
        });
    }
    let mut got: Vec<i32> = (0..50).map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap()).collect();
    got.sort_unstable();
    assert_eq!(got, (0..50).collect::<Vec<_>>());
    eventually("all returned", || db.pool.state().active == 0);
    assert!(db.pool.state().total <= 2);
}

#[test]
fn a_panicking_callback_returns_its_lease() {
    let db = pool_with(quick().max_size(1));
    db.pool.acquire_with(Default::default(), |r| {
        let _conn = r.unwrap();
        panic!("callback exploded");
    });
    assert_eq!(db.pool.state().active, 0);
    assert!(db.pool.try_get().is_ok());
}

#[test]
fn a_cancelled_callback_acquire_leaves_the_queue_and_is_never_called() {
    let db = pool_with(quick().max_size(1));
    let held = db.pool.get().unwrap();
    let called = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = Arc::clone(&called);
    let handle =
        db.pool.acquire_with(Default::default(), move |_| flag.store(true, std::sync::atomic::Ordering::SeqCst));
    assert_eq!(db.pool.state().waiting, 1);
    assert!(handle.cancel());
    assert_eq!(db.pool.state().waiting, 0);
    drop(held);
    assert!(!called.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(db.pool.state().idle, 1);
    // Once the callback ran, cancel() reports false.
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = db.pool.acquire_with(Default::default(), move |r| tx.send(r.is_ok()).unwrap());
    assert!(rx.recv().unwrap());
    assert!(!handle.cancel());
}

#[test]
fn routed_calls_take_the_write_lane_only_for_writes() {
    use litepool::sql::{Call, Op};
    let db = pool_with(quick().max_size(3));
    db.pool.execute_batch("CREATE TABLE t (x)").unwrap();
    // The write gate is held: a routed read goes ahead, a routed write
    // waits for the gate without a thread.
    let gate = db.pool.write().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let read_tx = tx.clone();
    db.pool.call_with(Default::default(), Call::new(Op::All, "SELECT count(*) FROM t"), move |r| {
        read_tx.send(("read", r.map(|p| p.read_only).ok())).unwrap()
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), ("read", Some(true)));
    db.pool.call_with(Default::default(), Call::new(Op::Run, "INSERT INTO t VALUES (1)"), move |r| {
        tx.send(("write", r.map(|p| p.read_only).ok())).unwrap()
    });
    assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
    drop(gate);
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), ("write", Some(false)));
    assert_eq!(db.pool.query("SELECT x FROM t", []).unwrap().rows.len(), 1);
}

#[test]
fn a_first_seen_write_waits_one_timeout_not_two() {
    use litepool::sql::{Call, Op};
    let db = pool_with(quick().max_size(2));
    db.pool.execute_batch("CREATE TABLE t (x)").unwrap();
    let opts = |ms| litepool::AcquireOptions {
        lane: Lane::Read,
        timeout: Some(Duration::from_millis(ms)),
        site: Some(litepool::AcquireSite::Text("caller.py:7".into())),
        tenant: None,
        deadline: None,
    };
    let gate = db.pool.write().unwrap();
    // Not seen before: probed on an ordinary lease, then the write lane,
    // both within the call's 300 ms (it used to be up to 2 x 300 ms).
    let started = std::time::Instant::now();
    let err = db.pool.call(opts(300), &Call::new(Op::Run, "INSERT INTO t VALUES (1)")).unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_TIMEOUT", "{err}");
    assert!(started.elapsed() < Duration::from_millis(450), "{:?}", started.elapsed());
    let (tx, rx) = std::sync::mpsc::channel();
    let started = std::time::Instant::now();
    db.pool.call_with(opts(300), Call::new(Op::Run, "INSERT INTO t VALUES (2)"), move |r| tx.send(r).unwrap());
    let err = rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_TIMEOUT", "{err}");
    assert!(started.elapsed() < Duration::from_millis(450), "{:?}", started.elapsed());
    let started = std::time::Instant::now();
    let err =
        pollster::block_on(db.pool.call_async(opts(300), Call::new(Op::Run, "INSERT INTO t VALUES (4)"))).unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_TIMEOUT", "{err}");
    assert!(started.elapsed() < Duration::from_millis(450), "{:?}", started.elapsed());
    drop(gate);
    let done = db.pool.call(opts(2000), &Call::new(Op::Run, "INSERT INTO t VALUES (3)")).unwrap();
    assert_eq!(done.changes, 1);
    let done = pollster::block_on(db.pool.call_async(opts(2000), Call::new(Op::Run, "INSERT INTO t VALUES (5)")));
    assert_eq!(done.unwrap().changes, 1);
    let rows = pollster::block_on(db.pool.call_async(opts(2000), Call::new(Op::All, "SELECT count(*) FROM t")));
    assert_eq!(rows.unwrap().rows, vec![vec![litepool::rusqlite::types::Value::Integer(2)]]);
}

#[test]
fn a_call_future_dropped_while_waiting_leaves_the_queue() {
    use litepool::sql::{Call, Op};
    use std::future::Future;
    let db = pool_with(quick().max_size(1).min_idle(0));
    let held = db.pool.get().unwrap();
    let mut call = Box::pin(db.pool.call_async(litepool::AcquireOptions::default(), Call::new(Op::All, "SELECT 1")));
    let waker = std::task::Waker::noop();
    assert!(call.as_mut().poll(&mut std::task::Context::from_waker(waker)).is_pending());
    assert_eq!(db.pool.state().waiting, 1);
    drop(call);
    assert_eq!(db.pool.state().waiting, 0);
    drop(held);
    assert_eq!(
        db.pool.call(litepool::AcquireOptions::default(), &Call::new(Op::All, "SELECT 1")).unwrap().rows.len(),
        1
    );
}

#[test]
fn async_timeouts_are_honoured_with_a_slow_housekeeper() {
    let cfg =
        quick().max_size(1).housekeeping_period(Duration::from_secs(30)).acquire_timeout(Duration::from_millis(80));
    let db = pool_with(cfg);
    let _held = db.pool.get().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let started = std::time::Instant::now();
    for i in 0..20u64 {
        let tx = tx.clone();
        // Later waiters get earlier deadlines: each must wake the housekeeper.
        let opts =
            litepool::AcquireOptions { timeout: Some(Duration::from_millis(400 - i * 15)), ..Default::default() };
        db.pool.acquire_with(opts, move |r| tx.send(r.map(|_| ()).unwrap_err().code()).unwrap());
        thread::sleep(Duration::from_millis(2));
    }
    for _ in 0..20 {
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), "LITEPOOL_TIMEOUT");
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(db.pool.state().waiting, 0);
}
