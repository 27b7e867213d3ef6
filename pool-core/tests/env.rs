//! PoolConfig::from_env: DB_POOL_* in milliseconds; bad values name the
//! variable and the value.
use std::collections::HashMap;
use std::time::Duration;

use litepool::{Error, PoolConfig};

fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |k| map.get(k).cloned()
}

#[test]
fn every_variable_is_read() {
    let cfg = PoolConfig::from_lookup(lookup(&[
        ("DB_POOL_MAX", "20"),
        ("DB_POOL_MIN", "3"),
        ("DB_POOL_IDLE_TIMEOUT", "15000"),
        ("DB_POOL_ACQUIRE_TIMEOUT", "250"),
        ("DB_POOL_MAX_LIFETIME", "60000"),
        ("DB_POOL_LEAK_THRESHOLD", "2000"),
        ("DB_POOL_BUSY_TIMEOUT", "100"),
    ]))
    .unwrap();
    assert_eq!(cfg.max_size, 20);
    assert_eq!(cfg.min_idle, 3);
    assert_eq!(cfg.idle_timeout, Some(Duration::from_millis(15000)));
    assert_eq!(cfg.acquire_timeout, Duration::from_millis(250));
    assert_eq!(cfg.max_lifetime, Some(Duration::from_secs(60)));
    assert_eq!(cfg.leak_threshold, Some(Duration::from_secs(2)));
    assert_eq!(cfg.busy_timeout, Duration::from_millis(100));
}

#[test]
fn unset_variables_keep_the_defaults_and_zero_turns_optional_ones_off() {
    let cfg =
        PoolConfig::from_lookup(lookup(&[("DB_POOL_IDLE_TIMEOUT", "0"), ("DB_POOL_LEAK_THRESHOLD", "0")])).unwrap();
    assert_eq!(cfg.max_size, 10);
    assert_eq!(cfg.idle_timeout, None);
    assert_eq!(cfg.leak_threshold, None);
}

#[test]
fn a_bad_value_names_the_variable_and_value() {
    let err = PoolConfig::from_lookup(lookup(&[("DB_POOL_MAX", "ten")])).unwrap_err();
    assert!(matches!(err, Error::InvalidEnv { var: "DB_POOL_MAX", .. }));
    assert_eq!(err.code(), "LITEPOOL_INVALID_CONFIG");
    let msg = err.to_string();
    assert!(msg.contains("DB_POOL_MAX") && msg.contains("\"ten\""), "{msg}");
    let err = PoolConfig::from_lookup(lookup(&[("DB_POOL_BUSY_TIMEOUT", "-5")])).unwrap_err();
    assert!(err.to_string().contains("DB_POOL_BUSY_TIMEOUT"), "{err}");
}

#[test]
fn the_combination_is_validated() {
    let err = PoolConfig::from_lookup(lookup(&[("DB_POOL_MAX", "2"), ("DB_POOL_MIN", "5")])).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { field: "min_idle", .. }), "{err}");
    let err = PoolConfig::from_lookup(lookup(&[("DB_POOL_MAX", "0")])).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { field: "max_size", .. }), "{err}");
}

#[test]
fn from_env_reads_the_process_environment() {
    // The only test in this binary that touches the real environment.
    std::env::set_var("DB_POOL_MAX", "7");
    let cfg = PoolConfig::from_env().unwrap();
    std::env::remove_var("DB_POOL_MAX");
    assert_eq!(cfg.max_size, 7);
}

#[test]
fn a_small_max_alone_lowers_the_default_min() {
    let cfg = PoolConfig::from_lookup(lookup(&[("DB_POOL_MAX", "1")])).unwrap();
    assert_eq!((cfg.max_size, cfg.min_idle), (1, 1));
    assert_eq!(PoolConfig::default().max_size(1).min_idle, 1);
    // An explicit min above max is still an error.
    assert!(PoolConfig::default().max_size(1).min_idle(2).validate().is_err());
}

#[test]
fn issue_16_variables_are_read_and_flags_take_1_0_true_false() {
    let cfg = PoolConfig::from_lookup(lookup(&[
        ("DB_POOL_STATEMENT_TIMEOUT", "250"),
        ("DB_POOL_MAX_WAITING", "64"),
        ("DB_POOL_SHED_LOAD", "1"),
        ("DB_POOL_FAIR_TENANTS", "true"),
        ("DB_POOL_MAX_LEASES_PER_TENANT", "3"),
        ("DB_POOL_WARM_STATEMENTS", "16"),
        ("DB_POOL_STATEMENT_STATS", "20"),
        ("DB_POOL_SLOW_STATEMENT", "100"),
    ]))
    .unwrap();
    assert_eq!(cfg.statement_timeout, Some(Duration::from_millis(250)));
    assert_eq!((cfg.max_waiting, cfg.shed_load, cfg.fair_tenants), (64, true, true));
    assert_eq!((cfg.max_leases_per_tenant, cfg.warm_statements, cfg.statement_stats), (3, 16, 20));
    assert_eq!(cfg.slow_statement_threshold, Some(Duration::from_millis(100)));
    let off = PoolConfig::from_lookup(lookup(&[("DB_POOL_SHED_LOAD", "false"), ("DB_POOL_STATEMENT_TIMEOUT", "0")]));
    let off = off.unwrap();
    assert!(!off.shed_load && off.statement_timeout.is_none());
    let err = PoolConfig::from_lookup(lookup(&[("DB_POOL_SHED_LOAD", "yes")])).unwrap_err();
    assert!(matches!(err, Error::InvalidEnv { var: "DB_POOL_SHED_LOAD", .. }), "{err}");
    assert!(err.to_string().contains("1, 0, true or false"), "{err}");
}
