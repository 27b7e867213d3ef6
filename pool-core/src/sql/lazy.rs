//! [`LazySession`]: a long-lived client of the pool — a drop-in
//! `sqlite3.Connection`, say — that holds a lease only while it needs one.
//!
//! It leases on its first statement and gives the lease back as soon as
//! the connection is idle again: autocommit, no statement (or blob) open,
//! and nothing changed on it that the next borrower would see. Given back
//! means *parked* (`parking.rs`): the pool takes it the moment anyone else
//! needs a connection, and until then the client's next statement takes
//! it straight back, without a trip through the pool. A lease
//! whose program changed the connection (a pragma, a TEMP object, an
//! attachment, a SQL function or collation, a hook, raw access: what the
//! pool would undo at the lease's end) is *pinned* instead: kept until
//! [`LazySession::close`], so that state behaves exactly as on a private
//! connection for the client's lifetime, and is reset when it goes back.
//!
//! Settings of the client itself — its busy timeout and run-time limits —
//! are applied to every lease it takes and restored before the lease goes
//! back, so they need no pin. Two things differ from a private connection
//! between leases, and only in autocommit: the SQL functions
//! `last_insert_rowid()` and `changes()` see the connection of the current
//! lease (a cursor's `lastrowid` and `rowcount` are taken per statement
//! and are unaffected); [`LazySession::total_changes`] is kept by the
//! session across leases.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::limits::Limit;
use rusqlite::InterruptHandle;

use crate::error::Result;
use crate::guard::PooledConnection;
use crate::parking::{Parkable, ParkingSpot};
use crate::pool::{AcquireOptions, Pool};
use crate::sql::session::{Session, TxnMode};

/// Interrupts the statement a [`LazySession`] is running, from any thread
/// (`sqlite3_interrupt`); a no-op while it holds no lease.
#[derive(Clone, Default)]
pub struct Interrupter(Arc<Mutex<Option<InterruptHandle>>>);

impl Interrupter {
    /// Interrupts the running statement, if any.
    pub fn interrupt(&self) {
        if let Some(handle) = self.0.lock().as_ref() {
            handle.interrupt();
        }
    }
}

/// A pool client that leases per transaction (see the module docs).
pub struct LazySession {
    pool: Pool,
    session: Option<Session>,
    mode: TxnMode,
    timeout: Option<Duration>,
    /// Pinned for good: a private database, or state the pool cannot see.
    pinned: bool,
    busy_timeout: Option<Duration>,
    /// Limits the program set `(limit, value, the pool's value)`.
    limits: Vec<(Limit, i32, i32)>,
    /// `total_changes` of leases already given back.
    changes_before: u64,
    /// The current lease's `total_changes` when it was taken.
    changes_base: u64,
    interrupter: Interrupter,
    /// Where its idle lease waits between calls (made on first use).
    spot: Option<ParkingSpot<Held>>,
}

/// A session parked between calls, with what the client set on its
/// connection: restored when the pool takes it back (and when the client
/// gives it back itself).
struct Held {
    session: Option<Session>,
    /// The pool's busy timeout, when the client set another.
    busy_timeout: Option<Duration>,
    /// `(limit, the pool's value)` for the limits the client set.
    limits: Vec<(Limit, i32)>,
}

impl Held {
    fn session(&self) -> &Session {
        self.session.as_ref().expect("a held session is only taken out by LazySession::resume")
    }
}

impl Parkable for Held {
    fn lease(&self) -> &PooledConnection {
        self.session().lease()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(session) = self.session.take() else { return };
        let lease = session.into_lease();
        if let Some(timeout) = self.busy_timeout {
            let _ = lease.busy_timeout(timeout);
        }
        for &(limit, value) in &self.limits {
            let _ = lease.set_limit(limit, value);
        }
        drop(lease);
    }
}

impl LazySession {
    /// A client of `pool` whose sessions run in `mode`; it holds no lease yet.
    pub fn new(pool: Pool, mode: TxnMode) -> LazySession {
        LazySession {
            pool,
            session: None,
            mode,
            timeout: None,
            pinned: false,
            busy_timeout: None,
            limits: Vec::new(),
            changes_before: 0,
            changes_base: 0,
            interrupter: Interrupter::default(),
            spot: None,
        }
    }

    /// The pool it leases from.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// How long to wait for a lease. Defaults to the pool's `acquire_timeout`.
    pub fn set_acquire_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// The options a lease is taken with (for a binding that waits for it
    /// itself, e.g. with [`Pool::acquire_async`], and hands it to
    /// [`LazySession::attach`]).
    pub fn acquire_options(&self) -> AcquireOptions {
        AcquireOptions { timeout: self.timeout, ..AcquireOptions::default() }
    }

    /// The transaction mode of its sessions.
    pub fn mode(&self) -> TxnMode {
        self.mode
    }

    /// Changes the transaction mode (for the current lease too).
    pub fn set_mode(&mut self, mode: TxnMode) {
        self.resume();
        self.mode = mode;
        if let Some(s) = self.session.as_mut() {
            s.set_mode(mode);
        }
    }

    /// SQLite's busy timeout on its leases, which also bounds a write's
    /// wait for the write gate. Defaults to the pool's `busy_timeout`.
    pub fn set_busy_timeout(&mut self, timeout: Duration) {
        self.resume();
        // The pool's own value needs nothing per lease.
        self.busy_timeout = (timeout != self.pool.config().busy_timeout).then_some(timeout);
        if let Some(s) = self.session.as_mut() {
            s.set_gate_wait(Some(timeout));
            let _ = s.lease().busy_timeout(timeout);
        }
    }

    /// Keeps the current (or next) lease until [`LazySession::close`]: for
    /// state the pool does not see.
    pub fn pin(&mut self) {
        self.pinned = true;
    }

    /// Whether a lease is held (a parked one is not: see [`LazySession::is_parked`]).
    pub fn is_leased(&self) -> bool {
        self.session.is_some()
    }

    /// Whether its idle lease is parked with the pool (the next statement
    /// takes it back, unless the pool needed it meanwhile).
    pub fn is_parked(&self) -> bool {
        self.spot.as_ref().is_some_and(ParkingSpot::is_parked)
    }

    /// Takes its parked lease back, if the pool left it parked; whether a
    /// lease is held now.
    pub fn resume(&mut self) -> bool {
        if self.session.is_some() {
            return true;
        }
        let Some(mut held) = self.spot.as_ref().and_then(ParkingSpot::unpark) else { return false };
        let Some(session) = held.session.take() else { return false };
        self.changes_base = session.lease().total_changes();
        *self.interrupter.0.lock() = Some(session.lease().get_interrupt_handle());
        self.session = Some(session);
        true
    }

    /// Whether a transaction is open (never without a lease).
    pub fn in_transaction(&self) -> bool {
        self.session.as_ref().is_some_and(Session::in_transaction)
    }

    /// Rows changed by `INSERT`, `UPDATE` and `DELETE` through this client
    /// (`sqlite3_total_changes`, summed over its leases).
    pub fn total_changes(&self) -> u64 {
        let current = self.session.as_ref().map_or(0, |s| s.lease().total_changes().saturating_sub(self.changes_base));
        self.changes_before + current
    }

    /// A handle that interrupts this client's running statement.
    pub fn interrupter(&self) -> Interrupter {
        self.interrupter.clone()
    }

    /// The session, leasing (blocking, up to the acquire timeout) if none is
    /// held or parked.
    pub fn session(&mut self) -> Result<&mut Session> {
        if !self.resume() {
            let lease = self.pool.acquire(self.acquire_options())?;
            self.attach(lease)?;
        }
        self.current().ok_or(crate::Error::Released)
    }

    /// The session, if a lease is held.
    pub fn current(&mut self) -> Option<&mut Session> {
        self.session.as_mut()
    }

    /// Takes `lease` as the current one (when none is held) and applies the
    /// client's settings to it.
    pub fn attach(&mut self, lease: PooledConnection) -> Result<()> {
        if self.session.is_some() {
            return Ok(());
        }
        // One lease at a time: one still parked goes back.
        if let Some(spot) = &self.spot {
            drop(spot.unpark());
        }
        if let Some(timeout) = self.busy_timeout {
            lease.busy_timeout(timeout)?;
        }
        for &(limit, value, _) in &self.limits {
            lease.set_limit(limit, value)?;
        }
        self.changes_base = lease.total_changes();
        *self.interrupter.0.lock() = Some(lease.get_interrupt_handle());
        let mut session = Session::new(lease, self.mode);
        session.set_gate_wait(self.busy_timeout);
        self.session = Some(session);
        Ok(())
    }

    /// Call after every call: parks the lease (gives it back to the pool,
    /// which lets the next call take it straight back while nobody else
    /// needs it) when the connection is idle (autocommit, no statement
    /// open) and clean, unless pinned. A lease whose program changed its
    /// connection is pinned from then on.
    pub fn settle(&mut self) {
        let Some(session) = self.session.as_ref() else { return };
        if session.lease().changed_state() {
            self.pinned = true;
        }
        if self.pinned || session.in_transaction() || session.open_streams() > 0 || session.open_blobs() > 0 {
            return;
        }
        let Some(held) = self.hold() else { return };
        let spot = self.spot.get_or_insert_with(|| ParkingSpot::new(&self.pool));
        // Refused (not clean, or the pool needs it now): it goes back.
        if let Err(held) = spot.park(held) {
            drop(held);
        }
    }

    /// Gives the lease back now (an open transaction is rolled back, open
    /// statements are closed), parked or not, and forgets the pin.
    pub fn close(&mut self) {
        self.release();
        self.pinned = false;
    }

    /// The connection's current value of `limit` (leasing to read it).
    pub fn limit(&mut self, limit: Limit) -> Result<i32> {
        let value = self.session()?.lease().limit(limit)?;
        self.settle();
        Ok(value)
    }

    /// Sets `limit` for this client (on every lease it takes); returns the
    /// value before.
    pub fn set_limit(&mut self, limit: Limit, value: i32) -> Result<i32> {
        let before = self.session()?.lease().set_limit(limit, value)?;
        match self.limits.iter_mut().find(|(l, _, _)| *l as i32 == limit as i32) {
            Some(entry) => entry.1 = value,
            None => self.limits.push((limit, value, before)),
        }
        self.settle();
        Ok(before)
    }

    /// The current session, out of the client, with what to restore when
    /// it goes back.
    fn hold(&mut self) -> Option<Held> {
        let session = self.session.take()?;
        *self.interrupter.0.lock() = None;
        self.changes_before += session.lease().total_changes().saturating_sub(self.changes_base);
        Some(Held {
            session: Some(session),
            busy_timeout: self.busy_timeout.map(|_| self.pool.config().busy_timeout),
            limits: self.limits.iter().map(|&(limit, _, pool_value)| (limit, pool_value)).collect(),
        })
    }

    /// Gives the current and the parked lease back to the pool.
    fn release(&mut self) {
        drop(self.hold());
        if let Some(spot) = &self.spot {
            drop(spot.unpark());
        }
    }
}

impl Drop for LazySession {
    fn drop(&mut self) {
        self.release();
    }
}
