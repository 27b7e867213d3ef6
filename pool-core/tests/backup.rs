//! Online backup between a lease and a file, step by step, off the caller's
//! thread: progress counts down, a restore writes the pool's database, a
//! bad file fails at start and every later step says the backup is over.
mod common;
use std::sync::mpsc;

use common::*;
use litepool::rusqlite::types::Value;
use litepool::{Backup, BackupSpec, BackupState};

fn spec(file: &std::path::Path, filename_is_dest: bool) -> BackupSpec {
    BackupSpec {
        filename: file.to_string_lossy().into_owned(),
        source_name: "main".into(),
        dest_name: "main".into(),
        filename_is_dest,
    }
}

fn started(lease: litepool::PooledConnection, spec: BackupSpec) -> (Backup, litepool::Result<()>) {
    let (tx, rx) = mpsc::channel();
    let backup = Backup::start(lease, spec, move |r| tx.send(r).unwrap());
    (backup, rx.recv().unwrap())
}

#[test]
fn a_backup_copies_the_database_step_by_step() {
    let db = pool_with(quick());
    db.pool.execute_batch("CREATE TABLE t (x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 5000) INSERT INTO t SELECT randomblob(100) FROM n").unwrap();
    let out = db.dir.path().join("copy.db");
    let (backup, ready) = started(db.pool.get().unwrap(), spec(&out, true));
    ready.unwrap();
    let first = backup.step(1).unwrap();
    assert_eq!(first.state, BackupState::More);
    assert!(first.page_count > 10 && first.remaining == first.page_count - 1, "{first:?}");
    let last = backup.step(-1).unwrap();
    assert_eq!((last.state, last.remaining), (BackupState::Done, 0));
    backup.finish();
    let copy = litepool::rusqlite::Connection::open(&out).unwrap();
    let n: i64 = copy.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 5000);
}

#[test]
fn a_restore_writes_the_pool_s_database() {
    let db = pool_with(quick());
    let src = db.dir.path().join("src.db");
    litepool::rusqlite::Connection::open(&src)
        .unwrap()
        .execute_batch("CREATE TABLE r (x); INSERT INTO r VALUES (42)")
        .unwrap();
    let (backup, ready) = started(db.pool.write().unwrap(), spec(&src, false));
    ready.unwrap();
    assert_eq!(backup.step(-1).unwrap().state, BackupState::Done);
    drop(backup);
    let rows = db.pool.query("SELECT x FROM r", []).unwrap();
    assert_eq!(rows.rows[0][0], Value::Integer(42));
}

#[test]
fn a_backup_that_cannot_open_its_file_fails_and_so_do_its_steps() {
    let db = pool_with(quick());
    let (backup, ready) = started(db.pool.get().unwrap(), spec(std::path::Path::new("/nonexistent/dir/x.db"), true));
    assert_eq!(ready.unwrap_err().code(), "SQLITE_CANTOPEN");
    assert_eq!(backup.step(1).unwrap_err().code(), "LITEPOOL_MISUSE");
    // The lease went back.
    eventually("the lease is back", || db.pool.state().active == 0);
}
