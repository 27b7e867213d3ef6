//! Tenants: one shared pool, tenant databases attached as `tenant_<code>`.
mod common;
use std::thread;
use std::time::Duration;

use common::*;
use litepool::{Error, Lane, Pool};

fn tenant_pool(max: u32, tenants: usize) -> (tempfile::TempDir, Pool) {
    let dir = tempfile::tempdir().unwrap();
    let pool =
        Pool::new(dir.path().join("main.db"), quick().max_size(max).acquire_timeout(Duration::from_secs(30))).unwrap();
    for i in 0..tenants {
        let code = format!("k{i:03}");
        pool.register_tenant(&code, dir.path().join(format!("{code}.db"))).unwrap();
        let conn = pool.get_for_tenant(&code, Lane::Write).unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS tenant_{code}.users (id INTEGER PRIMARY KEY, name TEXT);
             INSERT INTO tenant_{code}.users (name) VALUES ('user of {code}');"
        ))
        .unwrap();
    }
    (dir, pool)
}

#[test]
fn tenants_are_isolated() {
    let (_dir, pool) = tenant_pool(2, 2);
    let conn = pool.get_for_tenant("k000", Lane::Read).unwrap();
    assert_eq!(conn.tenant_schema(), Some("tenant_k000"));
    let name: String = conn.query_row("SELECT name FROM tenant_k000.users", [], |r| r.get(0)).unwrap();
    assert_eq!(name, "user of k000");
    drop(conn);
    let rows = pool.query_as(Some("k001"), "SELECT name FROM tenant_k001.users", []).unwrap();
    assert_eq!(rows.rows.len(), 1);
    assert_eq!(rows.rows[0][0], litepool::rusqlite::types::Value::Text("user of k001".into()));
    // Each tenant file holds only its own rows.
    let dir = _dir.path();
    let raw = litepool::rusqlite::Connection::open(dir.join("k000.db")).unwrap();
    let names: Vec<String> = raw
        .prepare("SELECT name FROM users")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(names, vec!["user of k000"]);
}

#[test]
fn invalid_and_unknown_codes_are_clear_errors() {
    let (dir, pool) = tenant_pool(2, 0);
    for bad in ["", "K001", "a;DROP TABLE x", "x\"y", &"a".repeat(65), "dash-ed"] {
        let err = pool.register_tenant(bad, dir.path().join("bad.db")).unwrap_err();
        assert!(matches!(err, Error::InvalidTenant(_)), "{bad:?}: {err}");
        assert_eq!(err.code(), "LITEPOOL_INVALID_TENANT");
        assert_eq!(pool.get_for_tenant(bad, Lane::Any).unwrap_err().code(), "LITEPOOL_INVALID_TENANT");
    }
    let err = pool.get_for_tenant("nobody", Lane::Any).unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_UNKNOWN_TENANT");
    let err = pool.register_tenant("k9", "/nonexistent/dir/k9.db").unwrap_err();
    assert!(err.to_string().contains("/nonexistent/dir/k9.db"), "{err}");
}

#[test]
fn affinity_prefers_a_connection_with_the_tenant_attached() {
    let (_dir, pool) = tenant_pool(3, 2);
    // Make two idle connections: one with k000 attached below one without.
    let a = pool.get_for_tenant("k000", Lane::Any).unwrap();
    let b = pool.get().unwrap();
    let (ida, _) = (a.connection_id(), b.connection_id());
    drop(a);
    drop(b); // b is on top of the LIFO stack
    let before = pool.tenant_statistics()[0].affinity_hits;
    let again = pool.get_for_tenant("k000", Lane::Any).unwrap();
    assert_eq!(again.connection_id(), ida);
    assert_eq!(pool.tenant_statistics()[0].affinity_hits, before + 1);
}

#[test]
fn past_the_attach_limit_the_lru_attachment_is_detached() {
    let (_dir, pool) = tenant_pool(1, 12);
    let conn = pool.get().unwrap();
    let limit: i64 = conn.limit(litepool::rusqlite::limits::Limit::SQLITE_LIMIT_ATTACHED).unwrap().into();
    let attached: i64 = conn
        .query_row("SELECT count(*) FROM pragma_database_list WHERE name LIKE 'tenant_%'", [], |r| r.get(0))
        .unwrap();
    assert!(attached <= limit, "attached {attached} > limit {limit}");
    drop(conn);
    let stats = pool.tenant_statistics();
    let detaches: u64 = stats.iter().map(|s| s.detaches).sum();
    assert!(detaches >= 12 - limit as u64, "{stats:?}");
    // The least recently used was detached: k000 (first) is gone, k011 (last) stays.
    let conn = pool.get().unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM pragma_database_list")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(names.contains(&"tenant_k011".to_string()) && !names.contains(&"tenant_k000".to_string()), "{names:?}");
}

#[test]
fn two_hundred_tenants_on_four_connections_from_eight_threads() {
    let (_dir, pool) = tenant_pool(4, 200);
    let handles: Vec<_> = (0..8u64)
        .map(|seed| {
            let pool = pool.clone();
            thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(seed);
                for _ in 0..150 {
                    let code = format!("k{:03}", rng.usize(..200));
                    if rng.bool() {
                        let rows = pool
                            .query_as(Some(&code), &format!("SELECT name FROM tenant_{code}.users WHERE id = 1"), [])
                            .unwrap();
                        assert_eq!(rows.rows[0][0], litepool::rusqlite::types::Value::Text(format!("user of {code}")));
                    } else {
                        pool.execute_as(
                            Some(&code),
                            &format!("INSERT INTO tenant_{code}.users (name) VALUES ('extra')"),
                            [],
                        )
                        .unwrap();
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(pool.state().active, 0);
    assert!(pool.state().total <= 4);
    let total_extra: i64 = (0..200)
        .map(|i| {
            let code = format!("k{i:03}");
            let rows = pool
                .query_as(Some(&code), &format!("SELECT count(*) FROM tenant_{code}.users WHERE name = 'extra'"), [])
                .unwrap();
            match rows.rows[0][0] {
                litepool::rusqlite::types::Value::Integer(n) => n,
                _ => panic!("not an integer"),
            }
        })
        .sum();
    let inserts: u64 = pool.tenant_statistics().iter().map(|s| s.acquired).sum();
    assert!(total_extra > 0 && (total_extra as u64) < inserts);
}

#[test]
fn a_transaction_spans_main_and_one_tenant() {
    let (_dir, pool) = tenant_pool(2, 1);
    pool.execute_batch("CREATE TABLE audit (what TEXT)").unwrap();
    {
        let mut conn = pool.get_for_tenant("k000", Lane::Write).unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute("INSERT INTO tenant_k000.users (name) VALUES ('tx')", []).unwrap();
        tx.execute("INSERT INTO main.audit VALUES ('added tx user')", []).unwrap();
        // rolled back: neither side keeps its row
    }
    let n = pool.query_as(Some("k000"), "SELECT count(*) FROM tenant_k000.users WHERE name = 'tx'", []).unwrap();
    assert_eq!(n.rows[0][0], litepool::rusqlite::types::Value::Integer(0));
    {
        let mut conn = pool.get_for_tenant("k000", Lane::Write).unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute("INSERT INTO tenant_k000.users (name) VALUES ('tx')", []).unwrap();
        tx.execute("INSERT INTO main.audit VALUES ('added tx user')", []).unwrap();
        tx.commit().unwrap();
    }
    let n = pool
        .query_as(
            Some("k000"),
            "SELECT (SELECT count(*) FROM tenant_k000.users WHERE name = 'tx') + (SELECT count(*) FROM main.audit)",
            [],
        )
        .unwrap();
    assert_eq!(n.rows[0][0], litepool::rusqlite::types::Value::Integer(2));
}

#[test]
fn tenants_have_their_own_write_gates() {
    let (_dir, pool) = tenant_pool(3, 2);
    let _a = pool.get_for_tenant("k000", Lane::Write).unwrap();
    // A writer of another tenant does not queue behind k000's writer.
    let b = pool.acquire(litepool::AcquireOptions {
        lane: Lane::Write,
        tenant: Some("k001".into()),
        timeout: Some(Duration::from_millis(200)),
        ..Default::default()
    });
    assert!(b.is_ok());
}

#[test]
fn removing_a_tenant_with_leases_out_fails_clearly_then_succeeds() {
    let (_dir, pool) = tenant_pool(2, 1);
    let held = pool.get_for_tenant("k000", Lane::Any).unwrap();
    let err = pool.remove_tenant("k000", Duration::from_millis(30)).unwrap_err();
    assert!(matches!(err, Error::TenantBusy { active: 1, .. }), "{err}");
    drop(held);
    pool.remove_tenant("k000", Duration::from_secs(1)).unwrap();
    assert_eq!(pool.get_for_tenant("k000", Lane::Any).unwrap_err().code(), "LITEPOOL_UNKNOWN_TENANT");
}

#[test]
fn tenant_metrics_are_bounded() {
    let (_dir, pool) = tenant_pool(2, 3);
    let _held = pool.get_for_tenant("k001", Lane::Any).unwrap();
    let text = pool.metrics_text();
    assert!(text.contains("litepool_tenants{pool=\"litepool\"} 3"), "{text}");
    assert!(text.contains("litepool_tenant_leases_active{pool=\"litepool\",tenant=\"k001\"} 1"));
    assert!(!text.contains("litepool_tenant_leases_active{pool=\"litepool\",tenant=\"k000\"}"), "idle: no gauge");
    // Wait and hold totals: only for the max_size tenants holding longest.
    let hold_series = text.lines().filter(|l| l.starts_with("litepool_tenant_hold_seconds_total{")).count();
    assert!(hold_series <= 2, "{text}");
}

#[test]
fn a_tenant_lease_cannot_touch_another_tenants_schema_on_the_same_connection() {
    let (_dir, pool) = tenant_pool(1, 2);
    let sql_b = "SELECT name FROM tenant_k001.users";
    {
        // k001 gets attached to the only connection, and a statement cached.
        let b = pool.get_for_tenant("k001", Lane::Any).unwrap();
        let name: String = b.prepare_cached(sql_b).unwrap().query_row([], |r| r.get(0)).unwrap();
        assert_eq!(name, "user of k001");
    }
    let a = pool.get_for_tenant("k000", Lane::Write).unwrap();
    // The list of attached databases is itself another tenant's metadata.
    // (The table-valued form is refused when it runs: it prepares the pragma then.)
    let listed: Result<Vec<String>, _> =
        a.prepare("SELECT name FROM pragma_database_list").unwrap().query_map([], |r| r.get(0)).unwrap().collect();
    assert!(listed.is_err(), "{listed:?}");
    assert!(a.prepare("PRAGMA database_list").is_err());
    // Neither a fresh nor a cached statement reaches k001 through k000's lease.
    let err = a.prepare_cached(sql_b).map(|_| ()).unwrap_err();
    assert_eq!(err.sqlite_error_code(), Some(litepool::rusqlite::ErrorCode::AuthorizationForStatementDenied), "{err}");
    assert!(a.execute("DELETE FROM tenant_k001.users", []).is_err());
    assert!(a.execute_batch("DETACH DATABASE tenant_k001").is_err());
    assert!(a.execute_batch("ATTACH DATABASE 'elsewhere.db' AS tenant_zzz").is_err());
    // Its own schema, main and temp stay usable.
    a.execute("INSERT INTO tenant_k000.users (name) VALUES ('ok')", []).unwrap();
    a.execute_batch("CREATE TEMP TABLE scratch (x); CREATE TABLE IF NOT EXISTS main.shared (x)").unwrap();
    drop(a);
    // A lease without a tenant is not confined (and sees both attached).
    let admin = pool.get().unwrap();
    let attached = attached_schemas(&admin);
    assert!(attached.contains(&"tenant_k001".to_string()), "both attached: {attached:?}");
    assert!(attached.contains(&"tenant_k000".to_string()), "both attached: {attached:?}");
    let n: i64 = admin.query_row("SELECT count(*) FROM tenant_k001.users", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1);
}

fn attached_schemas(conn: &litepool::PooledConnection) -> Vec<String> {
    conn.prepare("SELECT name FROM pragma_database_list WHERE name LIKE 'tenant_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn a_removed_tenant_is_detached_at_the_next_lease() {
    let (_dir, pool) = tenant_pool(1, 2);
    drop(pool.get_for_tenant("k000", Lane::Any).unwrap());
    pool.remove_tenant("k000", Duration::from_secs(1)).unwrap();
    let conn = pool.get().unwrap();
    let attached = attached_schemas(&conn);
    assert!(!attached.contains(&"tenant_k000".to_string()), "{attached:?}");
    assert!(attached.contains(&"tenant_k001".to_string()), "{attached:?}");
}

#[test]
fn a_pending_removal_refuses_new_leases_and_a_timed_out_one_restores_the_tenant() {
    let (dir, pool) = tenant_pool(2, 1);
    let held = pool.get_for_tenant("k000", Lane::Any).unwrap();
    let remover = {
        let pool = pool.clone();
        thread::spawn(move || pool.remove_tenant("k000", Duration::from_millis(300)))
    };
    thread::sleep(Duration::from_millis(50));
    // While the removal waits: no new lease, no re-registration.
    assert_eq!(pool.get_for_tenant("k000", Lane::Any).unwrap_err().code(), "LITEPOOL_UNKNOWN_TENANT");
    let err = pool.register_tenant("k000", dir.path().join("other.db")).unwrap_err();
    assert!(err.to_string().contains("being removed"), "{err}");
    assert!(matches!(remover.join().unwrap(), Err(Error::TenantBusy { .. })));
    // It timed out: the tenant is back, with its data.
    drop(held);
    let rows = pool.query_as(Some("k000"), "SELECT name FROM tenant_k000.users", []).unwrap();
    assert_eq!(rows.rows.len(), 1);
    // Removed for good, the code can be registered again elsewhere.
    pool.remove_tenant("k000", Duration::from_secs(1)).unwrap();
    pool.register_tenant("k000", dir.path().join("k000-new.db")).unwrap();
    let conn = pool.get_for_tenant("k000", Lane::Write).unwrap();
    conn.execute_batch("CREATE TABLE tenant_k000.fresh (x)").unwrap();
    assert_eq!(pool.tenant_statistics_of("k000").unwrap().active, 1);
}

#[test]
fn tenants_cannot_be_registered_on_a_closed_pool() {
    let (dir, pool) = tenant_pool(1, 0);
    pool.close(Duration::from_secs(1)).unwrap();
    assert_eq!(pool.register_tenant("k1", dir.path().join("k1.db")).unwrap_err().code(), "LITEPOOL_CLOSED");
}
