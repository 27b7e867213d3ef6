//! Fork safety: a child never touches (nor closes) the parent's connections;
//! it opens fresh ones.
mod common;
use common::*;
use std::sync::Mutex;
use std::time::Duration;

/// One test at a time: a fork while another test's thread is inside SQLite
/// (opening or closing a file holds SQLite's process-wide unix VFS mutex)
/// leaves that mutex locked in the child for good, and its first open hangs.
/// That is fork()'s rule for every multithreaded program, not the pool's.
static ONE_FORK_AT_A_TIME: Mutex<()> = Mutex::new(());

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
    // A hung child fails the test instead of hanging the suite.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut status = 0;
    loop {
        // SAFETY: `pid` is our child; `status` is a valid out-pointer.
        let waited = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if waited == pid {
            break;
        }
        assert_eq!(waited, 0, "waitpid failed");
        if std::time::Instant::now() > deadline {
            // SAFETY: our own child, stuck: end and reap it so the test reports.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            panic!("the forked child hung for 60 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(libc::WIFEXITED(status), "child did not exit normally");
    libc::WEXITSTATUS(status)
}

#[test]
fn a_forked_child_opens_fresh_connections_and_the_parent_is_unharmed() {
    let _one = ONE_FORK_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
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

fn checkpointer_threads(pool_name: &str) -> usize {
    let want: String = format!("ckpt-{pool_name}").chars().take(15).collect();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0 };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim() == want)
        .count()
}

#[test]
fn a_forked_child_gets_no_checkpointer_and_is_not_held_back() {
    let _one = ONE_FORK_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    // Regression: restarting the checkpointer in a forked child crashed the
    // child's housekeeper now and then (Python's multiprocessing test hung).
    let db = pool_with(quick().checkpoint(litepool::CheckpointMode::Pool).name("ckfork"));
    db.pool.execute_batch("CREATE TABLE t(x)").unwrap();
    eventually("the parent's checkpointer runs", || checkpointer_threads("ckfork") == 1);
    let pool = db.pool.clone();
    // SAFETY: the child only uses the pool and then `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let start = std::time::Instant::now();
        let ok = pool
            .read()
            .and_then(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)).map_err(Into::into));
        let code = match ok {
            Ok(0) if checkpointer_threads("ckfork") == 0 && start.elapsed() < Duration::from_millis(900) => 0,
            Ok(_) => 2,
            Err(_) => 3,
        };
        // SAFETY: leave the child without running the test harness's exit path.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    // SAFETY (both): `pid` is our child; a child stuck past the deadline is killed.
    while unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == 0 {
        if std::time::Instant::now() > deadline {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the child hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child status {status}");
    assert_eq!(checkpointer_threads("ckfork"), 1, "the parent's checkpointer still runs");
}

#[test]
fn a_forked_child_never_takes_back_a_lease_its_parent_parked() {
    let _one = ONE_FORK_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let db = pool_with(quick().housekeeping_period(Duration::from_secs(600)));
    let mut lazy = litepool::sql::LazySession::new(db.pool.clone(), litepool::sql::TxnMode::Autocommit);
    let parent_conn = lazy.session().unwrap().lease().connection_id();
    lazy.settle();
    assert!(lazy.is_parked());
    let code = in_child(move || {
        let Ok(session) = lazy.session() else { return 2 };
        if session.lease().connection_id() == parent_conn {
            return 3; // the parent's connection, taken back in the child
        }
        match session.lease().query_row("SELECT 1", [], |r| r.get::<_, i64>(0)) {
            Ok(1) => 0,
            _ => 4,
        }
    });
    assert_eq!(code, 0, "child failed with code {code}");
}
