//! Tenants: one shared pool serving many tenant databases, each ATTACHed as
//! schema `tenant_<code>` on whichever connection a caller gets.
//!
//! Attachments are made lazily and kept per connection; an acquire for a
//! tenant prefers an idle connection that already has it (affinity). SQLite
//! allows few attachments per connection (`SQLITE_LIMIT_ATTACHED`, 10 in
//! Debian's build): past it, the connection's least recently used attachment
//! is detached — always at lease time, so never inside a transaction. Each
//! tenant has its own write gate, so writers of different tenants do not
//! queue behind each other.
//!
//! Isolation: a tenant lease may touch `main`, `temp` and its own schema
//! only. The connection's watch (`watch.rs`, the authorizer every pooled
//! connection carries) denies any other `tenant_*` schema, ATTACH/DETACH,
//! TEMP triggers and views (code that would outlive the lease and run with
//! another tenant's rights) and the pragmas that list attached databases
//! while a tenant lease is out; TEMP tables it creates are dropped when it
//! ends. Cached statements are flushed when a tenant lease follows another
//! scope, since SQLite authorizes at prepare time. Leases without a tenant
//! are not restricted (cross-tenant reports, migrations).
//!
//! Metrics: counters are summed over tenants; the only `tenant`-labelled
//! series is `litepool_tenant_leases_active`, emitted for tenants with a lease
//! out, so its cardinality stays bounded by `max_size`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use rusqlite::limits::Limit;
use rusqlite::{Connection, OpenFlags};

use crate::config::PoolConfig;
use crate::entry::PoolEntry;
use crate::error::{Error, Result};
use crate::gate::WriteGate;
use crate::sqlite::apply_database_pragmas;

/// Counters for one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantStatistics {
    /// The tenant's code.
    pub code: String,
    /// Times its database was attached to a connection.
    pub attaches: u64,
    /// Times it was detached to make room (LRU) or because it was removed.
    pub detaches: u64,
    /// Leases served by a connection that already had it attached.
    pub affinity_hits: u64,
    /// Leases handed out for it.
    pub acquired: u64,
    /// Leases out right now.
    pub active: u32,
    /// Its weight in fair queueing (`Pool::set_tenant_weight`; 1 by default).
    pub weight: u32,
    /// Total time its callers waited for a connection.
    pub wait_time: Duration,
    /// Total time its leases were held.
    pub hold_time: Duration,
}

/// One registered tenant.
pub struct Tenant {
    code: String,
    schema: Arc<str>,
    path: String,
    uid: u64,
    pub(crate) gate: Arc<WriteGate>,
    active: AtomicU32,
    acquired: AtomicU64,
    attaches: AtomicU64,
    detaches: AtomicU64,
    affinity_hits: AtomicU64,
    /// Set while a removal waits and once it succeeded: no new leases.
    removed: AtomicBool,
    /// Its weight and the connections it holds (`fair.rs`).
    share: Arc<crate::fair::Share>,
    wait_nanos: AtomicU64,
    hold_nanos: AtomicU64,
}

/// Whether `code` is a valid tenant code: `[a-z0-9_]{1,64}`.
pub fn is_valid_tenant_code(code: &str) -> bool {
    (1..=64).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Tenant {
    /// The schema name it is attached under: `tenant_<code>`.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    pub(crate) fn is_attached_to(&self, entry: &PoolEntry) -> bool {
        entry.attached.iter().any(|(s, uid)| *uid == self.uid && **s == *self.schema)
    }

    /// The schema name, shared (the watch's scope).
    pub(crate) fn schema_arc(&self) -> &Arc<str> {
        &self.schema
    }

    /// Starts a lease of this tenant on `entry`: counts it and attaches the
    /// tenant if needed. The caller confines the lease (`Watch::begin`).
    pub(crate) fn enter(&self, entry: &mut PoolEntry, config: &PoolConfig) -> Result<()> {
        // Count the lease before checking `removed`; `remove` sets `removed`
        // before reading `active`: one of the two always sees the other.
        self.active.fetch_add(1, SeqCst);
        if self.removed.load(SeqCst) {
            self.active.fetch_sub(1, SeqCst);
            return Err(Error::UnknownTenant(self.code.clone()));
        }
        let watch = Arc::clone(&entry.watch);
        if let Err(e) = watch.internal(|| self.attach(entry, config)) {
            self.active.fetch_sub(1, SeqCst);
            return Err(e);
        }
        if entry.last_scope != self.uid {
            // Statements prepared under another scope were authorized for it.
            entry.conn.flush_prepared_statement_cache();
            entry.last_scope = self.uid;
        }
        self.acquired.fetch_add(1, Relaxed);
        Ok(())
    }

    /// Picks the idle entry to lease for this tenant: one that has it
    /// attached (affinity), else one with a free attachment slot (no
    /// eviction), else the most recently used.
    pub(crate) fn pick(&self, idle: &[PoolEntry]) -> Option<usize> {
        let has_room = |e: &PoolEntry| e.attach_limit == 0 || e.attached.len() < e.attach_limit;
        idle.iter()
            .rposition(|e| self.is_attached_to(e))
            .or_else(|| idle.iter().rposition(has_room))
            .or_else(|| idle.len().checked_sub(1))
    }

    /// A lease of this tenant ended after `held`.
    pub(crate) fn lease_ended(&self, held: Duration) {
        self.active.fetch_sub(1, SeqCst);
        self.hold_nanos.fetch_add(u64::try_from(held.as_nanos()).unwrap_or(u64::MAX), Relaxed);
    }

    /// A lease of this tenant began after its caller waited `wait`.
    pub(crate) fn waited(&self, wait: Duration) {
        if !wait.is_zero() {
            self.wait_nanos.fetch_add(u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX), Relaxed);
        }
    }

    /// Its unique id in the pool (a fair-queue lane's key).
    pub(crate) fn uid(&self) -> u64 {
        self.uid
    }

    /// Its weight and held connections (`fair.rs`).
    pub(crate) fn share(&self) -> &Arc<crate::fair::Share> {
        &self.share
    }

    /// Makes sure this tenant is attached to `entry` (most recently used).
    fn attach(&self, entry: &mut PoolEntry, config: &PoolConfig) -> Result<()> {
        if let Some(i) = entry.attached.iter().position(|(s, uid)| *uid == self.uid && **s == *self.schema) {
            let item = entry.attached.remove(i);
            entry.attached.push(item);
            self.affinity_hits.fetch_add(1, Relaxed);
            return Ok(());
        }
        // A stale attachment under our schema name (tenant re-registered).
        if let Some(i) = entry.attached.iter().position(|(s, _)| **s == *self.schema) {
            detach(&entry.conn, &self.schema)?;
            entry.attached.remove(i);
            self.detaches.fetch_add(1, Relaxed);
        }
        let limit = usize::try_from(entry.conn.limit(Limit::SQLITE_LIMIT_ATTACHED)?).unwrap_or(0);
        if limit == 0 {
            return Err(Error::InvalidConfig {
                field: "tenant",
                reason: "this SQLite build allows no attached databases".to_owned(),
            });
        }
        while entry.attached.len() >= limit && entry.conn.is_autocommit() {
            let (schema, _) = entry.attached.remove(0);
            detach(&entry.conn, &schema)?;
            self.detaches.fetch_add(1, Relaxed);
        }
        entry
            .conn
            .execute(&format!("ATTACH DATABASE ?1 AS \"{}\"", self.schema), [&self.path])
            .map_err(|source| Error::Open { path: self.path.clone(), source })?;
        entry.attached.push((self.schema.to_string(), self.uid));
        apply_database_pragmas(&entry.conn, config, &self.schema, false)?;
        entry.attach_limit = limit;
        self.attaches.fetch_add(1, Relaxed);
        Ok(())
    }

    fn statistics(&self) -> TenantStatistics {
        TenantStatistics {
            code: self.code.clone(),
            attaches: self.attaches.load(Relaxed),
            detaches: self.detaches.load(Relaxed),
            affinity_hits: self.affinity_hits.load(Relaxed),
            acquired: self.acquired.load(Relaxed),
            active: self.active.load(Relaxed),
            weight: self.share.weight(),
            wait_time: Duration::from_nanos(self.wait_nanos.load(Relaxed)),
            hold_time: Duration::from_nanos(self.hold_nanos.load(Relaxed)),
        }
    }
}

fn detach(conn: &Connection, schema: &str) -> Result<()> {
    conn.execute_batch(&format!("DETACH DATABASE \"{schema}\"")).map_err(Error::Sqlite)
}

/// Every tenant of a pool, by code.
pub(crate) struct TenantRegistry {
    /// The pool's id (its waiters at the tenants' shared write gates).
    owner: usize,
    tenants: RwLock<HashMap<String, Arc<Tenant>>>,
    next_uid: AtomicU64,
    /// Bumped by every completed removal; connections whose `tenant_epoch`
    /// lags detach removed tenants at their next lease.
    epoch: AtomicU64,
}

impl TenantRegistry {
    pub fn new(owner: usize) -> Self {
        TenantRegistry { owner, tenants: RwLock::default(), next_uid: AtomicU64::new(0), epoch: AtomicU64::new(0) }
    }

    pub fn register(&self, code: &str, path: &Path, config: &PoolConfig) -> Result<()> {
        if !is_valid_tenant_code(code) {
            return Err(Error::InvalidTenant(code.to_owned()));
        }
        let path_text = path.to_string_lossy().into_owned();
        if let Some(existing) = self.tenants.read().get(code) {
            if existing.removed.load(SeqCst) {
                return Err(Error::InvalidConfig {
                    field: "tenant",
                    reason: format!("{code:?} is being removed; register it again once remove_tenant() returns"),
                });
            }
            if existing.path == path_text {
                return Ok(());
            }
            return Err(Error::InvalidConfig {
                field: "tenant",
                reason: format!("{code:?} is already registered for {:?}; remove it first", existing.path),
            });
        }
        // Open it once now, so a bad path fails here, naming it, and the
        // journal mode (persistent for WAL) is set before any lease.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let probe = Connection::open_with_flags(path, flags)
            .and_then(|c| {
                c.busy_timeout(config.busy_timeout)?;
                c.query_row("PRAGMA schema_version", [], |_| Ok(()))?;
                Ok(c)
            })
            .map_err(|source| Error::Open { path: path_text.clone(), source })?;
        let identity = crate::sqlite::file_identity(&path_text);
        apply_database_pragmas(&probe, config, "main", true).map_err(|e| match e {
            Error::Sqlite(source) => Error::Open { path: path_text.clone(), source },
            other => other,
        })?;
        drop(probe);
        let tenant = Tenant {
            code: code.to_owned(),
            schema: Arc::from(format!("tenant_{code}")),
            path: path_text,
            uid: self.next_uid.fetch_add(1, Relaxed) + 1,
            gate: WriteGate::for_file(identity),
            active: AtomicU32::new(0),
            acquired: AtomicU64::new(0),
            attaches: AtomicU64::new(0),
            detaches: AtomicU64::new(0),
            affinity_hits: AtomicU64::new(0),
            removed: AtomicBool::new(false),
            share: Arc::default(),
            wait_nanos: AtomicU64::new(0),
            hold_nanos: AtomicU64::new(0),
        };
        match self.tenants.write().entry(code.to_owned()) {
            // Registered by another thread meanwhile: same rules as above.
            std::collections::hash_map::Entry::Occupied(e) if e.get().path == tenant.path => Ok(()),
            std::collections::hash_map::Entry::Occupied(_) => Err(Error::InvalidConfig {
                field: "tenant",
                reason: format!("{code:?} is already registered; remove it first"),
            }),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(Arc::new(tenant));
                Ok(())
            }
        }
    }

    pub fn remove(&self, code: &str, timeout: Duration) -> Result<()> {
        if !is_valid_tenant_code(code) {
            return Err(Error::InvalidTenant(code.to_owned()));
        }
        let unknown = || Error::UnknownTenant(code.to_owned());
        let tenant = self.tenants.read().get(code).cloned().ok_or_else(unknown)?;
        // Refuse new leases first, then wait for the ones out (see `enter`).
        if tenant.removed.swap(true, SeqCst) {
            return Err(unknown()); // another removal is under way
        }
        let deadline = Instant::now() + timeout;
        loop {
            let active = tenant.active.load(SeqCst);
            if active == 0 {
                let mut tenants = self.tenants.write();
                if tenants.get(code).is_some_and(|t| Arc::ptr_eq(t, &tenant)) {
                    tenants.remove(code);
                }
                drop(tenants);
                tenant.gate.close_for(self.owner);
                self.epoch.fetch_add(1, SeqCst);
                return Ok(());
            }
            if Instant::now() >= deadline {
                tenant.removed.store(false, SeqCst);
                return Err(Error::TenantBusy { code: code.to_owned(), active });
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The tenant for an acquire, validated.
    #[inline]
    pub fn lookup(&self, code: Option<&str>) -> Result<Option<Arc<Tenant>>> {
        match code {
            None => Ok(None),
            Some(code) => self.find(code).map(Some),
        }
    }

    fn find(&self, code: &str) -> Result<Arc<Tenant>> {
        if !is_valid_tenant_code(code) {
            return Err(Error::InvalidTenant(code.to_owned()));
        }
        match self.tenants.read().get(code) {
            Some(t) if !t.removed.load(SeqCst) => Ok(Arc::clone(t)),
            _ => Err(Error::UnknownTenant(code.to_owned())),
        }
    }

    /// Detaches tenants removed since `entry` last looked (at lease time,
    /// outside any transaction). Cheap when nothing was removed.
    pub fn detach_removed(&self, entry: &mut PoolEntry) {
        let epoch = self.epoch.load(SeqCst);
        if entry.tenant_epoch == epoch || entry.attached.is_empty() {
            entry.tenant_epoch = epoch;
            return;
        }
        let live: Vec<(String, u64)> = {
            let tenants = self.tenants.read();
            entry
                .attached
                .iter()
                .filter(|(schema, uid)| {
                    let code = schema.strip_prefix("tenant_").unwrap_or(schema);
                    tenants.get(code).is_some_and(|t| t.uid == *uid)
                })
                .cloned()
                .collect()
        };
        for (schema, _) in entry.attached.iter().filter(|a| !live.contains(a)) {
            if let Err(e) = detach(&entry.conn, schema) {
                log::warn!("litepool: cannot detach removed tenant {schema}: {e}");
            }
        }
        entry.attached = live;
        entry.tenant_epoch = epoch;
    }

    /// Sets tenant `code`'s weight in fair queueing (1 to 1000).
    pub fn set_weight(&self, code: &str, weight: u32) -> Result<()> {
        if !(1..=1000).contains(&weight) {
            return Err(Error::InvalidConfig { field: "weight", reason: format!("must be 1 to 1000 (got {weight})") });
        }
        self.lookup(Some(code))?.map(|t| t.share.set_weight(weight)).ok_or_else(|| Error::UnknownTenant(code.into()))
    }

    /// Counters for one tenant.
    pub fn statistics_of(&self, code: &str) -> Result<TenantStatistics> {
        match self.tenants.read().get(code) {
            Some(t) => Ok(t.statistics()),
            None if is_valid_tenant_code(code) => Err(Error::UnknownTenant(code.to_owned())),
            None => Err(Error::InvalidTenant(code.to_owned())),
        }
    }

    /// Whether every tenant attached to `entry` still answers.
    pub fn attachments_valid(&self, entry: &PoolEntry) -> bool {
        entry.attached.iter().all(|(schema, _)| {
            entry.conn.query_row(&format!("PRAGMA \"{schema}\".schema_version"), [], |_| Ok(())).is_ok()
        })
    }

    /// The database file of tenant `code` (for the checkpointer).
    pub fn path_of(&self, code: &str) -> Option<String> {
        self.tenants.read().get(code).map(|t| t.path.clone())
    }

    pub fn gates(&self) -> Vec<Arc<WriteGate>> {
        let tenants = self.tenants.read();
        if tenants.is_empty() {
            return Vec::new();
        }
        tenants.values().map(|t| Arc::clone(&t.gate)).collect()
    }

    pub fn statistics(&self) -> Vec<TenantStatistics> {
        let mut stats: Vec<_> = self.tenants.read().values().map(|t| t.statistics()).collect();
        stats.sort_by(|a, b| a.code.cmp(&b.code));
        stats
    }

    /// `top`: how many tenants get their own wait and hold series (the
    /// longest holding; `max_size`, so the cardinality stays bounded).
    pub fn metrics_text(&self, pool: &str, top: usize) -> String {
        let stats = self.statistics();
        if stats.is_empty() {
            return String::new();
        }
        let sum = |f: fn(&TenantStatistics) -> u64| stats.iter().map(f).sum::<u64>();
        let mut out = String::new();
        let _ = writeln!(out, "# HELP litepool_tenants Registered tenants.\n# TYPE litepool_tenants gauge\nlitepool_tenants{{pool=\"{pool}\"}} {}", stats.len());
        for (name, help, value) in [
            ("litepool_tenant_attach_total", "Tenant databases attached.", sum(|s| s.attaches)),
            ("litepool_tenant_detach_total", "Tenant databases detached.", sum(|s| s.detaches)),
            (
                "litepool_tenant_affinity_hits_total",
                "Tenant leases served with the tenant already attached.",
                sum(|s| s.affinity_hits),
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name}{{pool=\"{pool}\"}} {value}");
        }
        let _ = writeln!(out, "# HELP litepool_tenant_leases_active Leases out per tenant (only tenants with leases out).\n# TYPE litepool_tenant_leases_active gauge");
        for s in stats.iter().filter(|s| s.active > 0) {
            let _ =
                writeln!(out, "litepool_tenant_leases_active{{pool=\"{pool}\",tenant=\"{}\"}} {}", s.code, s.active);
        }
        let mut busiest: Vec<&TenantStatistics> = stats.iter().filter(|s| !s.hold_time.is_zero()).collect();
        busiest.sort_by_key(|s| std::cmp::Reverse(s.hold_time));
        busiest.truncate(top);
        for (name, help, value) in [
            (
                "litepool_tenant_wait_seconds_total",
                "Time a tenant's callers waited for a connection (the tenants holding longest).",
                (|s: &TenantStatistics| s.wait_time) as fn(&TenantStatistics) -> Duration,
            ),
            (
                "litepool_tenant_hold_seconds_total",
                "Time a tenant's leases were held (the tenants holding longest).",
                |s| s.hold_time,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for s in &busiest {
                let _ = writeln!(out, "{name}{{pool=\"{pool}\",tenant=\"{}\"}} {}", s.code, value(s).as_secs_f64());
            }
        }
        out
    }

    pub fn close(&self) {
        for t in self.tenants.read().values() {
            t.gate.close_for(self.owner);
        }
    }

    pub fn reset_after_fork(&self, generation: u64) {
        for t in self.tenants.read().values() {
            t.gate.reset_after_fork(generation);
            t.active.store(0, Relaxed);
        }
    }
}
