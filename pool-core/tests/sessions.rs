//! Sessions: a held lease running calls in order with the pool's
//! transaction rules (write sessions are one transaction from their first
//! statement; ordinary leases' writes pass the write gate; managed
//! transactions refuse transaction control), sync and queued.
mod common;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::*;
use litepool::rusqlite::types::Value;
use litepool::sql::{Action, Call, Op, Params, Session, SessionQueue, TxnMode};
use litepool::Pool;

fn all(sql: &str) -> Call {
    Call::new(Op::All, sql)
}

fn run(sql: &str) -> Call {
    Call::new(Op::Run, sql)
}

fn counter_db(config: litepool::PoolConfig) -> TestDb {
    let db = pool_with(config);
    db.pool.execute_batch("CREATE TABLE c (id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO c VALUES (1, 0)").unwrap();
    db
}

#[test]
fn a_write_session_is_one_transaction_from_its_first_statement() {
    let db = counter_db(quick());
    let mut s = Session::new(db.pool.write().unwrap(), TxnMode::Implicit);
    s.run(&all("SELECT n FROM c")).unwrap();
    assert!(s.in_transaction(), "a read opened the transaction (BEGIN IMMEDIATE)");
    s.commit().unwrap();
    assert!(!s.in_transaction());
    // An ordinary lease in the same mode opens one only to write.
    let mut any = Session::new(db.pool.get().unwrap(), TxnMode::Implicit);
    any.run(&all("SELECT n FROM c")).unwrap();
    assert!(!any.in_transaction());
    any.run(&run("UPDATE c SET n = 1")).unwrap();
    assert!(any.in_transaction());
    any.rollback().unwrap();
}

/// Read-modify-write increments in write sessions from two pools on one file.
#[test]
fn read_modify_write_in_write_sessions_loses_no_update() {
    let db = counter_db(quick().max_size(4).acquire_timeout(Duration::from_secs(30)));
    let second = Pool::new(db.path(), quick().max_size(4).acquire_timeout(Duration::from_secs(30))).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let pool = if i % 2 == 0 { db.pool.clone() } else { second.clone() };
            thread::spawn(move || {
                for _ in 0..200 {
                    let mut s = Session::new(pool.write().unwrap(), TxnMode::Implicit);
                    let row = s.run(&all("SELECT n FROM c WHERE id = 1")).unwrap();
                    let Value::Integer(n) = row.rows[0][0] else { panic!("{row:?}") };
                    s.run(
                        &run("UPDATE c SET n = ?1 WHERE id = 1")
                            .params(Params::Positional(vec![Value::Integer(n + 1)])),
                    )
                    .unwrap();
                    s.commit().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let n = db.pool.query("SELECT n FROM c", []).unwrap();
    assert_eq!(n.rows[0][0], Value::Integer(1600));
}

#[test]
fn a_write_on_an_ordinary_lease_passes_the_write_gate() {
    let db = counter_db(quick().busy_timeout(Duration::from_secs(5)));
    let writer = db.pool.write().unwrap();
    let pool = db.pool.clone();
    let (tx, rx) = mpsc::channel();
    let t = thread::spawn(move || {
        let mut s = Session::new(pool.get().unwrap(), TxnMode::Autocommit);
        s.run(&all("SELECT n FROM c")).unwrap();
        tx.send("read").unwrap();
        s.run(&run("UPDATE c SET n = n + 1")).unwrap();
        tx.send("wrote").unwrap();
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), "read", "reads do not wait");
    assert!(rx.recv_timeout(Duration::from_millis(100)).is_err(), "the write waits for the gate");
    assert_eq!(db.pool.state().waiting, 1);
    drop(writer);
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), "wrote");
    t.join().unwrap();
    assert_eq!(db.pool.statistics().gate_bypassed, 0);
}

#[test]
fn a_gate_holder_waiting_for_a_connection_lets_a_session_writer_through() {
    // One connection: the session holds it, a write() acquire holds the
    // gate and waits for the connection. The session's write must not wait
    // for that writer (it would until busy_timeout).
    let db = counter_db(quick().max_size(1).busy_timeout(Duration::from_secs(10)));
    let mut s = Session::new(db.pool.get().unwrap(), TxnMode::Autocommit);
    let pool = db.pool.clone();
    let writer = thread::spawn(move || {
        let w = pool.write().unwrap();
        w.execute("UPDATE c SET n = n + 10", []).unwrap();
    });
    eventually("the writer holds the gate and queues for the connection", || db.pool.state().waiting == 1);
    let started = std::time::Instant::now();
    s.run(&run("UPDATE c SET n = n + 1")).unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    drop(s);
    writer.join().unwrap();
    assert_eq!(db.pool.query("SELECT n FROM c", []).unwrap().rows[0][0], Value::Integer(11));
    assert_eq!(db.pool.statistics().gate_bypassed, 1);
}

#[test]
fn a_managed_transaction_refuses_transaction_control_but_not_savepoints() {
    let db = counter_db(quick());
    let mut s = Session::new(db.pool.write().unwrap(), TxnMode::Autocommit);
    s.begin(true).unwrap();
    for sql in ["COMMIT", "/* x */ rollback", "BEGIN", "END"] {
        let err = s.run(&run(sql)).unwrap_err();
        assert_eq!(err.code(), "LITEPOOL_MISUSE", "{sql}: {err}");
        assert!(err.to_string().contains("managed transaction"), "{err}");
    }
    s.run(&run("SAVEPOINT a")).unwrap();
    s.run(&run("UPDATE c SET n = 5")).unwrap();
    s.run(&run("RELEASE a")).unwrap();
    assert!(s.in_transaction());
    s.commit().unwrap();
    assert_eq!(s.mode(), TxnMode::Autocommit);
    assert_eq!(db.pool.query("SELECT n FROM c", []).unwrap().rows[0][0], Value::Integer(5));
}

#[test]
fn queued_calls_run_in_order_and_fail_once_released() {
    let db = counter_db(quick());
    let q = SessionQueue::new(Session::new(db.pool.get().unwrap(), TxnMode::Autocommit), db.pool.executor());
    let (tx, rx) = mpsc::channel();
    for i in 0..50 {
        let tx = tx.clone();
        let call = all("SELECT ?1").params(Params::Positional(vec![Value::Integer(i)]));
        q.submit(Action::Call(call), Box::new(move |r| tx.send(r.unwrap().rows[0][0].clone()).unwrap()));
    }
    let got: Vec<Value> = (0..50).map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap()).collect();
    assert_eq!(got, (0..50).map(Value::Integer).collect::<Vec<_>>());
    assert_eq!(q.run_now(Action::Call(all("SELECT 1"))).unwrap().rows.len(), 1);
    q.release();
    assert_eq!(q.run_now(Action::Call(all("SELECT 1"))).unwrap_err().code(), "LITEPOOL_RELEASED");
    let (tx, rx) = mpsc::channel();
    q.submit(Action::Call(all("SELECT 1")), Box::new(move |r| tx.send(r.unwrap_err().code()).unwrap()));
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), "LITEPOOL_RELEASED");
    assert_eq!(db.pool.state().active, 0);
}

#[test]
fn a_queued_call_waiting_for_the_gate_does_not_occupy_a_worker() {
    let db = counter_db(quick().workers(1).max_size(3));
    // Teach the pool that the UPDATE writes (sessions know it before stepping).
    let update = litepool::sql::Sql::new("UPDATE c SET n = n + 1");
    db.pool.call(Default::default(), &Call::new(Op::Run, update.clone())).unwrap();
    let writer = db.pool.write().unwrap();
    let q = SessionQueue::new(Session::new(db.pool.get().unwrap(), TxnMode::Autocommit), db.pool.executor());
    let (tx, rx) = mpsc::channel();
    let wtx = tx.clone();
    q.submit(Action::Call(Call::new(Op::Run, update)), Box::new(move |r| wtx.send(("write", r.is_ok())).unwrap()));
    thread::sleep(Duration::from_millis(50));
    // The one worker is free for others meanwhile.
    db.pool.call_with(Default::default(), all("SELECT n FROM c"), move |r| tx.send(("read", r.is_ok())).unwrap());
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), ("read", true));
    drop(writer);
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), ("write", true));
    assert_eq!(db.pool.statistics().gate_bypassed, 0);
    q.release();
}

#[test]
fn a_read_lease_session_never_begins_a_write() {
    let db = counter_db(quick());
    let mut s = Session::new(db.pool.read().unwrap(), TxnMode::Implicit);
    let err = s.run(&run("UPDATE c SET n = 9")).unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_READ_ONLY_LANE");
    assert!(!s.in_transaction());
}
