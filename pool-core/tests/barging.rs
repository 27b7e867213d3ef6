//! Bounded barging (the default fairness): a running thread may take a
//! connection that just came free ahead of a queued waiter, until the
//! waiter has waited past `starvation_bound`; then it is served first.
mod common;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use litepool::Fairness;

#[test]
fn a_running_thread_may_retake_its_connection_while_a_waiter_is_young() {
    let db = pool_with(
        quick().max_size(1).starvation_bound(Duration::from_secs(5)).acquire_timeout(Duration::from_secs(10)),
    );
    let held = db.pool.get().unwrap();
    let pool = db.pool.clone();
    let waiter = thread::spawn(move || pool.get().map(|c| c.connection_id()));
    eventually("waiter queued", || db.pool.state().waiting == 1);
    drop(held);
    // The releasing thread takes it back at once: the waiter was only nudged.
    let again = db.pool.try_get_barging();
    assert!(again.is_some(), "barging: the running thread re-took the connection");
    drop(again);
    assert!(waiter.join().unwrap().is_ok(), "and the nudged waiter is served next");
}

#[test]
fn a_waiter_is_served_within_the_bound_after_nudges_that_found_the_connection_taken() {
    let bound = Duration::from_millis(200);
    let db = pool_with(quick().max_size(1).starvation_bound(bound).acquire_timeout(Duration::from_secs(10)));
    let mut held = db.pool.get().unwrap();
    let pool = db.pool.clone();
    let waiter = thread::spawn(move || {
        let t = Instant::now();
        pool.get().map(|_| t.elapsed())
    });
    eventually("waiter queued", || db.pool.state().waiting == 1);
    // Give the connection back and take it again at once, twice: the
    // nudged waiter finds it taken each time and the pool stops nudging.
    for _ in 0..2 {
        drop(held);
        held = db.pool.try_get_barging().expect("barging: taken back at once");
        thread::sleep(Duration::from_millis(30));
    }
    // Now it comes free for good: the waiter gets it by its bound at the
    // latest (nudged or looking for itself), not at its 10 s timeout.
    drop(held);
    let waited = waiter.join().unwrap().expect("served");
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
}

#[test]
fn a_waiter_past_the_starvation_bound_is_served_before_newcomers() {
    let db = pool_with(
        quick().max_size(1).starvation_bound(Duration::from_millis(20)).acquire_timeout(Duration::from_secs(10)),
    );
    let held = db.pool.get().unwrap();
    let pool = db.pool.clone();
    let waiter = thread::spawn(move || {
        pool.get().map(|c| {
            thread::sleep(Duration::from_millis(200)); // held while the newcomer tries
            c.connection_id()
        })
    });
    eventually("waiter queued", || db.pool.state().waiting == 1);
    thread::sleep(Duration::from_millis(40));
    let id = held.connection_id();
    drop(held);
    // Starving: handed straight to the waiter; a newcomer finds nothing idle.
    assert!(db.pool.try_get_barging().is_none());
    assert_eq!(waiter.join().unwrap().unwrap(), id);
}

#[test]
fn under_oversubscription_every_thread_is_served_and_the_wait_tail_is_bounded() {
    let db = pool_with(quick().max_size(2).acquire_timeout(Duration::from_secs(10)));
    let stop = Arc::new(AtomicBool::new(false));
    let worst = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (pool, stop, worst) = (db.pool.clone(), Arc::clone(&stop), Arc::clone(&worst));
            thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let c = pool.get().unwrap();
                    worst.fetch_max(t.elapsed().as_micros() as u64, Ordering::Relaxed);
                    drop(c);
                    n += 1;
                }
                n
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let counts: Vec<u64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(counts.iter().all(|&n| n > 0), "no thread starved: {counts:?}");
    // A correctness bound, not a speed claim: nobody waits anywhere near the timeout.
    assert!(worst.load(Ordering::Relaxed) < 2_000_000, "worst wait {} µs", worst.load(Ordering::Relaxed));
    assert_eq!(db.pool.state().active, 0);
}

#[test]
fn the_write_gate_barges_too_and_strict_hands_off() {
    for fairness in [Fairness::Barging, Fairness::Strict] {
        let db = pool_with(quick().fairness(fairness).starvation_bound(Duration::from_secs(5)));
        // Barging lets the running writer go first; it may still lose the
        // race to the woken waiter on a loaded machine, so it gets a few
        // tries. Strict never lets it.
        let tries = if fairness == Fairness::Barging { 5 } else { 3 };
        let mut barged = 0;
        for _ in 0..tries {
            let gate = db.pool.write().unwrap();
            let pool = db.pool.clone();
            let waiter = thread::spawn(move || pool.write().map(|_| thread::sleep(Duration::from_millis(50))));
            eventually("writer queued", || db.pool.state().waiting == 1);
            drop(gate);
            let again = db.pool.acquire(litepool::AcquireOptions {
                lane: litepool::Lane::Write,
                timeout: Some(Duration::from_millis(1)),
                ..Default::default()
            });
            barged += usize::from(again.is_ok());
            drop(again);
            waiter.join().unwrap().unwrap();
        }
        match fairness {
            Fairness::Barging => assert!(barged > 0, "barging: the running writer never went first in {tries} tries"),
            Fairness::Strict => assert_eq!(barged, 0, "strict: the queued writer always gets the gate"),
        }
    }
}

trait TryBarging {
    fn try_get_barging(&self) -> Option<litepool::PooledConnection>;
}

impl TryBarging for litepool::Pool {
    /// An acquire that must not wait (try_get never barges past waiters).
    fn try_get_barging(&self) -> Option<litepool::PooledConnection> {
        self.acquire(litepool::AcquireOptions { timeout: Some(Duration::from_millis(1)), ..Default::default() }).ok()
    }
}
