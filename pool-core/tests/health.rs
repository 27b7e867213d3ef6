//! Health: broken connections are never handed out; opening retries with
//! backoff inside the acquire timeout; the timeout names the last error.
mod common;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use litepool::rusqlite::{self, Connection};
use litepool::{Connector, Error, Pool};

/// Fails the first `fail_first` opens, then opens `path`; reports
/// connections invalid while `broken` is set.
struct FlakyConnector {
    path: std::path::PathBuf,
    fail_first: u32,
    attempts: Arc<AtomicU32>,
    broken: Arc<AtomicBool>,
}

impl Connector for FlakyConnector {
    fn connect(&self) -> rusqlite::Result<Connection> {
        let n = self.attempts.fetch_add(1, Ordering::SeqCst);
        if n >= 1 && n <= self.fail_first {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                Some(format!("injected open failure #{n}")),
            ));
        }
        Connection::open(&self.path)
    }

    fn is_valid(&self, conn: &Connection) -> bool {
        !self.broken.load(Ordering::SeqCst) && conn.query_row("SELECT 1", [], |_| Ok(())).is_ok()
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

fn flaky(fail_first: u32) -> (tempfile::TempDir, FlakyConnector, Arc<AtomicU32>, Arc<AtomicBool>) {
    let dir = tempfile::tempdir().unwrap();
    let attempts = Arc::new(AtomicU32::new(0));
    let broken = Arc::new(AtomicBool::new(false));
    let c = FlakyConnector {
        path: dir.path().join("flaky.db"),
        fail_first,
        attempts: Arc::clone(&attempts),
        broken: Arc::clone(&broken),
    };
    (dir, c, attempts, broken)
}

#[test]
fn opening_retries_with_backoff_within_the_acquire_timeout() {
    let (_dir, connector, attempts, _) = flaky(3);
    let pool = Pool::builder("unused").config(quick().max_size(2)).connector(connector).build().unwrap();
    let _first = pool.get().unwrap(); // the connection opened at build time
    let second = pool.get().unwrap(); // needs a new one: 3 failures, then success
    assert!(second.connection_id() > 1);
    assert_eq!(attempts.load(Ordering::SeqCst), 5);
    assert_eq!(pool.statistics().create_failures, 3);
}

#[test]
fn a_timeout_names_the_last_connection_error() {
    let (_dir, connector, _, _) = flaky(u32::MAX);
    let cfg = quick().max_size(2).acquire_timeout(Duration::from_millis(150));
    let pool = Pool::builder("unused").config(cfg).connector(connector).build().unwrap();
    let _first = pool.get().unwrap();
    let err = pool.get().unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("last connection error: injected open failure"), "{msg}");
}

#[test]
fn a_broken_idle_connection_is_discarded_and_replaced() {
    let (_dir, connector, _, broken) = flaky(0);
    let cfg = quick().max_size(2).validation_window(Duration::from_millis(10));
    let pool = Pool::builder("unused").config(cfg).connector(connector).build().unwrap();
    let first_id = pool.get().unwrap().connection_id();
    std::thread::sleep(Duration::from_millis(30));
    broken.store(true, Ordering::SeqCst);
    // The idle one fails validation; the replacement (fresh) is not validated.
    let conn = pool.get().unwrap();
    assert_ne!(conn.connection_id(), first_id);
    assert_eq!(pool.statistics().closed_broken, 1);
}

#[test]
fn a_recently_used_connection_is_not_revalidated() {
    let (_dir, connector, _, broken) = flaky(0);
    let cfg = quick().max_size(2).validation_window(Duration::from_secs(60));
    let pool = Pool::builder("unused").config(cfg).connector(connector).build().unwrap();
    let first_id = pool.get().unwrap().connection_id();
    broken.store(true, Ordering::SeqCst);
    assert_eq!(pool.get().unwrap().connection_id(), first_id);
}

#[test]
fn a_database_file_overwritten_with_garbage_is_detected() {
    let cfg = quick().max_size(2).validation_window(Duration::from_millis(1)).journal_mode(Some("DELETE".into()));
    let db = pool_with(cfg);
    db.pool.execute_batch("CREATE TABLE t (x)").unwrap();
    std::thread::sleep(Duration::from_millis(5));
    std::fs::write(db.path(), vec![0x42u8; 8192]).unwrap();
    // Validation fails, and a fresh connection cannot read the file either:
    // the caller gets a clear SQLite error, never a broken connection.
    match db.pool.get() {
        Ok(conn) => {
            let err = conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)).unwrap_err();
            assert!(err.to_string().contains("not a database"), "{err}");
        }
        Err(e) => assert!(matches!(e, Error::Timeout { .. } | Error::Sqlite(_)), "{e}"),
    }
    assert!(db.pool.statistics().closed_broken >= 1);
}

#[test]
fn a_path_that_cannot_be_opened_fails_at_build_naming_it() {
    let err = Pool::open("/nonexistent-dir/sub/x.db").unwrap_err();
    assert_eq!(err.code(), "SQLITE_CANTOPEN");
    assert!(err.to_string().contains("/nonexistent-dir/sub/x.db"), "{err}");
}

#[test]
fn a_non_database_file_fails_at_build() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.db");
    std::fs::write(&path, vec![7u8; 4096]).unwrap();
    let err = Pool::open(&path).unwrap_err();
    assert_eq!(err.code(), "SQLITE_NOTADB", "{err}");
}
