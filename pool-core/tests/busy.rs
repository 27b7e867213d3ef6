//! The lanes: read() is query_only, write() serializes writers behind the
//! gate with BEGIN IMMEDIATE, and query()/execute() route by statement.
mod common;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::*;
use litepool::rusqlite::ErrorCode;
use litepool::{Error, Lane, Pool};

const THREADS: usize = 8;
const WRITES: usize = 40;

fn setup(busy_timeout: Duration) -> TestDb {
    let db =
        pool_with(quick().max_size(THREADS as u32).busy_timeout(busy_timeout).acquire_timeout(Duration::from_secs(60)));
    db.pool.execute_batch("CREATE TABLE c (id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO c VALUES (1, 0);").unwrap();
    db
}

fn is_busy(e: &litepool::rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
}

/// Each thread does read-then-write transactions: the classic deferred
/// upgrade that ignores busy_timeout.
fn hammer(pool: &Pool, lane: Lane) -> u32 {
    let busy = Arc::new(AtomicU32::new(0));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (pool, busy) = (pool.clone(), Arc::clone(&busy));
            thread::spawn(move || {
                for _ in 0..WRITES {
                    let mut conn = pool.acquire(litepool::AcquireOptions::lane(lane)).unwrap();
                    let result = (|| {
                        let tx = conn.transaction()?;
                        let n: i64 = tx.query_row("SELECT n FROM c WHERE id = 1", [], |r| r.get(0))?;
                        thread::yield_now();
                        tx.execute("UPDATE c SET n = ?1 WHERE id = 1", [n + 1])?;
                        tx.commit()
                    })();
                    if let Err(e) = result {
                        assert!(is_busy(&e), "unexpected error: {e}");
                        busy.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    busy.load(Ordering::Relaxed)
}

#[test]
fn writers_through_write_see_no_busy_and_lose_no_update() {
    let db = setup(Duration::ZERO);
    assert_eq!(hammer(&db.pool, Lane::Write), 0);
    let n: i64 = db.pool.get().unwrap().query_row("SELECT n FROM c", [], |r| r.get(0)).unwrap();
    assert_eq!(n, (THREADS * WRITES) as i64);
}

#[test]
fn the_same_load_through_get_with_busy_timeout_zero_hits_busy() {
    let db = setup(Duration::ZERO);
    assert!(hammer(&db.pool, Lane::Any) > 0, "expected SQLITE_BUSY without the write gate");
}

#[test]
fn a_write_through_read_names_write() {
    let db = setup(Duration::from_secs(5));
    let conn = db.pool.read().unwrap();
    let err = conn.execute("UPDATE c SET n = 5", []).unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_READ_ONLY_LANE");
    assert!(err.to_string().contains("write()"), "{err}");
    // Reads work, and the same connection is writable again on another lane.
    let id = conn.connection_id();
    drop(conn);
    let w = db.pool.write().unwrap();
    assert_eq!(w.connection_id(), id);
    w.execute("UPDATE c SET n = 5", []).unwrap();
}

#[test]
fn write_transactions_begin_immediate() {
    let db = setup(Duration::ZERO);
    let mut w = db.pool.write().unwrap();
    let _tx = w.transaction().unwrap();
    // BEGIN IMMEDIATE took the write lock: another connection cannot write.
    let other = db.pool.get().unwrap();
    let err = other.execute("UPDATE c SET n = 1", []).unwrap_err();
    assert_eq!(err.code(), "SQLITE_BUSY", "{err}");
}

#[test]
fn query_and_execute_route_by_statement() {
    let db = setup(Duration::from_secs(5));
    let w = db.pool.write().unwrap();
    // The gate is held: a routed write must wait for it, a routed read must not.
    let rows = db.pool.query("SELECT n FROM c", []).unwrap();
    assert_eq!(rows.rows.len(), 1);
    let pool = db.pool.clone();
    let writer = thread::spawn(move || pool.execute("UPDATE c SET n = n + 1", []).map(|e| e.changes));
    eventually("routed write queued on the gate", || db.pool.state().waiting == 1);
    drop(w);
    assert_eq!(writer.join().unwrap().unwrap(), 1);
}

#[test]
fn sqlite_errors_keep_their_extended_code() {
    let db = setup(Duration::from_secs(5));
    db.pool.execute_batch("CREATE TABLE u (k TEXT UNIQUE)").unwrap();
    db.pool.execute("INSERT INTO u VALUES ('a')", []).unwrap();
    let err = db.pool.execute("INSERT INTO u VALUES ('a')", []).unwrap_err();
    assert_eq!(err.code(), "SQLITE_CONSTRAINT_UNIQUE");
    assert!(matches!(err, Error::Sqlite(_)));
    assert_eq!(err.sqlite_code(), Some(2067));
}

#[test]
fn transaction_control_through_one_shot_calls_is_refused() {
    let db = setup(Duration::from_secs(5));
    for sql in ["BEGIN", "  begin immediate", "COMMIT", "SAVEPOINT x", "rollback", "/* x */ BEGIN", "-- c\n  END"] {
        let err = db.pool.execute(sql, []).unwrap_err();
        assert_eq!(err.code(), "LITEPOOL_MISUSE", "{sql}");
        assert!(err.to_string().contains("transaction"), "{err}");
    }
    assert!(db.pool.query("SELECT 'BEGIN'", []).is_ok());
}

#[test]
fn a_wait_at_the_write_gate_counts_as_a_wait() {
    let db = setup(Duration::from_secs(5));
    let before = db.pool.statistics();
    let w = db.pool.write().unwrap();
    let pool = db.pool.clone();
    let second = thread::spawn(move || pool.write().map(|c| c.lane()));
    eventually("queued at the gate", || db.pool.state().waiting == 1);
    thread::sleep(Duration::from_millis(20));
    drop(w);
    assert_eq!(second.join().unwrap().unwrap(), Lane::Write);
    let after = db.pool.statistics();
    assert_eq!(after.acquired_waited - before.acquired_waited, 1);
    assert!(after.wait_time - before.wait_time >= Duration::from_millis(20));
}

#[test]
fn column_names_follow_a_schema_change_of_a_cached_statement() {
    let db = pool_with(quick().max_size(1));
    db.pool.execute_batch("CREATE TABLE r (a INTEGER); INSERT INTO r VALUES (1);").unwrap();
    assert_eq!(db.pool.query("SELECT * FROM r", []).unwrap().column_names().collect::<Vec<_>>(), vec!["a"]);
    db.pool.execute_batch("ALTER TABLE r RENAME COLUMN a TO b").unwrap();
    assert_eq!(db.pool.query("SELECT * FROM r", []).unwrap().column_names().collect::<Vec<_>>(), vec!["b"]);
    db.pool.execute_batch("DELETE FROM r").unwrap();
    assert_eq!(
        db.pool.query("SELECT * FROM r", []).unwrap().column_names().collect::<Vec<_>>(),
        vec!["b"],
        "also with no rows"
    );
}
