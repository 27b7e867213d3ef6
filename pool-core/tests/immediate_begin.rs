//! Sessions with immediate begins (what the node-sqlite3 drop-in uses): a
//! deferred `BEGIN` runs as `BEGIN IMMEDIATE` and holds the write gate, so
//! read-modify-write transactions on ordinary leases — the way ORMs write
//! them (`BEGIN DEFERRED`, read, write, `COMMIT`) — never fail with
//! `SQLITE_BUSY` and never lose an update.
mod common;
use std::thread;
use std::time::Duration;

use common::*;
use litepool::rusqlite::types::Value;
use litepool::sql::{Call, Op, Params, Session, TxnMode};

fn counter_db() -> TestDb {
    let db =
        pool_with(quick().max_size(8).acquire_timeout(Duration::from_secs(30)).busy_timeout(Duration::from_secs(30)));
    db.pool.execute_batch("CREATE TABLE c (id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO c VALUES (1, 0)").unwrap();
    db
}

fn increment(pool: &litepool::Pool, immediate: bool) -> litepool::Result<()> {
    let mut s = Session::new(pool.get()?, TxnMode::Autocommit);
    s.set_immediate_begin(immediate);
    s.run(&Call::new(Op::Run, "BEGIN DEFERRED TRANSACTION;"))?;
    let out = (|| {
        let row = s.run(&Call::new(Op::All, "SELECT n FROM c WHERE id = 1"))?;
        // Widen the window between the read and the write.
        thread::sleep(Duration::from_micros(200));
        let Value::Integer(n) = row.rows[0][0] else { unreachable!() };
        s.run(
            &Call::new(Op::Run, "UPDATE c SET n = ?1 WHERE id = 1")
                .params(Params::Positional(vec![Value::Integer(n + 1)])),
        )?;
        s.run(&Call::new(Op::Run, "COMMIT"))
    })();
    if out.is_err() && s.in_transaction() {
        s.run(&Call::new(Op::Run, "ROLLBACK"))?;
    }
    out.map(|_| ())
}

#[test]
fn deferred_begins_run_immediate_and_lose_no_update() {
    let db = counter_db();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let pool = db.pool.clone();
            thread::spawn(move || (0..50).map(|_| increment(&pool, true)).filter(Result::is_err).count())
        })
        .collect();
    let failures: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(failures, 0);
    let n = db.pool.query("SELECT n FROM c", []).unwrap();
    assert_eq!(n.rows[0][0], Value::Integer(400));
}

/// The control: the same transactions with the option off fail with
/// SQLITE_BUSY (a deferred read-to-write upgrade cannot wait) — which is why
/// the option exists.
#[test]
fn without_it_deferred_read_then_write_transactions_collide() {
    let db = counter_db();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let pool = db.pool.clone();
            thread::spawn(move || {
                (0..50)
                    .map(|_| increment(&pool, false))
                    .filter(|r| matches!(r, Err(e) if e.code().starts_with("SQLITE_BUSY")))
                    .count()
            })
        })
        .collect();
    let busy: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(busy > 0, "expected some SQLITE_BUSY upgrades without immediate begins");
}

#[test]
fn an_immediate_begin_holds_the_gate_until_the_transaction_ends() {
    let db = counter_db();
    let mut s = Session::new(db.pool.get().unwrap(), TxnMode::Autocommit);
    s.set_immediate_begin(true);
    s.run(&Call::new(Op::Run, "BEGIN")).unwrap();
    assert!(s.in_transaction());
    // Another writer cannot get the gate meanwhile.
    let pool = db.pool.clone();
    let other = thread::spawn(move || {
        let start = std::time::Instant::now();
        pool.write().unwrap();
        start.elapsed()
    });
    thread::sleep(Duration::from_millis(100));
    s.run(&Call::new(Op::Run, "COMMIT")).unwrap();
    assert!(other.join().unwrap() >= Duration::from_millis(90));
    // A nested BEGIN still fails as SQLite says.
    s.run(&Call::new(Op::Run, "BEGIN")).unwrap();
    let err = s.run(&Call::new(Op::Run, "BEGIN")).unwrap_err();
    assert!(err.to_string().contains("within a transaction"), "{err}");
    s.run(&Call::new(Op::Run, "ROLLBACK")).unwrap();
}

#[test]
fn sessions_learn_which_statements_change_the_connection() {
    let db = counter_db();
    let mut s = Session::new(db.pool.get().unwrap(), TxnMode::Autocommit);
    for (sql, stateful) in [
        ("PRAGMA cache_size = 100", true),
        ("CREATE TEMP TABLE t (x)", true),
        ("SELECT n FROM c", false),
        ("PRAGMA table_info(c)", false),
        ("UPDATE c SET n = n", false),
    ] {
        let out = s.run(&Call::new(Op::All, sql)).unwrap();
        assert_eq!(out.stateful, stateful, "{sql}");
        assert_eq!(db.pool.changes_connection(sql), Some(stateful), "{sql}");
    }
    assert_eq!(db.pool.changes_connection("SELECT 42"), None);
}
