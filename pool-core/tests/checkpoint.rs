//! The pool owns the WAL (issue 13): `checkpoint = "pool" | "external" |
//! "sqlite"`, PASSIVE checkpoints off the request path, reader back-pressure
//! with a TRUNCATE checkpoint above `wal_high_water`, and the lease that
//! pins the WAL reported with its acquire site.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{eventually, pool_with, quick};
use litepool::{CheckpointMode, LeakReport, Pool, PoolConfig, PoolEvents};

fn wal_config(mode: CheckpointMode) -> PoolConfig {
    quick().max_size(12).checkpoint(mode).acquire_timeout(Duration::from_secs(5))
}

fn pragma(pool: &Pool, name: &str) -> i64 {
    pool.get().unwrap().query_row(&format!("PRAGMA {name}"), [], |r| r.get(0)).unwrap()
}

#[test]
fn pool_and_external_modes_turn_autocheckpoint_off_and_leases_get_it_back() {
    for (mode, expected) in [(CheckpointMode::Pool, 0), (CheckpointMode::External, 0), (CheckpointMode::Sqlite, 1000)] {
        let db = pool_with(wal_config(mode).journal_size_limit(1 << 20));
        assert_eq!(pragma(&db.pool, "wal_autocheckpoint"), expected, "{mode:?}");
        assert_eq!(pragma(&db.pool, "journal_size_limit"), 1 << 20, "{mode:?}");
        // A lease that changes it gets the pool's value back on return.
        let conn = db.pool.get().unwrap();
        let id = conn.connection_id();
        conn.execute_batch("PRAGMA wal_autocheckpoint = 7").unwrap();
        drop(conn);
        let conn = db.pool.get().unwrap();
        assert_eq!(conn.connection_id(), id, "the same connection, reset rather than replaced");
        let now: i64 = conn.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0)).unwrap();
        assert_eq!(now, expected, "{mode:?}");
    }
}

#[test]
fn bad_checkpoint_options_name_the_field() {
    let err =
        PoolConfig::default().with_options([("checkpoint", litepool::OptionValue::Text("always".into()))]).unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_INVALID_CONFIG");
    assert!(err.to_string().contains("checkpoint") && err.to_string().contains("\"always\""), "{err}");
    let err = PoolConfig::default().checkpoint_pages(0).validate().unwrap_err();
    assert!(err.to_string().contains("checkpoint_pages"), "{err}");
}

fn insert_commits(pool: &Pool, n: usize) {
    for i in 0..n {
        pool.write().unwrap().execute("INSERT INTO t(v) VALUES (?1)", [format!("{i:0>600}")]).unwrap();
    }
}

#[test]
fn passive_checkpoints_run_off_the_request_path() {
    let db = pool_with(wal_config(CheckpointMode::Pool).checkpoint_pages(50));
    db.pool.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)").unwrap();
    insert_commits(&db.pool, 400);
    eventually("a PASSIVE checkpoint copied pages back", || {
        let s = db.pool.statistics();
        s.checkpoints_passive >= 1 && s.checkpoint_pages >= 50
    });
    let status = db.pool.wal_status();
    assert!(status.enabled && status.mode == CheckpointMode::Pool, "{status:?}");
    // Not at once: a commit after a checkpoint restarts the WAL, which
    // counts nothing copied back until the next checkpoint (seen in a fresh
    // clone: frames 90, backfilled 0, right after the inserts).
    eventually("wal_status reports frames copied back", || db.pool.wal_status().backfilled > 0);
    let metrics = db.pool.metrics_text();
    assert!(metrics.contains("litepool_checkpoint_total{pool=\"litepool\",mode=\"passive\"}"), "{metrics}");
    assert!(metrics.contains("litepool_wal_bytes{pool=\"litepool\"}"), "{metrics}");
}

#[test]
fn external_mode_runs_no_checkpoints_but_watches_the_wal() {
    let db = pool_with(wal_config(CheckpointMode::External).checkpoint_pages(50));
    db.pool.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)").unwrap();
    insert_commits(&db.pool, 300);
    thread::sleep(Duration::from_millis(100));
    let s = db.pool.statistics();
    assert_eq!((s.checkpoints_passive, s.checkpoints_truncate), (0, 0), "{s:?}");
    let status = db.pool.wal_status();
    assert!(status.frames >= 300 && status.backfilled == 0, "nobody checkpointed: {status:?}");
    assert!(s.wal_bytes >= 300 * 4096 && s.wal_peak_bytes >= s.wal_bytes, "{s:?}");
}

/// Records WAL-pinning reports.
#[derive(Default, Clone)]
struct Pins(Arc<Mutex<Vec<LeakReport>>>);

impl PoolEvents for Pins {
    fn on_wal_pinned(&self, report: &LeakReport) {
        self.0.lock().unwrap().push(report.clone());
    }
}

#[test]
fn a_read_that_pins_the_wal_is_reported_with_its_site_and_back_pressure_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let pins = Pins::default();
    let config =
        wal_config(CheckpointMode::Pool).wal_high_water(512 << 10).leak_threshold(Some(Duration::from_secs(60)));
    let pool = Pool::builder(dir.path().join("pin.db")).config(config).events(pins.clone()).build().unwrap();
    pool.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)").unwrap();
    // An open read transaction: its snapshot pins the WAL.
    let mut reader = pool.read().unwrap();
    let reader_id = reader.connection_id();
    let tx = reader.transaction().unwrap();
    let _: i64 = tx.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
    insert_commits(&pool, 400); // ~1.6 MB of WAL, past the high-water mark
    eventually("the pinning lease is reported", || !pins.0.lock().unwrap().is_empty());
    // Meanwhile new reads were held back, but never past CHECKPOINT_WAIT.
    let start = Instant::now();
    let n: i64 = pool.read().unwrap().query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 400);
    assert!(start.elapsed() < litepool::CHECKPOINT_WAIT + Duration::from_millis(500), "{:?}", start.elapsed());
    let report = pins.0.lock().unwrap()[0].clone();
    assert_eq!(report.connection_id, reader_id);
    assert!(report.site.contains("checkpoint.rs"), "the site that acquired the reader: {}", report.site);
    let s = pool.statistics();
    assert!(s.wal_pinned >= 1 && s.checkpoints_incomplete >= 1, "{s:?}");
    drop(tx);
    drop(reader);
    // Once the read ends, the next TRUNCATE (after its cool-down) resets the WAL.
    let pinned_truncates = s.checkpoints_truncate;
    insert_commits(&pool, 50);
    eventually("a TRUNCATE checkpoint that finished", || {
        let s = pool.statistics();
        s.checkpoints_truncate > pinned_truncates && pool.wal_status().bytes < 512 << 10
    });
}

/// What one run of the WAL bound test saw.
#[derive(Debug)]
struct Run {
    peak_bytes: u64,
    commits: u64,
    reads: u64,
    errors: u64,
    stats: litepool::Statistics,
}

/// The tests that load both cores run one at a time (their bounds assume
/// the checkpointer thread gets a core now and then).
static HEAVY: Mutex<()> = Mutex::new(());

/// 8 writers, and readers whose leases (each held 50–200 ms inside one read
/// transaction) always overlap, for `secs`.
fn overlapping_load(mode: CheckpointMode, high_water: u64, secs: f64) -> Run {
    let db = pool_with(wal_config(mode).wal_high_water(high_water).max_size(16));
    let pool = db.pool.clone();
    pool.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (commits, reads, errors) =
        (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut threads = Vec::new();
    for w in 0..8 {
        let (pool, stop, commits, errors) = (pool.clone(), stop.clone(), commits.clone(), errors.clone());
        threads.push(thread::spawn(move || {
            let v = format!("{w:0>800}");
            while !stop.load(Relaxed) {
                match pool.write().and_then(|c| c.execute("INSERT INTO t(v) VALUES (?1)", [&v])) {
                    Ok(_) => commits.fetch_add(1, Relaxed),
                    Err(e) => {
                        eprintln!("writer: {e}");
                        errors.fetch_add(1, Relaxed)
                    }
                };
            }
        }));
    }
    for r in 0..3u64 {
        let (pool, stop, reads, errors) = (pool.clone(), stop.clone(), reads.clone(), errors.clone());
        threads.push(thread::spawn(move || {
            thread::sleep(Duration::from_millis(40 * r)); // staggered: one is always open
            let mut hold = 50 + 50 * r;
            while !stop.load(Relaxed) {
                let outcome = pool.read().and_then(|mut c| {
                    let tx = c.transaction()?;
                    let _: i64 = tx.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
                    thread::sleep(Duration::from_millis(hold));
                    Ok(())
                });
                match outcome {
                    Ok(()) => reads.fetch_add(1, Relaxed),
                    Err(e) => {
                        eprintln!("reader: {e}");
                        errors.fetch_add(1, Relaxed)
                    }
                };
                hold = 50 + (hold * 7 + 31) % 151; // 50..=200 ms
            }
        }));
    }
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let mut peak_bytes = 0;
    let wal = db.path().with_file_name("test.db-wal");
    while Instant::now() < end {
        peak_bytes = peak_bytes.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        thread::sleep(Duration::from_millis(2));
    }
    stop.store(true, Relaxed);
    threads.into_iter().for_each(|t| t.join().unwrap());
    let stats = pool.statistics();
    Run { peak_bytes, commits: commits.load(Relaxed), reads: reads.load(Relaxed), errors: errors.load(Relaxed), stats }
}

#[test]
fn the_wal_stays_bounded_under_always_overlapping_readers() {
    let _alone = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    const HIGH_WATER: u64 = 4 << 20;
    let sqlite = overlapping_load(CheckpointMode::Sqlite, HIGH_WATER, 3.0);
    let pool = overlapping_load(CheckpointMode::Pool, HIGH_WATER, 3.0);
    eprintln!("sqlite: {sqlite:?}\npool: {pool:?}");
    assert_eq!((sqlite.errors, pool.errors), (0, 0));
    assert!(sqlite.reads > 10 && pool.reads > 10 && pool.commits > 1000, "{sqlite:?} {pool:?}");
    // SQLite's PASSIVE autocheckpoint never resets a WAL whose readers overlap.
    assert!(sqlite.peak_bytes > 2 * HIGH_WATER, "the sqlite run's WAL grew to only {}", sqlite.peak_bytes);
    // The pool's WAL stays under the high-water mark plus what the writers
    // append while the longest open read (200 ms) ends before the TRUNCATE,
    // plus the last PASSIVE step and the gap between two looks (100 ms):
    // their rate, not a fixed size, since a release build writes about twice
    // as fast as a debug one (seen: 10.5–12.2 MB at 33 MB/s of WAL in release
    // builds, which a fixed 10 MB bound failed; 6.6–8.4 MB over 4 MiB in
    // debug builds). Never below 2.5× the high-water mark.
    let frames_per_sec = pool.commits as f64 / 3.0;
    let appended = (frames_per_sec * (4096.0 + 24.0) * 0.3) as u64;
    let bound = (HIGH_WATER * 5 / 2).max(HIGH_WATER + appended);
    assert!(
        pool.peak_bytes <= bound,
        "pool WAL peaked at {} (high water {HIGH_WATER}, bound {bound})",
        pool.peak_bytes
    );
    assert!(pool.stats.wal_peak_bytes <= pool.peak_bytes + (1 << 20), "{:?}", pool.stats);
    assert!(pool.stats.checkpoints_truncate >= 1 && pool.stats.backpressure_waits >= 1, "{:?}", pool.stats);
}

#[test]
fn tenant_databases_are_checkpointed_too() {
    // wal_autocheckpoint is per connection: with it off, the pool must
    // checkpoint the tenants' WALs as well, or they would only grow.
    let db = pool_with(wal_config(CheckpointMode::Pool).checkpoint_pages(50));
    let tenant = db.dir.path().join("tenant_a.db");
    db.pool.register_tenant("a", &tenant).unwrap();
    let lease = db.pool.get_for_tenant("a", litepool::Lane::Write).unwrap();
    lease.execute_batch("CREATE TABLE tenant_a.t(id INTEGER PRIMARY KEY, v TEXT)").unwrap();
    for i in 0..200 {
        lease.execute("INSERT INTO tenant_a.t(v) VALUES (?1)", [format!("{i:0>600}")]).unwrap();
    }
    drop(lease);
    // The main database saw one small commit: a PASSIVE checkpoint can only
    // be the tenant's (the WAL hook reported its 200+ frames).
    eventually("the tenant's WAL was checkpointed", || db.pool.statistics().checkpoints_passive >= 1);
    assert_eq!(db.pool.statistics().checkpoints_failed, 0);
}

/// Writers that never pause: every PASSIVE checkpoint ends a few frames
/// short of the WAL (the writers appended meanwhile), so without a catch-up
/// under the write gate the WAL never restarts from its beginning: it grows
/// to `wal_high_water` and is truncated with every writer held back.
#[test]
fn writers_that_never_pause_still_let_the_wal_restart() {
    let _alone = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    const HIGH_WATER: u64 = 32 << 20;
    let db = pool_with(wal_config(CheckpointMode::Pool).checkpoint_pages(100).wal_high_water(HIGH_WATER));
    db.pool.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..4)
        .map(|w| {
            let (pool, stop) = (db.pool.clone(), Arc::clone(&stop));
            thread::spawn(move || {
                let v = format!("{w:0>800}");
                let mut n = 0u64;
                while !stop.load(Relaxed) {
                    pool.write().unwrap().execute("INSERT INTO t(v) VALUES (?1)", [&v]).unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    // A restart shows as fewer frames in the WAL than at the last look,
    // with no TRUNCATE in between (which empties it too).
    let (mut restarts, mut last, end) = ((0, 0), (0, 0), Instant::now() + Duration::from_secs(2));
    while Instant::now() < end {
        let now = (db.pool.wal_status().frames, db.pool.statistics().checkpoints_truncate);
        if now.0 < last.0 {
            if now.1 == last.1 {
                restarts.0 += 1;
            } else {
                restarts.1 += 1;
            }
        }
        last = now;
        thread::sleep(Duration::from_millis(2));
    }
    stop.store(true, Relaxed);
    let commits: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let s = db.pool.statistics();
    eprintln!("{commits} commits; restarts seen {} (by TRUNCATE {}); {s:?}", restarts.0, restarts.1);
    // Enough WAL written to cross the mark several times over had it never
    // restarted (seen: 60-100 k commits in debug builds; 7-9 MB WAL peaks,
    // 36 MB once with the disk busy with other work).
    assert!(commits * 4096 > 3 * HIGH_WATER, "only {commits} commits");
    assert!(restarts.0 >= 5, "the WAL restarted {} times without a TRUNCATE: {s:?}", restarts.0);
    assert!(s.checkpoints_truncate <= 2, "{s:?}");
}
