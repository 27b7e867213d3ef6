//! Issue 16's features on the hot path, off and on (criterion): an
//! acquire + release (`get`) and a one-shot point select through the SQL
//! layer (`call`: `Pool::call`, what every binding's query runs), with one
//! feature on at a time (see `examples/feature_cost.rs` for the same cases
//! counted in instructions).
//!
//! Run one case: `cargo bench -p litepool --bench features -- 'features/call/stats$'`;
//! `python3 benches/features.py ROUNDS` runs each case next to `off`, in
//! turn, and reports the median on/off ratio.
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use litepool::rusqlite::types::Value;
use litepool::rusqlite::Connection;
use litepool::sql::{Call, Op, Params, Sql};
use litepool::{AcquireOptions, Pool, PoolConfig};

/// The features, each as a config and the acquire options of every call.
const FEATURES: [&str; 10] =
    ["off", "deadline", "lease-deadline", "shed", "fair", "stats", "warm", "slow", "trace", "all"];

fn config(feature: &str) -> PoolConfig {
    let base = PoolConfig::default().max_size(4).min_idle(4);
    let second = Duration::from_secs(1);
    match feature {
        "deadline" => base.statement_timeout(Some(second)),
        "shed" => base.shed_load(true).max_waiting(64),
        "fair" => base.fair_tenants(true).max_leases_per_tenant(3),
        "stats" => base.statement_stats(16),
        "warm" => base.warm_statements(16),
        "slow" => base.slow_statement_threshold(Some(second)),
        "all" => base
            .statement_timeout(Some(second))
            .shed_load(true)
            .max_waiting(64)
            .fair_tenants(true)
            .max_leases_per_tenant(3)
            .statement_stats(16)
            .warm_statements(16)
            .slow_statement_threshold(Some(second)),
        _ => base,
    }
}

fn pool_for(path: &std::path::Path, feature: &str) -> (Pool, AcquireOptions) {
    let pool = Pool::new(path, config(feature)).expect("pool");
    if feature == "trace" || feature == "all" {
        pool.set_trace_hook(Some(Arc::new(|_: &litepool::TraceEvent<'_>| {})));
    }
    let deadline = matches!(feature, "lease-deadline" | "all").then(|| Duration::from_secs(1));
    (pool, AcquireOptions { deadline, ..AcquireOptions::default() })
}

fn features(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("features.db");
    Connection::open(&path)
        .and_then(|c| {
            c.execute_batch(
                "PRAGMA journal_mode=WAL;
                 CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, quota INTEGER NOT NULL);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
                 INSERT INTO users SELECT i, 'user' || i, i * 10 FROM n;",
            )
        })
        .expect("schema");
    let sql = Sql::new("SELECT name, quota FROM users WHERE id = ?1");
    let mut group = c.benchmark_group("features");
    for feature in FEATURES {
        let (pool, opts) = pool_for(&path, feature);
        group.bench_function(format!("get/{feature}"), |b| b.iter(|| drop(pool.acquire(opts.clone()).expect("lease"))));
        let mut i = 0i64;
        group.bench_function(format!("call/{feature}"), |b| {
            b.iter(|| {
                i = i % 10000 + 1;
                let call = Call::new(Op::First, sql.clone()).params(Params::Positional(vec![Value::Integer(i)]));
                pool.call(opts.clone(), &call).expect("call")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, features);
criterion_main!(benches);
