//! The pool owns the WAL: who checkpoints it ([`CheckpointMode`]), how big
//! it is ([`WalStatus`]) and reader back-pressure.
//!
//! Why: SQLite's own autocheckpoint is PASSIVE. It copies back only the
//! frames older than the oldest open read, and the WAL restarts from its
//! beginning only once every frame is copied back and no reader uses it. A
//! service whose reads always overlap never gets there, and its WAL only
//! grows (gigabytes are reported in the wild). With `checkpoint = "pool"`:
//!
//! - connections get `wal_autocheckpoint = 0`: no commit pays for a checkpoint;
//! - a WAL hook on every pooled connection (`sqlite3_wal_hook`, which
//!   SQLite calls after each commit with the frames now in the WAL) keeps
//!   the count, and the checkpointer thread (`checkpointer.rs`) runs a
//!   PASSIVE checkpoint on its own connection once `checkpoint_pages` new
//!   frames came in;
//! - once the WAL holds more than `wal_high_water` bytes, new read and
//!   ordinary leases wait (bounded by [`CHECKPOINT_WAIT`], counted) while
//!   the checkpointer takes the write gate and runs a TRUNCATE checkpoint,
//!   which waits for the open reads to end; then they resume. A lease that
//!   keeps it from finishing is reported as pinning the WAL, with its
//!   acquire site (as a leak is, when `leak_threshold` is set).
//!
//! The pool never opens the `-wal` or `-shm` files itself (only `stat`s the
//! WAL): closing any descriptor of a file drops every POSIX lock this
//! process holds on it, and another process would then re-initialise the
//! `-shm` under the pool's connections (SIGBUS).
//!
//! The checkpointer is a thread of its own rather than a step of the
//! housekeeper's round: a TRUNCATE checkpoint may wait up to a second for
//! readers, and the housekeeper must not time out waiters or open
//! connections that late. It starts with the pool and holds only a `Weak`
//! to it, like the housekeeper. It is not restarted in a child after
//! `fork()`: a second thread spawned into a forked child (beside the new
//! housekeeper) made the child's `parking_lot` queues inherit stale entries
//! often enough to crash its housekeeper (Python's multiprocessing test).
//! The parent's checkpointer watches the same file and sees the children's
//! commits as WAL growth; back-pressure does not cross processes.
//!
//! `"external"` (Litestream, or another tool, owns checkpoints): autocheckpoint
//! off, no pool checkpoints, the same monitoring. `"sqlite"`: SQLite's
//! autocheckpoint as before, the same monitoring.

#![allow(unsafe_code)] // the WAL hook: `sqlite3_wal_hook` and its callback

use std::ffi::{c_char, c_int, c_void, CStr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Waker;
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use rusqlite::{ffi, Connection};

use crate::clock::Deadline;

/// Who checkpoints the WAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckpointMode {
    /// The pool: PASSIVE checkpoints off the request path, and reader
    /// back-pressure with a TRUNCATE checkpoint above `wal_high_water`. The default.
    #[default]
    Pool,
    /// Another tool (Litestream…) owns checkpoints: autocheckpoint off, the
    /// pool only watches the WAL.
    External,
    /// SQLite's own autocheckpoint (PASSIVE, on the committing connection).
    Sqlite,
}

impl CheckpointMode {
    /// `"pool"`, `"external"` or `"sqlite"`.
    pub fn parse(name: &str) -> Option<CheckpointMode> {
        match name {
            "pool" => Some(CheckpointMode::Pool),
            "external" => Some(CheckpointMode::External),
            "sqlite" => Some(CheckpointMode::Sqlite),
            _ => None,
        }
    }

    /// The name [`CheckpointMode::parse`] reads.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckpointMode::Pool => "pool",
            CheckpointMode::External => "external",
            CheckpointMode::Sqlite => "sqlite",
        }
    }
}

/// Per-connection setup for file databases: autocheckpoint off unless
/// SQLite owns checkpoints, and `journal_size_limit`. Run before the pool
/// reads its baseline, so a lease that changes them gets them restored.
pub(crate) fn apply_connection_pragmas(conn: &Connection, config: &crate::PoolConfig) -> rusqlite::Result<()> {
    if config.checkpoint != CheckpointMode::Sqlite {
        // Returns a row: read it so the pragma runs.
        conn.query_row("PRAGMA wal_autocheckpoint = 0", [], |_| Ok(()))?;
    }
    conn.query_row(&format!("PRAGMA main.journal_size_limit = {}", config.journal_size_limit), [], |_| Ok(()))
}

/// How long a TRUNCATE checkpoint waits for the write gate and the open
/// reads, and so the longest a lease is held back.
pub const CHECKPOINT_WAIT: Duration = Duration::from_millis(1000);

/// The WAL of a pool's database right now ([`crate::Pool::wal_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WalStatus {
    /// Who checkpoints it.
    pub mode: CheckpointMode,
    /// Whether the database is in WAL mode (file databases only).
    pub enabled: bool,
    /// The `-wal` file's size in bytes.
    pub bytes: u64,
    /// The largest `bytes` the pool has seen.
    pub peak_bytes: u64,
    /// Frames (pages) in the WAL after the last commit through the pool
    /// (0 before the first, and with `checkpoint = "sqlite"`).
    pub frames: u64,
    /// Frames copied back into the database as of the pool's last checkpoint.
    pub backfilled: u64,
    /// Whether new read and ordinary leases are held back right now.
    pub holding_back: bool,
}

#[derive(Default)]
struct Press {
    on: bool,
    wakers: Vec<Waker>,
}

/// Cumulative checkpoint counters (in [`crate::Statistics`]).
#[derive(Debug, Default)]
pub(crate) struct WalCounters {
    pub passive: AtomicU64,
    pub truncate: AtomicU64,
    /// Checkpoints that could not copy back or reset everything (a reader
    /// or writer kept them from it).
    pub incomplete: AtomicU64,
    pub failed: AtomicU64,
    /// Frames copied back into the database by the pool's checkpoints.
    pub frames: AtomicU64,
    pub backpressure_waits: AtomicU64,
    pub backpressure_nanos: AtomicU64,
    /// Times a lease was reported as pinning the WAL.
    pub pinned: AtomicU64,
}

/// One pool's WAL: its file, its checkpoint policy and back-pressure.
pub(crate) struct WalKeeper {
    pub mode: CheckpointMode,
    pub pages: u64,
    pub high_water: u64,
    pub page_size: u64,
    /// The `-wal` file; `None` when not in WAL mode.
    pub wal: Option<PathBuf>,
    /// Frames in the main WAL after the last commit (the WAL hook).
    pub frames: AtomicU64,
    /// Frames copied back as of the pool's last checkpoint.
    pub backfilled: AtomicU64,
    /// Tenant schemas whose WAL reached `checkpoint_pages` (the WAL hook),
    /// and whether there are any (so the checkpointer locks only then).
    pub tenants_due: Mutex<Vec<String>>,
    pub tenants_pending: AtomicBool,
    pressing: AtomicBool,
    press: Mutex<Press>,
    released: Condvar,
    pub counters: WalCounters,
    pub peak: AtomicU64,
    pub stop: Arc<Stop>,
    pub thread: Mutex<Option<thread::JoinHandle<()>>>,
}

/// Tells the checkpointer to exit. A flag and a plain sleep, no condvar:
/// the checkpointer wakes every few milliseconds, and a thread parking on a
/// `parking_lot` condvar that often would sometimes hold the parking lot's
/// bucket lock at the moment another thread forks, deadlocking every
/// parked thread of the child (seen with Python's multiprocessing).
#[derive(Default)]
pub(crate) struct Stop {
    stopped: AtomicBool,
}

impl Stop {
    /// Sleeps `d` unless stopped; `false` once stopped.
    pub fn sleep(&self, d: Duration) -> bool {
        if !self.stopped.load(SeqCst) {
            thread::sleep(d);
        }
        !self.stopped.load(SeqCst)
    }
}

impl WalKeeper {
    /// For the database `first` (the pool's first, set-up connection) has open.
    pub fn new(config: &crate::PoolConfig, first: &Connection, memory: bool) -> WalKeeper {
        let wal_mode = first
            .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
            .is_ok_and(|m| m.eq_ignore_ascii_case("wal"));
        let wal = match (first.path(), wal_mode && !memory) {
            (Some(path), true) if !path.is_empty() => Some(PathBuf::from(format!("{path}-wal"))),
            _ => None,
        };
        let page_size = first.query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0)).unwrap_or(4096);
        WalKeeper {
            mode: config.checkpoint,
            pages: u64::from(config.checkpoint_pages),
            high_water: config.wal_high_water,
            page_size: u64::try_from(page_size).unwrap_or(4096),
            wal,
            frames: AtomicU64::new(0),
            backfilled: AtomicU64::new(0),
            tenants_due: Mutex::default(),
            tenants_pending: AtomicBool::new(false),
            pressing: AtomicBool::new(false),
            press: Mutex::default(),
            released: Condvar::new(),
            counters: WalCounters::default(),
            peak: AtomicU64::new(0),
            stop: Arc::default(),
            thread: Mutex::new(None),
        }
    }

    /// Looks at the WAL now.
    pub fn status(&self) -> WalStatus {
        let mut status = WalStatus {
            mode: self.mode,
            enabled: self.wal.is_some(),
            holding_back: self.pressing.load(Relaxed),
            frames: self.frames.load(Relaxed),
            backfilled: self.backfilled.load(Relaxed),
            ..WalStatus::default()
        };
        if let Some(wal) = &self.wal {
            // A `stat`: no descriptor is opened (see the module docs).
            status.bytes = std::fs::metadata(wal).map_or(0, |m| m.len());
        }
        status.peak_bytes = self.peak.fetch_max(status.bytes, Relaxed).max(status.bytes);
        status
    }

    /// Adds the WAL's size and the checkpoint counters to `stats`.
    pub fn fill(&self, stats: &mut crate::Statistics) {
        let status = self.status();
        let c = &self.counters;
        stats.wal_bytes = status.bytes;
        stats.wal_peak_bytes = status.peak_bytes;
        stats.checkpoints_passive = c.passive.load(Relaxed);
        stats.checkpoints_truncate = c.truncate.load(Relaxed);
        stats.checkpoints_incomplete = c.incomplete.load(Relaxed);
        stats.checkpoints_failed = c.failed.load(Relaxed);
        stats.checkpoint_pages = c.frames.load(Relaxed);
        stats.backpressure_waits = c.backpressure_waits.load(Relaxed);
        stats.wal_pinned = c.pinned.load(Relaxed);
        stats.backpressure_wait_time = Duration::from_nanos(c.backpressure_nanos.load(Relaxed));
    }

    /// A blocking acquire of a read or ordinary lease: waits while the pool
    /// runs a back-pressure checkpoint (at most [`CHECKPOINT_WAIT`], and not
    /// past `deadline`). One atomic load when there is none.
    #[inline]
    pub fn hold_back(&self, deadline: &mut Deadline) {
        if self.pressing.load(Relaxed) {
            self.wait_released(deadline.at());
        }
    }

    #[cold]
    fn wait_released(&self, deadline: Instant) {
        let start = Instant::now();
        let until = deadline.min(start + CHECKPOINT_WAIT);
        let mut press = self.press.lock();
        while press.on {
            if self.released.wait_until(&mut press, until).timed_out() {
                break;
            }
        }
        drop(press);
        self.count_wait(start.elapsed());
    }

    /// The same for an asynchronous acquire: `true` means "pending, the
    /// waker is registered"; `since` remembers when it was first held back.
    pub fn poll_held_back(&self, waker: &Waker, since: &mut Option<Instant>) -> bool {
        if !self.pressing.load(Relaxed) && since.is_none() {
            return false;
        }
        let start = *since.get_or_insert_with(Instant::now);
        let mut press = self.press.lock();
        if press.on && start.elapsed() < CHECKPOINT_WAIT {
            press.wakers.push(waker.clone());
            return true;
        }
        drop(press);
        *since = None;
        self.count_wait(start.elapsed());
        false
    }

    fn count_wait(&self, waited: Duration) {
        self.counters.backpressure_waits.fetch_add(1, Relaxed);
        self.counters.backpressure_nanos.fetch_add(u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX), Relaxed);
    }

    /// In a forked child: no checkpointer runs here, so nothing is held
    /// back (atomics only: a lock the parent held at the fork stays held).
    pub fn after_fork(&self) {
        self.pressing.store(false, SeqCst);
    }

    /// Installs the WAL hook on a pooled connection (pool and external
    /// modes; SQLite's autocheckpoint is itself a WAL hook, so `"sqlite"`
    /// keeps it). Call again after the connection's pragmas were reset:
    /// setting `wal_autocheckpoint` replaces the hook.
    pub fn install_hook(&self, conn: &Connection) {
        if self.mode == CheckpointMode::Sqlite || self.wal.is_none() {
            return;
        }
        let keeper: *const WalKeeper = self;
        // SAFETY: `handle()` is only passed to SQLite, on the thread that
        // owns `conn`. The callback's argument is this `WalKeeper`, a field
        // of the pool's `Shared`, which never moves (it lives in an `Arc`)
        // and outlives every connection it installs the hook on: pooled
        // connections are closed through `Shared` or by leases that hold
        // an `Arc` of it (connections forgotten after a fork never commit).
        unsafe { ffi::sqlite3_wal_hook(conn.handle(), Some(on_commit), keeper.cast_mut().cast::<c_void>()) };
    }

    /// What the WAL hook saw: `frames` in the WAL of `schema` after a commit.
    fn committed(&self, schema: &[u8], frames: u64) {
        if schema == b"main" {
            // Fewer frames than the last commit left: this commit restarted
            // the WAL from its beginning, and nothing in it is copied back.
            if self.frames.swap(frames, Relaxed) > frames {
                self.backfilled.store(0, Relaxed);
            }
        } else if frames >= self.pages {
            let mut due = self.tenants_due.lock();
            let name = String::from_utf8_lossy(schema);
            if !due.iter().any(|s| *s == name) {
                due.push(name.into_owned());
            }
            self.tenants_pending.store(true, SeqCst);
        }
    }

    pub(crate) fn set_pressing(&self, on: bool) {
        let wakers = {
            let mut press = self.press.lock();
            press.on = on;
            self.pressing.store(on, SeqCst);
            std::mem::take(&mut press.wakers)
        };
        if !on {
            self.released.notify_all();
            wakers.into_iter().for_each(Waker::wake);
        }
    }

    /// Stops the checkpointer and waits for it until `deadline`.
    pub fn stop(&self, deadline: Instant) {
        self.stop.stopped.store(true, SeqCst);
        self.set_pressing(false);
        let Some(handle) = self.thread.lock().take() else { return };
        while !handle.is_finished() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
        if handle.is_finished() {
            let _ = handle.join();
        }
    }
}

/// SQLite's WAL hook: after each commit, the frames now in the WAL of the
/// committing schema. Never unwinds into SQLite.
unsafe extern "C" fn on_commit(
    keeper: *mut c_void,
    _db: *mut ffi::sqlite3,
    schema: *const c_char,
    frames: c_int,
) -> c_int {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: the argument `install_hook` registered: a live WalKeeper.
        let keeper = unsafe { &*keeper.cast_const().cast::<WalKeeper>() };
        // SAFETY: SQLite passes the schema's name, NUL-terminated, for the call.
        let schema = unsafe { CStr::from_ptr(schema) }.to_bytes();
        keeper.committed(schema, u64::try_from(frames).unwrap_or(0));
    }));
    ffi::SQLITE_OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_print() {
        for mode in [CheckpointMode::Pool, CheckpointMode::External, CheckpointMode::Sqlite] {
            assert_eq!(CheckpointMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(CheckpointMode::parse("POOL"), None);
        assert_eq!(CheckpointMode::default(), CheckpointMode::Pool);
    }

    #[test]
    fn the_wal_hook_counts_main_frames_and_collects_tenants_due() {
        let config = crate::PoolConfig::default().checkpoint_pages(3);
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("db")).unwrap();
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;").unwrap();
        let keeper = Box::new(WalKeeper::new(&config, &conn, false));
        keeper.install_hook(&conn);
        conn.execute_batch("CREATE TABLE t(x)").unwrap();
        let after_one = keeper.frames.load(Relaxed);
        assert!(after_one >= 1, "{after_one}");
        for i in 0..5 {
            conn.execute("INSERT INTO t VALUES (?1)", [i]).unwrap();
        }
        assert!(keeper.frames.load(Relaxed) >= after_one + 5);
        keeper.committed(b"tenant_a", 3);
        keeper.committed(b"tenant_a", 4);
        keeper.committed(b"tenant_b", 2);
        assert_eq!(*keeper.tenants_due.lock(), vec!["tenant_a".to_owned()]);
        drop(conn); // before the keeper it points at
    }
}
