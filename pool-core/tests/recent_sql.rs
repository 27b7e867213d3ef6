//! `Pool::sql`: a thread's recent SQL texts as the shared `Sql` they were
//! first sent as, per pool, carrying what the pool learned about them.
mod common;
use common::*;
use litepool::sql::{Call, Op};
use litepool::AcquireOptions;

#[test]
fn the_same_text_is_the_same_sql_with_its_route_learned() {
    let db = pool_with(quick());
    db.pool.call(AcquireOptions::default(), &Call::new(Op::Script, "CREATE TABLE t (x)")).expect("create");
    let first = db.pool.sql("SELECT x FROM t");
    assert_eq!(first.read_only(), None, "nothing learned yet");
    db.pool.call(AcquireOptions::default(), &Call::new(Op::All, first)).expect("select");
    // The same text again is the Sql the call learned its route on.
    assert_eq!(db.pool.sql("SELECT x FROM t").read_only(), Some(true));
    assert_eq!(db.pool.sql("SELECT x FROM t").as_str(), "SELECT x FROM t");
    // Another text is another Sql.
    assert_eq!(db.pool.sql("SELECT x + 1 FROM t").read_only(), None);
}

#[test]
fn each_pool_and_each_thread_has_its_own() {
    let a = pool_with(quick());
    let b = pool_with(quick());
    for db in [&a, &b] {
        db.pool.call(AcquireOptions::default(), &Call::new(Op::Script, "CREATE TABLE t (x)")).expect("create");
    }
    let sql = a.pool.sql("SELECT x FROM t");
    a.pool.call(AcquireOptions::default(), &Call::new(Op::All, sql)).expect("select");
    assert_eq!(a.pool.sql("SELECT x FROM t").read_only(), Some(true));
    assert_eq!(b.pool.sql("SELECT x FROM t").read_only(), None, "another pool's Sql");
    let pool = a.pool.clone();
    let other = std::thread::spawn(move || pool.sql("SELECT x FROM t").read_only()).join().expect("thread");
    assert_eq!(other, None, "another thread's Sql");
}

#[test]
fn more_texts_than_kept_still_run_right() {
    let db = pool_with(quick());
    db.pool
        .call(AcquireOptions::default(), &Call::new(Op::Script, "CREATE TABLE t (x); INSERT INTO t VALUES (1)"))
        .expect("setup");
    for round in 0..3 {
        for i in 0..40 {
            let sql = db.pool.sql(&format!("SELECT x + {i} FROM t"));
            assert_eq!(sql.as_str(), format!("SELECT x + {i} FROM t"));
            let out = db.pool.call(AcquireOptions::default(), &Call::new(Op::All, sql)).expect("select");
            assert_eq!(out.rows, vec![vec![litepool::rusqlite::types::Value::Integer(1 + i)]], "round {round}");
        }
    }
}
