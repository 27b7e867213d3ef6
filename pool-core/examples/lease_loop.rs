//! A profiling aid: `N` acquire+release (and optionally point selects) on
//! one thread, for `valgrind --tool=callgrind` (instruction counts do not
//! depend on the machine's load). `MODE=get|read|write|select|floor`.
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
}
