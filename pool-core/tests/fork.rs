//! Fork safety: a child never touches (nor closes) the parent's connections;
//! it opens fresh ones.
mod common;
use common::*;

/// Runs `child` in a forked process and returns its exit code.
fn in_child(child: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the child only runs `child` (which uses the pool) and then
    // `_exit`s, never returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(99);
        // SAFETY: terminate the child without running the parent's atexit handlers.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: `pid` is our child; `status` is a valid out-pointer.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(libc::WIFEXITED(status), "child did not exit normally");
    libc::WEXITSTATUS(status)
}

#[test]
fn a_forked_child_opens_fresh_connections_and_the_parent_is_unharmed() {
    let db = pool_with(quick().max_size(2));
    db.pool.execute_batch("CREATE TABLE t (who TEXT)").unwrap();
    let parent_conn_ids: Vec<u64> = {
        let a = db.pool.get().unwrap();
        let b = db.pool.get().unwrap();
        vec![a.connection_id(), b.connection_id()]
    };
    // Hold a parent transaction open across the fork: if the child closed
    // the inherited connection, SQLite would drop the parent's locks.
    let parent_lease = db.pool.get().unwrap();
    parent_lease.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES ('parent');").unwrap();

    let pool = db.pool.clone();
    let code = in_child(move || {
        let conn = match pool.get() {
            Ok(c) => c,
            Err(_) => return 2,
        };
        if parent_conn_ids.contains(&conn.connection_id()) {
            return 3; // handed an inherited connection
        }
        if pool.state().total != 1 {
            return 4;
        }
        // The parent holds the write lock: the child can read committed data.
        match conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)) {
            Ok(0) => 0,
            _ => 5,
        }
    });
    assert_eq!(code, 0, "child failed with code {code}");
    // The parent's connection and its lock survived the child's exit.
    parent_lease.execute_batch("INSERT INTO t VALUES ('parent2'); COMMIT;").unwrap();
    drop(parent_lease);
    let n: i64 = db.pool.get().unwrap().query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 2);
    assert_eq!(db.pool.state().active, 0);
}
