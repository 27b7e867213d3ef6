//! Invalid configuration is an error naming the field.
use std::time::Duration;

use litepool::{Error, Pool, PoolConfig};

fn field_of(cfg: PoolConfig) -> &'static str {
    match cfg.validate().unwrap_err() {
        Error::InvalidConfig { field, .. } => field,
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn each_invalid_field_is_named() {
    let d = PoolConfig::default;
    assert_eq!(field_of(d().max_size(0)), "max_size");
    assert_eq!(field_of(d().max_size(2).min_idle(3)), "min_idle");
    assert_eq!(field_of(d().acquire_timeout(Duration::ZERO)), "acquire_timeout");
    assert_eq!(field_of(d().idle_timeout(Some(Duration::ZERO))), "idle_timeout");
    assert_eq!(field_of(d().max_lifetime(Some(Duration::ZERO))), "max_lifetime");
    assert_eq!(field_of(d().leak_threshold(Some(Duration::ZERO))), "leak_threshold");
    assert_eq!(field_of(d().housekeeping_period(Duration::ZERO)), "housekeeping_period");
    assert_eq!(field_of(d().journal_mode(Some("WAL; DROP TABLE x".into()))), "journal_mode");
    assert_eq!(field_of(d().synchronous(Some("fast".into()))), "synchronous");
    assert_eq!(field_of(d().name("a\"b")), "name");
}

#[test]
fn an_invalid_config_fails_before_opening_anything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("never.db");
    let err = Pool::new(&path, PoolConfig::default().max_size(0)).unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_INVALID_CONFIG");
    assert!(err.to_string().contains("max_size"));
    assert!(!path.exists());
}

#[test]
fn the_defaults_are_the_documented_ones() {
    let d = PoolConfig::default();
    assert_eq!((d.max_size, d.min_idle), (10, 2));
    assert_eq!(d.acquire_timeout, Duration::from_millis(5000));
    assert_eq!(d.idle_timeout, Some(Duration::from_secs(30)));
    assert_eq!(d.max_lifetime, Some(Duration::from_secs(1800)));
    assert_eq!(d.validation_window, Duration::from_millis(500));
    assert_eq!(d.leak_threshold, None);
    assert_eq!(d.busy_timeout, Duration::from_millis(5000));
    assert!(d.validate().is_ok());
}

#[test]
fn setup_pragmas_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = PoolConfig::default().init_sql(Some("CREATE TABLE IF NOT EXISTS boot (x)".into()));
    let pool = Pool::new(dir.path().join("p.db"), cfg).unwrap();
    let conn = pool.get().unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    let fk: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
    let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
    let busy: i64 = conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0)).unwrap();
    assert_eq!((mode.as_str(), fk, sync, busy), ("wal", 1, 1, 5000));
    conn.execute("INSERT INTO boot VALUES (1)", []).unwrap();
}

#[test]
fn an_init_hook_runs_and_a_panicking_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = PoolConfig::default().init_hook(|c| c.execute_batch("CREATE TEMP TABLE hooked (x)"));
    let pool = Pool::new(dir.path().join("h.db"), cfg).unwrap();
    pool.get().unwrap().execute("INSERT INTO hooked VALUES (1)", []).unwrap();

    let cfg = PoolConfig::default().init_hook(|_| panic!("hook exploded"));
    let err = Pool::new(dir.path().join("h2.db"), cfg).unwrap_err();
    assert_eq!(err.code(), "LITEPOOL_PANIC");
    assert!(err.to_string().contains("hook exploded"), "{err}");
}
