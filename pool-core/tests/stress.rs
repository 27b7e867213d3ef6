//! Many threads, many cycles, random panics while holding leases: the pool
//! ends with nothing active and every connection accounted for.
mod common;
use std::thread;
use std::time::Duration;

use common::*;
use litepool::{AcquireOptions, Lane};

#[test]
fn random_panics_under_load_leave_the_books_balanced() {
    let db = pool_with(quick().max_size(4).acquire_timeout(Duration::from_secs(30)));
    db.pool.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
    let handles: Vec<_> = (0..12u64)
        .map(|seed| {
            let pool = db.pool.clone();
            thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(seed);
                let mut panics = 0;
                for i in 0..300 {
                    let lane = [Lane::Any, Lane::Read, Lane::Write][rng.usize(..3)];
                    let pool = pool.clone();
                    let panic_now = rng.u32(..20) == 0;
                    let r = std::panic::catch_unwind(move || {
                        let conn = pool.acquire(AcquireOptions::lane(lane)).unwrap();
                        if lane == Lane::Write {
                            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
                            conn.execute("INSERT INTO t VALUES (?1)", [i]).unwrap();
                        } else {
                            let _: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
                        }
                        if panic_now {
                            panic!("injected panic while holding a lease");
                        }
                        if lane == Lane::Write {
                            conn.execute_batch("COMMIT").unwrap();
                        }
                    });
                    panics += usize::from(r.is_err());
                }
                panics
            })
        })
        .collect();
    let panics: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(panics > 0, "the test should inject panics");
    let state = db.pool.state();
    let stats = db.pool.statistics();
    assert_eq!(state.active, 0);
    assert_eq!(state.waiting, 0);
    assert_eq!(stats.acquired, 12 * 300 + 1);
    let closed = stats.closed_idle + stats.closed_lifetime + stats.closed_broken;
    assert_eq!(u64::from(state.total), stats.created - closed, "{stats:?} {state:?}");
    assert!(state.total <= 4);
    assert!(stats.rolled_back_on_return > 0);
}
