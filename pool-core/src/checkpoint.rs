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
//! - a checkpointer thread watches the WAL (its size, and the frame counts
//!   in the WAL-index header, documented in SQLite's file format) and runs a
//!   PASSIVE checkpoint on its own connection once `checkpoint_pages` new
//!   frames came in;
//! - once the WAL holds more than `wal_high_water` bytes, new read and
//!   ordinary leases wait (bounded by [`CHECKPOINT_WAIT`], counted) while
//!   the checkpointer takes the write gate and runs a TRUNCATE checkpoint,
//!   which waits for the open reads to end; then they resume. A lease that
//!   keeps it from finishing is reported as pinning the WAL, with its
//!   acquire site (as a leak is, when `leak_threshold` is set).
//!
//! The checkpointer is a thread of its own rather than a step of the
//! housekeeper's round: a TRUNCATE checkpoint may wait up to a second for
//! readers, and the housekeeper must not time out waiters or open
//! connections that late. The housekeeper starts it (and again after a
//! fork); it holds only a `Weak` to the pool, like the housekeeper.
//!
//! `"external"` (Litestream, or another tool, owns checkpoints): autocheckpoint
//! off, no pool checkpoints, the same monitoring. `"sqlite"`: SQLite's
//! autocheckpoint as before, the same monitoring.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Weak};
use std::task::Waker;
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use rusqlite::Connection;

use crate::clock::Deadline;
use crate::gate::{GateEntry, GatePermit};
use crate::shared::Shared;

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

/// The longest pause between TRUNCATE attempts while a read pins the WAL.
const MAX_COOLDOWN: Duration = Duration::from_secs(30);

/// How often a back-pressure checkpoint looks whether the open reads ended.
const DRAIN_POLL: Duration = Duration::from_millis(10);

/// How often the checkpointer looks at the WAL (a `stat` and a 100-byte
/// read) while it changes; an unchanged WAL is looked at less and less
/// often, down to every `IDLE_POLL`.
const POLL: Duration = Duration::from_millis(5);
const IDLE_POLL: Duration = Duration::from_millis(20);

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
    /// Frames (pages) in the WAL now, from the WAL-index header.
    pub frames: u64,
    /// Of those, frames already copied back into the database.
    pub backfilled: u64,
    /// Whether new read and ordinary leases are held back right now.
    pub holding_back: bool,
}

/// The WAL-index header's counts: `(page size, frames, frames backfilled)`.
///
/// The `-shm` file starts with two copies of a 48-byte header (a reader
/// trusts it only when they agree) followed by the checkpoint info; all in
/// native byte order (sqlite.org/walformat.html).
fn read_index(shm: &File) -> Option<(u64, u64, u64)> {
    let mut buf = [0u8; 100];
    shm.read_exact_at(&mut buf, 0).ok()?;
    if buf[..48] != buf[48..96] || buf[12] == 0 {
        return None;
    }
    let at = |o: usize| u64::from(u32::from_ne_bytes([buf[o], buf[o + 1], buf[o + 2], buf[o + 3]]));
    let size = u64::from(u16::from_ne_bytes([buf[14], buf[15]]));
    let page = if size == 1 { 65536 } else { size };
    Some((page, at(16), at(96)))
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

/// One pool's WAL: its files, its checkpoint policy and back-pressure.
pub(crate) struct WalKeeper {
    pub mode: CheckpointMode,
    pages: u64,
    high_water: u64,
    /// `(path-wal, path-shm)`; `None` when not in WAL mode.
    files: Option<(PathBuf, PathBuf)>,
    pressing: AtomicBool,
    press: Mutex<Press>,
    released: Condvar,
    pub counters: WalCounters,
    peak: AtomicU64,
    stop: Arc<Stop>,
    thread: Mutex<Option<thread::JoinHandle<()>>>,
}

/// Tells the checkpointer to exit (it sleeps on it between looks, holding
/// no reference to the pool).
#[derive(Default)]
struct Stop {
    stopped: Mutex<bool>,
    cv: Condvar,
}

impl Stop {
    /// Sleeps `d` unless stopped; `false` once stopped.
    fn sleep(&self, d: Duration) -> bool {
        let mut stopped = self.stopped.lock();
        if !*stopped {
            let _ = self.cv.wait_for(&mut stopped, d);
        }
        !*stopped
    }
}

impl WalKeeper {
    /// For the database `first` (the pool's first, set-up connection) has open.
    pub fn new(config: &crate::PoolConfig, first: &Connection, memory: bool) -> WalKeeper {
        let wal_mode = first
            .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
            .is_ok_and(|m| m.eq_ignore_ascii_case("wal"));
        let files = match (first.path(), wal_mode && !memory) {
            (Some(path), true) if !path.is_empty() => {
                Some((PathBuf::from(format!("{path}-wal")), PathBuf::from(format!("{path}-shm"))))
            }
            _ => None,
        };
        WalKeeper {
            mode: config.checkpoint,
            pages: u64::from(config.checkpoint_pages),
            high_water: config.wal_high_water,
            files,
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
            enabled: self.files.is_some(),
            holding_back: self.pressing.load(Relaxed),
            ..WalStatus::default()
        };
        if let Some((wal, shm)) = &self.files {
            status.bytes = std::fs::metadata(wal).map_or(0, |m| m.len());
            if let Some((_, frames, backfilled)) = File::open(shm).ok().as_ref().and_then(read_index) {
                (status.frames, status.backfilled) = (frames, backfilled);
            }
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

    fn set_pressing(&self, on: bool) {
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
        *self.stop.stopped.lock() = true;
        self.stop.cv.notify_all();
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

/// Starts the checkpointer of `shared` (pool mode on a WAL database only).
pub(crate) fn spawn(shared: &Arc<Shared>) {
    if shared.wal.mode != CheckpointMode::Pool || shared.wal.files.is_none() {
        return;
    }
    // In a forked child: a hold-back the parent's checkpointer had on ends
    // here (that thread does not exist in the child).
    shared.wal.set_pressing(false);
    let weak = Arc::downgrade(shared);
    let stop = Arc::clone(&shared.wal.stop);
    let name = format!("ckpt-{}", shared.config.name);
    match thread::Builder::new().name(name).spawn(move || run(&weak, &stop)) {
        // In a forked child the old handle names a thread of the parent's.
        Ok(handle) => std::mem::forget(shared.wal.thread.lock().replace(handle)),
        Err(e) => log::error!("litepool: cannot start the checkpointer thread: {e}"),
    }
}

/// What the checkpointer remembers between looks.
struct Watcher {
    conn: Option<Connection>,
    shm: Option<File>,
    /// `frames` at the last PASSIVE checkpoint.
    last_frames: u64,
    next_tenants: Instant,
    wal: PathBuf,
    /// `(frames, bytes)` at the last look, and how long to sleep now.
    seen: (u64, u64),
    poll: Duration,
    /// After a TRUNCATE an open read kept from finishing, the next waits
    /// this long (doubling up to 30 s): a read held for minutes must not
    /// turn back-pressure into a stall of every read.
    cooldown: Duration,
    next_truncate: Instant,
    /// When the checkpointer may try to open its connection again.
    next_open: Instant,
}

impl Watcher {
    fn wal_bytes(&self) -> u64 {
        std::fs::metadata(&self.wal).map_or(0, |m| m.len())
    }
}

fn run(weak: &Weak<Shared>, stop: &Stop) {
    let mut w = Watcher {
        conn: None,
        shm: None,
        last_frames: 0,
        next_tenants: Instant::now(),
        wal: weak.upgrade().and_then(|s| s.wal.files.as_ref().map(|f| f.0.clone())).unwrap_or_default(),
        cooldown: Duration::ZERO,
        next_truncate: Instant::now(),
        next_open: Instant::now(),
        seen: (0, 0),
        poll: POLL,
    };
    loop {
        let Some(shared) = weak.upgrade() else { break };
        if shared.closed_flag.load(SeqCst) {
            break;
        }
        round(&shared, &mut w);
        drop(shared);
        if !stop.sleep(w.poll) {
            break;
        }
    }
    // The connection closes here, on this thread (never in a forked child,
    // where this thread does not exist).
}

fn round(shared: &Shared, w: &mut Watcher) {
    let keeper = &shared.wal;
    let Some((wal, shm)) = &keeper.files else { return };
    let bytes = std::fs::metadata(wal).map_or(0, |m| m.len());
    keeper.peak.fetch_max(bytes, Relaxed);
    if w.shm.is_none() {
        w.shm = File::open(shm).ok();
    }
    let index = w.shm.as_ref().and_then(read_index);
    if index.is_none() {
        w.shm = None; // removed or re-created meanwhile: open it again next time
    }
    // Without the index (never, with the default VFS): estimate from the file.
    let (page, frames, backfilled) = index.unwrap_or((4096, bytes.saturating_sub(32) / 4120, 0));
    let content = if index.is_some() { 32 + frames * (page + 24) } else { bytes };
    let over_high_water = keeper.high_water > 0 && content >= keeper.high_water;
    let new_frames = if frames >= w.last_frames { frames - w.last_frames } else { frames };
    let changed = (frames, bytes) != w.seen;
    w.seen = (frames, bytes);
    w.poll = if changed { POLL } else { (w.poll * 2).min(IDLE_POLL) };
    if over_high_water && Instant::now() >= w.next_truncate {
        let finished = truncate(shared, w);
        w.cooldown = if finished { Duration::ZERO } else { (w.cooldown * 2).clamp(CHECKPOINT_WAIT, MAX_COOLDOWN) };
        w.next_truncate = Instant::now() + w.cooldown;
    } else if frames - backfilled.min(frames) >= keeper.pages && new_frames >= keeper.pages {
        passive(shared, w, frames);
    }
    tenants(shared, w);
}

/// Tenant databases get no autocheckpoint either (it is a per-connection
/// setting): each one whose WAL holds `checkpoint_pages` pages not yet
/// copied back gets a PASSIVE checkpoint on a short-lived connection.
fn tenants(shared: &Shared, w: &mut Watcher) {
    if Instant::now() < w.next_tenants {
        return;
    }
    // Once a second: an open and a 100-byte read per tenant.
    w.next_tenants = Instant::now() + Duration::from_secs(1);
    for path in shared.tenants.paths() {
        let index = File::open(format!("{path}-shm")).ok().as_ref().and_then(read_index);
        let Some((_, frames, backfilled)) = index else { continue };
        if frames.saturating_sub(backfilled) < shared.wal.pages {
            continue;
        }
        let c = &shared.wal.counters;
        c.passive.fetch_add(1, Relaxed);
        let outcome = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
            .and_then(|conn| checkpoint(&conn, "PASSIVE", Duration::ZERO));
        match outcome {
            Ok((blocked, log, done)) => {
                c.frames.fetch_add(u64::try_from(done).unwrap_or(0).saturating_sub(backfilled), Relaxed);
                if blocked || done < log {
                    c.incomplete.fetch_add(1, Relaxed);
                }
            }
            Err(e) => {
                c.failed.fetch_add(1, Relaxed);
                log::debug!("litepool: PASSIVE checkpoint of {path} failed: {e}");
            }
        }
    }
}

/// The checkpointer's own connection (opened through the pool's connector
/// and setup, outside `max_size`).
fn connection<'a>(shared: &Shared, w: &'a mut Watcher) -> Option<&'a Connection> {
    if w.conn.is_none() && Instant::now() >= w.next_open {
        match crate::sqlite::open(&*shared.connector, &shared.config) {
            Ok(c) => w.conn = Some(c),
            Err(e) => {
                // Try again in a second, not on every look.
                w.next_open = Instant::now() + Duration::from_secs(1);
                log::warn!("litepool: the checkpointer cannot open {}: {e}", shared.connector.describe());
            }
        }
    }
    w.conn.as_ref()
}

/// `PRAGMA wal_checkpoint(mode)`: `(blocked, frames in the WAL, frames backfilled)`.
fn checkpoint(conn: &Connection, mode: &str, wait: Duration) -> rusqlite::Result<(bool, i64, i64)> {
    conn.busy_timeout(wait)?;
    let out = conn.query_row(&format!("PRAGMA main.wal_checkpoint({mode})"), [], |r| {
        Ok((r.get::<_, i64>(0)? != 0, r.get(1)?, r.get(2)?))
    });
    conn.busy_timeout(Duration::ZERO)?;
    out
}

fn passive(shared: &Shared, w: &mut Watcher, frames: u64) {
    let before = w.shm.as_ref().and_then(read_index).map_or(0, |(_, _, b)| b);
    w.last_frames = frames;
    let Some(conn) = connection(shared, w) else { return };
    let c = &shared.wal.counters;
    c.passive.fetch_add(1, Relaxed);
    match checkpoint(conn, "PASSIVE", Duration::ZERO) {
        Ok((blocked, log, done)) => {
            c.frames.fetch_add(u64::try_from(done).unwrap_or(0).saturating_sub(before), Relaxed);
            if blocked || done < log {
                c.incomplete.fetch_add(1, Relaxed);
            }
        }
        Err(e) => {
            c.failed.fetch_add(1, Relaxed);
            log::debug!("litepool: PASSIVE checkpoint failed: {e}");
        }
    }
}

/// Back-pressure: hold new reads back; while the reads already open end,
/// copy back what they no longer pin (PASSIVE, writers go on); then take
/// the write gate and TRUNCATE (writers wait only for that). Returns
/// whether the WAL was reset.
fn truncate(shared: &Shared, w: &mut Watcher) -> bool {
    let index = w.shm.as_ref().and_then(read_index);
    let (target, mut backfilled) = index.map_or((0, 0), |(_, frames, done)| (frames, done));
    if connection(shared, w).is_none() {
        return false;
    }
    let Some(conn) = w.conn.take() else { return false };
    let reset = truncate_on(shared, w, &conn, target, &mut backfilled);
    w.conn = Some(conn);
    reset
}

fn truncate_on(shared: &Shared, w: &mut Watcher, conn: &Connection, target: u64, backfilled: &mut u64) -> bool {
    let keeper = &shared.wal;
    let c = &keeper.counters;
    let limit = keeper.high_water + keeper.high_water / 4;
    let copied = |done: i64, backfilled: &mut u64| {
        let done = u64::try_from(done).unwrap_or(0);
        c.frames.fetch_add(done.saturating_sub(*backfilled), Relaxed);
        *backfilled = done;
    };
    let start = Instant::now();
    keeper.set_pressing(true);
    while start.elapsed() < CHECKPOINT_WAIT / 2 {
        match checkpoint(conn, "PASSIVE", Duration::ZERO) {
            Ok((_, log, done)) => {
                copied(done, backfilled);
                // Every read older than the hold-back has ended.
                if u64::try_from(done).unwrap_or(0) >= target || done >= log {
                    break;
                }
            }
            Err(_) => break,
        }
        thread::sleep(DRAIN_POLL);
        // Writers go on meanwhile, but not past a quarter over the mark.
        let size = w.shm.as_ref().and_then(read_index).map_or(0, |(page, frames, _)| 32 + frames * (page + 24));
        keeper.peak.fetch_max(w.wal_bytes(), Relaxed);
        if size >= limit {
            break;
        }
    }
    let permit = enter_gate(shared, CHECKPOINT_WAIT.saturating_sub(start.elapsed()));
    let left = CHECKPOINT_WAIT.saturating_sub(start.elapsed()).max(Duration::from_millis(10));
    let outcome = checkpoint(conn, "TRUNCATE", left);
    drop(permit);
    keeper.set_pressing(false);
    c.truncate.fetch_add(1, Relaxed);
    w.last_frames = 0;
    keeper.peak.fetch_max(w.wal_bytes(), Relaxed);
    match outcome {
        Ok((blocked, log, done)) if blocked || done < log => {
            copied(done, backfilled);
            c.incomplete.fetch_add(1, Relaxed);
            report_pinning(shared, start);
            false
        }
        Ok(_) => {
            // Reset: every frame of the old WAL was copied back.
            c.frames.fetch_add(target.saturating_sub(*backfilled), Relaxed);
            true
        }
        Err(e) => {
            c.failed.fetch_add(1, Relaxed);
            log::debug!("litepool: TRUNCATE checkpoint failed: {e}");
            report_pinning(shared, start);
            false
        }
    }
}

/// The write gate within `wait`, so that pool writers are not in the middle
/// of a transaction the checkpoint would wait for; `None`: go on without it.
fn enter_gate(shared: &Shared, wait: Duration) -> Option<GatePermit> {
    let mut deadline = Deadline::after(wait);
    match shared.gate.enter(&mut deadline, true, shared.owner(), false).ok()? {
        GateEntry::Entered(permit) => Some(permit),
        GateEntry::Queued(waiter) => match shared.gate.wait(&waiter) {
            Ok(Some(_)) => Some(shared.gate.permit()),
            _ => None,
        },
        GateEntry::Bypassed => None,
    }
}

/// A back-pressure checkpoint could not finish: the oldest lease out (an
/// open read on it keeps the WAL from restarting) is reported, with its
/// acquire site when leak detection records sites.
fn report_pinning(shared: &Shared, since: Instant) {
    shared.wal.counters.pinned.fetch_add(1, Relaxed);
    match shared.leases.oldest(Instant::now()) {
        Some(report) => {
            log::warn!(
                "litepool: the WAL is pinned: a checkpoint waited {} ms for open reads; the oldest lease, \
                 connection {} held for {} ms, was acquired at {}",
                since.elapsed().as_millis(),
                report.connection_id,
                report.held_for.as_millis(),
                report.site
            );
            shared.emit(|h| h.on_wal_pinned(&report));
        }
        None => log::warn!(
            "litepool: the WAL is pinned: a checkpoint waited {} ms for open reads (set leak_threshold to see \
             where the oldest lease was acquired)",
            since.elapsed().as_millis()
        ),
    }
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
    fn the_index_header_is_read_only_when_both_copies_agree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(x);").unwrap();
        for i in 0..10 {
            conn.execute("INSERT INTO t VALUES (?1)", [i]).unwrap();
        }
        let shm = File::open(dir.path().join("db-shm")).unwrap();
        let (page, frames, backfilled) = read_index(&shm).unwrap();
        assert_eq!(page, 4096);
        assert!(frames >= 11, "{frames}");
        assert_eq!(backfilled, 0);
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).unwrap();
        assert_eq!(read_index(&shm).unwrap().2, frames, "all frames backfilled");
    }
}
