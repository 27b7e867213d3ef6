//! One-shot scripts may hold whole transactions, but one that leaves a
//! transaction open is rolled back and refused with `Misuse`, as a one-shot
//! `BEGIN` is (the lease ends with the call: the transaction would be
//! rolled back behind the caller's back).
mod common;
use common::*;
use litepool::rusqlite::types::Value;
use litepool::sql::{Call, Op};
use litepool::AcquireOptions;

fn script(sql: &str) -> Call {
    Call::new(Op::Script, sql)
}

#[test]
fn a_script_that_leaves_a_transaction_open_is_refused_and_rolled_back() {
    let db = pool_with(quick());
    db.pool.execute_batch("CREATE TABLE t (x)").unwrap();
    for sql in ["BEGIN", "BEGIN; INSERT INTO t VALUES (1)", "SAVEPOINT a; INSERT INTO t VALUES (2)"] {
        let err = db.pool.call(AcquireOptions::default(), &script(sql)).unwrap_err();
        assert_eq!(err.code(), "LITEPOOL_MISUSE", "{sql}");
        assert!(err.to_string().contains("left a transaction open"), "{err}");
    }
    // A whole transaction in one script is fine.
    db.pool.call(AcquireOptions::default(), &script("BEGIN; INSERT INTO t VALUES (3); COMMIT")).unwrap();
    let rows = db.pool.query("SELECT x FROM t", []).unwrap();
    assert_eq!(rows.rows, vec![vec![Value::Integer(3)]]);
    // The asynchronous path refuses it the same way.
    let (tx, rx) = std::sync::mpsc::channel();
    db.pool.call_with(AcquireOptions::default(), script("BEGIN IMMEDIATE"), move |out| tx.send(out).unwrap());
    assert_eq!(rx.recv().unwrap().unwrap_err().code(), "LITEPOOL_MISUSE");
}
