//! The pool's public face: [`Pool`], [`PoolBuilder`] and [`AcquireOptions`].
//! The state behind it is in `shared.rs`, the acquire path in `acquire.rs`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::config::PoolConfig;
use crate::error::{Error, Result};
use crate::events::PoolEvents;
use crate::guard::{Lane, PooledConnection};
use crate::housekeeper;
use crate::leak::AcquireSite;
use crate::shared::Shared;
use crate::sqlite::{self, Connector, FileConnector};
use crate::stats::{Health, State, Statistics};

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
    /// A time budget for the whole lease, counted from the acquire: the
    /// acquire waits no longer than this, and every statement on the lease
    /// is stopped inside SQLite once it passes, with
    /// [`Error::Deadline`] (see `deadline.rs`). For a one-shot call
    /// ([`Pool::call`]) it bounds the wait and the statement together.
    /// Defaults to `None`: no deadline.
    pub deadline: Option<Duration>,
}

impl AcquireOptions {
    /// Options for `lane` with everything else defaulted.
    pub fn lane(lane: Lane) -> Self {
        AcquireOptions { lane, ..Self::default() }
    }
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
    /// The database path, while no custom connector replaced the default
    /// one (which is built from the config: its `vfs`, `replica_url`).
    path: Option<String>,
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
        self.path = None;
        self.connector = Arc::new(connector);
        self
    }

    /// Validates the config, opens the first connection (so a bad path
    /// fails here, naming it) and starts the housekeeper.
    pub fn build(mut self) -> Result<Pool> {
        self.config.validate()?;
        crate::fork::watch();
        if let Some(extension) = &self.config.extension {
            crate::replica::load_extension(extension)?;
        }
        if let Some(path) = self.path.take() {
            self.connector = Arc::new(FileConnector::for_config(path, &self.config));
        }
        let first = sqlite::open(&*self.connector, &self.config).map_err(|e| match e {
            Error::Sqlite(source) => Error::Open { path: self.connector.describe(), source },
            other => other,
        })?;
        let anchor =
            if self.connector.is_memory() { Some(sqlite::open(&*self.connector, &self.config)?) } else { None };
        let shared = Shared::new(self.config, self.connector, self.events, first, anchor)?;
        housekeeper::spawn(&shared);
        crate::checkpointer::spawn(&shared);
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
        PoolBuilder {
            config: PoolConfig::default(),
            connector: Arc::new(FileConnector::new(path.clone())),
            path: Some(path),
            events: None,
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    /// The pool's executor: the threads that run asynchronous calls' SQL
    /// (for [`crate::sql::SessionQueue`]).
    pub fn executor(&self) -> crate::sql::executor::Executor {
        self.shared().executor.clone()
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
    #[inline]
    pub fn acquire(&self, mut opts: AcquireOptions) -> Result<PooledConnection> {
        let site = opts.site.take().unwrap_or(AcquireSite::Rust(std::panic::Location::caller()));
        if opts.deadline.is_none() && !self.shared().trace.on() && !cfg!(feature = "tracing") {
            return self.shared().acquire_blocking(opts, site);
        }
        self.acquire_observed(opts, site)
    }

    /// [`Pool::acquire`] with a deadline to set on the lease, or traced.
    #[inline(never)]
    fn acquire_observed(&self, mut opts: AcquireOptions, site: AcquireSite) -> Result<PooledConnection> {
        let sh = self.shared();
        let start = crate::clock::now();
        let wall = sh.trace.on().then(std::time::SystemTime::now);
        let site_text = (wall.is_some() || cfg!(feature = "tracing")).then(|| site.to_string());
        #[cfg(feature = "tracing")]
        let span = crate::trace::spans::acquire(
            &sh.config.name,
            opts.lane,
            opts.tenant.as_deref(),
            site_text.as_deref().unwrap_or_default(),
        );
        #[cfg(feature = "tracing")]
        let _entered = span.enter();
        let (lane, tenant, budget) = (opts.lane, opts.tenant.clone(), opts.deadline);
        if let Some(budget) = budget {
            opts.timeout = Some(opts.timeout.unwrap_or(sh.config.acquire_timeout).min(budget));
        }
        let out = sh.acquire_blocking(opts, site);
        if let (Ok(lease), Some(budget)) = (&out, budget) {
            lease.set_deadline_from(start, budget);
        }
        let took = start.elapsed();
        #[cfg(feature = "tracing")]
        crate::trace::spans::acquired(&span, took, &out);
        if let Some(at) = wall {
            sh.trace.emit(&crate::trace::TraceEvent::acquire(
                at,
                took,
                lane,
                tenant.as_deref(),
                site_text.as_deref(),
                &out,
            ));
        }
        out
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
        let mut stats = self.shared().counters.snapshot();
        self.shared().wal.fill(&mut stats);
        stats.shed = self.shared().shed.shed();
        stats
    }

    /// The WAL now: its size, frames, peak, who checkpoints it and whether
    /// reads are held back (a `stat` of the WAL file; the frame counts are
    /// the pool's own, from a WAL hook and its checkpoints).
    pub fn wal_status(&self) -> crate::WalStatus {
        self.shared().wal.status()
    }

    /// The wait a caller that queued for a connection now could expect: the
    /// callers queued (and it) times the recent mean hold time of a lease,
    /// divided by `max_size` (see `shed.rs`). Zero while a connection is idle.
    pub fn expected_wait(&self) -> Duration {
        self.shared().expected_wait_now()
    }

    /// Changes `max_size` and `min_idle` on the live pool. Idle connections
    /// above the new maximum close now, leased ones when they are returned;
    /// waiters get the new room at once. [`Pool::config`] keeps the values
    /// the pool was built with; [`Pool::state`] shows the current ones.
    pub fn resize(&self, max_size: u32, min_idle: u32) -> Result<()> {
        self.shared().resize(max_size, min_idle)
    }

    /// Retires every connection gracefully, e.g. after a schema migration
    /// or a file replaced underneath: idle ones close now, leased ones when
    /// returned, and fresh ones are opened as needed. Returns how many closed now.
    pub fn evict(&self) -> usize {
        self.shared().evict()
    }

    /// Healthy / warning / degraded, by `active / max`.
    pub fn health(&self) -> Health {
        Health::of(&self.state(), self.is_closed())
    }

    /// Whether `close()` was called (or the pool was dropped).
    pub fn is_closed(&self) -> bool {
        self.shared().slots.lock().closed
    }

    /// The pool's metrics in the Prometheus text format, labelled
    /// `pool="<name>"`.
    pub fn metrics_text(&self) -> String {
        let sh = self.shared();
        let state = self.state();
        let extra = sh.tenants.metrics_text(&sh.config.name, state.max as usize)
            + &crate::replica::metrics_text(self, &state)
            + &crate::shed::metrics_text(sh)
            + &sh.statements.metrics_text(&sh.config.name);
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
        if self.is_closed() {
            return Err(Error::Closed);
        }
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

    /// Sets tenant `code`'s weight (1 to 1000, 1 by default) in fair
    /// queueing (`fair_tenants`): its lane is served that many callers per
    /// turn.
    pub fn set_tenant_weight(&self, code: &str, weight: u32) -> Result<()> {
        self.shared().tenants.set_weight(code, weight)
    }

    /// One tenant's counters.
    pub fn tenant_statistics_of(&self, code: &str) -> Result<crate::tenant::TenantStatistics> {
        self.shared().tenants.statistics_of(code)
    }

    /// Per-tenant counters.
    pub fn tenant_statistics(&self) -> Vec<crate::tenant::TenantStatistics> {
        self.shared().tenants.statistics()
    }
}
