//! Streams: a session's query stepped in batches while its statement stays
//! open on the lease (Session::open / fetch / close_stream), so a cursor
//! over a million rows never holds more than a batch.
mod common;
use std::time::Duration;

use common::*;
use litepool::rusqlite::types::ValueRef;
use litepool::sql::{Call, Op, Params, Session, TxnMode};
use litepool::{AcquireOptions, Lane};

fn numbers(rows: i64) -> TestDb {
    let db = pool_with(quick());
    db.pool
        .execute_batch(&format!(
            "CREATE TABLE n (i INTEGER PRIMARY KEY, t TEXT);
             WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows})
             INSERT INTO n SELECT x, printf('row %d', x) FROM c;"
        ))
        .unwrap();
    db
}

fn all(sql: &str) -> Call {
    Call::new(Op::All, sql)
}

#[test]
fn a_query_is_stepped_in_batches_while_its_statement_stays_open() {
    let db = numbers(10_000);
    let mut s = Session::new(db.pool.get().unwrap(), TxnMode::Autocommit);
    let opened = s.open(&all("SELECT i, t FROM n ORDER BY i"), 100).unwrap();
    assert_eq!(opened.rows.len(), 100);
    assert_eq!(opened.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["i", "t"]);
    assert_eq!(opened.rows.get(0, 0), ValueRef::Integer(1));
    assert_eq!(opened.rows.get(99, 1), ValueRef::Text(b"row 100"));
    let id = opened.stream.expect("more rows follow");
    assert_eq!(s.open_streams(), 1);
    let (mut seen, mut last) = (100, 100);
    loop {
        let batch = s.fetch(id, 1000).unwrap();
        assert!(batch.rows.len() <= 1000, "a batch holds at most what was asked");
        for r in 0..batch.rows.len() {
            last += 1;
            assert_eq!(batch.rows.get(r, 0), ValueRef::Integer(last));
        }
        seen += batch.rows.len();
        if batch.done {
            break;
        }
    }
    assert_eq!(seen, 10_000);
    assert_eq!(s.open_streams(), 0, "a finished statement is closed");
    let err = s.fetch(id, 10).unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_MISUSE");
}

#[test]
fn a_short_query_finishes_in_its_first_batch() {
    let db = numbers(10);
    let mut s = Session::new(db.pool.get().unwrap(), TxnMode::Autocommit);
    let call = all("SELECT t FROM n WHERE i = ?").params(Params::Positional(vec![7.into()]));
    let opened = s.open(&call, 64).unwrap();
    assert!(opened.stream.is_none(), "done: nothing stays open");
    assert_eq!(opened.rows.len(), 1);
    assert_eq!(opened.rows.get(0, 0), ValueRef::Text(b"row 7"));
    assert_eq!(s.open_streams(), 0);
}

#[test]
fn two_open_queries_and_a_write_interleave_on_one_session() {
    let db = numbers(1000);
    let mut s = Session::new(db.pool.get().unwrap(), TxnMode::Autocommit);
    let a = s.open(&all("SELECT i FROM n ORDER BY i"), 10).unwrap().stream.unwrap();
    let b = s.open(&all("SELECT i FROM n ORDER BY i DESC"), 10).unwrap().stream.unwrap();
    assert_ne!(a, b, "stream ids are never reused");
    s.run(&Call::new(Op::Run, "CREATE TABLE other (x)")).unwrap();
    assert_eq!(s.fetch(a, 1).unwrap().rows.get(0, 0), ValueRef::Integer(11));
    assert_eq!(s.fetch(b, 1).unwrap().rows.get(0, 0), ValueRef::Integer(990));
    s.close_stream(a);
    assert_eq!(s.open_streams(), 1);
    assert_eq!(s.fetch(a, 1).unwrap_err().code(), "LITEPOOL_MISUSE", "a closed stream stays closed");
    let lease = s.into_lease();
    drop(lease);
    assert_eq!(db.pool.state().active, 0, "giving the lease back closed the open statement");
}

#[test]
fn a_statement_that_writes_keeps_the_write_gate_until_it_is_done() {
    let db = numbers(500);
    let mut s = Session::new(db.pool.get().unwrap(), TxnMode::Autocommit);
    let opened = s.open(&all("UPDATE n SET t = 'x' RETURNING i"), 10).unwrap();
    assert!(!opened.read_only);
    let id = opened.stream.unwrap();
    let writer =
        AcquireOptions { lane: Lane::Write, timeout: Some(Duration::from_millis(50)), ..AcquireOptions::default() };
    let err = db.pool.acquire(writer.clone()).unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_TIMEOUT", "the gate is held while the write is open");
    let rest = s.fetch(id, 10_000).unwrap();
    assert!(rest.done);
    assert_eq!(rest.changes, 500, "changes are known once done");
    drop(db.pool.acquire(writer).expect("the gate is free once the statement is done"));
}

#[test]
fn an_error_while_stepping_closes_the_stream() {
    let db = numbers(100);
    let mut s = Session::new(db.pool.get().unwrap(), TxnMode::Autocommit);
    // The 51st row divides by zero in a way SQLite reports: abs() of the
    // smallest integer overflows.
    let sql = "SELECT CASE WHEN i = 51 THEN abs(-9223372036854775807 - 1) ELSE i END FROM n ORDER BY i";
    let id = s.open(&all(sql), 10).unwrap().stream.unwrap();
    let err = s.fetch(id, 100).unwrap_err();
    assert!(err.to_string().contains("integer overflow"), "{err}");
    assert_eq!(s.open_streams(), 0);
}

#[test]
fn an_empty_statement_runs_as_nothing() {
    let db = numbers(1);
    let mut s = Session::new(db.pool.get().unwrap(), TxnMode::Autocommit);
    for sql in ["", " ;", "-- nothing"] {
        let opened = s.open(&all(sql), 10).unwrap();
        assert!(opened.stream.is_none() && opened.rows.is_empty() && opened.columns.is_empty(), "{sql:?}");
        s.run(&all(sql)).unwrap();
    }
}

#[test]
fn an_open_blob_expires_when_its_row_changes() {
    let db = numbers(1);
    db.pool.execute_batch("CREATE TABLE b (x BLOB); INSERT INTO b VALUES (x'00010203')").unwrap();
    let mut s = Session::new(db.pool.get().unwrap(), TxnMode::Autocommit);
    let (id, len) = s.open_blob("main", "b", "x", 1, false).unwrap();
    assert_eq!(len, 4);
    assert_eq!(s.open_blobs(), 1);
    s.write_blob(id, 1, &[9, 9]).unwrap();
    let mut buf = [0u8; 4];
    s.read_blob(id, 0, &mut buf).unwrap();
    assert_eq!(buf, [0, 9, 9, 3]);
    s.run(&Call::new(Op::Run, "UPDATE b SET x = x'ffffffff'")).unwrap();
    let err = s.read_blob(id, 0, &mut buf).unwrap_err();
    assert_eq!(err.code(), "SQLITE_ABORT", "{err}");
    assert_eq!(s.with_lease_mut(|_| ()).unwrap_err().code(), "LITEPOOL_MISUSE", "an open blob borrows the connection");
    s.close_blob(id);
    assert_eq!(s.open_blobs(), 0);
    s.with_lease_mut(|_| ()).unwrap();
}

#[test]
fn a_script_steps_through_every_row_of_its_queries() {
    let db = numbers(5);
    let mut s = Session::new(db.pool.get().unwrap(), TxnMode::Autocommit);
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&seen);
    s.lease()
        .create_scalar_function("step", 1, litepool::rusqlite::functions::FunctionFlags::SQLITE_UTF8, move |_| {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(0)
        })
        .unwrap();
    s.run(&Call::new(Op::Script, "SELECT step(i) FROM n; SELECT 1;")).unwrap();
    assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 5);
}
