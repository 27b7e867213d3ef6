//! The performance issue's cases, candidates interleaved round by round:
//! acquire+release uncontended and under contention (throughput, wait tail,
//! per-thread share), pooled point selects against a held connection,
//! single-row write transactions, and the cost of mixing read and write
//! leases. Prints a Markdown report (median of per-round ratios, min–max
//! spread) and writes it to benches/results/contention.md.
//!
//! Run: `cargo bench -p litepool --bench contention` (`ROUNDS=5` by default;
//! `QUICK=1` for a short smoke run).
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use litepool::rusqlite::{self, Connection, TransactionBehavior};
use litepool::sql::{Call, Op, Params};
use litepool::{Fairness, Pool, PoolConfig};

struct Manager(PathBuf);
impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = rusqlite::Error;
    fn connect(&self) -> Result<Connection, rusqlite::Error> {
        let c = Connection::open(&self.0)?;
        c.busy_timeout(Duration::from_secs(5))?;
        c.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(c)
    }
    fn is_valid(&self, conn: &mut Connection) -> Result<(), rusqlite::Error> {
        conn.execute_batch("")
    }
    fn has_broken(&self, _: &mut Connection) -> bool {
        false
    }
}

fn quick() -> bool {
    std::env::var("QUICK").is_ok()
}

/// Whether section `name` runs (`ONLY=contended,writers` picks some; all by default).
fn section(name: &str) -> bool {
    std::env::var("ONLY").map_or(true, |only| only.split(',').any(|s| s == name))
}

fn fixture(dir: &Path) -> PathBuf {
    let path = dir.join("bench.db");
    let conn = Connection::open(&path).expect("open");
    conn.execute_batch(
        "PRAGMA journal_mode=WAL;
         CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, quota INTEGER NOT NULL);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
         INSERT INTO users SELECT i, 'user' || i, i * 10 FROM n;
         CREATE TABLE log (id INTEGER PRIMARY KEY, who INTEGER, at INTEGER);",
    )
    .expect("schema");
    path
}

fn litepool(path: &Path, max: u32, fairness: Fairness) -> Pool {
    let cfg = PoolConfig::default().max_size(max).min_idle(max).fairness(fairness);
    let pool = Pool::new(path, cfg).expect("pool");
    let held: Vec<_> = (0..max).map(|_| pool.get().expect("warm")).collect();
    drop(held);
    pool
}

fn r2d2_pool(path: &Path, max: u32, test_on_check_out: bool) -> r2d2::Pool<Manager> {
    r2d2::Pool::builder()
        .max_size(max)
        .min_idle(Some(max))
        .test_on_check_out(test_on_check_out)
        .build(Manager(path.to_path_buf()))
        .expect("r2d2")
}

/// The floor: connections in a mutex-guarded Vec, no bookkeeping at all.
/// Waiting (when the Vec is empty) is parking_lot's condvar, whose
/// `notify_one` costs nothing when nobody waits (std's always makes a
/// futex system call, which would put a syscall into the floor).
struct Floor(parking_lot::Mutex<Vec<Connection>>, parking_lot::Condvar);
impl Floor {
    fn new(path: &Path, n: usize) -> Floor {
        Floor(
            parking_lot::Mutex::new((0..n).map(|_| Connection::open(path).expect("open")).collect()),
            parking_lot::Condvar::new(),
        )
    }
    fn with<R>(&self, f: impl FnOnce(&Connection) -> R) -> R {
        let mut v = self.0.lock();
        let c = loop {
            match v.pop() {
                Some(c) => break c,
                None => self.1.wait(&mut v),
            }
        };
        drop(v);
        let r = f(&c);
        self.0.lock().push(c);
        self.1.notify_one();
        r
    }
}

/// The bare floor of the uncontended case: `std::sync::Mutex<Vec<Connection>>`,
/// pop and push, nothing else (it cannot wait: single thread only).
struct Bare(Mutex<Vec<Connection>>);
impl Bare {
    fn cycle(&self) {
        let c = self.0.lock().expect("bare").pop().expect("a connection");
        std::hint::black_box(&c);
        self.0.lock().expect("bare").push(c);
    }
}

/// What one contended run measured.
#[derive(Clone, Copy, Default)]
struct Run {
    ops_per_sec: f64,
    p99_us: f64,
    p999_us: f64,
    max_us: f64,
    /// The least-served thread's ops over the most-served one's.
    share: f64,
}

/// `threads` threads doing `op` for `secs`, each timing its own waits
/// (`op` returns the time it waited, e.g. for the lease).
fn contended(threads: usize, secs: f64, op: impl Fn() -> Duration + Sync) -> Run {
    let stop = AtomicBool::new(false);
    let barrier = Barrier::new(threads + 1);
    let results: Vec<(u64, Vec<u32>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut waits = Vec::with_capacity(1 << 16);
                    barrier.wait();
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let w = op();
                        waits.push(u32::try_from(w.as_nanos()).unwrap_or(u32::MAX));
                        n += 1;
                    }
                    (n, waits)
                })
            })
            .collect();
        barrier.wait();
        std::thread::sleep(Duration::from_secs_f64(secs));
        stop.store(true, Ordering::Relaxed);
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    let total: u64 = results.iter().map(|(n, _)| n).sum();
    let mut all: Vec<u32> = results.iter().flat_map(|(_, w)| w.iter().copied()).collect();
    all.sort_unstable();
    let pct = |p: f64| f64::from(all[((all.len() as f64 - 1.0) * p) as usize]) / 1000.0;
    let (min, max) = results.iter().fold((u64::MAX, 0), |(lo, hi), (n, _)| (lo.min(*n), hi.max(*n)));
    Run {
        ops_per_sec: total as f64 / secs,
        p99_us: pct(0.99),
        p999_us: pct(0.999),
        max_us: f64::from(*all.last().unwrap_or(&0)) / 1000.0,
        share: min as f64 / max.max(1) as f64,
    }
}

/// Nanoseconds per op of `op` run `n` times on this thread.
fn per_op(n: usize, mut op: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        op();
    }
    t.elapsed().as_nanos() as f64 / n as f64
}

/// Single-thread ns/op of each candidate over `n` ops, in `slices` short
/// slices taken in turn (candidate A, B, C, A, B, C…) so that a burst of
/// load from other processes hits every candidate alike; each candidate's
/// figure is the median of its slices.
fn interleaved(n: usize, slices: usize, ops: &mut [&mut dyn FnMut()]) -> Vec<f64> {
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(slices); ops.len()];
    for _ in 0..slices {
        for (i, op) in ops.iter_mut().enumerate() {
            times[i].push(per_op(n / slices, &mut **op));
        }
    }
    times.into_iter().map(median).collect()
}

fn timed<R>(f: impl FnOnce() -> R) -> (Duration, R) {
    let t = Instant::now();
    let r = f();
    (t.elapsed(), r)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn spread(v: &[f64]) -> String {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{lo:.2}–{hi:.2}")
}

/// One row of results per round, per candidate.
struct Table {
    title: String,
    unit: &'static str,
    names: Vec<&'static str>,
    rounds: Vec<Vec<f64>>,
}

impl Table {
    fn new(title: impl Into<String>, unit: &'static str, names: &[&'static str]) -> Table {
        Table { title: title.into(), unit, names: names.to_vec(), rounds: Vec::new() }
    }

    /// Markdown: each candidate's median, and the first candidate's median
    /// ratio to each other (higher value = better when `higher_is_better`).
    fn render(&self, higher_is_better: bool) -> String {
        let mut out = format!(
            "\n### {}\n\n| candidate | median {} | litepool ÷ it (median of rounds) | spread |\n|---|---|---|---|\n",
            self.title, self.unit
        );
        for (i, name) in self.names.iter().enumerate() {
            let col: Vec<f64> = self.rounds.iter().map(|r| r[i]).collect();
            let ratios: Vec<f64> =
                self.rounds.iter().map(|r| if higher_is_better { r[0] / r[i] } else { r[i] / r[0] }).collect();
            let (ratio, spread) = if i == 0 {
                ("—".to_owned(), "".to_owned())
            } else {
                (format!("{:.2}×", median(ratios.clone())), spread(&ratios))
            };
            out += &format!("| {name} | {:.3} | {ratio} | {spread} |\n", median(col));
        }
        out
    }
}

fn main() {
    let rounds: usize =
        std::env::var("ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(if quick() { 2 } else { 5 });
    let secs = if quick() { 0.3 } else { 1.5 };
    let n = if quick() { 100_000 } else { 1_000_000 };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = fixture(dir.path());
    let mut report = String::new();
    report += &format!(
        "Machine: {} cores (shared, noisy); {rounds} rounds, candidates interleaved in each; load average at start: {}.\n",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );

    // --- uncontended acquire+release --------------------------------------------------------
    let lp = litepool(&path, 4, Fairness::Barging);
    let r2 = r2d2_pool(&path, 4, true);
    let r2n = r2d2_pool(&path, 4, false);
    let floor = Floor::new(&path, 4);
    let bare = Bare(Mutex::new((0..4).map(|_| Connection::open(&path).expect("open")).collect()));
    if section("uncontended") {
        let mut t = Table::new(
            "Uncontended acquire+release, 1 thread",
            "ns/op",
            &["litepool", "r2d2 (default)", "r2d2 test_on_check_out(false)", "bare Mutex<Vec<Connection>> floor"],
        );
        for _ in 0..rounds {
            t.rounds.push(interleaved(
                n,
                20,
                &mut [
                    &mut || drop(lp.get().expect("get")),
                    &mut || drop(r2.get().expect("get")),
                    &mut || drop(r2n.get().expect("get")),
                    &mut || bare.cycle(),
                ],
            ));
        }
        report += &t.render(false);
        report += "\n(Each round: 20 slices of each candidate in turn, the median slice; targets: litepool ≤ 2× the floor's ns, r2d2's ns ≥ 4× litepool's (default) and ≥ 3× (test_on_check_out(false)).)\n";
    }

    // --- contended acquire+release ----------------------------------------------------------
    for threads in [8usize, 16].into_iter().filter(|_| section("contended")) {
        let strict = litepool(&path, 4, Fairness::Strict);
        let mut thr = Table::new(
            format!("{threads} threads on 4 connections: acquire+release throughput"),
            "M ops/s",
            &["litepool", "litepool strict FIFO", "r2d2", "Mutex<Vec> floor"],
        );
        let mut tail = Table::new(
            format!("{threads} threads on 4 connections: acquire wait p99.9"),
            "µs",
            &["litepool", "litepool strict FIFO", "r2d2", "Mutex<Vec> floor"],
        );
        let mut worst = Table::new(
            format!("{threads} threads on 4 connections: acquire wait max"),
            "µs",
            &["litepool", "litepool strict FIFO", "r2d2", "Mutex<Vec> floor"],
        );
        let mut share = Table::new(
            format!("{threads} threads on 4 connections: per-thread share (min/max ops)"),
            "ratio",
            &["litepool", "litepool strict FIFO", "r2d2", "Mutex<Vec> floor"],
        );
        for _ in 0..rounds {
            let runs = [
                contended(threads, secs, || timed(|| lp.get().expect("get")).0),
                contended(threads, secs, || timed(|| strict.get().expect("get")).0),
                contended(threads, secs, || timed(|| r2n.get().expect("get")).0),
                contended(threads, secs, || {
                    let t = Instant::now();
                    floor.with(|_| ());
                    t.elapsed()
                }),
            ];
            thr.rounds.push(runs.iter().map(|r| r.ops_per_sec / 1e6).collect());
            tail.rounds.push(runs.iter().map(|r| r.p999_us).collect());
            worst.rounds.push(runs.iter().map(|r| r.max_us).collect());
            share.rounds.push(runs.iter().map(|r| r.share).collect());
        }
        report += &thr.render(true);
        report += &tail.render(false);
        report += &worst.render(false);
        report += &share.render(true);
    }

    // --- pooled point select vs a held connection -------------------------------------------
    const SELECT: &str = "SELECT name, quota FROM users WHERE id = ?1";
    for threads in [1usize, 4].into_iter().filter(|_| section("select")) {
        let mut t = Table::new(
            format!("Point select, {threads} thread(s)"),
            "k selects/s",
            &["litepool (lease per select)", "held connection per thread", "r2d2 (lease per select)"],
        );
        for _ in 0..rounds {
            let id = AtomicU64::new(0);
            let next = || (id.fetch_add(7, Ordering::Relaxed) % 10_000 + 1) as i64;
            let select = |c: &Connection| {
                let _: (String, i64) = c
                    .prepare_cached(SELECT)
                    .expect("prepare")
                    .query_row([next()], |r| Ok((r.get(0)?, r.get(1)?)))
                    .expect("row");
            };
            let a = contended(threads, secs, || {
                select(&lp.get().expect("get"));
                Duration::ZERO
            });
            let held: Vec<Mutex<Connection>> =
                (0..threads).map(|_| Mutex::new(Connection::open(&path).expect("open"))).collect();
            let slot = AtomicU64::new(0);
            thread_local!(static MINE: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) });
            let b = contended(threads, secs, || {
                let i = MINE.with(|m| {
                    if m.get() == usize::MAX {
                        m.set(slot.fetch_add(1, Ordering::Relaxed) as usize % threads);
                    }
                    m.get()
                });
                select(&held[i].lock().expect("held"));
                Duration::ZERO
            });
            MINE.with(|m| m.set(usize::MAX));
            let c = contended(threads, secs, || {
                select(&r2n.get().expect("get"));
                Duration::ZERO
            });
            t.rounds.push(vec![a.ops_per_sec / 1e3, b.ops_per_sec / 1e3, c.ops_per_sec / 1e3]);
        }
        report += &t.render(true);
    }

    // --- 8 writers, single-row transactions --------------------------------------------------
    if section("writers") {
        let writers = 8;
        let lpw = litepool(&path, 10, Fairness::Barging);
        let group = Pool::new(&path, PoolConfig::default().max_size(10).group_commit(true)).expect("pool");
        let r2w = r2d2_pool(&path, 10, false);
        let one = Mutex::new(Connection::open(&path).expect("open"));
        one.lock().expect("one").busy_timeout(Duration::from_secs(5)).expect("busy");
        // The same durability as the pools' connections (synchronous=NORMAL in WAL).
        one.lock().expect("one").pragma_update(None, "synchronous", "NORMAL").expect("synchronous");
        let busy = AtomicU64::new(0);
        let insert = "INSERT INTO log (who, at) VALUES (?1, ?2)";
        let mut thr = Table::new(
            "8 writers, 1-row transactions: throughput",
            "k commits/s",
            &[
                "litepool write()",
                "litepool one-shot, group commit",
                "r2d2 + busy handler (BEGIN IMMEDIATE)",
                "one connection behind a mutex",
            ],
        );
        let mut tail = Table::new(
            "8 writers: wait max ÷ p99 (a bounded tail is small; target ≤ 10 for litepool write())",
            "ratio",
            &[
                "litepool write()",
                "litepool one-shot, group commit",
                "r2d2 + busy handler (BEGIN IMMEDIATE)",
                "one connection behind a mutex",
            ],
        );
        for _ in 0..rounds {
            let runs = [
                contended(writers, secs, || {
                    let (w, mut c) = timed(|| lpw.write().expect("write"));
                    let tx = c.transaction().expect("begin");
                    tx.execute(insert, [1, 2]).expect("insert");
                    tx.commit().expect("commit");
                    w
                }),
                contended(writers, secs, || {
                    let call = Call::new(Op::Run, insert).params(Params::Positional(vec![1.into(), 2.into()]));
                    timed(|| group.call(Default::default(), &call).expect("insert")).0
                }),
                contended(writers, secs, || {
                    let (w, mut c) = timed(|| r2w.get().expect("get"));
                    let t = Instant::now();
                    match c.transaction_with_behavior(TransactionBehavior::Immediate) {
                        Ok(tx) => {
                            tx.execute(insert, [1, 2]).expect("insert");
                            tx.commit().expect("commit");
                        }
                        Err(_) => {
                            busy.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    w + t.elapsed()
                }),
                contended(writers, secs, || {
                    let t = Instant::now();
                    let mut c = one.lock().expect("one");
                    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).expect("begin");
                    tx.execute(insert, [1, 2]).expect("insert");
                    tx.commit().expect("commit");
                    t.elapsed()
                }),
            ];
            thr.rounds.push(runs.iter().map(|r| r.ops_per_sec / 1e3).collect());
            tail.rounds.push(runs.iter().map(|r| r.max_us / r.p99_us.max(1e-3)).collect());
        }
        report += &thr.render(true);
        report += &tail.render(false);
        report += &format!(
            "\nSQLITE_BUSY seen by r2d2's writers: {}; by litepool's: 0 (an error would have stopped the run).\n",
            busy.load(Ordering::Relaxed)
        );
    }

    // --- mixed read and write leases --------------------------------------------------------
    if section("mixed") {
        let mut t = Table::new(
            "Mixed leases, 1 thread: ns per lease (50 % read, 50 % write vs all read)",
            "ns/lease",
            &["all read()", "read() and write() alternating", "all get()"],
        );
        for _ in 0..rounds {
            let a = per_op(n / 2, || drop(lp.read().expect("read")));
            let mut flip = false;
            let b = per_op(n / 2, || {
                flip = !flip;
                if flip {
                    drop(lp.read().expect("read"))
                } else {
                    drop(lp.write().expect("write"))
                }
            });
            let c = per_op(n / 2, || drop(lp.get().expect("get")));
            t.rounds.push(vec![a, b, c]);
        }
        report += &t.render(false);
        report += "\n(Read here: the ratio column is each candidate's ns over all-read's; the overhead is their difference.)\n";
    }

    println!("{report}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/results/contention.md");
    if std::env::var("ONLY").is_ok() {
        return; // a partial run does not replace the report
    }
    let _ = std::fs::write(out, format!("## Rust core: contention, fairness and the write lane\n\n`cargo bench -p litepool --bench contention`\n\n{report}"));
}
