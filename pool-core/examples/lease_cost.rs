//! The cost of one lease, for instruction counting (`benches/instructions.sh`
//! runs it under callgrind at two commits): `lease_cost get N` leases and
//! returns a connection N times; `lease_cost select N` also runs a cached
//! point select on it; `lease_cost held N` runs that select N times on one
//! lease held throughout (the floor). Uses only API that has been stable since 0.1, so the
//! same file builds at older commits. Prints the wall time per operation.
use litepool::rusqlite::Connection;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "get".to_owned());
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2_000_000);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("lease_cost.db");
    Connection::open(&path)?.execute_batch(
        "PRAGMA journal_mode=WAL;
         CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, quota INTEGER NOT NULL);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
         INSERT INTO users SELECT i, 'user' || i, i * 10 FROM n;",
    )?;
    let pool = litepool::Pool::new(&path, litepool::PoolConfig::default().max_size(4).min_idle(4))?;
    std::thread::sleep(std::time::Duration::from_millis(100));
    let start = std::time::Instant::now();
    if mode == "held" {
        let conn = pool.get()?;
        for i in 0..n {
            let mut st = conn.prepare_cached("SELECT name, quota FROM users WHERE id = ?1")?;
            let _: (String, i64) = st.query_row([(i % 10000 + 1) as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
        }
        println!("{:.0} ns/op", start.elapsed().as_nanos() as f64 / n.max(1) as f64);
        return Ok(());
    }
    for i in 0..n {
        let conn = pool.get()?;
        if mode == "select" {
            let mut st = conn.prepare_cached("SELECT name, quota FROM users WHERE id = ?1")?;
            let _: (String, i64) = st.query_row([(i % 10000 + 1) as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
        }
    }
    println!("{:.0} ns/op", start.elapsed().as_nanos() as f64 / n.max(1) as f64);
    Ok(())
}
