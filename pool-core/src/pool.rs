//! The pool: [`Pool`], its builder, and the shared state behind it.
//!
//! Lock discipline: one mutex guards [`Internals`]; SQLite work (opening,
//! validating, rolling back, closing) and waking waiters happen with it
//! released. A connection that comes free is handed straight to the first
//! waiter, so waiters are served first come, first served.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use rusqlite::Connection;

use crate::clock::{self, Deadline};
use crate::config::PoolConfig;
use crate::entry::PoolEntry;
use crate::error::{Error, Result};
use crate::events::{CloseReason, PoolEvents};
use crate::gate::{GateEntry, GatePermit, WriteGate};
use crate::guard::{Lane, PooledConnection};
use crate::housekeeper::{self, WorkerSignal};
use crate::leak::{AcquireSite, LeaseRegistry};
use crate::metrics::Metrics;
use crate::sqlite::{self, Connector, FileConnector};
use crate::stats::{Counters, Health, State, Statistics};
use crate::tenant::{Tenant, TenantRegistry};
use crate::waiter::{WaitQueue, Waiter};

/// What one acquire asks for. `Default` is an ordinary lease with the pool's
/// acquire timeout.
#[derive(Debug, Clone, Default)]
pub struct AcquireOptions {
    /// Which lane to lease on. Defaults to [`Lane::Any`].
    pub lane: Lane,
    /// Overrides the pool's `acquire_timeout` for this call.
    pub timeout: Option<Duration>,
    /// Where the lease was taken, for leak reports (bindings pass a stack).
    pub site: Option<AcquireSite>,
    /// A registered tenant whose database must be attached to the lease.
    pub tenant: Option<String>,
}

impl AcquireOptions {
    /// Options for `lane` with everything else defaulted.
    pub fn lane(lane: Lane) -> Self {
        AcquireOptions { lane, ..Self::default() }
    }
}

/// State under the pool's lock.
pub(crate) struct Internals {
    /// Idle connections; the most recently used on top (reused LIFO).
    pub idle: Vec<PoolEntry>,
    /// Open connections (idle + leased), not counting ones being opened.
    pub total: u32,
    /// Connections the housekeeper has been asked to open.
    pub pending: u32,
    pub waiters: WaitQueue<PoolEntry>,
    pub closed: bool,
    pub last_error: Option<String>,
    next_id: u64,
    /// Keeps a shared in-memory database alive; never leased.
    anchor: Option<Connection>,
}

/// Configuration, lock and counters shared by the pool, its leases and its
/// housekeeper.
pub(crate) struct Shared {
    pub config: PoolConfig,
    pub connector: Arc<dyn Connector>,
    pub internals: Mutex<Internals>,
    /// Signalled when `total` drops while closing.
    closed_cv: Condvar,
    pub counters: Counters,
    pub metrics: Metrics,
    pub gate: Arc<WriteGate>,
    pub leases: LeaseRegistry,
    events: Option<Arc<dyn PoolEvents>>,
    pub worker: Arc<WorkerSignal>,
    pub tenants: TenantRegistry,
    /// `sqlite3_stmt_readonly` answers per SQL text, for `query`/`execute`.
    routing: Mutex<HashMap<String, bool>>,
    pid: AtomicU32,
    /// The process fork generation this pool last checked.
    fork_seen: AtomicU64,
    /// Bumped in a forked child; older entries belong to the parent.
    pub generation: AtomicU64,
}

/// A SQLite connection pool. Cheap to clone; every clone is the same pool.
/// Dropping the last clone closes it (leases still out close when returned).
#[derive(Clone)]
pub struct Pool {
    handle: Arc<PoolHandle>,
}

struct PoolHandle {
    shared: Arc<Shared>,
}

// A panic while holding a lease cannot break the pool: the lease is returned
// (and rolled back) on unwind, and the pool's locks do not poison.
impl std::panic::UnwindSafe for Pool {}
impl std::panic::RefUnwindSafe for Pool {}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("name", &self.config().name)
            .field("database", &self.shared().connector.describe())
            .field("state", &self.state())
            .finish()
    }
}

impl Drop for PoolHandle {
    fn drop(&mut self) {
        let _ = self.shared.close(Duration::ZERO);
    }
}

/// Builds a [`Pool`] with a config, event hooks or a custom [`Connector`].
pub struct PoolBuilder {
    config: PoolConfig,
    connector: Arc<dyn Connector>,
    events: Option<Arc<dyn PoolEvents>>,
}

impl PoolBuilder {
    /// Replaces the whole configuration.
    #[must_use]
    pub fn config(mut self, config: PoolConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets the event hooks.
    #[must_use]
    pub fn events(mut self, events: impl PoolEvents) -> Self {
        self.events = Some(Arc::new(events));
        self
    }

    /// Replaces how connections are opened (fault injection, custom VFS…).
    #[must_use]
    pub fn connector(mut self, connector: impl Connector) -> Self {
        self.connector = Arc::new(connector);
        self
    }

    /// Validates the config, opens the first connection (so a bad path
    /// fails here, naming it) and starts the housekeeper.
    pub fn build(self) -> Result<Pool> {
        self.config.validate()?;
        crate::fork::watch();
        let first = sqlite::open(&*self.connector, &self.config).map_err(|e| match e {
            Error::Sqlite(source) => Error::Open { path: self.connector.describe(), source },
            other => other,
        })?;
        let anchor =
            if self.connector.is_memory() { Some(sqlite::open(&*self.connector, &self.config)?) } else { None };
        let entry = PoolEntry::new(first, 1, self.config.max_lifetime, 0);
        let shared = Arc::new(Shared {
            leases: LeaseRegistry::new(self.config.leak_threshold),
            internals: Mutex::new(Internals {
                idle: vec![entry],
                total: 1,
                pending: 0,
                waiters: WaitQueue::default(),
                closed: false,
                last_error: None,
                next_id: 2,
                anchor,
            }),
            config: self.config,
            connector: self.connector,
            closed_cv: Condvar::new(),
            counters: Counters::default(),
            metrics: Metrics::default(),
            gate: Arc::default(),
            events: self.events,
            worker: Arc::default(),
            tenants: TenantRegistry::default(),
            routing: Mutex::new(HashMap::new()),
            pid: AtomicU32::new(std::process::id()),
            fork_seen: AtomicU64::new(crate::fork::generation()),
            generation: AtomicU64::new(0),
        });
        Counters::bump(&shared.counters.created);
        shared.emit(|h| h.on_create(1));
        housekeeper::spawn(&shared);
        Ok(Pool { handle: Arc::new(PoolHandle { shared }) })
    }
}

impl Pool {
    /// A pool over the database at `path` (`":memory:"` for one in-memory
    /// database shared by all its connections) with the default config.
    pub fn open(path: impl AsRef<Path>) -> Result<Pool> {
        Self::builder(path).build()
    }

    /// A pool over `path` with `config`.
    pub fn new(path: impl AsRef<Path>, config: PoolConfig) -> Result<Pool> {
        Self::builder(path).config(config).build()
    }

    /// A builder for `path`.
    pub fn builder(path: impl AsRef<Path>) -> PoolBuilder {
        let path = path.as_ref().to_string_lossy().into_owned();
        PoolBuilder { config: PoolConfig::default(), connector: Arc::new(FileConnector::new(path)), events: None }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    /// The pool's configuration.
    pub fn config(&self) -> &PoolConfig {
        &self.shared().config
    }

    /// An ordinary read-write lease, waiting up to `acquire_timeout`.
    #[track_caller]
    pub fn get(&self) -> Result<PooledConnection> {
        self.acquire(AcquireOptions::default())
    }

    /// A lease with `PRAGMA query_only=ON`: writes through it fail with
    /// [`Error::ReadOnlyLane`] (when run through the lease's own methods).
    #[track_caller]
    pub fn read(&self) -> Result<PooledConnection> {
        self.acquire(AcquireOptions::lane(Lane::Read))
    }

    /// A lease that also holds the pool's write gate (one holder at a time,
    /// first come first served); its `transaction()` uses `BEGIN IMMEDIATE`.
    #[track_caller]
    pub fn write(&self) -> Result<PooledConnection> {
        self.acquire(AcquireOptions::lane(Lane::Write))
    }

    /// A blocking acquire with every option.
    #[track_caller]
    pub fn acquire(&self, mut opts: AcquireOptions) -> Result<PooledConnection> {
        let site = opts.site.take().unwrap_or(AcquireSite::Rust(std::panic::Location::caller()));
        self.shared().acquire_blocking(opts, site)
    }

    /// An idle connection now, or a new one if there is room; never queues.
    /// Fails with [`Error::Exhausted`] when neither is possible.
    #[track_caller]
    pub fn try_get(&self) -> Result<PooledConnection> {
        self.shared().try_acquire(AcquireSite::Rust(std::panic::Location::caller()))
    }

    /// A snapshot of the pool's counts.
    pub fn state(&self) -> State {
        self.shared().state()
    }

    /// Cumulative counters.
    pub fn statistics(&self) -> Statistics {
        self.shared().counters.snapshot()
    }

    /// Healthy / warning / degraded, by `active / max`.
    pub fn health(&self) -> Health {
        Health::of(&self.state(), self.is_closed())
    }

    /// Whether `close()` was called (or the pool was dropped).
    pub fn is_closed(&self) -> bool {
        self.shared().internals.lock().closed
    }

    /// The pool's metrics in the Prometheus text format, labelled
    /// `pool="<name>"`.
    pub fn metrics_text(&self) -> String {
        let sh = self.shared();
        let extra = sh.tenants.metrics_text(&sh.config.name);
        crate::metrics::render(&sh.config.name, &self.state(), &self.statistics(), &sh.metrics, &extra)
    }

    /// Closes gracefully: refuses new acquires (`Closed`), fails every waiter
    /// with `Closed`, closes idle connections, waits up to `timeout` for
    /// leases to come back and closes them. Leases still out after that are
    /// closed when returned, and the call fails with [`Error::CloseTimedOut`].
    pub fn close(&self, timeout: Duration) -> Result<()> {
        self.shared().close(timeout)
    }

    /// Registers tenant `code` (`[a-z0-9_]{1,64}`) whose database at `path`
    /// is attached as schema `tenant_<code>` on the leases that ask for it.
    pub fn register_tenant(&self, code: &str, path: impl AsRef<Path>) -> Result<()> {
        let sh = self.shared();
        sh.tenants.register(code, path.as_ref(), &sh.config)
    }

    /// Removes a tenant: new leases for it fail at once; waits up to
    /// `timeout` for its leases to come back, else fails with
    /// [`Error::TenantBusy`] and keeps it registered.
    pub fn remove_tenant(&self, code: &str, timeout: Duration) -> Result<()> {
        self.shared().tenants.remove(code, timeout)
    }

    /// A lease with tenant `code` attached (affinity: a connection that
    /// already has it attached is preferred).
    #[track_caller]
    pub fn get_for_tenant(&self, code: &str, lane: Lane) -> Result<PooledConnection> {
        self.acquire(AcquireOptions { lane, tenant: Some(code.to_owned()), ..AcquireOptions::default() })
    }

    /// Per-tenant counters.
    pub fn tenant_statistics(&self) -> Vec<crate::tenant::TenantStatistics> {
        self.shared().tenants.statistics()
    }
}

impl Shared {
    pub(crate) fn emit(&self, f: impl FnOnce(&dyn PoolEvents)) {
        if let Some(h) = &self.events {
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| f(&**h))) {
                log::error!("litepool: an event hook panicked: {}", sqlite::panic_message(&*panic));
            }
        }
    }

    pub(crate) fn state(&self) -> State {
        let int = self.internals.lock();
        let idle = int.idle.len() as u32;
        State {
            active: int.total - idle,
            idle,
            total: int.total,
            max: self.config.max_size,
            min: self.config.min_idle,
            waiting: (int.waiters.len() + self.gate.waiting()) as u32,
        }
    }

    /// In a child after `fork()`: forget (never close) the parent's
    /// connections, reset the queues and restart the housekeeper.
    #[inline]
    pub(crate) fn check_fork(self: &Arc<Self>) {
        let seen = crate::fork::generation();
        if seen == self.fork_seen.load(Relaxed) && !crate::fork::unwatched() {
            return;
        }
        self.after_fork(seen);
    }

    #[cold]
    fn after_fork(self: &Arc<Self>, seen: u64) {
        let pid = std::process::id();
        if self.pid.load(Relaxed) == pid {
            self.fork_seen.store(seen, Relaxed);
            return;
        }
        let mut int = self.internals.lock();
        if self.pid.load(Relaxed) == pid {
            return;
        }
        let old_generation = self.generation.fetch_add(1, Relaxed);
        let inherited: Vec<PoolEntry> = std::mem::take(&mut int.idle);
        if let Some(anchor) = int.anchor.take() {
            std::mem::forget(anchor);
        }
        int.total = 0;
        int.pending = 0;
        int.waiters.drain();
        self.pid.store(pid, Relaxed);
        self.fork_seen.store(seen, Relaxed);
        drop(int);
        for e in inherited {
            debug_assert_eq!(e.generation, old_generation);
            e.dispose(old_generation + 1);
        }
        self.gate.reset_after_fork();
        self.tenants.reset_after_fork();
        self.leases.clear();
        housekeeper::spawn(self);
    }

    /// Asks the housekeeper for connections while waiters outnumber
    /// connections being opened and there is room.
    fn request_creations(&self, int: &mut Internals) {
        let room = self.config.max_size.saturating_sub(int.total + int.pending);
        let wanted = (int.waiters.len() as u32).saturating_sub(int.pending).min(room);
        if wanted > 0 {
            int.pending += wanted;
            self.worker.kick();
        }
    }

    pub(crate) fn acquire_blocking(
        self: &Arc<Self>,
        opts: AcquireOptions,
        site: AcquireSite,
    ) -> Result<PooledConnection> {
        let start = clock::now();
        self.check_fork();
        let mut deadline = Deadline::after(opts.timeout.unwrap_or(self.config.acquire_timeout));
        let tenant = self.tenants.lookup(opts.tenant.as_deref())?;
        let permit = match opts.lane {
            Lane::Write => Some(self.enter_gate_blocking(tenant.as_deref(), &mut deadline, start)?),
            _ => None,
        };
        let (entry, waited) = loop {
            match self.take_or_enqueue(&mut deadline, true, tenant.as_deref())? {
                Taken::Idle(e) => match self.validate(e, start) {
                    Some(e) => break (e, false),
                    None => continue,
                },
                Taken::Queued(w) => {
                    let outcome = match w.wait_until_deadline() {
                        Some(outcome) => outcome,
                        None if self.internals.lock().waiters.remove(&w) => {
                            return Err(self.timed_out("a connection", start.elapsed()));
                        }
                        None => w.wait_for_grant(),
                    };
                    break (outcome?, true);
                }
            }
        };
        self.lease(entry, opts.lane, permit, tenant, site, start, waited)
    }

    fn enter_gate_blocking(
        &self,
        tenant: Option<&Tenant>,
        deadline: &mut Deadline,
        start: clock::Instant,
    ) -> Result<GatePermit> {
        let gate = tenant.map_or(&self.gate, |t| &t.gate);
        match gate.enter(deadline, true)? {
            GateEntry::Entered(permit) => Ok(permit),
            GateEntry::Queued(w) => gate.wait(&w)?.ok_or_else(|| self.timed_out("the write gate", start.elapsed())),
        }
    }

    pub(crate) fn try_acquire(self: &Arc<Self>, site: AcquireSite) -> Result<PooledConnection> {
        let start = clock::now();
        self.check_fork();
        loop {
            let mut int = self.internals.lock();
            if int.closed {
                return Err(Error::Closed);
            }
            if int.waiters.is_empty() {
                if let Some(e) = int.idle.pop() {
                    drop(int);
                    match self.validate(e, start) {
                        Some(e) => return self.lease(e, Lane::Any, None, None, site, start, false),
                        None => continue,
                    }
                }
                if int.total + int.pending < self.config.max_size {
                    // Reserve the slot in `total`, not `pending`: `pending`
                    // counts the housekeeper's orders, and it would open a
                    // second connection for this one (over max_size, then
                    // underflowing `pending`).
                    int.total += 1;
                    drop(int);
                    let entry = match self.open_entry() {
                        Ok(e) => e,
                        Err(e) => {
                            let mut int = self.internals.lock();
                            int.total -= 1;
                            int.last_error = Some(e.to_string());
                            drop(int);
                            self.closed_cv.notify_all();
                            return Err(e);
                        }
                    };
                    Counters::bump(&self.counters.created);
                    self.emit(|h| h.on_create(entry.id));
                    return self.lease(entry, Lane::Any, None, None, site, start, false);
                }
            }
            drop(int);
            return Err(Error::Exhausted { state: self.state() });
        }
    }

    /// Takes an idle connection if nobody queues (preferring one with the
    /// tenant attached), else queues a waiter and asks for a connection.
    pub(crate) fn take_or_enqueue(
        &self,
        deadline: &mut Deadline,
        blocking: bool,
        tenant: Option<&Tenant>,
    ) -> Result<Taken> {
        let mut int = self.internals.lock();
        if int.closed {
            return Err(Error::Closed);
        }
        if int.waiters.is_empty() {
            let preferred = tenant.and_then(|t| t.pick(&int.idle));
            let taken = match preferred {
                Some(i) => Some(int.idle.remove(i)),
                None => int.idle.pop(),
            };
            if let Some(e) = taken {
                return Ok(Taken::Idle(e));
            }
        }
        let waiter = Waiter::new(deadline, blocking);
        int.waiters.push(Arc::clone(&waiter));
        self.request_creations(&mut int);
        drop(int);
        if !blocking {
            self.worker.kick();
        }
        Ok(Taken::Queued(waiter))
    }

    /// Checks a connection that sat idle past `validation_window`; a broken
    /// one is discarded (`None`) and the caller tries again.
    pub(crate) fn validate(&self, entry: PoolEntry, now: clock::Instant) -> Option<PoolEntry> {
        if now.saturating_duration_since(entry.last_used) < self.config.validation_window {
            return Some(entry);
        }
        let valid = self.connector.is_valid(&entry.conn) && self.tenants.attachments_valid(&entry);
        if valid {
            Some(entry)
        } else {
            log::warn!("litepool: connection {} failed validation; discarding it", entry.id);
            Counters::bump(&self.counters.closed_broken);
            self.discard(entry, CloseReason::Broken);
            None
        }
    }

    /// Turns an entry into a lease: lane pragma, tenant attachment, counters.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn lease(
        self: &Arc<Self>,
        mut entry: PoolEntry,
        lane: Lane,
        permit: Option<GatePermit>,
        tenant: Option<Arc<Tenant>>,
        site: AcquireSite,
        start: clock::Instant,
        waited: bool,
    ) -> Result<PooledConnection> {
        let read_only = lane == Lane::Read;
        if entry.query_only != read_only {
            if let Err(e) = entry.conn.pragma_update(None, "query_only", read_only) {
                self.release(entry, clock::now());
                return Err(e.into());
            }
            entry.query_only = read_only;
        }
        if let Some(t) = &tenant {
            if let Err(e) = t.attach(&mut entry, &self.config, self.connector.is_memory()) {
                self.release(entry, clock::now());
                return Err(e);
            }
        }
        // Direct leases reuse the acquire's one clock read; only a wait reads again.
        let (acquired_at, wait) = if waited {
            let now = clock::now();
            (now, now.saturating_duration_since(start))
        } else {
            (start, Duration::ZERO)
        };
        if waited {
            Counters::bump(&self.counters.acquired_waited);
            self.counters.wait_nanos.fetch_add(u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX), Relaxed);
            self.metrics.acquire.observe(wait);
        } else {
            Counters::bump(&self.counters.acquired_direct);
        }
        let id = entry.id;
        let lease_id = self.leases.register(id, site);
        self.emit(|h| h.on_acquire(id, wait));
        Ok(PooledConnection::new(Arc::clone(self), entry, lane, permit, tenant, lease_id, acquired_at))
    }

    fn timed_out(&self, what: &'static str, waited: Duration) -> Error {
        Counters::bump(&self.counters.timeouts);
        let state = self.state();
        self.emit(|h| h.on_timeout(waited, state));
        let last_error = self.internals.lock().last_error.clone();
        Error::Timeout { what, waited, state, last_error }
    }

    /// Takes back a lease's connection: rolls back an open transaction,
    /// retires it if too old, else hands it on.
    pub(crate) fn release(self: &Arc<Self>, entry: PoolEntry, now: clock::Instant) {
        let generation = self.generation.load(Relaxed);
        if entry.generation != generation {
            entry.dispose(generation);
            return;
        }
        if !entry.conn.is_autocommit() {
            Counters::bump(&self.counters.rolled_back_on_return);
            if let Err(e) = entry.conn.execute_batch("ROLLBACK") {
                log::warn!("litepool: rollback on return failed ({e}); discarding connection {}", entry.id);
                Counters::bump(&self.counters.closed_broken);
                return self.discard(entry, CloseReason::Broken);
            }
        }
        if entry.is_expired(now) {
            Counters::bump(&self.counters.closed_lifetime);
            return self.discard(entry, CloseReason::Lifetime);
        }
        let mut entry = entry;
        entry.last_used = now;
        self.put_back(entry);
    }

    /// Hands a ready connection to the first waiter, or makes it idle.
    fn put_back(&self, mut entry: PoolEntry) {
        loop {
            let mut int = self.internals.lock();
            if int.closed {
                int.total -= 1;
                drop(int);
                self.closed_cv.notify_all();
                return self.destroy(entry, CloseReason::PoolClosed);
            }
            match int.waiters.pop() {
                Some(waiter) => {
                    drop(int);
                    match waiter.grant(Ok(entry)) {
                        None => return,
                        Some(back) => entry = back,
                    }
                }
                None => {
                    int.idle.push(entry);
                    return;
                }
            }
        }
    }

    /// Closes a connection that is not in the idle list and frees its slot.
    pub(crate) fn discard(&self, entry: PoolEntry, reason: CloseReason) {
        {
            let mut int = self.internals.lock();
            int.total -= 1;
            self.request_creations(&mut int);
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
        let int = self.internals.lock();
        int.pending > 0 && !int.closed
    }

    /// Opens and sets up a new entry (outside the lock).
    pub(crate) fn open_entry(&self) -> Result<PoolEntry> {
        let conn = sqlite::open(&*self.connector, &self.config)?;
        let id = {
            let mut int = self.internals.lock();
            int.next_id += 1;
            int.next_id
        };
        Ok(PoolEntry::new(conn, id, self.config.max_lifetime, self.generation.load(Relaxed)))
    }

    /// Books a connection the housekeeper opened and hands it on.
    pub(crate) fn add_created(&self, entry: PoolEntry) {
        {
            let mut int = self.internals.lock();
            int.pending = int.pending.saturating_sub(1);
            int.total += 1;
        }
        Counters::bump(&self.counters.created);
        self.emit(|h| h.on_create(entry.id));
        self.put_back(entry);
    }

    /// Records a failed open. Returns whether to retry soon (someone waits).
    pub(crate) fn creation_failed(&self, err: &Error) -> bool {
        Counters::bump(&self.counters.create_failures);
        log::warn!("litepool: cannot open a connection to {}: {err}", self.connector.describe());
        let mut int = self.internals.lock();
        int.last_error = Some(err.to_string());
        if int.waiters.is_empty() || int.closed {
            int.pending = int.pending.saturating_sub(1);
            false
        } else {
            true
        }
    }

    /// Fails asynchronous waiters whose deadline passed.
    pub(crate) fn expire_async_waiters(&self, now: Instant) {
        let expired = self.internals.lock().waiters.take_expired(now);
        for w in expired {
            let err = self.timed_out("a connection", w.timeout);
            let _ = w.grant(Err(err));
        }
        for gate in std::iter::once(Arc::clone(&self.gate)).chain(self.tenants.gates()) {
            for w in gate.take_expired(now) {
                let err = self.timed_out("the write gate", w.timeout);
                let _ = w.grant(Err(err));
            }
        }
    }

    /// The earliest moment the housekeeper must act for an async waiter or a
    /// lease nearing the leak threshold.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let waiters = self.internals.lock().waiters.next_async_deadline();
        let gates = std::iter::once(Arc::clone(&self.gate))
            .chain(self.tenants.gates())
            .filter_map(|g| g.next_async_deadline())
            .min();
        [waiters, gates, self.leases.next_deadline()].into_iter().flatten().min()
    }

    pub(crate) fn report_leaks(&self, now: Instant) {
        for report in self.leases.scan(now) {
            Counters::bump(&self.counters.leaks);
            log::warn!(
                "litepool: apparent connection leak detected: connection {} held for {} ms, acquired at {}",
                report.connection_id,
                report.held_for.as_millis(),
                report.site
            );
            self.emit(|h| h.on_leak(&report));
        }
    }

    pub(crate) fn close(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let (idle, waiters) = {
            let mut int = self.internals.lock();
            int.closed = true;
            let idle = std::mem::take(&mut int.idle);
            int.total -= idle.len() as u32;
            (idle, int.waiters.drain())
        };
        self.gate.close();
        self.tenants.close();
        for w in waiters {
            let _ = w.grant(Err(Error::Closed));
        }
        for e in idle {
            self.destroy(e, CloseReason::PoolClosed);
        }
        let mut int = self.internals.lock();
        while int.total > 0 {
            if self.closed_cv.wait_until(&mut int, deadline).timed_out() {
                break;
            }
        }
        let active = int.total;
        let anchor = if active == 0 { int.anchor.take() } else { None };
        drop(int);
        drop(anchor);
        self.worker.shutdown();
        if active == 0 {
            Ok(())
        } else {
            Err(Error::CloseTimedOut { active })
        }
    }

    /// The remembered `sqlite3_stmt_readonly` answer for `sql`, if any.
    pub(crate) fn cached_read_only(&self, sql: &str) -> Option<bool> {
        self.routing.lock().get(sql).copied()
    }

    /// Prepares `sql` on `conn` to learn whether it is read-only, and
    /// remembers the answer.
    pub(crate) fn probe_read_only(&self, conn: &Connection, sql: &str) -> rusqlite::Result<bool> {
        let ro = conn.prepare_cached(sql)?.readonly();
        let mut routing = self.routing.lock();
        if routing.len() >= 1024 {
            routing.clear();
        }
        routing.insert(sql.to_owned(), ro);
        Ok(ro)
    }
}

/// How a connection was obtained by [`Shared::take_or_enqueue`].
// Short-lived return value: boxing the entry would cost an allocation per acquire.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Taken {
    Idle(PoolEntry),
    Queued(Arc<Waiter<PoolEntry>>),
}
