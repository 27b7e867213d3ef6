//! Regression: a session's first-seen write that finds the write gate busy
//! must wait for it without a worker thread. It used to run on a worker and
//! block there in `take_gate`; with every worker so blocked, the gate's
//! holder could not get its COMMIT run, and everything stalled until
//! busy_timeout (knex with pool.max 5 over the node-sqlite3 drop-in: 10 s
//! stalls, then SQLITE_BUSY).
mod common;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use litepool::sql::{Action, Call, Op, Session, SessionQueue, TxnMode};

fn queue(pool: &litepool::Pool) -> SessionQueue {
    let mut s = Session::new(pool.get().unwrap(), TxnMode::Autocommit);
    s.set_immediate_begin(true);
    SessionQueue::new(s, pool.executor())
}

fn submit(q: &SessionQueue, sql: &str) -> mpsc::Receiver<litepool::Result<()>> {
    let (tx, rx) = mpsc::channel();
    q.submit(Action::Call(Call::new(Op::Run, sql)), Box::new(move |out| tx.send(out.map(|_| ())).unwrap()));
    rx
}

#[test]
fn an_unseen_write_waits_for_the_gate_without_a_worker() {
    let db = pool_with(quick().max_size(6).workers(1).busy_timeout(Duration::from_secs(10)));
    db.pool.execute_batch("CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (0)").unwrap();
    let holder = queue(&db.pool);
    submit(&holder, "BEGIN").recv().unwrap().unwrap();
    // Writers whose statements the pool has never seen queue for the gate.
    let others: Vec<_> = (0..3)
        .map(|i| {
            let q = queue(&db.pool);
            let rx = submit(&q, &format!("UPDATE t SET n = n + {}", i + 1));
            (q, rx)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    let start = Instant::now();
    submit(&holder, "UPDATE t SET n = n * 10").recv().unwrap().unwrap();
    submit(&holder, "COMMIT").recv().unwrap().unwrap();
    for (_, rx) in &others {
        rx.recv().unwrap().unwrap();
    }
    assert!(start.elapsed() < Duration::from_secs(2), "stalled for {:?}", start.elapsed());
    let n = db.pool.query("SELECT n FROM t", []).unwrap();
    assert_eq!(n.rows[0][0], litepool::rusqlite::types::Value::Integer(6));
}
