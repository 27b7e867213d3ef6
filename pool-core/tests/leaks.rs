//! Leak detection: a lease held past leak_threshold is reported once, with
//! its acquire site, through the event hook, and counted.
mod common;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use litepool::{AcquireOptions, AcquireSite, LeakReport, Pool, PoolEvents};

#[derive(Clone, Default)]
struct Leaks(Arc<Mutex<Vec<LeakReport>>>);

impl PoolEvents for Leaks {
    fn on_leak(&self, report: &LeakReport) {
        self.0.lock().unwrap().push(report.clone());
    }
}

fn leaky_pool(threshold: Option<Duration>) -> (tempfile::TempDir, Pool, Leaks) {
    let dir = tempfile::tempdir().unwrap();
    let leaks = Leaks::default();
    let pool = Pool::builder(dir.path().join("l.db"))
        .config(quick().leak_threshold(threshold))
        .events(leaks.clone())
        .build()
        .unwrap();
    (dir, pool, leaks)
}

#[test]
fn a_held_lease_is_reported_once_with_its_rust_call_site() {
    let (_dir, pool, leaks) = leaky_pool(Some(Duration::from_millis(50)));
    let conn = pool.get().unwrap();
    eventually("leak reported", || !leaks.0.lock().unwrap().is_empty());
    std::thread::sleep(Duration::from_millis(150));
    let reports = leaks.0.lock().unwrap().clone();
    assert_eq!(reports.len(), 1, "reported once");
    assert!(reports[0].site.contains("leaks.rs"), "site: {}", reports[0].site);
    assert_eq!(reports[0].connection_id, conn.connection_id());
    assert!(reports[0].held_for >= Duration::from_millis(50));
    assert_eq!(pool.statistics().leaks, 1);
    assert!(conn.acquire_site().unwrap().contains("leaks.rs"));
}

#[test]
fn a_binding_can_pass_its_own_stack() {
    let (_dir, pool, leaks) = leaky_pool(Some(Duration::from_millis(30)));
    let opts =
        AcquireOptions { site: Some(AcquireSite::Text("at handler (app.js:12:5)".into())), ..Default::default() };
    let _conn = pool.acquire(opts).unwrap();
    eventually("leak reported", || !leaks.0.lock().unwrap().is_empty());
    assert_eq!(leaks.0.lock().unwrap()[0].site, "at handler (app.js:12:5)");
}

#[test]
fn short_leases_are_not_reported() {
    let (_dir, pool, leaks) = leaky_pool(Some(Duration::from_millis(200)));
    for _ in 0..20 {
        drop(pool.get().unwrap());
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(leaks.0.lock().unwrap().is_empty());
    assert_eq!(pool.statistics().leaks, 0);
}

#[test]
fn leak_detection_is_off_by_default() {
    let (_dir, pool, leaks) = leaky_pool(None);
    let conn = pool.get().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(leaks.0.lock().unwrap().is_empty());
    assert!(conn.acquire_site().is_none());
}

#[test]
fn a_lease_held_just_past_a_short_threshold_is_reported_though_housekeeping_is_slow() {
    let dir = tempfile::tempdir().unwrap();
    let leaks = Leaks::default();
    let cfg = quick().housekeeping_period(Duration::from_secs(30)).leak_threshold(Some(Duration::from_millis(100)));
    let pool = Pool::builder(dir.path().join("slow.db")).config(cfg).events(leaks.clone()).build().unwrap();
    std::thread::sleep(Duration::from_millis(20)); // the housekeeper has had its first round
    let conn = pool.get().unwrap();
    std::thread::sleep(Duration::from_millis(250));
    drop(conn);
    assert_eq!(leaks.0.lock().unwrap().len(), 1);
}
