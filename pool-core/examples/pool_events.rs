//! Pool event hooks: [`PoolEvents`] with a callback per event (all default to
//! no-ops; implement the ones you need) — for logs, your own metrics or
//! alerting.
//!
//! Hooks run on the thread where the event happens, often inside an acquire
//! or a release, so keep them short (count, log, send on a channel). A hook
//! that panics is caught and logged; it never takes the pool down.
//!
//! ```sh
//! cargo run -p litepool --example pool_events
//! ```
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use litepool::{CloseReason, LeakReport, Pool, PoolConfig, PoolEvents, State};

/// Counts events and keeps the leak reports, shared with `main` by an `Arc`.
#[derive(Default)]
struct Recorder {
    created: AtomicU64,
    acquired: AtomicU64,
    released: AtomicU64,
    timeouts: AtomicU64,
    destroyed: Mutex<Vec<CloseReason>>,
    leaks: Mutex<Vec<String>>,
}

/// The hooks the pool calls; `Arc<Recorder>` so `main` keeps a handle.
struct Events(Arc<Recorder>);

impl PoolEvents for Events {
    fn on_create(&self, connection_id: u64) {
        self.0.created.fetch_add(1, Relaxed);
        println!("  event: opened connection {connection_id}");
    }
    fn on_acquire(&self, _connection_id: u64, _waited: Duration) {
        self.0.acquired.fetch_add(1, Relaxed);
    }
    fn on_release(&self, _connection_id: u64, _held: Duration) {
        self.0.released.fetch_add(1, Relaxed);
    }
    fn on_destroy(&self, connection_id: u64, reason: CloseReason) {
        println!("  event: closed connection {connection_id} ({reason:?})");
        self.0.destroyed.lock().unwrap().push(reason);
    }
    fn on_timeout(&self, waited: Duration, state: State) {
        self.0.timeouts.fetch_add(1, Relaxed);
        println!("  event: an acquire gave up after {} ms ({state:?})", waited.as_millis());
    }
    fn on_leak(&self, report: &LeakReport) {
        println!(
            "  event: connection {} held for {} ms, taken at {}",
            report.connection_id,
            report.held_for.as_millis(),
            report.site
        );
        self.0.leaks.lock().unwrap().push(report.site.clone());
    }
}

fn main() -> litepool::Result<()> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let recorder = Arc::new(Recorder::default());
    let config = PoolConfig::default()
        .max_size(1)
        .acquire_timeout(Duration::from_millis(100))
        .leak_threshold(Some(Duration::from_millis(200)));
    let pool =
        Pool::builder(dir.path().join("events.db")).config(config).events(Events(Arc::clone(&recorder))).build()?;

    pool.execute_batch("CREATE TABLE t (x INTEGER)")?;
    pool.execute("INSERT INTO t VALUES (?1)", [42])?;

    // Hold the only connection past leak_threshold: one leak report, with
    // this file and line as the acquire site; meanwhile an acquire times out.
    let held = pool.get()?;
    let timed_out = pool.get().unwrap_err();
    println!("second acquire: {}", timed_out.code());
    thread::sleep(Duration::from_millis(1000)); // the housekeeper scans for leaks
    drop(held);

    pool.close(Duration::from_secs(5))?;
    let r = &recorder;
    println!(
        "created {}, acquired {}, released {}, timeouts {}, closed {:?}, leaks at {:?}",
        r.created.load(Relaxed),
        r.acquired.load(Relaxed),
        r.released.load(Relaxed),
        r.timeouts.load(Relaxed),
        r.destroyed.lock().unwrap(),
        r.leaks.lock().unwrap()
    );
    assert!(r.created.load(Relaxed) >= 1);
    assert_eq!(r.acquired.load(Relaxed), r.released.load(Relaxed));
    assert_eq!(r.timeouts.load(Relaxed), 1);
    let leaks = r.leaks.lock().unwrap();
    assert_eq!(leaks.len(), 1, "one report per leaked lease");
    assert!(leaks[0].contains("pool_events.rs"), "the site names this file: {}", leaks[0]);
    assert!(r.destroyed.lock().unwrap().contains(&CloseReason::PoolClosed));
    Ok(())
}

// `cargo test` runs the example (Cargo.toml sets `test = true` for it), so
// it keeps compiling and its assertions keep holding.
#[test]
fn example_runs() {
    main().expect("the example runs");
}
