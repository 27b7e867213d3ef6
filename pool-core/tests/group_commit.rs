//! Group commit: one-shot writes queued behind the write gate commit
//! together in one transaction; each caller gets its own result, the one it
//! would have had alone in autocommit (`group.rs`'s rule, shared with a
//! session's grouped writes in write_groups.rs).
mod common;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::*;
use litepool::rusqlite::types::Value;
use litepool::sql::{Call, Op, Params};

fn insert(v: i64) -> Call {
    Call::new(Op::Run, "INSERT INTO t (v) VALUES (?1)").params(Params::Positional(vec![Value::Integer(v)]))
}

#[test]
fn concurrent_one_shot_writes_commit_in_groups_with_their_own_results() {
    let db = pool_with(quick().max_size(4).group_commit(true).acquire_timeout(Duration::from_secs(30)));
    db.pool.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER UNIQUE)").unwrap();
    db.pool.call(Default::default(), &insert(-1)).unwrap(); // the route learns it writes
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let pool = db.pool.clone();
            thread::spawn(move || {
                (0..200)
                    .map(|i| {
                        let out = pool.call(Default::default(), &insert(t * 1000 + i)).unwrap();
                        assert_eq!(out.changes, 1);
                        out.last_insert_rowid
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut rowids: Vec<i64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    rowids.sort_unstable();
    rowids.dedup();
    assert_eq!(rowids.len(), 1600, "each caller saw its own row id");
    let n = db.pool.query("SELECT count(*) FROM t", []).unwrap();
    assert_eq!(n.rows[0][0], Value::Integer(1601));
}

#[test]
fn a_failing_write_rolls_back_only_itself() {
    let db = pool_with(quick().max_size(2).group_commit(true));
    db.pool.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER UNIQUE)").unwrap();
    db.pool.call(Default::default(), &insert(1)).unwrap();
    // Hold the gate so the next calls queue and run as one group.
    let gate = db.pool.write().unwrap();
    let (tx, rx) = mpsc::channel();
    for v in [2, 1, 3] {
        let tx = tx.clone();
        db.pool.call_with(Default::default(), insert(v), move |r| tx.send((v, r.map(|p| p.changes))).unwrap());
    }
    thread::sleep(Duration::from_millis(50));
    drop(gate);
    let mut got: Vec<(i64, Result<u64, String>)> = (0..3)
        .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap())
        .map(|(v, r)| (v, r.map_err(|e| e.code().to_owned())))
        .collect();
    got.sort_by_key(|(v, _)| *v);
    assert_eq!(got, vec![(1, Err("SQLITE_CONSTRAINT_UNIQUE".to_owned())), (2, Ok(1)), (3, Ok(1))]);
    let rows = db.pool.query("SELECT v FROM t ORDER BY v", []).unwrap();
    assert_eq!(rows.rows, vec![vec![Value::Integer(1)], vec![Value::Integer(2)], vec![Value::Integer(3)]]);
}

#[test]
fn a_grouped_write_that_cannot_get_the_gate_times_out_alone() {
    let db = pool_with(quick().max_size(2).group_commit(true));
    db.pool.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)").unwrap();
    db.pool.call(Default::default(), &insert(1)).unwrap();
    let _gate = db.pool.write().unwrap();
    let opts = litepool::AcquireOptions { timeout: Some(Duration::from_millis(100)), ..Default::default() };
    let err = db.pool.call(opts, &insert(2)).unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_TIMEOUT", "{err}");
}

/// A slow write: inserts `v` after counting to a few million (~0.3 s).
fn slow_insert(v: i64) -> Call {
    Call::new(
        Op::Run,
        "INSERT INTO t (v) SELECT ?1 + 0 * (SELECT count(*) FROM \
         (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT x FROM c))",
    )
    .params(Params::Positional(vec![Value::Integer(v)]))
}

#[test]
fn a_leader_returns_once_its_own_call_committed_and_passes_the_lease_on() {
    let db = pool_with(quick().max_size(2).group_commit(true).acquire_timeout(Duration::from_secs(30)));
    db.pool.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)").unwrap();
    db.pool.call(Default::default(), &insert(0)).unwrap();
    db.pool.call(Default::default(), &slow_insert(0)).unwrap(); // learned as a write
    let leader = {
        let pool = db.pool.clone();
        thread::spawn(move || pool.call(Default::default(), &slow_insert(1)).map(|p| p.changes))
    };
    // Queued while the leader's batch runs.
    thread::sleep(Duration::from_millis(60));
    let follower = {
        let pool = db.pool.clone();
        thread::spawn(move || pool.call(Default::default(), &slow_insert(2)).map(|p| p.changes))
    };
    assert_eq!(leader.join().unwrap().unwrap(), 1);
    // The leader did not stay to run the follower's call: that one is
    // still running (led by the follower itself) when the leader returns.
    let seen = db.pool.query("SELECT count(*) FROM t WHERE v = 2", []).unwrap();
    assert_eq!(seen.rows[0][0], Value::Integer(0), "the leader ran the follower's batch too");
    assert_eq!(follower.join().unwrap().unwrap(), 1);
    let seen = db.pool.query("SELECT count(*) FROM t WHERE v = 2", []).unwrap();
    assert_eq!(seen.rows[0][0], Value::Integer(1));
}

/// Runs `calls` as one group (queued while the gate is held, then let go);
/// the outcomes in submission order. Each call's SQL must be known to write.
fn as_one_group(db: &TestDb, calls: Vec<Call>) -> Vec<litepool::Result<litepool::sql::Produced>> {
    let gate = db.pool.write().unwrap();
    let (tx, rx) = mpsc::channel();
    let n = calls.len();
    for (i, call) in calls.into_iter().enumerate() {
        let tx = tx.clone();
        db.pool.call_with(Default::default(), call, move |r| tx.send((i, r)).unwrap());
    }
    thread::sleep(Duration::from_millis(50));
    drop(gate);
    let mut got: Vec<_> = (0..n).map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap()).collect();
    got.sort_by_key(|(i, _)| *i);
    got.into_iter().map(|(_, r)| r).collect()
}

fn values(db: &TestDb, sql: &str) -> Vec<Value> {
    db.pool.query(sql, []).unwrap().rows.into_iter().map(|mut r| r.remove(0)).collect()
}

#[test]
fn a_write_that_ends_the_transaction_does_not_take_the_others() {
    let db = pool_with(quick().max_size(2).group_commit(true));
    db.pool.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER UNIQUE)").unwrap();
    let rollback = |v: i64| {
        Call::new(Op::Run, "INSERT OR ROLLBACK INTO t (v) VALUES (?1)").params(Params::Positional(vec![v.into()]))
    };
    db.pool.call(Default::default(), &insert(1)).unwrap();
    db.pool.call(Default::default(), &rollback(100)).unwrap();
    let outs = as_one_group(&db, vec![insert(2), insert(3), rollback(1), insert(4)]);
    let codes: Vec<_> = outs.iter().map(|o| o.as_ref().map(|p| p.changes).map_err(|e| e.code())).collect();
    assert_eq!(codes, vec![Ok(1), Ok(1), Err("SQLITE_CONSTRAINT_UNIQUE"), Ok(1)]);
    let want: Vec<Value> = [1, 2, 3, 4, 100].into_iter().map(Value::Integer).collect();
    assert_eq!(values(&db, "SELECT v FROM t ORDER BY v"), want);
}

#[test]
fn a_deferred_foreign_key_that_fails_the_commit_fails_only_its_own_call() {
    // Regression: a failed COMMIT failed every call of the group; alone, only
    // the violating insert fails (its own commit does).
    let db = pool_with(quick().max_size(2).group_commit(true));
    db.pool
        .execute_batch(
            "CREATE TABLE p (id INTEGER PRIMARY KEY);
             CREATE TABLE c (id INTEGER PRIMARY KEY, pid REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED);
             INSERT INTO p VALUES (1)",
        )
        .unwrap();
    let child =
        |pid: i64| Call::new(Op::Run, "INSERT INTO c (pid) VALUES (?1)").params(Params::Positional(vec![pid.into()]));
    db.pool.call(Default::default(), &child(1)).unwrap();
    let outs = as_one_group(&db, vec![child(1), child(99), child(1)]);
    let codes: Vec<_> = outs.iter().map(|o| o.as_ref().map(|p| p.changes).map_err(|e| e.code())).collect();
    assert_eq!(codes, vec![Ok(1), Err("SQLITE_CONSTRAINT_FOREIGNKEY"), Ok(1)]);
    assert_eq!(values(&db, "SELECT count(*) FROM c"), vec![Value::Integer(3)]);
}

#[test]
fn on_conflict_fail_keeps_what_it_changed_before_failing_as_autocommit_does() {
    let db = pool_with(quick().max_size(2).group_commit(true));
    db.pool
        .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER UNIQUE); INSERT INTO t (v) VALUES (3)")
        .unwrap();
    let fail = Call::new(Op::Run, "INSERT OR FAIL INTO t (v) VALUES (10), (11), (3), (12)");
    db.pool.call(Default::default(), &insert(1)).unwrap();
    assert!(db.pool.call(Default::default(), &fail).is_err(), "alone: 10 and 11 are kept");
    db.pool.execute_batch("DELETE FROM t WHERE v IN (10, 11)").unwrap();
    let outs = as_one_group(&db, vec![insert(2), fail, insert(4)]);
    assert!(outs[0].is_ok() && outs[2].is_ok(), "{outs:?}");
    assert_eq!(outs[1].as_ref().unwrap_err().code(), "SQLITE_CONSTRAINT_UNIQUE");
    let want: Vec<Value> = [1, 2, 3, 4, 10, 11].into_iter().map(Value::Integer).collect();
    assert_eq!(values(&db, "SELECT v FROM t ORDER BY v"), want);
}

#[test]
fn a_write_that_cannot_run_in_a_transaction_is_not_grouped() {
    // Regression: VACUUM (a known write) went through the group and failed
    // with "cannot VACUUM from within a transaction".
    let db = pool_with(quick().max_size(2).group_commit(true));
    db.pool.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)").unwrap();
    for _ in 0..2 {
        db.pool.call(Default::default(), &Call::new(Op::Run, "VACUUM")).unwrap();
    }
    assert_eq!(db.pool.is_read_only("VACUUM"), Some(false));
}
