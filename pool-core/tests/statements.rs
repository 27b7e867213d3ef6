//! The statement registry (`statements.rs`): the warm cache, per-statement
//! counters, the slow-statement log (`slow.rs`) and trace hooks (`trace.rs`).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{eventually, pool_with, quick};
use litepool::sql::{Call, Op, Params};
use litepool::{AcquireOptions, Pool, PoolEvents, SlowStatement, StatementStatistics, TraceEvent};

const LOOKUP: &str = "SELECT v FROM kv WHERE k = ?1";

fn stats_of(pool: &Pool, sql: &str) -> StatementStatistics {
    pool.statement_statistics().into_iter().find(|s| s.sql == sql).unwrap_or_else(|| panic!("no stats for {sql}"))
}

fn lookup(pool: &Pool, key: &str) {
    let call = Call::new(Op::All, LOOKUP).params(Params::Positional(vec![key.to_owned().into()]));
    pool.call(AcquireOptions::default(), &call).unwrap();
}

/// Closes the one idle connection and waits for the housekeeper's new one.
fn replace_the_connection(pool: &Pool) -> u64 {
    let before = pool.statistics().created;
    assert_eq!(pool.evict(), 1);
    eventually("a new connection is open", || pool.statistics().created > before && pool.state().idle == 1);
    pool.statistics().created
}

#[test]
fn a_new_connection_serves_a_hot_statement_without_a_prepare() {
    let db = pool_with(quick().max_size(1).min_idle(1).warm_statements(8));
    db.pool.execute_batch("CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER); INSERT INTO kv VALUES ('a', 1)").unwrap();
    for _ in 0..3 {
        lookup(&db.pool, "a");
    }
    db.pool.query("SELECT 'once'", []).unwrap();
    let s = stats_of(&db.pool, LOOKUP);
    // The first call's route probe compiled it; every other prepare was a hit.
    assert_eq!((s.calls, s.cache_misses, s.cache_hits, s.warmed), (3, 1, 3, 0));
    replace_the_connection(&db.pool);
    let s = stats_of(&db.pool, LOOKUP);
    assert_eq!(s.warmed, 1, "prepared on the new connection when it opened");
    assert_eq!(stats_of(&db.pool, "SELECT 'once'").warmed, 0, "called once: not hot");
    lookup(&db.pool, "a");
    let s = stats_of(&db.pool, LOOKUP);
    assert_eq!((s.calls, s.cache_misses, s.cache_hits), (4, 1, 4), "the new connection did not prepare it");
}

#[test]
fn without_the_warm_cache_a_new_connection_prepares_again() {
    let db = pool_with(quick().max_size(1).min_idle(1).statement_stats(10));
    db.pool.execute_batch("CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER)").unwrap();
    for _ in 0..3 {
        lookup(&db.pool, "a");
    }
    replace_the_connection(&db.pool);
    lookup(&db.pool, "a");
    let s = stats_of(&db.pool, LOOKUP);
    assert_eq!((s.cache_misses, s.warmed), (2, 0), "a miss on the request path of the new connection");
}

#[test]
fn prepare_pins_a_statement_in_the_warm_cache_and_state_changes_are_never_warmed() {
    let db = pool_with(quick().max_size(1).min_idle(1).warm_statements(4));
    db.pool.execute_batch("CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER)").unwrap();
    let sql = db.pool.prepare("SELECT count(*) FROM kv").unwrap();
    assert_eq!(sql.read_only(), Some(true));
    assert!(db.pool.prepare("SELECT * FROM no_such_table").is_err(), "prepare checks the statement");
    for _ in 0..3 {
        db.pool.execute_batch("PRAGMA cache_size = -4000").unwrap();
        db.pool.query("PRAGMA foreign_keys", []).unwrap();
    }
    replace_the_connection(&db.pool);
    assert!(stats_of(&db.pool, "SELECT count(*) FROM kv").pinned);
    assert_eq!(stats_of(&db.pool, "SELECT count(*) FROM kv").warmed, 1, "pinned: warmed without a call");
    assert_eq!(stats_of(&db.pool, "PRAGMA foreign_keys").warmed, 0, "pragmas are prepared in their own lease");
    let out = db.pool.call(AcquireOptions::default(), &Call::new(Op::All, sql)).unwrap();
    assert_eq!(out.rows.len(), 1);
    assert_eq!(stats_of(&db.pool, "SELECT count(*) FROM kv").cache_misses, 1, "only prepare() itself compiled it");
}

#[test]
fn sqlite_statement_counters_are_kept_and_exported_for_the_top_statements() {
    let db = pool_with(quick().statement_stats(2));
    db.pool
        .execute_batch(
            "CREATE TABLE t (x INTEGER, y TEXT); \
             WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000) \
             INSERT INTO t SELECT i, 'v' || i FROM c",
        )
        .unwrap();
    let scan = "SELECT y FROM t WHERE x % 7 = 0 ORDER BY y";
    for _ in 0..3 {
        db.pool.query(scan, []).unwrap();
    }
    db.pool.query("SELECT 1", []).unwrap();
    let s = stats_of(&db.pool, scan);
    assert_eq!(s.calls, 3);
    assert_eq!(s.fullscan_steps, 3 * 1999, "a full scan of 2000 rows, three times");
    assert_eq!(s.sorts, 3);
    assert!(s.vm_steps > s.fullscan_steps && s.run_time > Duration::ZERO);
    let metrics = db.pool.metrics_text();
    let label = format!("sql=\"{scan}\"");
    assert!(metrics.contains(&format!("litepool_statement_fullscan_steps_total{{pool=\"litepool\",{label}}} 5997")));
    assert!(metrics.contains(&format!("litepool_statement_sorts_total{{pool=\"litepool\",{label}}} 3")));
    assert!(metrics.contains("# TYPE litepool_statement_run_seconds histogram"));
    let series = metrics.lines().filter(|l| l.starts_with("litepool_statement_calls_total{")).count();
    assert_eq!(series, 2, "only the top 2 statements are labelled");
}

#[derive(Default, Clone)]
struct SlowSeen(Arc<Mutex<Vec<SlowStatement>>>);

impl PoolEvents for SlowSeen {
    fn on_slow_statement(&self, slow: &SlowStatement) {
        self.0.lock().unwrap().push(slow.clone());
    }
}

#[test]
fn the_slow_log_shows_a_plan_and_redacts_parameters() {
    let seen = SlowSeen::default();
    let dir = tempfile::tempdir().unwrap();
    let config = quick().slow_statement_threshold(Some(Duration::from_millis(5)));
    let pool = Pool::builder(dir.path().join("slow.db")).config(config).events(seen.clone()).build().unwrap();
    pool.execute_batch(
        "CREATE TABLE t (x INTEGER, y TEXT); \
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200000) \
         INSERT INTO t SELECT i, 'v' || i FROM c",
    )
    .unwrap();
    let slow = "SELECT count(*) FROM t a WHERE a.y > ?1 AND a.x % 3 = 0";
    for _ in 0..2 {
        let call = Call::new(Op::All, slow).params(Params::Positional(vec!["secret@example.com".to_owned().into()]));
        pool.call(AcquireOptions::default(), &call).unwrap();
    }
    pool.query("SELECT 1", []).unwrap();
    let log: Vec<SlowStatement> = pool.slow_statements().into_iter().filter(|s| s.sql == slow).collect();
    assert_eq!(log.len(), 2, "both runs were slow: {log:?}");
    let first = &log[0];
    assert!(first.run >= Duration::from_millis(5));
    assert_eq!(first.params, "[?]", "redacted by default");
    let plan = first.plan.as_deref().expect("the plan of the first slow run");
    assert!(plan.contains("SCAN"), "{plan}");
    assert!(log[1].plan.is_none(), "the plan is captured once per statement");
    assert_eq!(stats_of(&pool, slow).plan.as_deref(), Some(plan));
    assert_eq!(stats_of(&pool, slow).slow, 2);
    assert!(first.to_string().contains("slow statement: ran"));
    assert_eq!(seen.0.lock().unwrap().len(), pool.slow_statements().len(), "each went to the event hook too");
    assert!(!pool.slow_statements().iter().any(|s| s.sql == "SELECT 1"));
}

#[test]
fn the_slow_log_shows_parameters_when_asked() {
    let config = quick().slow_statement_threshold(Some(Duration::from_nanos(1))).log_parameters(true);
    let db = pool_with(config);
    let call =
        Call::new(Op::All, "SELECT ?1 || ?2").params(Params::Positional(vec![7i64.into(), "x".to_owned().into()]));
    db.pool.call(AcquireOptions::default(), &call).unwrap();
    let log = db.pool.slow_statements();
    let entry = log.iter().find(|s| s.sql == "SELECT ?1 || ?2").expect("logged");
    assert_eq!(entry.params, "[7, \"x\"]");
}

/// An event as the test keeps it: name, SQL, site, run time.
type Seen = (String, Option<String>, Option<String>, Duration);

#[test]
fn a_trace_hook_sees_acquires_and_statements_with_the_acquire_site() {
    let db = pool_with(quick());
    let events: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let sink = Arc::clone(&events);
    db.pool.set_trace_hook(Some(Arc::new(move |e: &TraceEvent<'_>| {
        sink.lock().unwrap().push((e.name.to_owned(), e.sql.map(str::to_owned), e.site.map(str::to_owned), e.run));
    })));
    db.pool.query("SELECT 42", []).unwrap();
    let lease = db.pool.get().unwrap();
    drop(lease);
    db.pool.set_trace_hook(None);
    db.pool.query("SELECT 43", []).unwrap();
    let events = events.lock().unwrap();
    let acquires: Vec<_> = events.iter().filter(|e| e.0 == "litepool.acquire").collect();
    let statements: Vec<_> = events.iter().filter(|e| e.0 == "litepool.statement").collect();
    assert_eq!(acquires.len(), 2, "{events:?}");
    assert_eq!(statements.len(), 1, "{events:?}");
    assert_eq!(statements[0].1.as_deref(), Some("SELECT 42"));
    for (_, _, site, _) in acquires.iter().chain(&statements) {
        let site = site.as_deref().unwrap_or_default();
        assert!(site.contains("statements.rs"), "the caller's site: {site:?}");
    }
}
