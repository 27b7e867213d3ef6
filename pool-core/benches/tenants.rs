//! Point select on a random tenant: one shared pool with tenants attached,
//! a pool per tenant, and opening the tenant's file per request.
//!
//! Run: `cargo bench -p litepool --bench tenants`.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use litepool::rusqlite::Connection;
use litepool::{Lane, Pool, PoolConfig};

fn make_tenants(dir: &Path, n: usize) -> Vec<(String, PathBuf)> {
    (0..n)
        .map(|i| {
            let code = format!("k{i:03}");
            let path = dir.join(format!("tenant_{code}.db"));
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch(
                "PRAGMA journal_mode=WAL;
                 CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
                 INSERT OR IGNORE INTO users SELECT i, 'user' || i FROM n;",
            )
            .expect("schema");
            (code, path)
        })
        .collect()
}

fn config() -> PoolConfig {
    PoolConfig::default().max_size(4).min_idle(4)
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    for tenants in [8usize, 50] {
        let list = make_tenants(dir.path(), tenants);
        let shared = Pool::new(dir.path().join("main.db"), config()).expect("pool");
        // Let the housekeeper open every connection: a multi-tenant service keeps its pool warm.
        std::thread::sleep(Duration::from_millis(200));
        for (code, path) in &list {
            shared.register_tenant(code, path).expect("register");
        }
        let per_tenant: HashMap<String, Pool> =
            list.iter().map(|(code, path)| (code.clone(), Pool::new(path, config()).expect("pool"))).collect();
        let sqls: HashMap<String, String> = list
            .iter()
            .map(|(code, _)| (code.clone(), format!("SELECT name FROM tenant_{code}.users WHERE id = ?1")))
            .collect();
        let mut rng = fastrand::Rng::with_seed(7);
        let mut pick = move || (rng.usize(..tenants), rng.i64(1..=1000));

        let mut g = c.benchmark_group(format!("tenant_point_select_{tenants}_tenants"));
        g.bench_function(BenchmarkId::new("shared_pool", tenants), |b| {
            b.iter(|| {
                let (t, id) = pick();
                let code = &list[t].0;
                let conn = shared.get_for_tenant(code, Lane::Any).expect("lease");
                let mut stmt = conn.prepare_cached(&sqls[code]).expect("prepare");
                stmt.query_row([id], |r| r.get::<_, String>(0)).expect("row")
            })
        });
        g.bench_function(BenchmarkId::new("pool_per_tenant", tenants), |b| {
            b.iter(|| {
                let (t, id) = pick();
                let conn = per_tenant[&list[t].0].get().expect("lease");
                let mut stmt = conn.prepare_cached("SELECT name FROM users WHERE id = ?1").expect("prepare");
                stmt.query_row([id], |r| r.get::<_, String>(0)).expect("row")
            })
        });
        g.bench_function(BenchmarkId::new("open_per_request", tenants), |b| {
            b.iter(|| {
                let (t, id) = pick();
                let conn = Connection::open(&list[t].1).expect("open");
                conn.busy_timeout(Duration::from_secs(5)).expect("busy");
                conn.query_row("SELECT name FROM users WHERE id = ?1", [id], |r| r.get::<_, String>(0)).expect("row")
            })
        });
        g.finish();
    }
}

fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! { name = benches; config = criterion(); targets = bench }
criterion_main!(benches);
