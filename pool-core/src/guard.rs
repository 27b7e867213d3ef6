//! [`PooledConnection`]: a lease. It derefs to a `rusqlite::Connection` and
//! goes back to the pool when dropped (rolled back first if a transaction
//! was left open).

use crate::clock::{self, Instant};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use rusqlite::{Connection, Params, Transaction, TransactionBehavior};

use crate::entry::PoolEntry;
use crate::error::{Error, Result};
use crate::gate::GatePermit;
use crate::shared::Shared;
use crate::tenant::Tenant;

/// `SQLITE_BUSY_SNAPSHOT`.
const SQLITE_BUSY_SNAPSHOT: i32 = 517;

/// The three ways to lease a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lane {
    /// An ordinary read-write connection (`get()`).
    #[default]
    Any,
    /// `PRAGMA query_only=ON` for the lease (`read()`).
    Read,
    /// Holds the write gate for the lease; transactions are `BEGIN IMMEDIATE` (`write()`).
    Write,
}

impl Lane {
    /// The lane named `"any"`, `"read"` or `"write"`.
    pub fn parse(name: &str) -> Option<Lane> {
        match name {
            "any" => Some(Lane::Any),
            "read" => Some(Lane::Read),
            "write" => Some(Lane::Write),
            _ => None,
        }
    }

    /// `"any"`, `"read"` or `"write"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Any => "any",
            Lane::Read => "read",
            Lane::Write => "write",
        }
    }
}

/// A leased connection. Use it as a `rusqlite::Connection`; drop it to give
/// it back.
pub struct PooledConnection {
    shared: Arc<Shared>,
    entry: Option<PoolEntry>,
    lane: Lane,
    tenant: Option<Arc<Tenant>>,
    lease_id: Option<u64>,
    acquired_at: Instant,
    // Declared last: dropped after the connection went back (see Drop).
    permit: Option<GatePermit>,
}

impl PooledConnection {
    pub(crate) fn new(
        shared: Arc<Shared>,
        entry: PoolEntry,
        lane: Lane,
        permit: Option<GatePermit>,
        tenant: Option<Arc<Tenant>>,
        lease_id: Option<u64>,
        acquired_at: Instant,
    ) -> Self {
        PooledConnection { shared, entry: Some(entry), lane, tenant, lease_id, acquired_at, permit }
    }

    pub(crate) fn entry(&self) -> &PoolEntry {
        // The entry is only taken in Drop.
        self.entry.as_ref().expect("lease used after release")
    }

    /// The lane this lease was taken on.
    pub fn lane(&self) -> Lane {
        self.lane
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The write gate of this lease's database (its tenant's, for a tenant lease).
    pub(crate) fn gate(&self) -> &Arc<crate::gate::WriteGate> {
        self.tenant.as_ref().map_or(&self.shared.gate, |t| &t.gate)
    }

    /// Whether this lease holds the write gate (a `write()` lease).
    pub(crate) fn holds_gate(&self) -> bool {
        self.permit.is_some()
    }

    /// Takes the write gate for the rest of the lease, if it is free right
    /// now (a routed write found on an ordinary lease); `false` otherwise.
    pub(crate) fn try_upgrade(&mut self) -> bool {
        if self.permit.is_some() || self.lane == Lane::Read {
            return self.permit.is_some();
        }
        match self.gate().try_enter() {
            Some(permit) => {
                self.permit = Some(permit);
                self.lane = Lane::Write;
                true
            }
            None => false,
        }
    }

    /// Changes of the connection's own state recorded so far (see
    /// `watch.rs`): a statement that moves it set a pragma, made a TEMP
    /// object, attached a database…
    pub(crate) fn state_changes(&self) -> u64 {
        self.entry().watch.recorded()
    }

    /// Whether its client may park it between calls (`parking.rs`): an
    /// ordinary lease without a tenant or the write gate, not tracked for
    /// leaks, in autocommit, with nothing changed that a reset would undo.
    pub(crate) fn parkable(&self) -> bool {
        self.lane != Lane::Write
            && self.permit.is_none()
            && self.tenant.is_none()
            && self.lease_id.is_none()
            && self.is_autocommit()
            && !self.changed_state()
    }

    /// Whether this lease's connection belongs to the parent of a forked
    /// process (the child must not use it).
    pub(crate) fn inherited(&self) -> bool {
        crate::housekeeper::check_fork(&self.shared);
        self.entry().generation != self.shared.generation.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The pooled connection's id (as in events and leak reports).
    pub fn connection_id(&self) -> u64 {
        self.entry().id
    }

    /// The tenant schema attached for this lease (`tenant_<code>`), if any.
    pub fn tenant_schema(&self) -> Option<&str> {
        self.tenant.as_deref().map(Tenant::schema)
    }

    /// Where this lease was acquired, when leak detection is on.
    pub fn acquire_site(&self) -> Option<String> {
        self.lease_id.and_then(|id| self.shared.leases.site(id))
    }

    /// Tells the pool this lease's raw `sqlite3 *` was handed out (the C ABI
    /// does this). Such a connection can be changed without SQL, so on
    /// return the pool re-applies the busy timeout, checks that its
    /// authorizer is still installed (reinstalling it, and undoing every
    /// pragma, TEMP object and attachment, when it is not) and resets what
    /// it saw change.
    pub fn note_raw_access(&self) {
        self.entry().watch.note(crate::watch::RAW);
    }

    /// Tells the pool this lease registered SQL function `name` with
    /// `n_arg` arguments (-1: any) on the connection (through rusqlite's
    /// `create_scalar_function` and friends): it is removed when the lease
    /// ends, so the next borrower gets the pool's connection.
    pub fn note_function(&self, name: &str, n_arg: i32) {
        self.entry().watch.note_function(name, n_arg);
    }

    /// Like [`PooledConnection::note_function`], for a collation.
    pub fn note_collation(&self, name: &str) {
        self.entry().watch.note_collation(name);
    }

    /// Loads the SQLite extension at `path` into this connection
    /// (`sqlite3_load_extension`, with SQLite's default entry point unless
    /// `entry_point` names one). Loading is enabled only for the call. An
    /// extension cannot be unloaded, so when this lease ends the connection
    /// is closed (and replaced as needed) instead of going back to the pool.
    ///
    /// Loading runs the library's initialisation code in this process: load
    /// only libraries you trust.
    #[allow(unsafe_code)]
    pub fn load_extension(&self, path: &str, entry_point: Option<&str>) -> Result<()> {
        self.entry().watch.note(crate::watch::EXTENSION);
        let conn: &Connection = self;
        // SAFETY: the caller names the library to load (and is told to trust
        // it); loading is enabled by the guard only while this one call runs,
        // on a connection no other thread uses meanwhile (the lease is ours).
        let outcome = unsafe {
            rusqlite::LoadExtensionGuard::new(conn).and_then(|_guard| conn.load_extension(path, entry_point))
        };
        outcome.map_err(|e| self.error(e))
    }

    /// Tells the pool this lease installed a progress, commit, rollback or
    /// update hook: they are removed when the lease ends.
    pub fn note_hooks(&self) {
        self.entry().watch.note(crate::watch::HOOKS);
    }

    /// Tells the pool this lease changed its connection in a way no reset
    /// undoes (it deserialized a database into `main`, say): the connection
    /// is closed when the lease ends and a fresh one replaces it.
    pub fn note_unrestorable(&self) {
        self.entry().watch.note(crate::watch::UNKNOWN);
    }

    /// Whether this lease changed its connection in a way the pool undoes
    /// when the lease ends (a pragma, a TEMP object, an attachment, a SQL
    /// function or collation, a hook, raw access): the next borrower would
    /// otherwise see it.
    pub fn changed_state(&self) -> bool {
        self.entry().watch.pending() != 0
    }

    /// An error from SQL run on this lease, as the pool reports it: a write
    /// refused on a `read()` lease becomes [`Error::ReadOnlyLane`], a
    /// statement the pool's authorizer denied says why, and one stopped by
    /// the lease's deadline is [`Error::Deadline`].
    pub fn error(&self, err: rusqlite::Error) -> Error {
        if let Some(stopped) = self.deadline_error(&err) {
            return stopped;
        }
        let err = match err {
            rusqlite::Error::SqliteFailure(f, msg)
                if f.code == rusqlite::ErrorCode::AuthorizationForStatementDenied =>
            {
                let msg = match self.entry().watch.take_denial() {
                    Some(reason) => format!("not authorized: {reason}"),
                    None => msg.unwrap_or_else(|| "not authorized".to_owned()),
                };
                rusqlite::Error::SqliteFailure(f, Some(msg))
            }
            rusqlite::Error::SqliteFailure(f, msg) if f.extended_code == SQLITE_BUSY_SNAPSHOT => {
                let msg = format!(
                    "{}: a transaction that began by reading tried to write after another connection \
                     committed (a deferred read-to-write upgrade); lease with write() (BEGIN IMMEDIATE) \
                     to write in a transaction",
                    msg.unwrap_or_else(|| "database is locked".to_owned())
                );
                rusqlite::Error::SqliteFailure(f, Some(msg))
            }
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ReadOnly && self.shared.refuse_writes().is_err() =>
            {
                return self.shared.refuse_writes().err().unwrap_or(Error::Sqlite(err));
            }
            other => other,
        };
        Error::on_lane(err, self.lane)
    }

    /// Begins a transaction: `BEGIN IMMEDIATE` on a `write()` lease (the
    /// write lock is taken up front, so it never fails half-way with
    /// `SQLITE_BUSY`), `BEGIN DEFERRED` otherwise.
    pub fn transaction(&mut self) -> rusqlite::Result<Transaction<'_>> {
        let behavior = match self.lane {
            Lane::Write => TransactionBehavior::Immediate,
            _ => TransactionBehavior::Deferred,
        };
        self.deref_mut().transaction_with_behavior(behavior)
    }

    /// `Connection::execute`, with a write on a `read()` lease reported as
    /// [`Error::ReadOnlyLane`].
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        self.deref().execute(sql, params).map_err(|e| self.error(e))
    }

    /// `Connection::execute_batch`, with lane-aware errors.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        self.deref().execute_batch(sql).map_err(|e| self.error(e))
    }
}

impl Deref for PooledConnection {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.entry().conn
    }
}

impl DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut Connection {
        // The entry is only taken in Drop.
        &mut self.entry.as_mut().expect("lease used after release").conn
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        let Some(entry) = self.entry.take() else { return };
        if let Some(deadline) = entry.clock.get() {
            deadline.disarm();
        }
        let now = clock::now();
        let held = now.saturating_duration_since(self.acquired_at);
        if let Some(id) = self.lease_id {
            self.shared.leases.unregister(id);
        }
        if let Some(t) = &self.tenant {
            t.lease_ended(held);
        }
        self.shared.metrics.usage.observe(held);
        let id = entry.id;
        self.shared.release_from(entry, now, self.permit.as_mut());
        self.shared.emit(|h| h.on_release(id, held));
        // `permit` drops after this: the next writer enters only once the
        // connection is rolled back and returned.
    }
}

impl std::fmt::Debug for PooledConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledConnection")
            .field("connection_id", &self.entry.as_ref().map(|e| e.id))
            .field("lane", &self.lane)
            .finish()
    }
}
