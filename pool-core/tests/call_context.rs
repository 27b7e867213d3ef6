//! A caller's own settings carried onto whichever pooled connection runs
//! its calls (`CallContext`): hooks, limits, busy timeout and interrupt
//! apply to its calls only and are undone when each call ends; rows can
//! stream to a sink while the statement steps.
mod common;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use common::*;
use litepool::rusqlite::hooks::Action as Change;
use litepool::rusqlite::types::Value;
use litepool::sql::{Call, CallContext, CallHooks, HookSet, Op, Params, RowSink, Session, TxnMode};
use litepool::AcquireOptions;

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<String>>,
}

impl CallHooks for Recorder {
    fn trace(&self, sql: &str) {
        self.events.lock().unwrap().push(format!("trace {sql}"));
    }
    fn profile(&self, sql: &str, _elapsed: Duration) {
        self.events.lock().unwrap().push(format!("profile {sql}"));
    }
    fn change(&self, change: Change, db: &str, table: &str, rowid: i64) {
        let kind = match change {
            Change::SQLITE_INSERT => "insert",
            Change::SQLITE_UPDATE => "update",
            Change::SQLITE_DELETE => "delete",
            _ => "other",
        };
        self.events.lock().unwrap().push(format!("change {kind} {db}.{table} {rowid}"));
    }
}

fn db() -> TestDb {
    let db = pool_with(quick());
    db.pool.execute_batch("CREATE TABLE t (a, b)").unwrap();
    db
}

#[test]
fn hooks_report_the_context_s_calls_only_and_are_removed_after_each() {
    let db = db();
    let recorder = Arc::new(Recorder::default());
    let ctx = Arc::new(CallContext::new(Some(recorder.clone() as Arc<dyn CallHooks>)));
    ctx.set_hooks(HookSet { trace: true, profile: true, change: true });
    let insert = Call::new(Op::Run, "INSERT INTO t VALUES (?1, 'x')")
        .params(Params::Positional(vec![Value::Integer(7)]))
        .context(Arc::clone(&ctx));
    db.pool.call(AcquireOptions::default(), &insert).unwrap();
    // A call without the context on the same pool: not reported.
    db.pool.call(AcquireOptions::default(), &Call::new(Op::Run, "INSERT INTO t VALUES (8, 'y')")).unwrap();
    let events = recorder.events.lock().unwrap().clone();
    assert_eq!(
        events,
        vec!["trace INSERT INTO t VALUES (7, 'x')", "change insert main.t 1", "profile INSERT INTO t VALUES (?1, 'x')"]
    );
    // Off: nothing more.
    ctx.set_hooks(HookSet::default());
    db.pool.call(AcquireOptions::default(), &insert).unwrap();
    assert_eq!(recorder.events.lock().unwrap().len(), 3);
    // The connections went back clean (no hook left behind, no reset needed).
    assert_eq!(db.pool.statistics().reset_on_return, 0);
}

#[test]
fn limits_and_busy_timeout_apply_to_the_context_s_calls_only() {
    let db = db();
    let ctx = Arc::new(CallContext::new(None));
    ctx.set_limit(0, 10); // SQLITE_LIMIT_LENGTH
    let long = || Call::new(Op::All, "SELECT '12345678901234567890' AS s");
    let err = db.pool.call(AcquireOptions::default(), &long().context(Arc::clone(&ctx))).unwrap_err();
    assert!(err.to_string().contains("too big"), "{err}");
    db.pool.call(AcquireOptions::default(), &long()).unwrap();
    // Busy timeout: the call waits for a lock held outside the pool as long
    // as the context says, not the pool's 5 s; the connection is back at 5 s.
    ctx.set_limit(0, 1_000_000);
    ctx.set_busy_timeout(Some(Duration::from_millis(50)));
    let outside = litepool::rusqlite::Connection::open(db.path()).unwrap();
    outside.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (1, 1)").unwrap();
    let start = std::time::Instant::now();
    let err = db
        .pool
        .call(AcquireOptions::default(), &Call::new(Op::Run, "INSERT INTO t VALUES (2, 2)").context(Arc::clone(&ctx)))
        .unwrap_err();
    assert_eq!(err.code(), "SQLITE_BUSY");
    assert!(start.elapsed() < Duration::from_millis(2000), "{:?}", start.elapsed());
    outside.execute_batch("COMMIT").unwrap();
    for _ in 0..4 {
        let lease = db.pool.get().unwrap();
        let after: i64 = lease.query_row("PRAGMA busy_timeout", [], |r| r.get(0)).unwrap();
        assert_eq!(after, 5000);
    }
}

#[test]
fn interrupt_stops_the_context_s_running_calls() {
    let db = db();
    let ctx = Arc::new(CallContext::new(None));
    let (tx, rx) = mpsc::channel();
    let long =
        Call::new(Op::All, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n")
            .context(Arc::clone(&ctx));
    db.pool.call_with(AcquireOptions::default(), long, move |out| tx.send(out).unwrap());
    let start = std::time::Instant::now();
    while ctx.interrupt() == 0 {
        assert!(start.elapsed() < Duration::from_secs(5), "the call never started");
        std::thread::sleep(Duration::from_millis(1));
    }
    let err = rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap_err();
    assert_eq!(err.code(), "SQLITE_INTERRUPT");
    assert_eq!(ctx.interrupt(), 0, "nothing runs any more");
}

#[test]
fn rows_stream_to_a_sink_while_the_statement_steps() {
    let db = db();
    type Batches = Vec<(Vec<String>, usize)>;
    let batches: Arc<Mutex<Batches>> = Arc::default();
    let seen = Arc::clone(&batches);
    let sink = RowSink(Arc::new(move |cols: &[litepool::sql::Column], rows: Vec<Vec<Value>>| {
        seen.lock().unwrap().push((cols.iter().map(|c| c.name.clone()).collect(), rows.len()));
    }));
    let call = Call::new(
        Op::All,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 1000) SELECT i AS x FROM n",
    )
    .sink(sink);
    let out = db.pool.call(AcquireOptions::default(), &call).unwrap();
    assert!(out.rows.is_empty(), "rows went to the sink");
    let batches = batches.lock().unwrap();
    assert_eq!(batches[0].0, vec!["x".to_owned()]);
    assert!(batches.len() >= 4, "1000 rows come in batches of at most 256");
    assert_eq!(batches.iter().map(|b| b.1).sum::<usize>(), 1000);
    assert!(batches.iter().all(|b| b.1 <= RowSink::BATCH));
}

#[test]
fn a_lease_that_loaded_an_extension_is_not_handed_on() {
    let db = pool_with(quick().max_size(1));
    let lease = db.pool.get().unwrap();
    let id = lease.connection_id();
    let err = lease.load_extension("/nonexistent/libnothing.so", None).unwrap_err();
    assert!(err.to_string().contains("nonexistent"), "{err}");
    drop(lease);
    let again = db.pool.get().unwrap();
    assert_ne!(again.connection_id(), id, "the connection was replaced");
    assert_eq!(db.pool.statistics().closed_dirty, 1);
}

#[test]
fn a_session_s_pragma_is_seen_by_its_later_calls() {
    let db = db();
    let mut s = Session::new(db.pool.get().unwrap(), TxnMode::Autocommit);
    s.run(&Call::new(Op::Run, "PRAGMA cache_size = 123")).unwrap();
    let v = s.run(&Call::new(Op::All, "PRAGMA cache_size")).unwrap();
    assert_eq!(v.rows[0][0], Value::Integer(123));
}
