//! Load shedding (`shed.rs`): `max_waiting` bounds the queue and
//! `shed_load` refuses callers whose timeout the expected wait already
//! exceeds, at once, with `LITEPOOL_OVERLOADED`.

mod common;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{eventually, pool_with, quick};
use litepool::{AcquireOptions, Error, Lane};

#[test]
fn a_full_queue_refuses_the_next_caller_at_once() {
    let db = pool_with(quick().max_size(1).max_waiting(2));
    let held = db.pool.get().unwrap();
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let pool = db.pool.clone();
            std::thread::spawn(move || pool.get().map(drop))
        })
        .collect();
    eventually("two callers queued", || db.pool.state().waiting == 2);
    let started = Instant::now();
    let err = db.pool.get().unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(100), "refused at once, not after the timeout");
    assert_eq!(err.code(), "LITEPOOL_OVERLOADED");
    assert!(err.to_string().contains("max_waiting") && err.to_string().contains("waiting=2"), "{err}");
    assert!(err.retry_after().is_some());
    drop(held);
    for w in waiters {
        w.join().unwrap().expect("queued callers are served");
    }
    assert_eq!(db.pool.statistics().shed, 1);
    assert!(db.pool.metrics_text().contains("litepool_shed_total{pool=\"litepool\",reason=\"queue_full\"} 1"));
}

#[test]
fn a_full_write_gate_queue_refuses_the_next_writer() {
    let db = pool_with(quick().max_waiting(1));
    let writer = db.pool.write().unwrap();
    let queued = {
        let pool = db.pool.clone();
        std::thread::spawn(move || pool.write().map(drop))
    };
    eventually("a writer queued at the gate", || db.pool.state().waiting == 1);
    let err = db.pool.acquire(AcquireOptions::lane(Lane::Write)).unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_OVERLOADED");
    // Readers do not queue at the gate: they are not refused.
    assert!(db.pool.read().is_ok());
    drop(writer);
    queued.join().unwrap().unwrap();
}

/// Leases held `hold` each, `n` of them, to teach the pool its hold time.
fn warm_up(pool: &litepool::Pool, hold: Duration, n: usize) {
    for _ in 0..n {
        let lease = pool.get().unwrap();
        std::thread::sleep(hold);
        drop(lease);
    }
    std::thread::sleep(Duration::from_millis(15)); // past the sampling interval
}

/// The two burst tests run one at a time: 60 threads each on 2 cores would
/// stretch each other's holds past what the pool measured.
static ONE_BURST_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A burst of `callers` at once, each holding a lease `hold` with `timeout`:
/// (outcome, how long the call took) per caller.
fn burst(
    pool: &litepool::Pool,
    callers: usize,
    hold: Duration,
    timeout: Duration,
) -> Vec<(Result<(), Error>, Duration)> {
    let start = Arc::new(Barrier::new(callers));
    let threads: Vec<_> = (0..callers)
        .map(|_| {
            let (pool, start) = (pool.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                let began = Instant::now();
                let lease = pool.acquire(AcquireOptions { timeout: Some(timeout), ..AcquireOptions::default() });
                let took = began.elapsed();
                let out = lease.map(|lease| {
                    std::thread::sleep(hold);
                    drop(lease);
                });
                (out, took)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn an_overload_burst_is_shed_quickly_while_admitted_callers_meet_their_timeouts() {
    let _alone = ONE_BURST_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (hold, timeout, callers) = (Duration::from_millis(10), Duration::from_millis(150), 60);
    let db = pool_with(quick().max_size(2).min_idle(2).shed_load(true));
    warm_up(&db.pool, hold, 10);
    let outcomes = burst(&db.pool, callers, hold, timeout);
    let shed: Vec<_> = outcomes.iter().filter(|(o, _)| matches!(o, Err(Error::Overloaded { .. }))).collect();
    let served = outcomes.iter().filter(|(o, _)| o.is_ok()).count();
    let timed_out = outcomes.iter().filter(|(o, _)| matches!(o, Err(Error::Timeout { .. }))).count();
    // Two connections at ~10 ms a lease serve ~30 callers in 150 ms: the rest are shed.
    assert!(shed.len() >= callers / 3, "shed {} of {callers}", shed.len());
    assert!(served >= 10, "served {served}");
    let slowest_refusal = shed.iter().map(|(_, took)| *took).max().unwrap_or_default();
    let slowest_served = outcomes.iter().filter(|(o, _)| o.is_ok()).map(|(_, t)| *t).max().unwrap_or_default();
    eprintln!(
        "burst of {callers}: served {served} (slowest wait {slowest_served:?}), shed {} (slowest refusal \
         {slowest_refusal:?}), timed out {timed_out}",
        shed.len()
    );
    assert!(slowest_refusal < timeout / 3, "refusals took up to {slowest_refusal:?}");
    // The estimate is the hold time measured so far: a machine that gets
    // busier during the burst (other tests, other builds) stretches the holds
    // past it. Allowed: one admitted caller in ten missing its timeout
    // (none did in 12 quiet runs; 2 of 28 once with the whole suite running
    // beside it); without shedding, a third of them do (test below).
    assert!(timed_out * 10 <= served, "{timed_out} admitted callers timed out (served {served}, shed {})", shed.len());
    assert_eq!(db.pool.statistics().shed, shed.len() as u64);
}

#[test]
fn without_shedding_the_same_burst_times_out_instead() {
    let _alone = ONE_BURST_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (hold, timeout, callers) = (Duration::from_millis(10), Duration::from_millis(150), 60);
    let db = pool_with(quick().max_size(2).min_idle(2));
    warm_up(&db.pool, hold, 10);
    let outcomes = burst(&db.pool, callers, hold, timeout);
    let timed_out: Vec<_> = outcomes.iter().filter(|(o, _)| matches!(o, Err(Error::Timeout { .. }))).collect();
    assert!(timed_out.len() >= callers / 3, "{} timed out", timed_out.len());
    assert!(timed_out.iter().all(|(_, took)| *took >= timeout), "each waited its whole timeout");
    assert_eq!(db.pool.statistics().shed, 0);
}

#[test]
fn the_expected_wait_is_reported_while_callers_queue() {
    let hold = Duration::from_millis(20);
    let db = pool_with(quick().max_size(1));
    warm_up(&db.pool, hold, 5);
    assert_eq!(db.pool.expected_wait(), Duration::ZERO, "a connection is idle");
    let held = db.pool.get().unwrap();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let pool = db.pool.clone();
            std::thread::spawn(move || pool.get().map(drop))
        })
        .collect();
    eventually("three queued", || db.pool.state().waiting == 3);
    let expected = db.pool.expected_wait();
    assert!(expected >= hold * 3 && expected <= hold * 6, "{expected:?}: 4 x ~{hold:?} expected");
    let metrics = db.pool.metrics_text();
    assert!(metrics.contains("# TYPE litepool_expected_wait_seconds gauge"));
    drop(held);
    for w in waiters {
        w.join().unwrap().unwrap();
    }
}
