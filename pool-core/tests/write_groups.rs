//! Grouped writes on a session queue: plain writes queued one after another
//! run in one transaction; each still gets its own
//! outcome, all after the commit; a failed one rolls back only itself; one
//! that ends the transaction, or fails the commit, does not take the others
//! with it (`group.rs`'s rule, shared with the pool's group commit).
mod common;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use common::*;
use litepool::rusqlite::types::Value;
use litepool::sql::{Action, Call, Op, Params, Produced, Session, SessionQueue, TxnMode};

fn queue(pool: &litepool::Pool, group: bool) -> SessionQueue {
    let mut s = Session::new(pool.get().unwrap(), TxnMode::Autocommit);
    s.set_group_writes(group);
    SessionQueue::new(s, pool.executor())
}

fn insert(x: i64) -> Call {
    Call::new(Op::Run, "INSERT INTO t (x) VALUES (?1)").params(Params::Positional(vec![Value::Integer(x)]))
}

/// Submits `calls` at once; the outcomes in completion order, and what
/// another connection saw of `t` when the first one completed.
fn run_all(pool: &litepool::Pool, q: &SessionQueue, calls: Vec<Call>) -> (Vec<litepool::Result<Produced>>, i64) {
    let (tx, rx) = mpsc::channel();
    let seen = Arc::new(Mutex::new(None));
    // Hold the queue's worker until every call is queued, so they can group.
    let (release, wait) = mpsc::channel::<()>();
    q.submit(Action::Call(Call::new(Op::All, "SELECT 1")), Box::new(move |_| wait.recv().unwrap()));
    let n = calls.len();
    for call in calls {
        let tx = tx.clone();
        let seen = Arc::clone(&seen);
        let pool = pool.clone();
        q.submit(
            Action::Call(call),
            Box::new(move |out| {
                let mut first = seen.lock().unwrap();
                if first.is_none() {
                    let rows = pool.query("SELECT count(*) FROM t", []).unwrap();
                    let Value::Integer(c) = rows.rows[0][0] else { unreachable!() };
                    *first = Some(c);
                }
                tx.send(out).unwrap();
            }),
        );
    }
    release.send(()).unwrap();
    let outs = (0..n).map(|_| rx.recv().unwrap()).collect();
    let first = seen.lock().unwrap().unwrap_or(0);
    (outs, first)
}

fn db() -> TestDb {
    let db = pool_with(quick().max_size(4));
    db.pool.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER UNIQUE)").unwrap();
    db
}

#[test]
fn queued_writes_commit_together_and_each_gets_its_own_outcome() {
    let db = db();
    let (outs, first_saw) = run_all(&db.pool, &queue(&db.pool, true), (1..=20).map(insert).collect());
    assert_eq!(first_saw, 20, "the first completion came after the whole group committed");
    let ids: Vec<i64> = outs.iter().map(|o| o.as_ref().unwrap().last_insert_rowid).collect();
    assert_eq!(ids, (1..=20).collect::<Vec<_>>(), "each its own rowid, in order");
    assert!(outs.iter().all(|o| o.as_ref().unwrap().changes == 1));
    // Without grouping, each commits on its own.
    let db2 = self::db();
    let (_, first_saw) = run_all(&db2.pool, &queue(&db2.pool, false), (1..=20).map(insert).collect());
    assert_eq!(first_saw, 1);
}

#[test]
fn a_failed_write_rolls_back_only_itself() {
    let db = db();
    let calls = vec![insert(1), insert(2), insert(1), insert(3)];
    let (outs, _) = run_all(&db.pool, &queue(&db.pool, true), calls);
    assert!(outs[0].is_ok() && outs[1].is_ok() && outs[3].is_ok());
    assert_eq!(outs[2].as_ref().unwrap_err().code(), "SQLITE_CONSTRAINT_UNIQUE");
    let rows = db.pool.query("SELECT x FROM t ORDER BY x", []).unwrap();
    assert_eq!(rows.rows, vec![vec![Value::Integer(1)], vec![Value::Integer(2)], vec![Value::Integer(3)]]);
}

#[test]
fn a_write_that_ends_the_transaction_does_not_take_the_others() {
    let db = db();
    let rollback = Call::new(Op::Run, "INSERT OR ROLLBACK INTO t (x) VALUES (1)");
    let calls = vec![insert(1), insert(2), rollback, insert(3)];
    let (outs, _) = run_all(&db.pool, &queue(&db.pool, true), calls);
    assert!(outs[0].is_ok() && outs[1].is_ok() && outs[3].is_ok(), "{outs:?}");
    assert_eq!(outs[2].as_ref().unwrap_err().code(), "SQLITE_CONSTRAINT_UNIQUE");
    let rows = db.pool.query("SELECT x FROM t ORDER BY x", []).unwrap();
    assert_eq!(rows.rows, vec![vec![Value::Integer(1)], vec![Value::Integer(2)], vec![Value::Integer(3)]]);
}

#[test]
fn reads_and_transactions_end_a_group() {
    let db = db();
    let q = queue(&db.pool, true);
    let calls = vec![
        insert(1),
        Call::new(Op::All, "SELECT count(*) FROM t"),
        insert(2),
        Call::new(Op::Run, "BEGIN"),
        insert(3),
    ];
    let (outs, _) = run_all(&db.pool, &q, calls);
    assert!(outs.iter().all(Result::is_ok), "{outs:?}");
    assert_eq!(outs[1].as_ref().unwrap().rows, vec![vec![Value::Integer(1)]], "the read saw the write before it");
    assert!(q.in_transaction(), "the caller's own transaction is left to it");
    let (tx, rx) = mpsc::channel();
    q.submit(Action::Call(Call::new(Op::Run, "ROLLBACK")), Box::new(move |o| tx.send(o.is_ok()).unwrap()));
    assert!(rx.recv().unwrap());
    let rows = db.pool.query("SELECT x FROM t ORDER BY x", []).unwrap();
    assert_eq!(rows.rows, vec![vec![Value::Integer(1)], vec![Value::Integer(2)]]);
}

#[test]
fn a_deferred_foreign_key_that_fails_the_commit_fails_only_its_own_write() {
    let db = pool_with(quick().max_size(4));
    db.pool
        .execute_batch(
            "CREATE TABLE p (id INTEGER PRIMARY KEY);
             CREATE TABLE c (id INTEGER PRIMARY KEY, pid REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED);
             CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER UNIQUE);
             INSERT INTO p VALUES (1)",
        )
        .unwrap();
    let child = |pid: i64| {
        Call::new(Op::Run, "INSERT INTO c (pid) VALUES (?1)").params(Params::Positional(vec![Value::Integer(pid)]))
    };
    let (outs, first_saw) = run_all(&db.pool, &queue(&db.pool, true), vec![insert(1), child(99), insert(2), child(1)]);
    assert!(outs[0].is_ok() && outs[2].is_ok() && outs[3].is_ok(), "{outs:?}");
    assert_eq!(outs[1].as_ref().unwrap_err().code(), "SQLITE_CONSTRAINT_FOREIGNKEY");
    assert!(first_saw >= 1);
    let rows = db.pool.query("SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM c)", []).unwrap();
    assert_eq!(rows.rows, vec![vec![Value::Integer(2), Value::Integer(1)]]);
}
