//! Times acquire+release in a tight loop (a profiling aid, not a benchmark).
use std::time::Instant;

fn main() -> litepool::Result<()> {
    let dir = std::env::temp_dir().join(format!("litepool-hotpath-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok();
    let pool = litepool::Pool::new(dir.join("h.db"), litepool::PoolConfig::default().max_size(4))?;
    let n = 2_000_000;
    for round in 0..3 {
        let t = Instant::now();
        for _ in 0..n {
            drop(pool.get()?);
        }
        println!("round {round}: {:.0} ns per acquire+release", t.elapsed().as_nanos() as f64 / n as f64);
    }
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(std::process::id());
    }
    println!("getpid: {:.0} ns", t.elapsed().as_nanos() as f64 / n as f64);
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(Instant::now());
    }
    println!("Instant::now: {:.0} ns", t.elapsed().as_nanos() as f64 / n as f64);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
