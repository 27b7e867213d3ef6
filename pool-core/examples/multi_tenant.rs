//! Many tenant databases behind one pool.
//!
//! `register_tenant(code, path)` opens the tenant's file once (a bad path
//! fails there) and from then on attaches it as schema `tenant_<code>` on the
//! leases that ask for it: `query_as`/`execute_as` for one-call SQL,
//! `get_for_tenant` for a lease. A tenant lease is confined to its own schema
//! (other `tenant_*` schemas are not authorised), writers queue at the
//! tenant's own write gate, and idle connections that already have the
//! tenant attached are preferred.
//!
//! ```sh
//! cargo run -p litepool --example multi_tenant
//! ```
use std::time::Duration;

use litepool::rusqlite::types::Value;
use litepool::{Lane, Pool, PoolConfig};

fn main() -> litepool::Result<()> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let pool = Pool::new(dir.path().join("main.db"), PoolConfig::default().max_size(4))?;

    for code in ["k001", "k002"] {
        pool.register_tenant(code, dir.path().join(format!("{code}.db")))?;
        pool.execute_as(Some(code), &format!("CREATE TABLE tenant_{code}.users (name TEXT NOT NULL)"), [])?;
    }
    pool.execute_as(Some("k001"), "INSERT INTO tenant_k001.users VALUES ('ada'), ('grace')", [])?;
    pool.execute_as(Some("k002"), "INSERT INTO tenant_k002.users VALUES ('linus')", [])?;

    // A write lease on one tenant: its own gate, a BEGIN IMMEDIATE transaction.
    {
        let mut conn = pool.get_for_tenant("k002", Lane::Write)?;
        assert_eq!(conn.tenant_schema(), Some("tenant_k002"));
        let tx = conn.transaction()?;
        tx.execute("INSERT INTO tenant_k002.users VALUES ('ken')", [])?;
        tx.commit()?;
    }

    for code in ["k001", "k002"] {
        let rows = pool.query_as(Some(code), &format!("SELECT name FROM tenant_{code}.users ORDER BY name"), [])?;
        let names: Vec<String> = rows
            .rows
            .iter()
            .map(|row| match &row[0] {
                Value::Text(name) => name.clone(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        println!("{code}: {}", names.join(", "));
    }

    // Confinement: a k001 lease cannot read k002's schema, even if the
    // connection happens to have it attached.
    let conn = pool.get_for_tenant("k001", Lane::Read)?;
    let denied = conn.query_row("SELECT count(*) FROM tenant_k002.users", [], |r| r.get::<_, i64>(0));
    println!("k001's lease reading tenant_k002: {}", denied.as_ref().map_or_else(|e| e.to_string(), |n| n.to_string()));
    assert!(denied.is_err());
    drop(conn);

    // Unknown and malformed codes are refused with their own errors.
    let unknown = pool.query_as(Some("k999"), "SELECT 1", []).unwrap_err();
    let invalid = pool.register_tenant("K-1; DROP", dir.path().join("x.db")).unwrap_err();
    println!("{}: {unknown}\n{}: {invalid}", unknown.code(), invalid.code());
    assert_eq!((unknown.code(), invalid.code()), ("LITEPOOL_UNKNOWN_TENANT", "LITEPOOL_INVALID_TENANT"));

    for stats in pool.tenant_statistics() {
        println!(
            "{}: {} leases, {} attaches, {} affinity hits",
            stats.code, stats.acquired, stats.attaches, stats.affinity_hits
        );
    }
    // Removing waits for the tenant's leases (none are out), keeps its file.
    pool.remove_tenant("k002", Duration::from_secs(1))?;
    assert_eq!(pool.query_as(Some("k002"), "SELECT 1", []).unwrap_err().code(), "LITEPOOL_UNKNOWN_TENANT");
    pool.close(Duration::from_secs(5))
}

// `cargo test` runs the example (Cargo.toml sets `test = true` for it), so
// it keeps compiling and its assertions keep holding.
#[test]
fn example_runs() {
    main().expect("the example runs");
}
