//! The WAL under load (issue 13), two measurements:
//!
//! 1. WAL size over time with each checkpoint mode: 8 writers and 3 readers
//!    whose read transactions (50–200 ms each) always overlap, for
//!    `WAL_SECS` seconds per mode; the `-wal` file's size sampled every
//!    100 ms.
//! 2. Write throughput with and without `litestream replicate` running,
//!    at synchronous NORMAL and FULL: 4 threads, one-row commits, rounds
//!    interleaved; litestream from `scripts/install-litestream.sh`.
//!
//! Run: `bash benches/wal/run.sh` (= `cargo run --release -p litepool
//! --example wal`), which writes `benches/results/wal.md` and
//! `benches/results/wal.json` (drawn by `scripts/charts.py`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use litepool::{CheckpointMode, Pool, PoolConfig};

fn env_secs(name: &str, default: f64) -> f64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct WalRun {
    mode: CheckpointMode,
    samples: Vec<(f64, u64)>,
    commits: u64,
    reads: u64,
    errors: u64,
    stats: litepool::Statistics,
}

fn wal_run(dir: &Path, mode: CheckpointMode, secs: f64) -> WalRun {
    let path = dir.join(format!("wal-{}.db", mode.as_str()));
    let pool = Pool::new(&path, PoolConfig::default().max_size(16).checkpoint(mode)).expect("pool");
    pool.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)").expect("schema");
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    let mut threads = Vec::new();
    for w in 0..8 {
        let (pool, stop, counts) = (pool.clone(), stop.clone(), counts.clone());
        threads.push(thread::spawn(move || {
            let v = format!("{w:0>800}");
            while !stop.load(Relaxed) {
                let ok = pool.write().and_then(|c| c.execute("INSERT INTO t(v) VALUES (?1)", [&v])).is_ok();
                counts[if ok { 0 } else { 2 }].fetch_add(1, Relaxed);
            }
        }));
    }
    for r in 0..3u64 {
        let (pool, stop, counts) = (pool.clone(), stop.clone(), counts.clone());
        threads.push(thread::spawn(move || {
            thread::sleep(Duration::from_millis(40 * r));
            let mut hold = 50 + 50 * r;
            while !stop.load(Relaxed) {
                let ok = pool
                    .read()
                    .and_then(|mut c| {
                        let tx = c.transaction()?;
                        let _: i64 = tx.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
                        thread::sleep(Duration::from_millis(hold));
                        Ok(())
                    })
                    .is_ok();
                counts[if ok { 1 } else { 2 }].fetch_add(1, Relaxed);
                hold = 50 + (hold * 7 + 31) % 151;
            }
        }));
    }
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed().as_secs_f64() < secs {
        samples.push((start.elapsed().as_secs_f64(), std::fs::metadata(&wal).map_or(0, |m| m.len())));
        thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Relaxed);
    threads.into_iter().for_each(|t| t.join().expect("thread"));
    let stats = pool.statistics();
    let [commits, reads, errors] = [0, 1, 2].map(|i| counts[i].load(Relaxed));
    WalRun { mode, samples, commits, reads, errors, stats }
}

/// `litestream replicate` as our child, killed by PID on drop.
struct Litestream(Child);

impl Drop for Litestream {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn litestream_bin() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/install-litestream.sh");
    let out = Command::new("bash").arg(script).stderr(Stdio::null()).output().ok()?;
    let line = String::from_utf8_lossy(&out.stdout).lines().last()?.trim().to_owned();
    (out.status.success() && !line.is_empty()).then(|| PathBuf::from(line))
}

/// One-row commits/s from 4 threads for `secs`.
fn write_rate(path: &Path, synchronous: &str, secs: f64) -> f64 {
    let config = PoolConfig::default()
        .max_size(4)
        .checkpoint(CheckpointMode::External)
        .synchronous(Some(synchronous.to_owned()));
    let pool = Pool::new(path, config).expect("pool");
    pool.execute_batch("CREATE TABLE IF NOT EXISTS w(id INTEGER PRIMARY KEY, v TEXT)").expect("schema");
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (pool, stop, done) = (pool.clone(), stop.clone(), done.clone());
            thread::spawn(move || {
                while !stop.load(Relaxed) {
                    if pool.execute("INSERT INTO w(v) VALUES ('row')", []).is_ok() {
                        done.fetch_add(1, Relaxed);
                    }
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Relaxed);
    threads.into_iter().for_each(|t| t.join().expect("thread"));
    done.load(Relaxed) as f64 / secs
}

/// Files litestream wrote under `dir` (its LTX files): proof it replicated.
fn files_under(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries.flatten().map(|e| if e.path().is_dir() { files_under(&e.path()) } else { 1 }).sum()
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wal_secs = env_secs("WAL_SECS", 8.0);
    let mut md = String::from("## The WAL under load: checkpoint modes and Litestream\n\n");
    md += "Command: `bash benches/wal/run.sh` (= `cargo run --release -p litepool --example wal`).\n\n";
    md += &format!(
        "**WAL size over time** (chart `wal-size-over-time`): 8 writers (one ~800-byte row per commit, \
         through `write()` leases) and 3 readers whose read transactions (50–200 ms each) always overlap, \
         {wal_secs} s per mode, default `wal_high_water` (64 MiB) and `checkpoint_pages` (1000). \
         `sqlite` is SQLite's PASSIVE autocheckpoint: it can never reset a WAL whose readers overlap.\n\n"
    );
    md += "| checkpoint | WAL peak MiB | WAL at end MiB | commits/s | reads | errors | PASSIVE | TRUNCATE | incomplete | reads held back | held-back time s |\n";
    md += "|---|---|---|---|---|---|---|---|---|---|---|\n";
    let mut json = Vec::new();
    for mode in [CheckpointMode::Sqlite, CheckpointMode::Pool, CheckpointMode::External] {
        let run = wal_run(dir.path(), mode, wal_secs);
        let mib = |b: u64| b as f64 / (1 << 20) as f64;
        let peak = run.samples.iter().map(|s| s.1).max().unwrap_or(0);
        let last = run.samples.last().map_or(0, |s| s.1);
        let s = &run.stats;
        md += &format!(
            "| {} | {:.1} | {:.1} | {:.0} | {} | {} | {} | {} | {} | {} | {:.2} |\n",
            run.mode.as_str(),
            mib(peak),
            mib(last),
            run.commits as f64 / wal_secs,
            run.reads,
            run.errors,
            s.checkpoints_passive,
            s.checkpoints_truncate,
            s.checkpoints_incomplete,
            s.backpressure_waits,
            s.backpressure_wait_time.as_secs_f64()
        );
        let points: Vec<String> = run.samples.iter().map(|(t, b)| format!("[{t:.2},{b}]")).collect();
        json.push(format!("\"{}\": [{}]", run.mode.as_str(), points.join(",")));
        eprintln!("{}: peak {:.1} MiB, {} commits", run.mode.as_str(), mib(peak), run.commits);
    }
    md += "\n";

    let rate_secs = env_secs("RATE_SECS", 2.0);
    match litestream_bin() {
        None => md += "Write throughput with Litestream: not measured (scripts/install-litestream.sh failed).\n",
        Some(bin) => {
            md += &format!(
                "**Write throughput with and without Litestream** (`litestream replicate` to a `file://` \
                 replica, 1 s sync interval; the pool in `checkpoint = \"external\"`): 4 threads, one-row \
                 one-shot `execute` commits, {rate_secs} s per round, 3 rounds interleaved, median (min–max).\n\n"
            );
            md += "| synchronous | without litestream commits/s | with litestream commits/s | with / without | LTX files in the replica |\n|---|---|---|---|---|\n";
            for sync in ["NORMAL", "FULL"] {
                let (mut without, mut with, mut ltx) = (Vec::new(), Vec::new(), Vec::new());
                for round in 0..3 {
                    let plain = dir.path().join(format!("plain-{sync}-{round}.db"));
                    without.push(write_rate(&plain, sync, rate_secs));
                    let db = dir.path().join(format!("ls-{sync}-{round}.db"));
                    // The database exists (WAL mode) before litestream watches it.
                    drop(Pool::new(&db, PoolConfig::default().checkpoint(CheckpointMode::External)).expect("db"));
                    let replica = dir.path().join(format!("replica-{sync}-{round}"));
                    let url = format!("file://{}", replica.display());
                    let child = Command::new(&bin)
                        .arg("replicate")
                        .arg(&db)
                        .arg(&url)
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()
                        .expect("litestream");
                    let _ls = Litestream(child);
                    thread::sleep(Duration::from_millis(500));
                    with.push(write_rate(&db, sync, rate_secs));
                    thread::sleep(Duration::from_millis(1500)); // one sync interval and then some
                    ltx.push(files_under(&replica) as f64);
                }
                let range = |v: &[f64]| {
                    let (lo, hi) = v.iter().fold((f64::MAX, 0f64), |(l, h), x| (l.min(*x), h.max(*x)));
                    format!("{lo:.0}–{hi:.0}")
                };
                let (w, l) = (median(without.clone()), median(with.clone()));
                md += &format!(
                    "| {sync} | {w:.0} ({}) | {l:.0} ({}) | {:.2}× | {:.0} |\n",
                    range(&without),
                    range(&with),
                    l / w,
                    median(ltx)
                );
                eprintln!("{sync}: without {w:.0}/s, with litestream {l:.0}/s");
            }
        }
    }
    md += "\nCaveat: on this shared 2-core VM, fsync-bound FULL commits vary up to 2× between rounds (another \
           workload shares the disk); a ratio near or above 1 means no cost was measurable here, not a speed-up. \
           Litestream reads the WAL once per sync interval, outside the commit path.\n";
    let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/results");
    std::fs::create_dir_all(&results).expect("results dir");
    std::fs::write(results.join("wal.md"), md).expect("wal.md");
    std::fs::write(results.join("wal.json"), format!("{{{}}}\n", json.join(",\n"))).expect("wal.json");
    eprintln!("wrote benches/results/wal.md and wal.json");
}
