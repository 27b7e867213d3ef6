//! Group commit: one-shot writes queued behind the write gate commit
//! together, each in its own savepoint; each caller gets its own result.
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
