//! Times acquire+release in tight loops, single-threaded and with 8 threads on
//! 4 connections, for litepool and r2d2 alternately (a profiling aid; the
//! criterion bench is the measurement of record).
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use litepool::rusqlite::{self, Connection};

struct Manager(PathBuf);
impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = rusqlite::Error;
    fn connect(&self) -> Result<Connection, rusqlite::Error> {
        Connection::open(&self.0)
    }
    fn is_valid(&self, conn: &mut Connection) -> Result<(), rusqlite::Error> {
        conn.execute_batch("")
    }
    fn has_broken(&self, _: &mut Connection) -> bool {
        false
    }
}

fn per_op(threads: usize, ops: usize, f: impl Fn() + Sync) -> f64 {
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| (0..ops).for_each(|_| f()));
        }
    });
    t.elapsed().as_nanos() as f64 / (threads * ops) as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path: &Path = &dir.path().join("h.db");
    let lp = litepool::Pool::new(path, litepool::PoolConfig::default().max_size(4).min_idle(4))?;
    let r2 = r2d2::Pool::builder().max_size(4).build(Manager(path.to_path_buf()))?;
    std::thread::sleep(Duration::from_millis(100));
    for round in 0..3 {
        let a = per_op(1, 500_000, || drop(lp.get().expect("get")));
        let b = per_op(1, 500_000, || drop(r2.get().expect("get")));
        let c = per_op(8, 50_000, || drop(lp.get().expect("get")));
        let d = per_op(8, 50_000, || drop(r2.get().expect("get")));
        println!(
            "round {round}: uncontended litepool {a:.0} ns, r2d2 {b:.0} ns ({:.2}x) | 8 threads/4 conns litepool {c:.0} ns, r2d2 {d:.0} ns ({:.2}x)",
            b / a,
            d / c
        );
    }
    Ok(())
}
