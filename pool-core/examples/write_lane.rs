//! The write lane under contention, for profiling (the contention bench is
//! the measurement of record): `write_lane [SECS] [ROUNDS]` runs 8 writer
//! threads (`WRITERS=n` for another count) doing 1-row `BEGIN IMMEDIATE` transactions through litepool's
//! `write()`, through one connection behind a mutex, and through `write()`
//! while 4 reader threads keep a 4-connection pool busy, candidates in turn
//! each round (`ONLY=write,mutex,write-readers,mutex-readers` picks some). Prints commits/s, the writers' wait p50/p99/max and the
//! context switches per commit (getrusage, whole process).
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use litepool::rusqlite::{Connection, TransactionBehavior};
use litepool::{Pool, PoolConfig};

/// The database file (readers of the mutex case open their own connection to it).
static DB: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

const INSERT: &str = "INSERT INTO log (who, at) VALUES (?1, ?2)";

fn switches() -> (i64, i64) {
    // SAFETY: getrusage writes the struct it is given; a zeroed rusage is valid.
    #[allow(unsafe_code)]
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    (ru.ru_nvcsw, ru.ru_nivcsw)
}

struct Run {
    /// 0: the candidate was not picked (`ONLY=write,mutex,write-readers,mutex-readers`).
    per_sec: f64,
    p50: f64,
    p99: f64,
    max: f64,
    vcsw: f64,
    ivcsw: f64,
}

/// `writers` threads doing `op` (which returns its wait) for `secs`, while
/// `readers` threads run `read` in a loop.
impl Run {
    fn skipped() -> Run {
        Run { per_sec: 0.0, p50: 0.0, p99: 0.0, max: 0.0, vcsw: 0.0, ivcsw: 0.0 }
    }
}

fn run(writers: usize, secs: f64, op: impl Fn() -> Duration + Sync, readers: usize, read: impl Fn() + Sync) -> Run {
    let stop = AtomicBool::new(false);
    let barrier = Barrier::new(writers + readers + 1);
    let before = switches();
    let (results, elapsed) = std::thread::scope(|s| {
        for _ in 0..readers {
            s.spawn(|| {
                barrier.wait();
                while !stop.load(Ordering::Relaxed) {
                    read();
                }
            });
        }
        let hs: Vec<_> = (0..writers)
            .map(|_| {
                s.spawn(|| {
                    let mut waits = Vec::with_capacity(1 << 16);
                    barrier.wait();
                    while !stop.load(Ordering::Relaxed) {
                        waits.push(op().as_nanos() as u64);
                    }
                    waits
                })
            })
            .collect();
        barrier.wait();
        let t = Instant::now();
        std::thread::sleep(Duration::from_secs_f64(secs));
        stop.store(true, Ordering::Relaxed);
        let r: Vec<Vec<u64>> = hs.into_iter().map(|h| h.join().expect("writer")).collect();
        (r, t.elapsed())
    });
    let after = switches();
    let mut all: Vec<u64> = results.into_iter().flatten().collect();
    all.sort_unstable();
    let n = all.len().max(1) as f64;
    let pct = |p: f64| all[((all.len() as f64 - 1.0) * p) as usize] as f64 / 1000.0;
    Run {
        per_sec: n / elapsed.as_secs_f64(),
        p50: pct(0.5),
        p99: pct(0.99),
        max: *all.last().unwrap_or(&0) as f64 / 1000.0,
        vcsw: (after.0 - before.0) as f64 / n,
        ivcsw: (after.1 - before.1) as f64 / n,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir()?;
    let path: &Path = &dir.path().join("w.db");
    DB.set(path.to_path_buf()).expect("set once");
    Connection::open(path)?.execute_batch(
        "PRAGMA journal_mode=WAL;
         CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, quota INTEGER NOT NULL);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
         INSERT INTO users SELECT i, 'user' || i, i * 10 FROM n;
         CREATE TABLE log (id INTEGER PRIMARY KEY, who INTEGER, at INTEGER);",
    )?;
    let bound = std::env::var("BOUND_US")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_millis(1), Duration::from_micros);
    let writers: usize = std::env::var("WRITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(8);
    let mode = std::env::var("CHECKPOINT").ok().and_then(|m| litepool::CheckpointMode::parse(&m)).unwrap_or_default();
    let wide =
        Pool::new(path, PoolConfig::default().max_size(10).min_idle(10).starvation_bound(bound).checkpoint(mode))?;
    let narrow = Pool::new(path, PoolConfig::default().max_size(4).min_idle(4))?;
    let one = Mutex::new(Connection::open(path)?);
    one.lock().expect("one").busy_timeout(Duration::from_secs(5))?;
    one.lock().expect("one").pragma_update(None, "synchronous", "NORMAL")?;
    std::thread::sleep(Duration::from_millis(200));
    let write = |pool: &Pool| {
        let (w, mut c) = {
            let t = Instant::now();
            let c = pool.write().expect("write");
            (t.elapsed(), c)
        };
        let tx = c.transaction().expect("begin");
        tx.execute(INSERT, [1, 2]).expect("insert");
        tx.commit().expect("commit");
        w
    };
    let id = AtomicU64::new(0);
    let read = |pool: &Pool| {
        let c = pool.read().expect("read");
        let i = (id.fetch_add(7, Ordering::Relaxed) % 10_000 + 1) as i64;
        let _: i64 = c
            .prepare_cached("SELECT quota FROM users WHERE id = ?1")
            .and_then(|mut s| s.query_row([i], |r| r.get(0)))
            .expect("select");
    };
    println!(
        "{:<32} {:>9} {:>9} {:>9} {:>10} {:>6} {:>6}",
        "candidate", "k/s", "p50 µs", "p99 µs", "max µs", "vcsw", "ivcsw"
    );
    // One writer through the connection behind the mutex: its wait for the lock.
    let locked = || {
        let t = Instant::now();
        let mut c = one.lock().expect("one");
        let w = t.elapsed();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).expect("begin");
        tx.execute(INSERT, [1, 2]).expect("insert");
        tx.commit().expect("commit");
        w
    };
    for round in 0..rounds {
        let only = std::env::var("ONLY").unwrap_or_default();
        let pick = |name: &str| only.is_empty() || only.split(',').any(|o| o == name);
        let runs = [
            (
                "write(), max 10",
                if pick("write") { run(writers, secs, || write(&wide), 0, || ()) } else { Run::skipped() },
            ),
            ("mutex", if pick("mutex") { run(writers, secs, locked, 0, || ()) } else { Run::skipped() }),
            (
                "write(), max 4, 4 readers",
                if pick("write-readers") {
                    run(writers, secs, || write(&narrow), 4, || read(&narrow))
                } else {
                    Run::skipped()
                },
            ),
            (
                "mutex, 4 readers (own conns)",
                if !pick("mutex-readers") {
                    Run::skipped()
                } else {
                    run(writers, secs, locked, 4, || {
                        thread_local!(static C: Connection = Connection::open(DB.get().expect("set")).expect("open"));
                        C.with(|c| {
                            let i = (id.fetch_add(7, Ordering::Relaxed) % 10_000 + 1) as i64;
                            let _: i64 = c
                                .prepare_cached("SELECT quota FROM users WHERE id = ?1")
                                .and_then(|mut s| s.query_row([i], |r| r.get(0)))
                                .expect("select");
                        })
                    })
                },
            ),
        ];
        for (name, r) in runs {
            if r.per_sec == 0.0 {
                continue;
            }
            println!(
                "{:<32} {:>9.1} {:>9.1} {:>9.1} {:>10.0} {:>6.2} {:>6.2}   (round {round})",
                name,
                r.per_sec / 1e3,
                r.p50,
                r.p99,
                r.max,
                r.vcsw,
                r.ivcsw
            );
        }
    }
    let s = wide.statistics();
    println!(
        "write() pool: passive checkpoints {}, truncate {}, back-pressure waits {}, WAL peak {} KiB",
        s.checkpoints_passive,
        s.checkpoints_truncate,
        s.backpressure_waits,
        s.wal_peak_bytes >> 10
    );
    Ok(())
}
