//! litepool vs r2d2 (with a rusqlite manager) vs a held rusqlite connection.
//!
//! Run: `cargo bench -p litepool --bench pool` (or `make bench`).
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use litepool::rusqlite::{self, Connection};
use litepool::{Pool, PoolConfig};

/// A plain r2d2 manager over the same rusqlite (r2d2_sqlite pins another
/// rusqlite, and one workspace can link only one libsqlite3-sys). Its
/// `is_valid` is r2d2_sqlite's: `execute_batch("")`.
struct SqliteManager(PathBuf);

impl r2d2::ManageConnection for SqliteManager {
    type Connection = Connection;
    type Error = rusqlite::Error;

    fn connect(&self) -> Result<Connection, rusqlite::Error> {
        let conn = Connection::open(&self.0)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut Connection) -> Result<(), rusqlite::Error> {
        conn.execute_batch("")
    }

    fn has_broken(&self, _: &mut Connection) -> bool {
        false
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.db");
    let conn = Connection::open(&path).expect("open");
    conn.execute_batch(
        "PRAGMA journal_mode=WAL;
         CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, quota INTEGER NOT NULL);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
         INSERT INTO users SELECT i, 'user' || i, i * 10 FROM n;",
    )
    .expect("schema");
    Fixture { _dir: dir, path }
}

fn litepool(path: &Path, max: u32) -> Pool {
    Pool::new(path, PoolConfig::default().max_size(max).min_idle(max)).expect("pool")
}

fn r2d2_pool(path: &Path, max: u32) -> r2d2::Pool<SqliteManager> {
    r2d2::Pool::builder().max_size(max).min_idle(Some(max)).build(SqliteManager(path.to_path_buf())).expect("r2d2")
}

const POINT_SELECT: &str = "SELECT name, quota FROM users WHERE id = ?1";

fn acquire_release(c: &mut Criterion) {
    let fx = fixture();
    let lp = litepool(&fx.path, 4);
    let r2 = r2d2_pool(&fx.path, 4);
    let mut g = c.benchmark_group("acquire_release_uncontended");
    g.bench_function("litepool", |b| b.iter(|| drop(lp.get().expect("get"))));
    g.bench_function("r2d2", |b| b.iter(|| drop(r2.get().expect("get"))));
    g.finish();

    let mut g = c.benchmark_group("acquire_release_contended_8threads_4conns");
    // Time for every one of 8 threads to do `iters` acquire+release cycles.
    g.bench_function("litepool", |b| b.iter_custom(|iters| on_8_threads(iters, || drop(lp.get().expect("get")))));
    g.bench_function("r2d2", |b| b.iter_custom(|iters| on_8_threads(iters, || drop(r2.get().expect("get")))));
    g.finish();
}

/// Time for each of 8 threads to run `op` `iters` times.
fn on_8_threads(iters: u64, op: impl Fn() + Sync) -> Duration {
    let start = Instant::now();
    thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| (0..iters).for_each(|_| op()));
        }
    });
    start.elapsed()
}

fn point_select(c: &mut Criterion) {
    let fx = fixture();
    let lp = litepool(&fx.path, 4);
    let r2 = r2d2_pool(&fx.path, 4);
    let held = Connection::open(&fx.path).expect("open");
    let mut g = c.benchmark_group("point_select");
    let mut id = 0i64;
    let mut next = move || {
        id = id % 10_000 + 1;
        id
    };
    let select = |conn: &Connection, id: i64| -> (String, i64) {
        let mut stmt = conn.prepare_cached(POINT_SELECT).expect("prepare");
        stmt.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).expect("row")
    };
    g.bench_function(BenchmarkId::new("held_rusqlite", "pk"), |b| b.iter(|| select(&held, next())));
    g.bench_function(BenchmarkId::new("litepool", "pk"), |b| b.iter(|| select(&lp.get().expect("get"), next())));
    g.bench_function(BenchmarkId::new("r2d2", "pk"), |b| b.iter(|| select(&r2.get().expect("get"), next())));
    g.finish();

    // Real work under the lease: 8 threads sharing 4 connections.
    let mut g = c.benchmark_group("point_select_contended_8threads_4conns");
    let pk = || fastrand::i64(1..=10_000);
    g.bench_function("litepool", |b| {
        b.iter_custom(|iters| on_8_threads(iters, || drop(select(&lp.get().expect("get"), pk()))))
    });
    g.bench_function("r2d2", |b| {
        b.iter_custom(|iters| on_8_threads(iters, || drop(select(&r2.get().expect("get"), pk()))))
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! { name = benches; config = config(); targets = acquire_release, point_select }
criterion_main!(benches);
