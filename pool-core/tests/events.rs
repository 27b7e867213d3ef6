//! Event hooks, health and the Prometheus text.
mod common;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use litepool::{CloseReason, Pool, PoolEvents, State};

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl PoolEvents for Log {
    fn on_create(&self, id: u64) {
        self.0.lock().unwrap().push(format!("create {id}"));
    }
    fn on_acquire(&self, id: u64, _waited: Duration) {
        self.0.lock().unwrap().push(format!("acquire {id}"));
    }
    fn on_release(&self, id: u64, _held: Duration) {
        self.0.lock().unwrap().push(format!("release {id}"));
    }
    fn on_destroy(&self, id: u64, reason: CloseReason) {
        self.0.lock().unwrap().push(format!("destroy {id} {reason:?}"));
    }
    fn on_timeout(&self, _waited: Duration, state: State) {
        self.0.lock().unwrap().push(format!("timeout active={}", state.active));
    }
}

#[test]
fn hooks_see_the_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::default();
    let cfg = quick().max_size(1).acquire_timeout(Duration::from_millis(30));
    let pool = Pool::builder(dir.path().join("e.db")).config(cfg).events(log.clone()).build().unwrap();
    let conn = pool.get().unwrap();
    assert!(pool.get().is_err());
    drop(conn);
    pool.close(Duration::from_secs(1)).unwrap();
    let got = log.0.lock().unwrap().clone();
    assert_eq!(got, vec!["create 1", "acquire 1", "timeout active=1", "release 1", "destroy 1 PoolClosed"]);
}

struct Exploding;
impl PoolEvents for Exploding {
    fn on_acquire(&self, _: u64, _: Duration) {
        panic!("hook exploded");
    }
}

#[test]
fn a_panicking_hook_does_not_hurt_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let pool = Pool::builder(dir.path().join("x.db")).config(quick()).events(Exploding).build().unwrap();
    let conn = pool.get().unwrap();
    assert_eq!(conn.query_row("SELECT 7", [], |r| r.get::<_, i64>(0)).unwrap(), 7);
    drop(conn);
    assert_eq!(pool.state().active, 0);
}

#[test]
fn health_follows_active_over_max() {
    let db = pool_with(quick().max_size(10));
    let mut held = Vec::new();
    for _ in 0..7 {
        held.push(db.pool.get().unwrap());
    }
    assert_eq!(db.pool.health().as_str(), "healthy");
    held.push(db.pool.get().unwrap());
    assert_eq!(db.pool.health().as_str(), "warning");
    held.push(db.pool.get().unwrap());
    assert_eq!(db.pool.health().as_str(), "degraded");
}

#[test]
fn metrics_text_is_prometheus_with_a_pool_label() {
    let db = pool_with(quick().name("quota").max_size(3));
    let a = db.pool.get().unwrap();
    let text = db.pool.metrics_text();
    for line in [
        "litepool_connections_active{pool=\"quota\"} 1",
        "litepool_connections_idle{pool=\"quota\"} 0",
        "litepool_connections_total{pool=\"quota\"} 1",
        "litepool_connections_max{pool=\"quota\"} 3",
        "litepool_connections_min{pool=\"quota\"} 0",
        "litepool_connections_pending{pool=\"quota\"} 0",
        "litepool_connection_timeout_total{pool=\"quota\"} 0",
        "# TYPE litepool_connection_acquire_seconds histogram",
        "litepool_connection_acquire_seconds_count{pool=\"quota\"} 1",
        "litepool_connection_usage_seconds_bucket{pool=\"quota\",le=\"+Inf\"} 0",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
    }
    drop(a);
    let text = db.pool.metrics_text();
    assert!(text.contains("litepool_connection_usage_seconds_count{pool=\"quota\"} 1"));
    // Every sample line is `name{labels} value`.
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let (_, value) = l.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "bad sample {l:?}");
    }
}
