//! A lease is a clean connection: whatever a lease changed is undone before
//! the next borrower, and no lease can break tenant isolation. Each test
//! pins one reproduction of the clean-leases issue.
mod common;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use litepool::{AcquireOptions, Lane, Pool};

fn tenants_on_one_connection() -> (tempfile::TempDir, Pool) {
    let dir = tempfile::tempdir().unwrap();
    let pool = Pool::new(dir.path().join("main.db"), quick().max_size(1)).unwrap();
    pool.execute_batch("CREATE TABLE usage_log (who TEXT, n INTEGER)").unwrap();
    for code in ["k001", "k002"] {
        pool.register_tenant(code, dir.path().join(format!("{code}.db"))).unwrap();
        pool.get_for_tenant(code, Lane::Write)
            .unwrap()
            .execute_batch(&format!(
                "CREATE TABLE tenant_{code}.users (name TEXT); INSERT INTO tenant_{code}.users VALUES ('secret of {code}')"
            ))
            .unwrap();
    }
    (dir, pool)
}

fn is_auth_error(err: &litepool::Error) -> bool {
    err.code() == "SQLITE_AUTH"
}

#[test]
fn a_tenant_cannot_plant_a_temp_trigger_that_reads_another_tenant() {
    let (_dir, pool) = tenants_on_one_connection();
    let attacker = pool.get_for_tenant("k001", Lane::Write).unwrap();
    attacker.execute_batch("CREATE TEMP TABLE loot (name TEXT)").unwrap();
    let err = attacker
        .execute_batch(
            "CREATE TEMP TRIGGER grab AFTER INSERT ON main.usage_log \
             BEGIN INSERT INTO loot SELECT name FROM tenant_k002.users; END",
        )
        .unwrap_err();
    assert!(is_auth_error(&err), "{err}");
    assert!(err.to_string().contains("TEMP triggers and views cannot be created on a tenant lease"), "{err}");
    let err = attacker.execute_batch("CREATE TEMP VIEW peek AS SELECT 1").unwrap_err();
    assert!(is_auth_error(&err), "{err}");
    drop(attacker);
    // The victim's ordinary write, then the attacker again: nothing planted, nothing kept.
    pool.get_for_tenant("k002", Lane::Write).unwrap().execute("INSERT INTO usage_log VALUES ('k002', 1)", []).unwrap();
    let attacker = pool.get_for_tenant("k001", Lane::Read).unwrap();
    let err = attacker.query_rows("SELECT * FROM temp.loot", []).unwrap_err();
    assert!(err.to_string().contains("no such table"), "the TEMP table is gone with its lease: {err}");
    assert_eq!(pool.statistics().reset_on_return, 1);
}

#[test]
fn connection_state_does_not_leak_to_the_next_lease() {
    let db = pool_with(quick().max_size(1));
    db.pool
        .execute_batch(
            "CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (parent_id INTEGER REFERENCES parent(id))",
        )
        .unwrap();
    {
        let careless = db.pool.get().unwrap();
        careless
            .execute_batch(
                "PRAGMA foreign_keys = OFF; PRAGMA busy_timeout = 1; PRAGMA recursive_triggers = ON;
                 CREATE TEMP TABLE scratch (x); CREATE TEMP VIEW v AS SELECT 1;
                 CREATE TEMP TRIGGER tr AFTER INSERT ON main.parent BEGIN SELECT 1; END;",
            )
            .unwrap();
    }
    let next = db.pool.get().unwrap();
    let err = next.execute("INSERT INTO child VALUES (42)", []).unwrap_err();
    assert_eq!(err.code(), "SQLITE_CONSTRAINT_FOREIGNKEY", "{err}");
    let pragma = |name: &str| -> i64 { next.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0)).unwrap() };
    assert_eq!(pragma("busy_timeout"), 5000);
    assert_eq!(pragma("recursive_triggers"), 0);
    let temp: i64 = next.query_row("SELECT count(*) FROM temp.sqlite_master", [], |r| r.get(0)).unwrap();
    assert_eq!(temp, 0, "TEMP objects are dropped");
    drop(next);
    let stats = db.pool.statistics();
    assert_eq!((stats.reset_on_return, stats.closed_dirty, stats.created), (1, 0, 1), "{stats:?}");
}

#[test]
fn a_clean_lease_is_not_reset() {
    let db = pool_with(quick().max_size(1));
    db.pool.execute_batch("CREATE TABLE t (x)").unwrap();
    for _ in 0..3 {
        let c = db.pool.get().unwrap();
        c.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let _: i64 = c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        let _: i64 = c.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        let _ = c.query_rows("PRAGMA table_info(t)", []).unwrap();
        c.execute_batch("PRAGMA user_version = 7").unwrap();
    }
    assert_eq!(db.pool.statistics().reset_on_return, 0);
}

#[test]
fn a_cached_state_changing_statement_is_seen_again_in_a_later_lease() {
    let db = pool_with(quick().max_size(1));
    for _ in 0..3 {
        let c = db.pool.get().unwrap();
        c.prepare_cached("PRAGMA foreign_keys = OFF").unwrap().execute([]).unwrap();
    }
    assert_eq!(db.pool.statistics().reset_on_return, 3);
    let on: i64 = db.pool.get().unwrap().query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
    assert_eq!(on, 1);
}

#[test]
fn a_pragma_the_pool_cannot_restore_replaces_the_connection() {
    let db = pool_with(quick().max_size(1));
    let first = db.pool.get().unwrap().connection_id();
    db.pool.get().unwrap().execute_batch("PRAGMA case_sensitive_like = ON").unwrap();
    let c = db.pool.get().unwrap();
    assert_ne!(c.connection_id(), first);
    let like: bool = c.query_row("SELECT 'a' LIKE 'A'", [], |r| r.get(0)).unwrap();
    assert!(like, "a fresh connection: LIKE is case-insensitive again");
    assert_eq!(db.pool.statistics().closed_dirty, 1);
}

#[test]
fn a_read_lease_stays_read_only() {
    let db = pool_with(quick().max_size(1));
    db.pool.execute_batch("CREATE TABLE t (x)").unwrap();
    {
        let r = db.pool.read().unwrap();
        let err = r.execute_batch("PRAGMA query_only = OFF").unwrap_err();
        assert!(err.to_string().contains("read() lease stays read-only"), "{err}");
        assert_eq!(r.execute("INSERT INTO t VALUES (1)", []).unwrap_err().code(), "LITEPOOL_READ_ONLY_LANE");
    }
    // An ordinary lease may set query_only; it does not outlive the lease.
    db.pool.get().unwrap().execute_batch("PRAGMA query_only = ON").unwrap();
    db.pool.get().unwrap().execute("INSERT INTO t VALUES (1)", []).unwrap();
    let r = db.pool.read().unwrap();
    assert_eq!(r.execute("INSERT INTO t VALUES (2)", []).unwrap_err().code(), "LITEPOOL_READ_ONLY_LANE");
}

#[test]
fn a_raw_lease_that_removed_the_authorizer_cannot_unconfine_later_tenant_leases() {
    let (_dir, pool) = tenants_on_one_connection();
    {
        let raw = pool.get_for_tenant("k001", Lane::Any).unwrap();
        raw.note_raw_access();
        // What `sqlite3_set_authorizer(db, NULL, NULL)` does through the C API.
        raw.authorizer(None::<fn(litepool::rusqlite::hooks::AuthContext<'_>) -> _>).unwrap();
        raw.execute_batch("PRAGMA foreign_keys = OFF; CREATE TEMP TABLE hidden (x)").unwrap();
    }
    let other = pool.get_for_tenant("k002", Lane::Read).unwrap();
    let err = other.query_rows("SELECT name FROM tenant_k001.users", []).unwrap_err();
    assert!(is_auth_error(&err), "confined again: {err}");
    let fk: i64 = other.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
    assert_eq!(fk, 1, "every pragma restored when the authorizer was gone");
    assert!(other.query_rows("SELECT * FROM temp.hidden", []).is_err());
}

#[test]
fn a_tenant_lease_cannot_list_the_other_tenants_databases() {
    let (_dir, pool) = tenants_on_one_connection();
    let k001 = pool.get_for_tenant("k001", Lane::Read).unwrap();
    let err = k001.query_rows("SELECT name, file FROM pragma_database_list", []).unwrap_err();
    assert!(is_auth_error(&err), "{err}");
    assert!(err.to_string().contains("would list other tenants' databases"), "{err}");
    assert!(k001.query_rows("PRAGMA database_list", []).is_err());
    drop(k001);
    let admin = pool.get().unwrap();
    assert!(admin.query_rows("PRAGMA database_list", []).unwrap().rows.len() >= 3);
}

#[test]
fn an_attachment_a_lease_made_is_detached_on_return() {
    let db = pool_with(quick().max_size(1));
    let other = db.dir.path().join("other.db");
    db.pool.get().unwrap().execute("ATTACH DATABASE ?1 AS other", [other.to_str().unwrap()]).unwrap();
    let names = db.pool.get().unwrap().query_rows("SELECT name FROM pragma_database_list", []).unwrap();
    let names: Vec<_> = names.rows.into_iter().map(|r| r[0].clone()).collect();
    assert!(!names.contains(&litepool::rusqlite::types::Value::Text("other".into())), "{names:?}");
    assert_eq!(db.pool.statistics().reset_on_return, 1);
}

#[test]
fn queued_callbacks_run_in_order_without_nesting() {
    // 100,000 queued callbacks that each release at once, on an 8 MiB stack
    // (a nested hand-over overflowed it at about 10,000).
    let handle = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(|| {
            let db = pool_with(quick().max_size(1).acquire_timeout(Duration::from_secs(60)));
            let held = db.pool.get().unwrap();
            let order = Arc::new(Mutex::new(Vec::with_capacity(100_000)));
            for i in 0..100_000u32 {
                let order = Arc::clone(&order);
                db.pool.acquire_with(AcquireOptions::default(), move |lease| {
                    let lease = lease.expect("granted");
                    order.lock().unwrap().push(i);
                    drop(lease);
                });
            }
            drop(held);
            let order = order.lock().unwrap();
            assert_eq!(order.len(), 100_000, "every callback ran");
            assert!(order.windows(2).all(|w| w[0] < w[1]), "in FIFO order");
            assert_eq!(db.pool.state().active, 0);
        })
        .unwrap();
    handle.join().expect("no stack overflow, no panic");
}

#[test]
fn two_pools_on_one_file_share_one_write_gate() {
    let db = pool_with(quick());
    // The same file, spelled differently.
    let other_spelling = db.dir.path().join(".").join("test.db");
    let second = Pool::new(&other_spelling, quick().acquire_timeout(Duration::from_millis(150))).unwrap();
    let writer = db.pool.write().unwrap();
    let err = second.write().unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_TIMEOUT");
    assert!(err.to_string().contains("the write gate"), "{err}");
    drop(writer);
    second.write().unwrap();
    // Closing one pool leaves the other's gate working.
    second.close(Duration::from_secs(1)).unwrap();
    db.pool.write().unwrap();
}

#[test]
fn functions_collations_and_hooks_a_lease_registered_are_removed_on_return() {
    use litepool::rusqlite::functions::FunctionFlags;
    let db = pool_with(quick().max_size(1));
    {
        let c = db.pool.get().unwrap();
        c.create_scalar_function("twice", 1, FunctionFlags::SQLITE_UTF8, |ctx| Ok(ctx.get::<i64>(0)? * 2)).unwrap();
        c.note_function("twice", 1);
        c.create_collation("backwards", |a: &str, b: &str| b.cmp(a)).unwrap();
        c.note_collation("backwards");
        c.progress_handler(1, Some(|| false)).unwrap();
        c.note_hooks();
        let v: i64 = c.query_row("SELECT twice(21)", [], |r| r.get(0)).unwrap();
        assert_eq!(v, 42);
    }
    let c = db.pool.get().unwrap();
    assert!(c.query_rows("SELECT twice(1)", []).unwrap_err().to_string().contains("no such function"));
    assert!(c.query_rows("SELECT 'a' < 'b' COLLATE backwards", []).is_err());
    assert_eq!(db.pool.statistics().reset_on_return, 1);
}
