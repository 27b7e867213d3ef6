//! `Call::undescribed`: a call that reads rows by position (Python's
//! `pool.query`) skips the result columns' names and declared types; rows,
//! changes and routing are the same, and a row sink still gets its columns.
mod common;
use std::sync::{Arc, Mutex};

use common::*;
use litepool::rusqlite::types::Value;
use litepool::sql::{Call, Column, Op, Params, RowSink};
use litepool::AcquireOptions;

fn setup() -> TestDb {
    let db = pool_with(quick());
    db.pool
        .call(
            Default::default(),
            &Call::new(
                Op::Script,
                "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b');",
            ),
        )
        .expect("setup");
    db
}

#[test]
fn an_undescribed_call_has_the_same_rows_and_no_columns() {
    let db = setup();
    let sql = "SELECT id, name FROM t WHERE id >= ?1 ORDER BY id";
    let call = Call::new(Op::All, sql).params(Params::Positional(vec![Value::Integer(1)]));
    let described = db.pool.call(AcquireOptions::default(), &call).expect("described");
    let undescribed = db.pool.call(AcquireOptions::default(), &call.clone().undescribed()).expect("undescribed");
    assert_eq!(described.column_names().collect::<Vec<_>>(), ["id", "name"]);
    assert_eq!(described.columns[0].decltype.as_deref(), Some("INTEGER"));
    assert!(undescribed.columns.is_empty());
    assert_eq!(undescribed.rows, described.rows);
    assert_eq!(undescribed.rows.len(), 2);
    assert!(undescribed.read_only && described.read_only);
}

#[test]
fn an_undescribed_write_reports_its_changes() {
    let db = setup();
    let call = Call::new(Op::Run, "UPDATE t SET name = 'c'").undescribed();
    let out = db.pool.call(AcquireOptions::default(), &call).expect("update");
    assert_eq!(out.changes, 2);
    assert!(!out.read_only);
}

#[test]
fn a_sink_gets_its_columns_even_undescribed() {
    let db = setup();
    let seen: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
    let to = Arc::clone(&seen);
    let sink = RowSink(Arc::new(move |cols: &[Column], _rows: Vec<Vec<Value>>| {
        to.lock().expect("seen").push(cols.iter().map(|c| c.name.clone()).collect());
    }));
    let call = Call::new(Op::All, "SELECT id AS x FROM t").sink(sink).undescribed();
    db.pool.call(AcquireOptions::default(), &call).expect("each");
    let seen = seen.lock().expect("seen");
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|names| names == &["x"]));
}
