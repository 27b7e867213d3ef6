//! The checkpointer thread of `checkpoint = "pool"` (the policy and the
//! state it acts on are in `checkpoint.rs`): PASSIVE checkpoints once
//! `checkpoint_pages` new frames came in, and above `wal_high_water` a
//! TRUNCATE checkpoint under reader back-pressure.

use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::{Arc, Weak};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::checkpoint::{CheckpointMode, Stop, CHECKPOINT_WAIT};
use crate::clock::Deadline;
use crate::gate::{Entrant, GateEntry, GatePermit};
use crate::shared::Shared;

/// How long a catch-up checkpoint waits for the write gate before it gives
/// up (writers queued meanwhile wait behind it).
const CATCH_UP_WAIT: Duration = Duration::from_millis(50);

/// A checkpoint runs again (without the gate) while more than this many
/// frames, or a quarter of `checkpoint_pages`, came in meanwhile, up to
/// [`PASSIVE_PASSES`] times; the rest is caught up under the gate (however
/// much it is: a few milliseconds with the gate held beat a WAL that grows
/// to its high-water mark and a TRUNCATE).
const CATCH_UP_FRAMES: u64 = 64;
const PASSIVE_PASSES: usize = 4;

/// How long a checkpoint that found another one running waits to try again.
const BLOCKED_PAUSE: Duration = Duration::from_micros(200);

/// After a catch-up a read kept from finishing, the next is tried this much
/// later (each try holds writers back while it looks).
const CATCH_UP_COOLDOWN: Duration = Duration::from_millis(100);

/// The longest pause between TRUNCATE attempts while a read pins the WAL.
const MAX_COOLDOWN: Duration = Duration::from_secs(30);

/// How often a back-pressure checkpoint looks whether the open reads ended.
const DRAIN_POLL: Duration = Duration::from_millis(10);

/// How often the checkpointer looks at the WAL (two atomics and a `stat`)
/// while it changes; an unchanged WAL is looked at less and less often,
/// down to every `IDLE_POLL`.
const POLL: Duration = Duration::from_millis(5);
const IDLE_POLL: Duration = Duration::from_millis(20);

/// Starts the checkpointer of a new pool (pool mode on a WAL database
/// only; not in forked children, see `checkpoint.rs`).
pub(crate) fn spawn(shared: &Arc<Shared>) {
    if shared.wal.mode != CheckpointMode::Pool || shared.wal.wal.is_none() {
        return;
    }
    let weak = Arc::downgrade(shared);
    let stop = Arc::clone(&shared.wal.stop);
    let name = format!("ckpt-{}", shared.config.name);
    match thread::Builder::new().name(name).spawn(move || run(&weak, &stop)) {
        Ok(handle) => *shared.wal.thread.lock() = Some(handle),
        Err(e) => log::error!("litepool: cannot start the checkpointer thread: {e}"),
    }
}

/// What the checkpointer remembers between looks.
struct Watcher {
    conn: Option<Connection>,
    /// When the checkpointer may try to open its connection again.
    next_open: Instant,
    /// `frames` and the WAL file's size at the last PASSIVE checkpoint.
    last_frames: u64,
    last_bytes: u64,
    /// The WAL file's size when the pool last saw the WAL restart: a file
    /// that grows past it grew by commits the WAL hook may not have seen
    /// (another process's).
    size_at_reset: u64,
    /// After a TRUNCATE an open read kept from finishing, the next waits
    /// this long (doubling up to 30 s): a read held for minutes must not
    /// turn back-pressure into a stall of every read.
    cooldown: Duration,
    next_truncate: Instant,
    next_tenants: Instant,
    /// When a catch-up checkpoint may be tried again (see [`catch_up`]).
    next_catch_up: Instant,
    /// `(frames, bytes)` at the last look, and how long to sleep now.
    seen: (u64, u64),
    poll: Duration,
}

fn run(weak: &Weak<Shared>, stop: &Stop) {
    let now = Instant::now();
    let mut w = Watcher {
        conn: None,
        next_open: now,
        last_frames: 0,
        last_bytes: 0,
        size_at_reset: 0,
        cooldown: Duration::ZERO,
        next_truncate: now,
        next_tenants: now,
        next_catch_up: now,
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

/// The WAL file's size (a `stat`: no descriptor, see `checkpoint.rs`).
fn wal_bytes(shared: &Shared) -> u64 {
    shared.wal.wal.as_ref().and_then(|p| std::fs::metadata(p).ok()).map_or(0, |m| m.len())
}

/// The WAL's content in bytes: from the hook's frame count, or from the
/// file when it grew past its size at the last restart.
fn content(shared: &Shared, w: &Watcher, bytes: u64) -> u64 {
    let keeper = &shared.wal;
    let frames = keeper.frames.load(Relaxed);
    let from_hook = if frames == 0 { 0 } else { 32 + frames * (keeper.page_size + 24) };
    let from_file = if bytes > w.size_at_reset { bytes } else { 0 };
    from_hook.max(from_file)
}

fn round(shared: &Shared, w: &mut Watcher) {
    let keeper = &shared.wal;
    let bytes = wal_bytes(shared);
    keeper.peak.fetch_max(bytes, Relaxed);
    let frames = keeper.frames.load(Relaxed);
    // More copied back than the WAL holds: it restarted since.
    let backfilled = Some(keeper.backfilled.load(Relaxed)).filter(|&b| b <= frames).unwrap_or(0);
    let over_high_water = keeper.high_water > 0 && content(shared, w, bytes) >= keeper.high_water;
    let new_frames = if frames >= w.last_frames { frames - w.last_frames } else { frames };
    // Commits the hook does not see (other processes', forked children's)
    // show as file growth.
    let grown = bytes.saturating_sub(w.last_bytes.max(w.size_at_reset)) / (keeper.page_size + 24);
    let changed = (frames, bytes) != w.seen;
    w.seen = (frames, bytes);
    w.poll = if changed { POLL } else { (w.poll * 2).min(IDLE_POLL) };
    if over_high_water && Instant::now() >= w.next_truncate {
        let finished = truncate(shared, w);
        w.cooldown = if finished { Duration::ZERO } else { (w.cooldown * 2).clamp(CHECKPOINT_WAIT, MAX_COOLDOWN) };
        w.next_truncate = Instant::now() + w.cooldown;
    } else if (frames.saturating_sub(backfilled) >= keeper.pages && new_frames >= keeper.pages) || grown >= keeper.pages
    {
        passive(shared, w, frames, bytes);
    }
    tenants(shared, w);
}

/// Tenant databases get no autocheckpoint either (it is a per-connection
/// setting): each one the WAL hook saw reach `checkpoint_pages` gets a
/// PASSIVE checkpoint on a short-lived connection, at most once a second.
fn tenants(shared: &Shared, w: &mut Watcher) {
    if !shared.wal.tenants_pending.load(SeqCst) || Instant::now() < w.next_tenants {
        return;
    }
    shared.wal.tenants_pending.store(false, SeqCst);
    let due = std::mem::take(&mut *shared.wal.tenants_due.lock());
    w.next_tenants = Instant::now() + Duration::from_secs(1);
    for schema in due {
        let Some(path) = schema.strip_prefix("tenant_").and_then(|code| shared.tenants.path_of(code)) else {
            continue;
        };
        let c = &shared.wal.counters;
        c.passive.fetch_add(1, Relaxed);
        let outcome = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
            .and_then(|conn| checkpoint(&conn, "PASSIVE", Duration::ZERO));
        match outcome {
            // (Pages copied back count the main database's only.)
            Ok((blocked, log, done)) => {
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
                shared.warn(&format!("litepool: the checkpointer cannot open {}: {e}", shared.connector.describe()));
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

/// Counts what a checkpoint copied back (`done`, cumulative for this WAL)
/// and remembers it.
fn copied(shared: &Shared, done: i64) {
    let done = u64::try_from(done).unwrap_or(0);
    let before = shared.wal.backfilled.swap(done, Relaxed);
    shared.wal.counters.frames.fetch_add(done.saturating_sub(before), Relaxed);
}

fn passive(shared: &Shared, w: &mut Watcher, frames: u64, bytes: u64) {
    w.last_frames = frames;
    w.last_bytes = bytes;
    if on_connection(shared, w, passive_on) {
        // Everything copied back: the next writer restarts the WAL from its
        // start, in a file of this size.
        w.size_at_reset = bytes;
    }
}

/// A PASSIVE checkpoint, run again while writers append much while it
/// copies back, then caught up under the write gate (see [`catch_up`]);
/// whether it copied back every frame.
fn passive_on(shared: &Shared, w: &mut Watcher, conn: &Connection) -> bool {
    let c = &shared.wal.counters;
    let mut before = None;
    for pass in 1..=PASSIVE_PASSES {
        c.passive.fetch_add(1, Relaxed);
        let (blocked, log, done) = match checkpoint(conn, "PASSIVE", Duration::ZERO) {
            Ok(outcome) => outcome,
            Err(e) => {
                c.failed.fetch_add(1, Relaxed);
                log::debug!("litepool: PASSIVE checkpoint failed: {e}");
                return false;
            }
        };
        copied(shared, done);
        if blocked {
            // Another checkpoint runs, or the writer that just restarted
            // the WAL reads it (briefly): look again in a moment.
            thread::sleep(BLOCKED_PAUSE);
            continue;
        }
        // Nothing more copied back: a read pins the frames left (a writer
        // finishing its commit leaves a few short only once).
        if before == Some(done) {
            break;
        }
        before = Some(done);
        // `log` is the WAL as the checkpoint found it; the hook's count is
        // the latest (smaller once a writer restarted the WAL).
        let left = shared.wal.frames.load(Relaxed).max(u64::try_from(log).unwrap_or(0));
        let left = left.saturating_sub(u64::try_from(done).unwrap_or(0));
        if left == 0 {
            return true;
        }
        if left <= (shared.wal.pages / 4).max(CATCH_UP_FRAMES) || pass == PASSIVE_PASSES {
            if catch_up(shared, w, conn) {
                return true;
            }
            break;
        }
    }
    c.incomplete.fetch_add(1, Relaxed);
    false
}

/// Copies back, holding the write gate, the frames pool writers appended
/// while a PASSIVE checkpoint ran, so that the next writer restarts the
/// WAL. Without it, writers that never pause keep every checkpoint a few
/// frames short: the WAL grows to `wal_high_water` and its TRUNCATE holds
/// the gate for tens of milliseconds (measured: 30–60 ms waits with 8
/// writers), where this holds it for the few frames left. Gives up when
/// the gate is not free within [`CATCH_UP_WAIT`]; when a read (or a writer
/// outside the gate) still keeps it short, the next try waits
/// [`CATCH_UP_COOLDOWN`].
fn catch_up(shared: &Shared, w: &mut Watcher, conn: &Connection) -> bool {
    if Instant::now() < w.next_catch_up {
        return false;
    }
    let Some(permit) = enter_gate(shared, CATCH_UP_WAIT) else { return false };
    let outcome = checkpoint(conn, "PASSIVE", Duration::ZERO);
    // Counted as the PASSIVE checkpoint it is; before the gate opens, so
    // that the restart the next writer makes finds it counted.
    shared.wal.counters.passive.fetch_add(1, Relaxed);
    let complete = match outcome {
        Ok((blocked, log, done)) => {
            copied(shared, done);
            !blocked && done >= log
        }
        Err(_) => false,
    };
    drop(permit);
    if !complete {
        w.next_catch_up = Instant::now() + CATCH_UP_COOLDOWN;
    }
    complete
}

/// Back-pressure: hold new reads back; while the reads already open end,
/// copy back what they no longer pin (PASSIVE, writers go on, up to a
/// quarter over the mark); then take the write gate and TRUNCATE (writers
/// wait only for that). Returns whether the WAL was reset.
fn truncate(shared: &Shared, w: &mut Watcher) -> bool {
    on_connection(shared, w, truncate_on)
}

/// Runs `step` on the checkpointer's connection (lent out of the watcher,
/// which `step` updates too); `false` when there is no connection.
fn on_connection(
    shared: &Shared,
    w: &mut Watcher,
    step: impl FnOnce(&Shared, &mut Watcher, &Connection) -> bool,
) -> bool {
    if connection(shared, w).is_none() {
        return false;
    }
    let Some(conn) = w.conn.take() else { return false };
    let outcome = step(shared, w, &conn);
    w.conn = Some(conn);
    outcome
}

fn truncate_on(shared: &Shared, w: &mut Watcher, conn: &Connection) -> bool {
    let keeper = &shared.wal;
    let c = &keeper.counters;
    let target = keeper.frames.load(Relaxed);
    let limit = keeper.high_water + keeper.high_water / 4;
    let start = Instant::now();
    keeper.set_pressing(true);
    while start.elapsed() < CHECKPOINT_WAIT / 2 {
        match checkpoint(conn, "PASSIVE", Duration::ZERO) {
            Ok((_, log, done)) => {
                copied(shared, done);
                // Every read older than the hold-back has ended.
                if u64::try_from(done).unwrap_or(0) >= target || done >= log {
                    break;
                }
            }
            Err(_) => break,
        }
        thread::sleep(DRAIN_POLL);
        // Writers go on meanwhile, but not past a quarter over the mark.
        let bytes = wal_bytes(shared);
        keeper.peak.fetch_max(bytes, Relaxed);
        if content(shared, w, bytes) >= limit {
            break;
        }
    }
    let permit = enter_gate(shared, CHECKPOINT_WAIT.saturating_sub(start.elapsed()));
    let left = CHECKPOINT_WAIT.saturating_sub(start.elapsed()).max(Duration::from_millis(10));
    let outcome = checkpoint(conn, "TRUNCATE", left);
    drop(permit);
    keeper.set_pressing(false);
    keeper.peak.fetch_max(wal_bytes(shared), Relaxed);
    c.truncate.fetch_add(1, Relaxed);
    w.last_frames = 0;
    w.last_bytes = 0;
    match outcome {
        Ok((blocked, log, done)) if blocked || done < log => {
            copied(shared, done);
            c.incomplete.fetch_add(1, Relaxed);
            report_pinning(shared, start);
            false
        }
        Ok(_) => {
            // Reset: every frame of the old WAL was copied back, the file is empty.
            let before = keeper.backfilled.swap(0, Relaxed);
            c.frames.fetch_add(target.saturating_sub(before), Relaxed);
            keeper.frames.store(0, Relaxed);
            w.size_at_reset = 0;
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
    match shared.gate.enter(&mut deadline, true, shared.owner(), Entrant::Other).ok()? {
        GateEntry::Entered(permit) => Some(permit),
        GateEntry::Queued(waiter) => match shared.gate.wait(&waiter) {
            Ok(Some(pass)) => Some(shared.gate.permit(pass)),
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
            shared.warn(&format!(
                "litepool: the WAL is pinned: a checkpoint waited {} ms for open reads; the oldest lease, \
                 connection {} held for {} ms, was acquired at {}",
                since.elapsed().as_millis(),
                report.connection_id,
                report.held_for.as_millis(),
                report.site
            ));
            shared.emit(|h| h.on_wal_pinned(&report));
        }
        None => shared.warn(&format!(
            "litepool: the WAL is pinned: a checkpoint waited {} ms for open reads (set leak_threshold to see \
             where the oldest lease was acquired)",
            since.elapsed().as_millis()
        )),
    }
}
