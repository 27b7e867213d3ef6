//! Statement deadlines (`deadline.rs`): a runaway statement is stopped
//! inside SQLite by the leased connection's progress handler, with
//! `LITEPOOL_DEADLINE`, and the connection stays usable.

mod common;

use std::time::{Duration, Instant};

use common::{pool_with, quick};
use litepool::sql::{Call, Op, Session, TxnMode};
use litepool::{AcquireOptions, Error, Lane};

/// Counts to a trillion: minutes of work if nothing stops it.
const RUNAWAY: &str =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000000) SELECT count(*) FROM c";

fn deadline_parts(err: &Error) -> (String, Duration, Duration, bool) {
    match err {
        Error::Deadline { sql, ran, limit, rolled_back } => (sql.clone(), *ran, *limit, *rolled_back),
        other => panic!("expected LITEPOOL_DEADLINE, got {other:?}"),
    }
}

#[test]
fn a_runaway_cte_is_stopped_within_twice_its_statement_timeout() {
    let limit = Duration::from_millis(200);
    let db = pool_with(quick().statement_timeout(Some(limit)));
    let started = Instant::now();
    let err = db.pool.call(AcquireOptions::default(), &Call::new(Op::All, RUNAWAY)).unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.code(), "LITEPOOL_DEADLINE");
    let (sql, ran, stated, rolled_back) = deadline_parts(&err);
    assert!(took < limit * 2, "stopped after {took:?}, more than twice the {limit:?} deadline");
    assert!(ran >= limit && ran < limit * 2, "ran {ran:?}");
    assert_eq!(stated, limit);
    assert!(!rolled_back, "a one-shot read has no transaction of the pool's");
    assert!(sql.starts_with("WITH RECURSIVE c(x)"), "{sql}");
    let message = err.to_string();
    assert!(message.contains("was stopped after") && message.contains("deadline 200 ms"), "{message}");
    // The pool (and its one connection) still works.
    let rows = db.pool.query("SELECT 1", []).unwrap();
    assert_eq!(rows.rows.len(), 1);
}

#[test]
fn a_call_timeout_overrides_the_pool_statement_timeout_and_the_connection_stays_usable() {
    let db = pool_with(quick().max_size(1).statement_timeout(Some(Duration::from_secs(60))));
    let call = Call::new(Op::All, RUNAWAY).timeout(Duration::from_millis(100));
    let started = Instant::now();
    let err = db.pool.call(AcquireOptions::default(), &call).unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(200), "{:?}", started.elapsed());
    assert_eq!(deadline_parts(&err).2, Duration::from_millis(100));
    // The same (only) connection runs a statement longer than the last deadline.
    let slow_but_finite =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT count(*) FROM c";
    let out = db.pool.call(AcquireOptions::default(), &Call::new(Op::All, slow_but_finite)).unwrap();
    assert_eq!(out.rows[0][0], litepool::rusqlite::types::Value::Integer(300000));
}

#[test]
fn without_a_deadline_nothing_is_stopped() {
    let db = pool_with(quick().max_size(1));
    let finite =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500000) SELECT count(*) FROM c";
    let out = db.pool.call(AcquireOptions::default(), &Call::new(Op::All, finite)).unwrap();
    assert_eq!(out.rows.len(), 1);
}

#[test]
fn a_lease_deadline_stops_raw_statements_on_the_lease_and_ends_with_it() {
    let db = pool_with(quick().max_size(1));
    let budget = Duration::from_millis(150);
    let lease = db.pool.acquire(AcquireOptions { deadline: Some(budget), ..AcquireOptions::default() }).expect("lease");
    let started = Instant::now();
    let raw: Result<i64, _> = lease.query_row(RUNAWAY, [], |r| r.get(0));
    let raw = raw.unwrap_err();
    assert!(started.elapsed() < budget * 2, "{:?}", started.elapsed());
    let err = lease.error(raw);
    assert_eq!(err.code(), "LITEPOOL_DEADLINE");
    assert_eq!(deadline_parts(&err).2, budget);
    drop(lease);
    // The next lease of the same connection has no deadline.
    let lease = db.pool.get().unwrap();
    std::thread::sleep(budget);
    let finite =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400000) SELECT count(*) FROM c";
    let n: i64 = lease.query_row(finite, [], |r| r.get(0)).expect("no deadline left over from the last lease");
    assert_eq!(n, 400000);
}

#[test]
fn a_deadline_in_the_pools_transaction_rolls_it_back() {
    let db = pool_with(quick());
    db.pool.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
    let lease = db.pool.write().unwrap();
    let mut session = Session::new(lease, TxnMode::Implicit);
    session.run(&Call::new(Op::Run, "INSERT INTO t VALUES (1)")).unwrap();
    assert!(session.in_transaction(), "the pool began a transaction (BEGIN IMMEDIATE)");
    let err = session.run(&Call::new(Op::All, RUNAWAY).timeout(Duration::from_millis(100))).unwrap_err();
    let (_, _, _, rolled_back) = deadline_parts(&err);
    assert!(rolled_back, "{err}");
    assert!(err.to_string().contains("rolled back"), "{err}");
    assert!(!session.in_transaction());
    // Usable, and the insert is gone.
    let n = session.run(&Call::new(Op::All, "SELECT count(*) FROM t")).unwrap();
    assert_eq!(n.rows[0][0], litepool::rusqlite::types::Value::Integer(0));
}

#[test]
fn a_deadline_in_the_callers_own_transaction_leaves_it_to_the_caller() {
    let db = pool_with(quick());
    db.pool.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
    let lease = db.pool.get().unwrap();
    let mut session = Session::new(lease, TxnMode::Autocommit);
    session.run(&Call::new(Op::Run, "BEGIN")).unwrap();
    session.run(&Call::new(Op::Run, "INSERT INTO t VALUES (1)")).unwrap();
    let err = session.run(&Call::new(Op::All, RUNAWAY).timeout(Duration::from_millis(100))).unwrap_err();
    assert!(!deadline_parts(&err).3, "not the pool's transaction");
    assert!(session.in_transaction(), "a stopped SELECT leaves the caller's transaction open");
    session.run(&Call::new(Op::Run, "COMMIT")).unwrap();
    assert_eq!(db.pool.query("SELECT count(*) FROM t", []).unwrap().rows[0][0], 1i64.into());
}

#[test]
fn a_one_shot_deadline_bounds_the_wait_and_the_statement_together() {
    let db = pool_with(quick().max_size(1));
    let opts = AcquireOptions { deadline: Some(Duration::from_millis(120)), ..AcquireOptions::default() };
    let started = Instant::now();
    let err = db.pool.call(opts.clone(), &Call::new(Op::All, RUNAWAY)).unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_DEADLINE");
    assert!(started.elapsed() < Duration::from_millis(240));
    // With the only connection held, the deadline bounds the wait instead.
    let held = db.pool.get().unwrap();
    let started = Instant::now();
    let err = db.pool.call(opts, &Call::new(Op::All, "SELECT 1")).unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_TIMEOUT");
    assert!(started.elapsed() < Duration::from_millis(600), "{:?}", started.elapsed());
    drop(held);
}

#[test]
fn an_async_call_with_a_deadline_is_stopped_too() {
    let db = pool_with(quick());
    let (tx, rx) = std::sync::mpsc::channel();
    let opts = AcquireOptions { deadline: Some(Duration::from_millis(100)), ..AcquireOptions::default() };
    let started = Instant::now();
    let _ = db.pool.call_with(opts, Call::new(Op::All, RUNAWAY), move |out| {
        let _ = tx.send(out.map(|_| ()));
    });
    let out = rx.recv_timeout(Duration::from_secs(10)).expect("the call finished");
    assert_eq!(out.unwrap_err().code(), "LITEPOOL_DEADLINE");
    assert!(started.elapsed() < Duration::from_millis(200), "{:?}", started.elapsed());
    let lane_write = db.pool.acquire(AcquireOptions { lane: Lane::Write, ..AcquireOptions::default() });
    assert!(lane_write.is_ok());
}

#[test]
fn a_callers_progress_handler_does_not_turn_deadlines_off() {
    // Regression: the Python drop-in's set_progress_handler replaced the
    // pool's own handler, so statement_timeout stopped nothing on that lease.
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    use std::sync::Arc;
    let limit = Duration::from_millis(150);
    let db = pool_with(quick().max_size(1).statement_timeout(Some(limit)));
    let lease = db.pool.get().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    lease
        .set_progress_handler(
            100,
            Some(move || {
                counted.fetch_add(1, Relaxed);
                false
            }),
        )
        .unwrap();
    let mut session = Session::new(lease, TxnMode::Autocommit);
    let started = Instant::now();
    let err = session.run(&Call::new(Op::All, RUNAWAY)).unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_DEADLINE", "{err}");
    assert!(started.elapsed() < limit * 2, "stopped after {:?}", started.elapsed());
    assert!(calls.load(Relaxed) > 0, "the caller's handler ran too");
    // Removing the caller's handler leaves the pool's in force.
    session.lease().set_progress_handler(0, None::<fn() -> bool>).unwrap();
    let err = session.run(&Call::new(Op::All, RUNAWAY)).unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_DEADLINE", "{err}");
    // A caller's handler that says stop still interrupts on its own.
    session.lease().set_progress_handler(100, Some(|| true)).unwrap();
    let err = session.run(&Call::new(Op::All, RUNAWAY)).unwrap_err();
    assert_eq!(err.code(), "SQLITE_INTERRUPT", "{err}");
}
