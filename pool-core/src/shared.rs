//! The state a pool, its leases and its housekeeper share, and the
//! machinery that takes connections back, opens new ones and closes them.
//!
//! Lock discipline: one mutex guards the books (`slots.rs`); SQLite work (opening,
//! validating, rolling back, closing) and waking waiters happen with it
//! released. A connection that comes free is handed straight to the first
//! waiter, so waiters are served first come, first served. The acquire side
//! lives in `acquire.rs`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::books::Books;
use crate::checkpoint::WalKeeper;
use crate::clock;
use crate::config::PoolConfig;
use crate::entry::PoolEntry;
use crate::error::{Error, Result};
use crate::events::{CloseReason, PoolEvents};
use crate::gate::{GatePermit, Owner, WriteGate};
use crate::leak::LeaseRegistry;
use crate::metrics::Metrics;
use crate::parking::Parking;
use crate::reset::{self, Baseline};
use crate::signal::WorkerSignal;
use crate::slots::{Freed, Slots};
use crate::sql::executor::Executor;
use crate::sql::group_queue::Group;
use crate::sql::routes::Routes;
use crate::sqlite::{self, Connector};
use crate::stats::{Counters, State};
use crate::tenant::TenantRegistry;

/// Configuration, lock and counters shared by the pool, its leases and its
/// housekeeper.
pub(crate) struct Shared {
    /// Unique in the process: tags this pool's waiters at shared write gates.
    pub id: usize,
    /// Set by `close()`: checked without the lock where a lock is not held.
    pub closed_flag: AtomicBool,
    /// `max_size` and the eviction epoch now (copies of the books', read
    /// without their lock when a writer leaves its connection with the gate).
    max_now: AtomicU32,
    epoch_now: AtomicU64,
    pub config: PoolConfig,
    pub connector: Arc<dyn Connector>,
    /// The books: idle connections, waiters, counts (`slots.rs`).
    pub slots: Books,
    /// Signalled when the books' total drops while closing.
    pub(crate) closed_cv: std::sync::Condvar,
    pub counters: Counters,
    pub metrics: Metrics,
    pub gate: Arc<WriteGate>,
    pub leases: LeaseRegistry,
    events: Option<Arc<dyn PoolEvents>>,
    pub worker: Arc<WorkerSignal>,
    pub tenants: TenantRegistry,
    /// The per-connection state a lease's changes are undone to.
    baseline: Baseline,
    /// `sqlite3_stmt_readonly` answers per SQL text, for one-shot calls.
    pub routes: Routes,
    /// Threads for the SQL of asynchronous calls.
    pub executor: Executor,
    /// One-shot writes waiting to commit together (`group_commit`).
    pub group: Group,
    pid: AtomicU32,
    /// The process fork generation this pool last checked.
    fork_seen: AtomicU64,
    /// Bumped in a forked child; older entries belong to the parent.
    pub generation: AtomicU64,
    /// The WAL: checkpoint policy, back-pressure, monitoring (`checkpoint.rs`).
    pub wal: WalKeeper,
    /// Load shedding: the hold-time EWMA and what was shed (`shed.rs`).
    pub shed: crate::shed::Shedder,
    /// What the pool knows per statement, and the warm list (`statements.rs`).
    pub statements: crate::statements::Statements,
    /// The recent slow statements (`slow.rs`).
    pub slow: crate::slow::SlowLog,
    /// The trace hook (`trace.rs`).
    pub trace: crate::trace::Tracer,
    /// Leases clients keep between calls while nobody else needs them (`parking.rs`).
    pub parking: Parking,
}

static POOL_IDS: AtomicUsize = AtomicUsize::new(1);

/// How long `close` waits for the housekeeper to exit at least.
const HOUSEKEEPER_GRACE: Duration = Duration::from_millis(250);

impl Shared {
    /// The shared state around the first, already open connection.
    pub(crate) fn new(
        config: PoolConfig,
        connector: Arc<dyn Connector>,
        events: Option<Arc<dyn PoolEvents>>,
        first: Connection,
        anchor: Option<Connection>,
    ) -> Result<Arc<Shared>> {
        let baseline = Baseline::read(&first);
        let wal = WalKeeper::new(&config, &first, connector.is_memory());
        let statements = crate::statements::Statements::new(&config);
        let entry = PoolEntry::new(first, 1, config.max_lifetime, 0)?;
        let id = POOL_IDS.fetch_add(1, Relaxed);
        let gate = WriteGate::for_file(connector.identity());
        let executor = Executor::new(config.worker_threads(), &config.name);
        let shared = Arc::new(Shared {
            id,
            closed_flag: AtomicBool::new(false),
            max_now: AtomicU32::new(config.max_size),
            epoch_now: AtomicU64::new(0),
            baseline,
            leases: LeaseRegistry::new(config.leak_threshold),
            slots: Books::new(Slots::new(
                entry,
                anchor,
                config.max_size,
                config.min_idle,
                config.fair_tenants,
                config.max_leases_per_tenant,
            )),
            config,
            connector,
            closed_cv: std::sync::Condvar::new(),
            counters: Counters::default(),
            metrics: Metrics::default(),
            gate,
            events,
            worker: Arc::default(),
            tenants: TenantRegistry::new(id),
            routes: Routes::default(),
            executor,
            group: Group::default(),
            pid: AtomicU32::new(std::process::id()),
            fork_seen: AtomicU64::new(crate::fork::generation()),
            generation: AtomicU64::new(0),
            wal,
            shed: crate::shed::Shedder::default(),
            statements,
            slow: crate::slow::SlowLog::default(),
            trace: crate::trace::Tracer::default(),
            parking: Parking::default(),
        });
        crate::fork::register(&shared);
        Counters::bump(&shared.counters.created);
        shared.emit(|h| h.on_create(1));
        Ok(shared)
    }

    /// [`Error::ReadOnlyReplica`] for a replica pool (which a write lease
    /// or a writing statement can never succeed on).
    pub(crate) fn refuse_writes(&self) -> Result<()> {
        if !self.connector.is_read_only() {
            return Ok(());
        }
        Err(Error::ReadOnlyReplica(self.config.replica_url.clone().unwrap_or_else(|| self.connector.describe())))
    }

    /// Whether a write lease's connection may stay with the write gate for
    /// the next writer (`gate.rs`): not in a pool of one connection, whose
    /// readers would wait for every queued writer, and not once evicted.
    pub(crate) fn keeps_writer_connection(&self, entry: &PoolEntry) -> bool {
        self.max_now.load(Relaxed) >= 2 && entry.epoch == self.epoch_now.load(Relaxed)
    }

    /// This pool as a waiter at a (possibly shared) write gate.
    pub(crate) fn owner(&self) -> Owner<'_> {
        Owner {
            id: self.id,
            closed: &self.closed_flag,
            fairness: self.config.fairness,
            bound: self.config.starvation_bound,
        }
    }

    #[inline]
    pub(crate) fn emit(&self, f: impl FnOnce(&dyn PoolEvents)) {
        if let Some(h) = &self.events {
            Self::emit_to(&**h, f);
        }
    }

    fn emit_to(h: &dyn PoolEvents, f: impl FnOnce(&dyn PoolEvents)) {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| f(h))) {
            log::error!("litepool: an event hook panicked: {}", sqlite::panic_message(&*panic));
        }
    }

    /// Logs `message` at `WARN` and hands it to the `on_warning` hook.
    pub(crate) fn warn(&self, message: &str) {
        log::warn!("{message}");
        self.emit(|h| h.on_warning(message));
    }

    pub(crate) fn state(&self) -> State {
        let ((idle, total, waiting), (max, min)) = {
            let slots = self.slots.lock();
            (slots.counts(), slots.limits())
        };
        // A parked lease is there for the taking: idle.
        let idle = (idle + self.parking.count()).min(total);
        State { active: total - idle, idle, total, max, min, waiting: waiting + self.gate.waiting(self.id) as u32 }
    }

    /// In a child after `fork()`: forget (never close) the parent's
    /// connections and reset the queues; `true` when the housekeeper must be
    /// restarted (see `housekeeper::check_fork`).
    #[inline]
    pub(crate) fn reset_if_forked(self: &Arc<Self>) -> bool {
        let seen = crate::fork::generation();
        if seen == self.fork_seen.load(Relaxed) && !crate::fork::unwatched() {
            return false;
        }
        self.after_fork(seen)
    }

    #[cold]
    fn after_fork(self: &Arc<Self>, seen: u64) -> bool {
        let pid = std::process::id();
        if self.pid.load(Relaxed) == pid {
            self.fork_seen.store(seen, Relaxed);
            return false;
        }
        let mut int = self.slots.lock();
        if self.pid.load(Relaxed) == pid {
            return false;
        }
        // Before the pool is this process's (`pid` below): no thread of the
        // child has used the signal yet.
        self.worker.reset_after_fork();
        let old_generation = self.generation.fetch_add(1, Relaxed);
        let inherited: Vec<PoolEntry> = int.forget_after_fork();
        self.pid.store(pid, Relaxed);
        self.fork_seen.store(seen, Relaxed);
        drop(int);
        for e in inherited {
            debug_assert_eq!(e.generation, old_generation);
            e.dispose(old_generation + 1);
        }
        self.gate.reset_after_fork(seen);
        self.tenants.reset_after_fork(seen);
        self.leases.clear();
        self.wal.after_fork();
        true
    }

    /// Takes back a lease's connection: rolls back an open transaction,
    /// undoes what the lease changed (or replaces the connection), retires
    /// it if too old, else hands it on.
    pub(crate) fn release(self: &Arc<Self>, entry: PoolEntry, now: clock::Instant) {
        self.release_from(entry, now, None);
    }

    /// [`Shared::release`] for a lease holding the write gate (`permit`):
    /// a connection fit to go on is left with the gate when the next writer
    /// of this pool queues there (`gate.rs`), else booked before the gate
    /// opens (the caller drops the permit after this).
    pub(crate) fn release_from(
        self: &Arc<Self>,
        entry: PoolEntry,
        now: clock::Instant,
        permit: Option<&mut GatePermit>,
    ) {
        let generation = self.generation.load(Relaxed);
        if entry.generation != generation {
            entry.dispose(generation);
            return;
        }
        let changes = entry.watch.finish();
        if !entry.conn.is_autocommit() {
            Counters::bump(&self.counters.rolled_back_on_return);
            if let Err(e) = entry.watch.internal(|| entry.conn.execute_batch("ROLLBACK")) {
                self.warn(&format!("litepool: rollback on return failed ({e}); discarding connection {}", entry.id));
                Counters::bump(&self.counters.closed_broken);
                return self.discard(entry, CloseReason::Broken);
            }
        }
        let mut entry = entry;
        if changes != 0 {
            match reset::restore(&mut entry, &self.baseline, &self.config, changes) {
                Ok(()) => {
                    // Restoring wal_autocheckpoint replaces the WAL hook.
                    entry.wal_hooked = false;
                    Counters::bump(&self.counters.reset_on_return);
                }
                Err(why) => {
                    log::info!("litepool: connection {} is replaced: {}", entry.id, why.0);
                    Counters::bump(&self.counters.closed_dirty);
                    return self.discard(entry, CloseReason::Dirty);
                }
            }
        }
        if entry.is_expired(now) {
            Counters::bump(&self.counters.closed_lifetime);
            return self.discard(entry, CloseReason::Lifetime);
        }
        entry.last_used = now;
        let entry = match permit {
            Some(permit) => permit.hand_on(entry, self),
            None => Some(entry),
        };
        if let Some(entry) = entry {
            self.put_back(entry);
        }
    }

    /// Books a ready connection: idle (nudging the first waiter, when
    /// barging), or handed to the first waiter.
    pub(crate) fn put_back(&self, mut entry: PoolEntry) {
        loop {
            let freed = self.slots.lock().free(entry, self.config.fairness);
            match freed {
                Freed::Idle => return,
                Freed::Nudge(waiter) => {
                    waiter.nudge();
                    return;
                }
                Freed::Grant(waiter, e) => match waiter.grant(Ok(e)) {
                    None => return,
                    // Abandoned meanwhile: the next waiter, or idle.
                    Some(back) => entry = back,
                },
                Freed::Close(e) => {
                    self.closed_cv.notify_all();
                    return self.destroy(e, CloseReason::PoolClosed);
                }
                Freed::Retire(e) => {
                    Counters::bump(&self.counters.closed_evicted);
                    return self.destroy(e, CloseReason::Evicted);
                }
            }
        }
    }

    /// Closes a connection that is not in the idle list and frees its slot.
    pub(crate) fn discard(&self, entry: PoolEntry, reason: CloseReason) {
        let kick = {
            let mut int = self.slots.lock();
            int.dropped();
            int.request_creations()
        };
        if kick {
            self.worker.kick();
        }
        self.closed_cv.notify_all();
        self.destroy(entry, reason);
    }

    /// Closes a connection already taken out of the books.
    pub(crate) fn destroy(&self, entry: PoolEntry, reason: CloseReason) {
        let id = entry.id;
        entry.dispose(self.generation.load(Relaxed));
        self.emit(|h| h.on_destroy(id, reason));
    }

    /// Whether the housekeeper should open a connection now.
    pub(crate) fn creation_wanted(&self) -> bool {
        self.slots.lock().creation_wanted()
    }

    /// Opens and sets up a new entry (outside the lock).
    pub(crate) fn open_entry(&self) -> Result<PoolEntry> {
        let conn = sqlite::open(&*self.connector, &self.config)?;
        let (id, epoch) = {
            let mut slots = self.slots.lock();
            (slots.next_id(), slots.epoch())
        };
        let mut entry = PoolEntry::new(conn, id, self.config.max_lifetime, self.generation.load(Relaxed))?;
        entry.epoch = epoch;
        self.statements.warm_up(&entry);
        Ok(entry)
    }

    /// Books a connection the housekeeper opened and hands it on.
    pub(crate) fn add_created(&self, entry: PoolEntry) {
        self.slots.lock().opened();
        Counters::bump(&self.counters.created);
        self.emit(|h| h.on_create(entry.id));
        self.put_back(entry);
    }

    /// Records a failed open. Returns whether to retry soon (someone waits).
    pub(crate) fn creation_failed(&self, err: &Error) -> bool {
        Counters::bump(&self.counters.create_failures);
        self.warn(&format!("litepool: cannot open a connection to {}: {err}", self.connector.describe()));
        self.slots.lock().open_failed(err.to_string())
    }

    /// Fails asynchronous waiters whose deadline passed.
    pub(crate) fn expire_async_waiters(&self, now: Instant) {
        let expired = self.slots.lock().take_expired(now);
        for w in expired {
            let err = self.timed_out("a connection", w.timeout);
            let _ = w.grant(Err(err));
        }
        for gate in std::iter::once(Arc::clone(&self.gate)).chain(self.tenants.gates()) {
            for w in gate.take_expired(now, self.id) {
                let err = self.timed_out("the write gate", w.timeout);
                let _ = w.grant(Err(err));
            }
        }
    }

    /// The earliest moment the housekeeper must act for an async waiter or a
    /// lease nearing the leak threshold.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let waiters = self.slots.lock().next_async_deadline();
        let gates = std::iter::once(Arc::clone(&self.gate))
            .chain(self.tenants.gates())
            .filter_map(|g| g.next_async_deadline(self.id))
            .min();
        [waiters, gates, self.leases.next_deadline()].into_iter().flatten().min()
    }

    pub(crate) fn report_leaks(&self, now: Instant) {
        for report in self.leases.scan(now) {
            Counters::bump(&self.counters.leaks);
            self.warn(&format!(
                "litepool: apparent connection leak detected: connection {} held for {} ms, acquired at {}",
                report.connection_id,
                report.held_for.as_millis(),
                report.site
            ));
            self.emit(|h| h.on_leak(&report));
        }
    }

    /// New `max_size`/`min_idle` on a live pool: idle connections above the
    /// new maximum close now, leased ones when returned; the housekeeper
    /// refills `min_idle`, and queued waiters get the new room.
    pub(crate) fn resize(&self, max: u32, min: u32) -> Result<()> {
        if max == 0 {
            return Err(Error::InvalidConfig { field: "max_size", reason: "must be at least 1".into() });
        }
        if min > max {
            return Err(Error::InvalidConfig {
                field: "min_idle",
                reason: format!("({min}) must not exceed max_size ({max})"),
            });
        }
        let (excess, kick) = {
            let mut slots = self.slots.lock();
            if slots.closed {
                return Err(Error::Closed);
            }
            let excess = slots.resize(max, min);
            self.max_now.store(max, Relaxed);
            let kick = slots.request_creations() | slots.refill();
            (excess, kick)
        };
        // Parked leases above the new maximum are retired as they come back.
        self.parking.reclaim_all();
        if kick {
            self.worker.kick();
        }
        for e in excess {
            Counters::bump(&self.counters.closed_evicted);
            self.destroy(e, CloseReason::Evicted);
        }
        Ok(())
    }

    /// Retires every connection gracefully (after a schema migration, say):
    /// idle ones close now, leased ones when returned; new ones are opened
    /// as needed. Returns how many closed now.
    pub(crate) fn evict(&self) -> usize {
        let (idle, kick) = {
            let mut slots = self.slots.lock();
            let idle = slots.evict();
            self.epoch_now.store(slots.epoch(), Relaxed);
            let kick = slots.request_creations() | slots.refill();
            (idle, kick)
        };
        // Parked leases of the old epoch are retired as they come back.
        self.parking.reclaim_all();
        if kick {
            self.worker.kick();
        }
        let n = idle.len();
        for e in idle {
            Counters::bump(&self.counters.closed_evicted);
            self.destroy(e, CloseReason::Evicted);
        }
        n
    }

    pub(crate) fn close(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        self.closed_flag.store(true, SeqCst);
        let (idle, waiters) = self.slots.lock().close();
        self.gate.close_for(self.id);
        self.tenants.close();
        self.executor.stop();
        for w in waiters {
            let _ = w.grant(Err(Error::Closed));
        }
        for e in idle {
            self.destroy(e, CloseReason::PoolClosed);
        }
        self.parking.reclaim_all();
        let mut int = self.slots.lock();
        while int.total() > 0 {
            let Some(left) = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) else { break };
            int = self.closed_cv.wait_timeout(int, left).unwrap_or_else(std::sync::PoisonError::into_inner).0;
        }
        let active = int.total();
        let anchor = int.take_anchor();
        drop(int);
        drop(anchor);
        // The housekeeper exits within microseconds of the signal unless it
        // is opening a connection: give even close(0) (drop) that long.
        self.worker.stop(deadline.max(Instant::now() + HOUSEKEEPER_GRACE));
        self.wal.stop(deadline.max(Instant::now() + HOUSEKEEPER_GRACE));
        if active == 0 {
            Ok(())
        } else {
            Err(Error::CloseTimedOut { active })
        }
    }
}
