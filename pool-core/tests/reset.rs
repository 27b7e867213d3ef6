//! A connection returned inside a transaction is rolled back, never handed on.
mod common;
use common::*;

#[test]
fn an_open_transaction_is_rolled_back_on_return() {
    let db = pool_with(quick().max_size(1));
    db.pool.execute_batch("CREATE TABLE t (x)").unwrap();
    {
        let conn = db.pool.get().unwrap();
        conn.execute_batch("BEGIN; INSERT INTO t VALUES (1);").unwrap();
        assert!(!conn.is_autocommit());
    } // returned mid-transaction
    let conn = db.pool.get().unwrap();
    assert!(conn.is_autocommit());
    let n: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 0);
    assert_eq!(db.pool.statistics().rolled_back_on_return, 1);
}

#[test]
fn a_dropped_rusqlite_transaction_is_not_counted_twice() {
    let db = pool_with(quick().max_size(1));
    db.pool.execute_batch("CREATE TABLE t (x)").unwrap();
    {
        let mut conn = db.pool.write().unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute("INSERT INTO t VALUES (1)", []).unwrap();
        // tx dropped: rusqlite rolls back itself
    }
    assert_eq!(db.pool.statistics().rolled_back_on_return, 0);
    assert_eq!(db.pool.query("SELECT * FROM t", []).unwrap().rows.len(), 0);
}

#[test]
fn a_panic_while_holding_a_lease_returns_it() {
    let db = pool_with(quick().max_size(1));
    let pool = db.pool.clone();
    let r = std::thread::spawn(move || {
        let conn = pool.get().unwrap();
        conn.execute_batch("BEGIN").unwrap();
        panic!("boom");
    })
    .join();
    assert!(r.is_err());
    assert_eq!(db.pool.state().active, 0);
    assert!(db.pool.get().unwrap().is_autocommit());
}
