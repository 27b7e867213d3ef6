//! Lazy sessions: a long-lived client (the Python drop-in's Connection)
//! holds a lease only while a transaction or a statement is open, pins it
//! once its program changed the connection, and carries its own busy
//! timeout, limits and change count across leases.
mod common;
use std::time::{Duration, Instant};

use common::*;
use litepool::rusqlite::limits::Limit;
use litepool::rusqlite::types::Value;
use litepool::sql::{Begin, Call, LazySession, Op, TxnMode};

fn legacy(db: &TestDb) -> LazySession {
    LazySession::new(db.pool.clone(), TxnMode::Legacy(Begin::Plain))
}

fn run(lazy: &mut LazySession, sql: &str) -> litepool::sql::Produced {
    let out = lazy.session().unwrap().run(&Call::new(Op::All, sql)).unwrap();
    lazy.settle();
    out
}

fn one(lazy: &mut LazySession, sql: &str) -> Value {
    run(lazy, sql).rows.remove(0).remove(0)
}

#[test]
fn a_lease_is_held_only_while_a_transaction_is_open() {
    let db = pool_with(quick());
    let mut lazy = legacy(&db);
    assert!(!lazy.is_leased(), "no lease before the first statement");
    run(&mut lazy, "CREATE TABLE t (x)");
    assert!(!lazy.is_leased() && !lazy.in_transaction(), "DDL runs in autocommit in legacy mode");
    assert_eq!(db.pool.state().active, 0);
    run(&mut lazy, "INSERT INTO t VALUES (1)");
    assert!(lazy.in_transaction(), "INSERT began a transaction");
    assert_eq!(db.pool.state().active, 1);
    run(&mut lazy, "SELECT * FROM t");
    assert!(lazy.is_leased(), "still in the transaction");
    lazy.session().unwrap().commit().unwrap();
    lazy.settle();
    assert!(!lazy.is_leased());
    assert_eq!(db.pool.state().active, 0);
    assert_eq!(db.pool.query("SELECT count(*) FROM t", []).unwrap().rows[0][0], Value::Integer(1));
}

#[test]
fn an_open_statement_keeps_the_lease_until_it_is_done() {
    let db = pool_with(quick());
    let mut lazy = legacy(&db);
    run(&mut lazy, "CREATE TABLE t (x)");
    db.pool.execute_batch("INSERT INTO t VALUES (1), (2), (3)").unwrap();
    let opened = lazy.session().unwrap().open(&Call::new(Op::All, "SELECT x FROM t"), 1).unwrap();
    lazy.settle();
    assert!(lazy.is_leased(), "a statement stepped part-way reads from the lease");
    let id = opened.stream.unwrap();
    let rest = lazy.session().unwrap().fetch(id, 10).unwrap();
    assert!(rest.done);
    lazy.settle();
    assert!(!lazy.is_leased());
}

#[test]
fn state_changed_by_the_program_pins_the_lease_until_close() {
    let db = pool_with(quick().foreign_keys(false));
    for sql in ["PRAGMA foreign_keys = ON", "CREATE TEMP TABLE scratch (x)", "ATTACH ':memory:' AS aux"] {
        let mut lazy = legacy(&db);
        run(&mut lazy, sql);
        assert!(lazy.is_leased(), "{sql}: pinned");
        run(&mut lazy, "SELECT 1");
        assert!(lazy.is_leased(), "{sql}: still pinned after other statements");
        lazy.close();
        assert!(!lazy.is_leased());
        assert_eq!(db.pool.state().active, 0);
    }
    let lease = db.pool.get().unwrap();
    let fk: i64 = lease.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
    assert_eq!(fk, 0, "the pool reset the pragma when the pinned lease came back");
    let temp: i64 = lease.query_row("SELECT count(*) FROM temp.sqlite_master", [], |r| r.get(0)).unwrap();
    assert_eq!(temp, 0);
}

#[test]
fn a_registered_function_pins_the_lease() {
    let db = pool_with(quick());
    let mut lazy = legacy(&db);
    let session = lazy.session().unwrap();
    session
        .lease()
        .create_scalar_function("seven", 0, litepool::rusqlite::functions::FunctionFlags::SQLITE_UTF8, |_| Ok(7))
        .unwrap();
    session.lease().note_function("seven", 0);
    lazy.settle();
    assert!(lazy.is_leased());
    assert_eq!(one(&mut lazy, "SELECT seven()"), Value::Integer(7));
    lazy.close();
    assert!(db.pool.get().unwrap().prepare("SELECT seven()").is_err(), "removed on return");
}

#[test]
fn busy_timeout_and_limits_follow_the_client_and_are_restored() {
    let db = pool_with(quick().max_size(1));
    let mut lazy = legacy(&db);
    lazy.set_busy_timeout(Duration::from_millis(0));
    let before = lazy.set_limit(Limit::SQLITE_LIMIT_SQL_LENGTH, 100).unwrap();
    assert!(before > 100);
    assert!(!lazy.is_leased(), "settings need no pin");
    assert_eq!(one(&mut lazy, "PRAGMA busy_timeout"), Value::Integer(0));
    assert_eq!(lazy.limit(Limit::SQLITE_LIMIT_SQL_LENGTH).unwrap(), 100, "applied again on the next lease");
    assert!(lazy.session().unwrap().run(&Call::new(Op::All, format!("SELECT '{}'", "x".repeat(200)))).is_err());
    lazy.close();
    let lease = db.pool.get().unwrap();
    let busy: i64 = lease.query_row("PRAGMA busy_timeout", [], |r| r.get(0)).unwrap();
    assert_eq!(busy, 5000, "the pool's busy timeout is back");
    assert_eq!(lease.limit(Limit::SQLITE_LIMIT_SQL_LENGTH).unwrap(), before);
}

#[test]
fn total_changes_add_up_over_leases() {
    let db = pool_with(quick());
    let mut lazy = LazySession::new(db.pool.clone(), TxnMode::Autocommit);
    run(&mut lazy, "CREATE TABLE t (x)");
    run(&mut lazy, "INSERT INTO t VALUES (1), (2)");
    assert!(!lazy.is_leased(), "autocommit: released after each statement");
    run(&mut lazy, "UPDATE t SET x = x + 1");
    assert_eq!(lazy.total_changes(), 4);
}

#[test]
fn legacy_mode_begins_with_the_isolation_level_before_dml_only() {
    assert_eq!(Begin::parse("immediate"), Some(Begin::Immediate));
    assert_eq!(Begin::parse(""), Some(Begin::Plain));
    assert_eq!(Begin::parse("BOGUS"), None);
    assert_eq!(Begin::Plain.sql(), "BEGIN ");
    let db = pool_with(quick());
    let mut lazy = LazySession::new(db.pool.clone(), TxnMode::Legacy(Begin::Exclusive));
    run(&mut lazy, "CREATE TABLE t (x)");
    for sql in ["SELECT * FROM t", "WITH a AS (SELECT 1) SELECT * FROM a", "/* c */ PRAGMA user_version = 3"] {
        run(&mut lazy, sql);
        assert!(!lazy.in_transaction(), "{sql}");
    }
    for sql in ["/* c */ insert into t values (1)", "UPDATE t SET x = 2", "DELETE FROM t", "REPLACE INTO t VALUES (3)"]
    {
        run(&mut lazy, sql);
        assert!(lazy.in_transaction(), "{sql}");
        lazy.session().unwrap().rollback().unwrap();
        lazy.settle();
    }
}

#[test]
fn a_short_busy_timeout_also_bounds_the_wait_for_the_write_gate() {
    let db = pool_with(quick());
    let mut first = legacy(&db);
    run(&mut first, "CREATE TABLE t (x)");
    run(&mut first, "INSERT INTO t VALUES (1)");
    assert!(first.in_transaction(), "holds the gate and SQLite's write lock");
    let mut second = legacy(&db);
    second.set_busy_timeout(Duration::from_millis(0));
    let started = Instant::now();
    let err = second.session().unwrap().run(&Call::new(Op::Run, "INSERT INTO t VALUES (2)")).unwrap_err();
    assert!(err.code().starts_with("SQLITE_BUSY"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2), "not the pool's 5 s busy_timeout: {:?}", started.elapsed());
}
