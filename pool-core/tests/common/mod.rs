//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::time::Duration;

use litepool::{Pool, PoolConfig};
use tempfile::TempDir;

/// A temp dir holding `test.db`, kept alive with the pool.
pub struct TestDb {
    pub dir: TempDir,
    pub pool: Pool,
}

impl TestDb {
    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("test.db")
    }
}

/// A config with short timeouts, suitable for tests.
pub fn quick() -> PoolConfig {
    PoolConfig::default()
        .max_size(4)
        .min_idle(0)
        .acquire_timeout(Duration::from_millis(2000))
        .housekeeping_period(Duration::from_millis(50))
}

pub fn pool_with(config: PoolConfig) -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let pool = Pool::new(dir.path().join("test.db"), config).expect("pool");
    TestDb { dir, pool }
}

/// Polls `cond` for up to 5 s (housekeeping is asynchronous).
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}
