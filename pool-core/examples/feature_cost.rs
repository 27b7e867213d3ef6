//! The cost of issue 16's features on the hot path, for instruction
//! counting (`benches/feature-cost.sh` runs it under callgrind):
//!
//! `feature_cost <get|call> <feature> N` leases and returns a connection N
//! times (`get`), or runs N one-shot point selects through the SQL layer
//! (`call`: `Pool::call`, what every binding's query runs), with one
//! feature on: `off`, `deadline` (statement_timeout), `lease-deadline` (an
//! AcquireOptions::deadline on every acquire), `shed` (shed_load +
//! max_waiting), `fair` (fair_tenants + max_leases_per_tenant), `stats`
//! (statement_stats), `warm` (warm_statements), `slow` (a slow-statement
//! threshold nothing reaches), `trace` (a no-op trace hook) or `all`.
//! Lines marked "not at base" are removed when the file is built at an
//! older commit (only `off` runs there). Prints the wall time per operation.
use std::time::Duration;

use litepool::rusqlite::types::Value;
use litepool::rusqlite::Connection;
use litepool::sql::{Call, Op, Params};
use litepool::{AcquireOptions, OptionValue, PoolConfig};

fn config(feature: &str) -> Result<PoolConfig, litepool::Error> {
    let ms = |n| OptionValue::Duration(Duration::from_millis(n));
    let on: Vec<(&str, OptionValue)> = match feature {
        "off" | "lease-deadline" | "trace" => vec![],
        "deadline" => vec![("statement_timeout", ms(1000))],
        "shed" => vec![("shed_load", OptionValue::Flag(true)), ("max_waiting", OptionValue::Count(64))],
        "fair" => vec![("fair_tenants", OptionValue::Flag(true)), ("max_leases_per_tenant", OptionValue::Count(3))],
        "stats" => vec![("statement_stats", OptionValue::Count(16))],
        "warm" => vec![("warm_statements", OptionValue::Count(16))],
        "slow" => vec![("slow_statement_threshold", ms(1000))],
        _ => vec![
            ("statement_timeout", ms(1000)),
            ("shed_load", OptionValue::Flag(true)),
            ("max_waiting", OptionValue::Count(64)),
            ("fair_tenants", OptionValue::Flag(true)),
            ("max_leases_per_tenant", OptionValue::Count(3)),
            ("statement_stats", OptionValue::Count(16)),
            ("warm_statements", OptionValue::Count(16)),
            ("slow_statement_threshold", ms(1000)),
        ],
    };
    PoolConfig::default().max_size(4).min_idle(4).with_options(on)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "get".to_owned());
    let feature = args.next().unwrap_or_else(|| "off".to_owned());
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("feature_cost.db");
    Connection::open(&path)?.execute_batch(
        "PRAGMA journal_mode=WAL;
         CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, quota INTEGER NOT NULL);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
         INSERT INTO users SELECT i, 'user' || i, i * 10 FROM n;",
    )?;
    let pool = litepool::Pool::new(&path, config(&feature)?)?;
    let hook = std::sync::Arc::new(|_: &litepool::TraceEvent<'_>| {}); // not at base
    if feature == "trace" || feature == "all" {
        pool.set_trace_hook(Some(hook)); // not at base
    }
    #[allow(unused_variables)]
    let deadline = (feature == "lease-deadline" || feature == "all").then(|| Duration::from_secs(1));
    let opts = AcquireOptions::default();
    let opts = AcquireOptions { deadline, ..opts }; // not at base
    std::thread::sleep(Duration::from_millis(100));
    let sql = litepool::sql::Sql::new("SELECT name, quota FROM users WHERE id = ?1");
    let start = std::time::Instant::now();
    for i in 0..n {
        let key = Params::Positional(vec![Value::Integer((i % 10000 + 1) as i64)]);
        match mode.as_str() {
            "call" => {
                let call = Call::new(Op::First, sql.clone()).params(key);
                pool.call(opts.clone(), &call)?;
            }
            _ => drop(pool.acquire(opts.clone())?),
        }
    }
    println!("{:.0} ns/op", start.elapsed().as_nanos() as f64 / n.max(1) as f64);
    Ok(())
}
