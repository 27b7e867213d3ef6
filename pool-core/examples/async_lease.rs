//! Async leases under any executor.
//!
//! `Pool::get_async`, `read_async`, `write_async` and `acquire_async` return
//! futures that need no runtime: no tokio, no async-std. A waiting future
//! parks no thread; the pool wakes its task when a connection (or the write
//! gate) comes free, or when the acquire timeout passes. This example drives
//! them with `pollster::block_on` (a dev-dependency, the smallest executor
//! there is); in a tokio or async-std program you `.await` the same futures.
//!
//! ```sh
//! cargo run -p litepool --example async_lease
//! ```
use std::thread;
use std::time::{Duration, Instant};

use litepool::{AcquireOptions, Error, Lane, Pool, PoolConfig};

fn main() -> litepool::Result<()> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // Two connections, so the example can show a future waiting for one.
    let pool = Pool::new(dir.path().join("async.db"), PoolConfig::default().max_size(2))?;
    pollster::block_on(run(&pool))?;
    // Every lease is back (the futures' leases were dropped): close returns at once.
    pool.close(Duration::from_secs(5))
}

async fn run(pool: &Pool) -> litepool::Result<()> {
    // The write lane, awaited: one writer at a time, BEGIN IMMEDIATE.
    {
        let mut conn = pool.write_async().await?;
        let tx = conn.transaction()?;
        tx.execute_batch("CREATE TABLE jobs (id INTEGER PRIMARY KEY, state TEXT NOT NULL)")?;
        tx.execute("INSERT INTO jobs (state) VALUES ('queued'), ('queued'), ('done')", [])?;
        tx.commit()?;
    } // the lease goes back here

    // A read lease (PRAGMA query_only), awaited.
    let queued: i64 =
        pool.read_async().await?.query_row("SELECT count(*) FROM jobs WHERE state = 'queued'", [], |r| r.get(0))?;
    println!("queued jobs: {queued}");
    assert_eq!(queued, 2);

    // Both connections busy: the next future waits, without blocking a
    // thread, until another thread hands one back 200 ms later.
    let (a, b) = (pool.get_async().await?, pool.get_async().await?);
    let started = Instant::now();
    let releaser = thread::spawn(move || {
        thread::sleep(Duration::from_millis(200));
        drop(a);
    });
    let c = pool.get_async().await?;
    println!("waited {} ms for a free connection", started.elapsed().as_millis());
    assert!(started.elapsed() >= Duration::from_millis(150));
    releaser.join().expect("the releasing thread");

    // With both still out, a short per-call timeout fails with the pool's counts.
    let opts = AcquireOptions { lane: Lane::Any, timeout: Some(Duration::from_millis(50)), ..Default::default() };
    match pool.acquire_async(opts).await {
        Err(err @ Error::Timeout { .. }) => println!("as expected: {} ({err})", err.code()),
        other => panic!("expected a timeout, got {other:?}"),
    }
    drop((b, c));
    println!("state after: {:?}", pool.state());
    assert_eq!(pool.state().active, 0);
    Ok(())
}

// `cargo test` runs the example (Cargo.toml sets `test = true` for it), so
// it keeps compiling and its assertions keep holding.
#[test]
fn example_runs() {
    main().expect("the example runs");
}
