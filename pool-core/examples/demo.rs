//! `make demo` (core): a mixed read/write workload from several threads
//! through one pool, then the pool's state, statistics, health and its
//! Prometheus metrics.
//!
//! Environment: `DB_PATH` (default: a fresh file in a temp directory),
//! `DEMO_SECONDS` (default 5), `DEMO_THREADS` (default 8), and the pool's
//! `DB_POOL_*` variables.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use litepool::{Pool, PoolConfig};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds = env_num("DEMO_SECONDS", 5);
    let threads = env_num("DEMO_THREADS", 8);
    let dir = tempfile::tempdir()?;
    let path = std::env::var("DB_PATH").map_or_else(|_| dir.path().join("quota.db"), Into::into);
    let config = PoolConfig::from_env()?.name("demo");
    println!("litepool demo: {} threads for {} s on {}", threads, seconds, path.display());
    println!("pool config: max_size={} min_idle={}", config.max_size, config.min_idle);
    let pool = Pool::new(&path, config)?;
    pool.execute_batch(
        "CREATE TABLE IF NOT EXISTS api_keys (key TEXT PRIMARY KEY, total_quota INTEGER, used_quota INTEGER);
         CREATE TABLE IF NOT EXISTS usage_log (id INTEGER PRIMARY KEY, api_key TEXT, endpoint TEXT, ts INTEGER);
         INSERT OR IGNORE INTO api_keys
           WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
           SELECT 'key-' || i, 1000000, 0 FROM n;",
    )?;

    let stop = Arc::new(AtomicBool::new(false));
    let (reads, writes, errors) =
        (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (pool, stop) = (pool.clone(), Arc::clone(&stop));
            let (reads, writes, errors) = (Arc::clone(&reads), Arc::clone(&writes), Arc::clone(&errors));
            thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(t);
                while !stop.load(Relaxed) {
                    let key = format!("key-{}", rng.u32(1..=100));
                    let outcome = if rng.u8(..10) < 8 {
                        // 80 % reads on the read lane.
                        pool.read().and_then(|c| {
                            c.query_row("SELECT used_quota FROM api_keys WHERE key = ?1", [&key], |r| r.get::<_, i64>(0))
                                .map_err(Into::into)
                        })
                        .map(|_| &reads)
                    } else {
                        // 20 % writes: a quota check + log in one BEGIN IMMEDIATE transaction.
                        pool.write()
                            .and_then(|mut c| {
                                let tx = c.transaction()?;
                                tx.execute("UPDATE api_keys SET used_quota = used_quota + 1 WHERE key = ?1", [&key])?;
                                tx.execute(
                                    "INSERT INTO usage_log (api_key, endpoint, ts) VALUES (?1, '/gateway', unixepoch())",
                                    [&key],
                                )?;
                                tx.commit().map_err(Into::into)
                            })
                            .map(|()| &writes)
                    };
                    match outcome {
                        Ok(counter) => counter.fetch_add(1, Relaxed),
                        Err(e) => {
                            eprintln!("error: {e}");
                            errors.fetch_add(1, Relaxed)
                        }
                    };
                }
            })
        })
        .collect();

    let started = Instant::now();
    for s in 1..=seconds {
        thread::sleep(Duration::from_secs(1));
        let st = pool.state();
        println!(
            "[{s:>2}s] reads={:>8} writes={:>7} errors={} | active={} idle={} total={} waiting={} health={}",
            reads.load(Relaxed),
            writes.load(Relaxed),
            errors.load(Relaxed),
            st.active,
            st.idle,
            st.total,
            st.waiting,
            pool.health()
        );
    }
    stop.store(true, Relaxed);
    for w in workers {
        w.join().map_err(|_| "a worker panicked")?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (r, w) = (reads.load(Relaxed), writes.load(Relaxed));
    let logged: i64 = pool.read()?.query_row("SELECT count(*) FROM usage_log", [], |r| r.get(0))?;

    println!(
        "\n== throughput: {:.0} reads/s, {:.0} writes/s ({} errors)",
        r as f64 / elapsed,
        w as f64 / elapsed,
        errors.load(Relaxed)
    );
    println!("== every write committed: usage_log has {logged} rows, writes counted {w}");
    println!("== state:      {:?}", pool.state());
    println!("== statistics: {:?}", pool.statistics());
    println!("== health:     {}", pool.health());
    println!("\n== metrics_text() (Prometheus):");
    for line in pool.metrics_text().lines().filter(|l| !l.starts_with("# HELP") && !l.contains("_bucket")) {
        println!("   {line}");
    }
    pool.close(Duration::from_secs(5))?;
    println!("\n== closed gracefully: {:?}", pool.state());
    if errors.load(Relaxed) > 0 || logged < 0 || u64::try_from(logged)? < w {
        return Err("the demo saw errors or lost writes".into());
    }
    Ok(())
}
