//! A profiling aid: `N` acquire+release (and optionally point selects) on
//! one thread, for `valgrind --tool=callgrind` (instruction counts do not
//! depend on the machine's load). `MODE=get|read|write|select|floor`;
//! `THREADS=n` runs `N` on each of `n` threads (for `perf record` under
//! contention: 8 threads on the pool's 4 connections).
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::var("N").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let mode = std::env::var("MODE").unwrap_or_else(|_| "get".into());
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("p.db");
    let pool = litepool::Pool::new(&path, litepool::PoolConfig::default().max_size(4).min_idle(4))?;
    pool.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a')")?;
    std::thread::sleep(Duration::from_millis(50));
    let floor = std::sync::Mutex::new(vec![litepool::rusqlite::Connection::open(&path)?]);
    let threads: usize = std::env::var("THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let run = || -> Result<(), Box<dyn std::error::Error>> {
        for _ in 0..n {
            match mode.as_str() {
                "read" => drop(pool.read()?),
                "write" => drop(pool.write()?),
                "select" => {
                    let c = pool.get()?;
                    let _: String = c.prepare_cached("SELECT v FROM t WHERE id = ?1")?.query_row([1], |r| r.get(0))?;
                }
                "floor" => {
                    let c = floor.lock().map_err(|_| "poisoned")?.pop().ok_or("empty")?;
                    floor.lock().map_err(|_| "poisoned")?.push(c);
                }
                _ => drop(pool.get()?),
            }
        }
        Ok(())
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(|| run().map_err(|e| e.to_string()))).collect();
        handles.into_iter().try_for_each(|h| h.join().map_err(|_| "a thread panicked".to_owned())?)
    })?;
    Ok(())
}
