//! The acquire side of the pool: the direct path (an idle connection, no
//! queue), queueing in FIFO order, the write gate, validation and turning
//! an entry into a lease.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{self, Deadline};
use crate::config::Fairness;
use crate::entry::PoolEntry;
use crate::error::{Error, Result};
use crate::events::CloseReason;
use crate::gate::{Entrant, GateEntry, GatePermit, Pass};
use crate::guard::{Lane, PooledConnection};
use crate::leak::AcquireSite;
use crate::pool::AcquireOptions;
use crate::shared::Shared;
use crate::slots::Want;
use crate::stats::{Counters, State};
use crate::tenant::Tenant;
use crate::waiter::{Waiter, Woken};

impl Shared {
    pub(crate) fn acquire_blocking(
        self: &Arc<Self>,
        opts: AcquireOptions,
        site: AcquireSite,
    ) -> Result<PooledConnection> {
        let start = clock::now();
        crate::housekeeper::check_fork(self);
        let mut deadline = Deadline::after(opts.timeout.unwrap_or(self.config.acquire_timeout));
        let tenant = self.tenants.lookup(opts.tenant.as_deref())?;
        let (permit, gate_waited) = match opts.lane {
            Lane::Write => {
                self.refuse_writes()?;
                let (mut permit, queued) = self.enter_gate_blocking(tenant.as_deref(), &mut deadline, start)?;
                // The last writer's connection, left with the gate: no second wait.
                if let Some(entry) = permit.take_spare() {
                    return self.lease(entry, opts.lane, Some(permit), tenant, site, start, queued);
                }
                (Some(permit), queued)
            }
            _ => {
                // Reader back-pressure while the pool truncates the WAL.
                self.wal.hold_back(&mut deadline);
                (None, false)
            }
        };
        let want = Want { query_only: opts.lane == Lane::Read, tenant: tenant.as_deref() };
        let (entry, waited) = loop {
            match self.take_or_enqueue(&mut deadline, true, want)? {
                Taken::Idle(e) => match self.validate(e, start) {
                    Some(e) => break (e, gate_waited),
                    None => continue,
                },
                Taken::Queued(w) => {
                    // Holding the gate without a connection: let sessions
                    // that hold one through meanwhile (see gate.rs).
                    let _starving =
                        permit.as_ref().map(|_| tenant.as_deref().map_or(&self.gate, |t| &t.gate).starving());
                    match self.wait_blocking(&w, want, start)? {
                        Some(e) => break (e, true),
                        // Nudged, took an idle connection that failed validation: queue again.
                        None => continue,
                    }
                }
            }
        };
        self.lease(entry, opts.lane, permit, tenant, site, start, waited)
    }

    /// A queued blocking caller: waits for a hand-off, or, when nudged (or
    /// once the starvation bound has passed: a connection that came free
    /// may have nudged nobody, see `slots.rs`), tries to take an idle
    /// connection itself (it keeps its place in the queue until it has
    /// one). `Ok(None)`: it took one that failed validation and must queue
    /// again.
    fn wait_blocking(
        &self,
        w: &Arc<Waiter<PoolEntry>>,
        want: Want<'_>,
        start: clock::Instant,
    ) -> Result<Option<PoolEntry>> {
        let mut look = w.since + w.patience;
        loop {
            let nudged = match w.wait_until(look) {
                Woken::Granted(outcome) => return outcome.map(Some),
                Woken::Nudged => true,
                Woken::TimedOut if std::time::Instant::now() < w.deadline => {
                    // Looks once; from now on it is starving, and handed one.
                    look = w.deadline;
                    false
                }
                Woken::TimedOut => {
                    let (withdrawn, next) = {
                        let mut int = self.slots.lock();
                        let withdrawn = int.withdraw(w);
                        (withdrawn, int.next_to_nudge())
                    };
                    if let Some(next) = next {
                        next.nudge();
                    }
                    if withdrawn {
                        return Err(self.timed_out("a connection", start.elapsed()));
                    }
                    // Removed by someone who owes us a grant: it is coming.
                    return w.wait_for_grant().map(Some);
                }
            };
            let (taken, next) = {
                let mut int = self.slots.lock();
                let taken = int.take_for(w, want);
                if nudged || taken.is_some() {
                    int.nudge_outcome(taken.is_some());
                }
                (taken, int.next_to_nudge())
            };
            if let Some(next) = next {
                next.nudge();
            }
            if let Some(e) = taken {
                return Ok(self.validate(e, start));
            }
        }
    }

    /// Passes the write gate, queueing if needed; says whether it queued
    /// (a wait at the gate counts as waiting, like one for a connection).
    pub(crate) fn enter_gate_blocking(
        &self,
        tenant: Option<&Tenant>,
        deadline: &mut Deadline,
        start: clock::Instant,
    ) -> Result<(GatePermit, bool)> {
        let gate = tenant.map_or(&self.gate, |t| &t.gate);
        if self.sheds() {
            self.admit_at_gate(gate, deadline)?;
        }
        match gate.enter(deadline, true, self.owner(), Entrant::Writer)? {
            GateEntry::Entered(permit) => Ok((permit, false)),
            GateEntry::Queued(w) => match gate.wait(&w)? {
                Some(pass) => Ok((gate.permit(pass), true)),
                None => Err(self.timed_out("the write gate", start.elapsed())),
            },
            // Only for callers that hold a connection, which writers here do not.
            GateEntry::Bypassed => Ok((gate.permit(Pass::Turn(None)), false)),
        }
    }

    pub(crate) fn try_acquire(self: &Arc<Self>, site: AcquireSite) -> Result<PooledConnection> {
        let start = clock::now();
        crate::housekeeper::check_fork(self);
        let want = Want { query_only: false, tenant: None };
        loop {
            let mut int = self.slots.lock();
            if int.closed {
                return Err(Error::Closed);
            }
            if let Some(e) = int.take(want, Fairness::Strict) {
                drop(int);
                match self.validate(e, start) {
                    Some(e) => return self.lease(e, Lane::Any, None, None, site, start, false),
                    None => continue,
                }
            }
            // The slot is reserved in the books' total, not as a pending
            // opening (the housekeeper would open a second one for it).
            if int.reserve_inline() {
                drop(int);
                let entry = match self.open_entry() {
                    Ok(e) => e,
                    Err(e) => {
                        let mut int = self.slots.lock();
                        int.dropped();
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
            drop(int);
            // At the maximum: a lease a client parked comes back (`parking.rs`).
            if self.parking.reclaim_one() {
                continue;
            }
            return Err(Error::Exhausted { state: self.state() });
        }
    }

    /// Takes an idle connection if the fairness rules allow it now
    /// (preferring one in the lane's `query_only` state, or with the tenant
    /// attached), else queues a waiter and asks for a connection.
    #[inline]
    pub(crate) fn take_or_enqueue(&self, deadline: &mut Deadline, blocking: bool, want: Want<'_>) -> Result<Taken> {
        let mut int = self.slots.lock();
        if int.closed {
            return Err(Error::Closed);
        }
        if let Some(e) = int.take(want, self.config.fairness) {
            return Ok(Taken::Idle(e));
        }
        Ok(Taken::Queued(self.enqueue(int, deadline, blocking, want.tenant)?))
    }

    /// Queues a waiter (unless load shedding refuses it: `shed.rs`) and asks
    /// for a connection. Out of line: the direct path never comes here.
    fn enqueue(
        &self,
        mut int: crate::books::BooksGuard<'_>,
        deadline: &mut Deadline,
        blocking: bool,
        tenant: Option<&Tenant>,
    ) -> Result<Arc<Waiter<PoolEntry>>> {
        if self.sheds() {
            let ((idle, total, waiting), (max, min)) = (int.counts(), int.limits());
            let state = State { active: total - idle, idle, total, max, min, waiting };
            self.admit(waiting, max, deadline, state)?;
        }
        let waiter = Waiter::new(deadline, blocking, self.config.starvation_bound);
        int.enqueue(Arc::clone(&waiter), tenant);
        let kick = int.request_creations();
        self.parking.want_back();
        drop(int);
        // A lease a client parked comes back to the queue now (`parking.rs`).
        self.parking.reclaim_one();
        if kick {
            self.worker.kick();
        } else if !blocking {
            // Blocking waiters time themselves out; async ones need the housekeeper.
            self.worker.kick_if_before(waiter.deadline);
        }
        Ok(waiter)
    }

    /// Checks a connection that sat idle past `validation_window`; a broken
    /// one is discarded (`None`) and the caller tries again.
    #[inline]
    pub(crate) fn validate(&self, entry: PoolEntry, now: clock::Instant) -> Option<PoolEntry> {
        if now.saturating_duration_since(entry.last_used) < self.config.validation_window {
            return Some(entry);
        }
        self.check(entry)
    }

    fn check(&self, entry: PoolEntry) -> Option<PoolEntry> {
        let valid = self.connector.is_valid(&entry.conn) && self.tenants.attachments_valid(&entry);
        if valid {
            Some(entry)
        } else {
            self.warn(&format!("litepool: connection {} failed validation; discarding it", entry.id));
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
        if !entry.wal_hooked || entry.query_only != read_only || !entry.attached.is_empty() || tenant.is_some() {
            entry = self.set_up(entry, read_only, tenant.as_deref())?;
        } else {
            // A lease without a tenant: statements it caches are unrestricted.
            entry.last_scope = 0;
        }
        entry.watch.begin(tenant.as_ref().map(|t| t.schema_arc()), read_only);
        // Direct leases reuse the acquire's one clock read; only a wait reads again.
        let (acquired_at, wait) = if waited {
            let now = clock::now();
            (now, now.saturating_duration_since(start))
        } else {
            (start, Duration::ZERO)
        };
        if waited {
            if let Some(t) = &tenant {
                t.waited(wait);
            }
            Counters::bump(&self.counters.acquired_waited);
            self.counters.wait_nanos.fetch_add(u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX), Relaxed);
            self.metrics.acquire.observe(wait);
        } else {
            self.counters.acquired_direct.add(1);
        }
        let id = entry.id;
        let lease_id = self.leases.register(id, site);
        self.emit(|h| h.on_acquire(id, wait));
        Ok(PooledConnection::new(Arc::clone(self), entry, lane, permit, tenant, lease_id, acquired_at))
    }

    /// What a lease of a connection in another state needs first: the WAL
    /// hook, the lane's `query_only`, detaching removed tenants, attaching
    /// its own. Out of line: a clean lease in the same lane needs none.
    fn set_up(self: &Arc<Self>, mut entry: PoolEntry, read_only: bool, tenant: Option<&Tenant>) -> Result<PoolEntry> {
        if !entry.wal_hooked {
            self.wal.install_hook(&entry.conn);
            entry.wal_hooked = true;
        }
        if entry.query_only != read_only {
            let set = entry.watch.internal(|| entry.conn.pragma_update(None, "query_only", read_only));
            if let Err(e) = set {
                self.release(entry, clock::now());
                return Err(e.into());
            }
            entry.query_only = read_only;
        }
        if !entry.attached.is_empty() {
            // A clone only here: detaching needs the entry mutably.
            let watch = Arc::clone(&entry.watch);
            watch.internal(|| self.tenants.detach_removed(&mut entry));
        }
        match tenant {
            // A lease without a tenant: statements it caches are unrestricted.
            None => entry.last_scope = 0,
            Some(t) => {
                if let Err(e) = t.enter(&mut entry, &self.config) {
                    self.release(entry, clock::now());
                    return Err(e);
                }
            }
        }
        Ok(entry)
    }

    pub(crate) fn timed_out(&self, what: &'static str, waited: Duration) -> Error {
        Counters::bump(&self.counters.timeouts);
        let state = self.state();
        self.emit(|h| h.on_timeout(waited, state));
        let last_error = self.slots.lock().last_error.clone();
        Error::Timeout { what, waited, state, last_error }
    }
}

/// How a connection was obtained by [`Shared::take_or_enqueue`].
// Short-lived return value: boxing the entry would cost an allocation per acquire.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Taken {
    Idle(PoolEntry),
    Queued(Arc<Waiter<PoolEntry>>),
}
