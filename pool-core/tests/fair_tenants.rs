//! Fair tenants (`fair.rs`): weighted fair queueing across tenants and
//! `max_leases_per_tenant`.

mod common;

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{eventually, quick};
use litepool::{Error, Lane, Pool, PoolConfig};

fn tenant_pool(config: PoolConfig, codes: &[&str]) -> (tempfile::TempDir, Pool) {
    let dir = tempfile::tempdir().unwrap();
    let pool = Pool::new(dir.path().join("main.db"), config).unwrap();
    for code in codes {
        pool.register_tenant(code, dir.path().join(format!("{code}.db"))).unwrap();
    }
    (dir, pool)
}

/// `n` threads of tenant `code`, each holding one lease `hold` long.
fn flood(pool: &Pool, code: &'static str, n: usize, hold: Duration) -> Vec<std::thread::JoinHandle<()>> {
    (0..n)
        .map(|_| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let lease = pool.get_for_tenant(code, Lane::Any).expect("the flood is served in time");
                std::thread::sleep(hold);
                drop(lease);
            })
        })
        .collect()
}

/// How long one caller of `calm` waits once `flooder` has 100 waiters queued.
fn calm_wait(config: PoolConfig, hold: Duration) -> Duration {
    let (_dir, pool) = tenant_pool(config.max_size(4).acquire_timeout(Duration::from_secs(30)), &["flood", "calm"]);
    // The flood holds every connection, then queues 100 more callers.
    let first: Vec<_> = (0..4).map(|_| pool.get_for_tenant("flood", Lane::Any).unwrap()).collect();
    let threads = flood(&pool, "flood", 100, hold);
    eventually("100 flood callers queued", || pool.state().waiting == 100);
    drop(first);
    let asked = Instant::now();
    let lease = pool.get_for_tenant("calm", Lane::Any).unwrap();
    let waited = asked.elapsed();
    drop(lease);
    for t in threads {
        t.join().unwrap();
    }
    waited
}

/// The bound this test states: a calm tenant's single request waits at most
/// two lease hold times (the next lease to finish, and, in the worst case,
/// one flood caller served first in the flood lane's turn) plus 20 ms of
/// scheduling slack, whatever the flood's queue length.
#[test]
fn a_tenant_flooding_100_waiters_does_not_delay_another_tenants_request() {
    let hold = Duration::from_millis(20);
    let fair = calm_wait(quick().fair_tenants(true), hold);
    eprintln!("fair: the calm tenant waited {fair:?} behind 100 flood waiters ({hold:?} holds, 4 connections)");
    assert!(fair <= hold * 2 + Duration::from_millis(20), "waited {fair:?}");
}

#[test]
fn without_fair_tenants_the_same_request_waits_behind_the_flood() {
    let hold = Duration::from_millis(20);
    let fifo = calm_wait(quick(), hold);
    eprintln!("fifo: the calm tenant waited {fifo:?} behind 100 flood waiters");
    // 100 waiters ahead on 4 connections: about 25 holds.
    assert!(fifo >= hold * 15, "waited only {fifo:?}");
}

#[test]
fn max_leases_per_tenant_keeps_a_burst_from_taking_every_connection() {
    let (_dir, pool) = tenant_pool(quick().max_size(4).min_idle(4).max_leases_per_tenant(2), &["burst", "other"]);
    // Each burst caller holds its lease until the test lets go.
    let (go, hold) = std::sync::mpsc::channel::<()>();
    let hold = Arc::new(std::sync::Mutex::new(hold));
    let peak = Arc::new(AtomicU32::new(0));
    let threads: Vec<_> = (0..12)
        .map(|_| {
            let (pool, hold, peak) = (pool.clone(), Arc::clone(&hold), Arc::clone(&peak));
            std::thread::spawn(move || {
                let lease = pool.get_for_tenant("burst", Lane::Any).expect("served in time");
                peak.fetch_max(pool.tenant_statistics_of("burst").unwrap().active, SeqCst);
                let _ = hold.lock().unwrap().recv();
                drop(lease);
            })
        })
        .collect();
    eventually("2 leases out and 10 callers queued", || {
        pool.tenant_statistics_of("burst").unwrap().active == 2 && pool.state().waiting == 10
    });
    assert_eq!(pool.state().idle, 2, "connections stay idle for the other tenants: {:?}", pool.state());
    let other = pool.acquire(litepool::AcquireOptions {
        tenant: Some("other".into()),
        timeout: Some(Duration::from_millis(100)),
        ..Default::default()
    });
    assert!(other.is_ok(), "another tenant leases an idle connection: {other:?}");
    drop(other);
    for _ in 0..12 {
        go.send(()).unwrap();
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(peak.load(SeqCst), 2, "the burst never held more than its limit");
    assert_eq!(pool.tenant_statistics_of("burst").unwrap().acquired, 12);
}

#[test]
fn tenant_weights_are_checked_and_reported() {
    let (_dir, pool) = tenant_pool(quick().fair_tenants(true), &["a"]);
    pool.set_tenant_weight("a", 3).unwrap();
    assert_eq!(pool.tenant_statistics_of("a").unwrap().weight, 3);
    assert!(matches!(pool.set_tenant_weight("a", 0), Err(Error::InvalidConfig { field: "weight", .. })));
    assert!(matches!(pool.set_tenant_weight("zz", 2), Err(Error::UnknownTenant(_))));
}

#[test]
fn per_tenant_wait_and_hold_times_are_counted_and_exported_for_the_busiest() {
    // Two connections: the series are kept for the two tenants holding longest.
    let (_dir, pool) = tenant_pool(quick().max_size(2).fair_tenants(true), &["a", "b"]);
    let held = pool.get_for_tenant("a", Lane::Any).unwrap();
    let also = pool.get_for_tenant("a", Lane::Any).unwrap();
    let waiter = {
        let pool = pool.clone();
        std::thread::spawn(move || drop(pool.get_for_tenant("b", Lane::Any).unwrap()))
    };
    eventually("b waits", || pool.state().waiting == 1);
    std::thread::sleep(Duration::from_millis(30));
    drop(held);
    waiter.join().unwrap();
    drop(also);
    let (a, b) = (pool.tenant_statistics_of("a").unwrap(), pool.tenant_statistics_of("b").unwrap());
    assert!(a.hold_time >= Duration::from_millis(30), "{a:?}");
    assert!(b.wait_time >= Duration::from_millis(30), "{b:?}");
    let metrics = pool.metrics_text();
    assert!(metrics.contains("litepool_tenant_hold_seconds_total{pool=\"litepool\",tenant=\"a\"}"), "{metrics}");
    assert!(metrics.contains("litepool_tenant_wait_seconds_total{pool=\"litepool\",tenant=\"b\"}"));
}
