//! Statement deadlines, enforced inside SQLite.
//!
//! A runaway statement is stopped by its connection's progress handler,
//! which SQLite calls every [`PROGRESS_OPS`] virtual-machine steps on the
//! thread running the statement: once the deadline has passed it asks SQLite
//! to stop, the statement fails with `SQLITE_INTERRUPT`, and the pool reports
//! [`Error::Deadline`] naming the statement and how long it ran. Unlike
//! `sqlite3_interrupt()` from another thread, this can never stop the *next*
//! statement by mistake. The connection stays usable; a transaction the pool
//! began for the statement is rolled back (`session.rs`).
//!
//! Two deadlines can be in force: a lease's ([`AcquireOptions::deadline`],
//! [`PooledConnection::set_deadline`]: for every statement of the lease, raw
//! ones included) and a statement's ([`Call::timeout`], or the pool's
//! `statement_timeout`); the earlier wins. The handler is installed on a
//! connection the first time a deadline is set on it: a pool that never uses
//! deadlines runs without one, and a statement without a deadline costs a
//! few loads (the clock is read only while a deadline is in force). Time
//! spent sleeping in SQLite's busy handler is bounded by `busy_timeout`, not
//! by the deadline (the handler is not called there).
//!
//! [`AcquireOptions::deadline`]: crate::AcquireOptions::deadline
//! [`Call::timeout`]: crate::sql::Call::timeout

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;

use crate::clock::{self, Instant};
use crate::error::Error;
use crate::guard::PooledConnection;

/// VM steps between two deadline checks: ~10–50 µs of work, so a deadline
/// is kept to well within a millisecond at the cost of one clock read.
pub(crate) const PROGRESS_OPS: i32 = 1000;

/// One connection's deadline state, shared with its progress handler.
pub(crate) struct Clock {
    base: Instant,
    /// When the running statement must stop, in ns after `base`; 0: never.
    until: AtomicU64,
    /// The lease's own budget in ns (for the message), 0: the lease has none.
    lease_budget: AtomicU64,
    /// When the lease's deadline passes, in ns after `base`; 0: none.
    lease_until: AtomicU64,
    /// The handler stopped a statement since the last [`Clock::take_tripped`].
    tripped: AtomicBool,
    /// Our handler is installed (a reset of the lease's hooks removes it).
    installed: AtomicBool,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Clock {
    pub fn new() -> Arc<Clock> {
        Arc::new(Clock {
            base: clock::now(),
            until: AtomicU64::new(0),
            lease_budget: AtomicU64::new(0),
            lease_until: AtomicU64::new(0),
            tripped: AtomicBool::new(false),
            installed: AtomicBool::new(false),
        })
    }

    fn at(&self, t: Instant) -> u64 {
        nanos(t.saturating_duration_since(self.base)).max(1)
    }

    fn install(self: &Arc<Self>, conn: &Connection) {
        if self.installed.load(Relaxed) {
            return;
        }
        let me = Arc::clone(self);
        match conn.progress_handler(PROGRESS_OPS, Some(move || me.expired())) {
            Ok(()) => self.installed.store(true, Relaxed),
            Err(e) => log::warn!("litepool: cannot install the deadline handler: {e}"),
        }
    }

    /// Sets the lease's deadline: `budget` from `start`.
    fn set_lease(self: &Arc<Self>, conn: &Connection, start: Instant, budget: Duration) {
        self.install(conn);
        let until = self.at(start + budget);
        self.lease_budget.store(nanos(budget), Relaxed);
        self.lease_until.store(until, Relaxed);
        self.until.store(until, Relaxed);
        self.tripped.store(false, Relaxed);
    }

    /// Stops statements at `until` or at the lease's deadline, whichever is
    /// earlier, until [`Clock::restore`].
    fn arm(self: &Arc<Self>, conn: &Connection, until: Instant) {
        self.install(conn);
        let until = self.at(until);
        let lease = self.lease_until.load(Relaxed);
        self.until.store(if lease != 0 && lease < until { lease } else { until }, Relaxed);
        self.tripped.store(false, Relaxed);
    }

    /// Back to the lease's deadline (or none).
    fn restore(&self) {
        self.until.store(self.lease_until.load(Relaxed), Relaxed);
    }

    /// No deadline any more (the lease ended).
    #[inline]
    pub fn disarm(&self) {
        if self.until.load(Relaxed) | self.lease_until.load(Relaxed) != 0 {
            self.until.store(0, Relaxed);
            self.lease_until.store(0, Relaxed);
            self.lease_budget.store(0, Relaxed);
        }
        self.tripped.store(false, Relaxed);
    }

    /// The lease's hooks were reset, ours with them: install it again when
    /// next needed.
    pub fn forget_handler(&self) {
        self.installed.store(false, Relaxed);
    }

    /// Whether the handler stopped a statement (and forgets it).
    fn take_tripped(&self) -> bool {
        self.tripped.swap(false, Relaxed)
    }

    /// Whether the lease's deadline (not a statement's) is the one that passed.
    fn lease_expired(&self, now: Instant) -> Option<Duration> {
        let until = self.lease_until.load(Relaxed);
        (until != 0 && self.at(now) >= until).then(|| Duration::from_nanos(self.lease_budget.load(Relaxed)))
    }

    fn expired(&self) -> bool {
        let until = self.until.load(Relaxed);
        if until == 0 || self.at(clock::now()) < until {
            return false;
        }
        self.tripped.store(true, Relaxed);
        true
    }
}

/// A statement's deadline while it runs; dropping it restores the lease's.
pub(crate) struct Armed<'a> {
    /// `None`: the connection never had a deadline (no clock read at all).
    clock: Option<(&'a Clock, Instant)>,
    limit: Option<Duration>,
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        if let (Some((clock, _)), Some(_)) = (self.clock, self.limit) {
            clock.restore();
        }
    }
}

impl Armed<'_> {
    /// `err` as the pool reports it: a statement our handler stopped becomes
    /// [`Error::Deadline`] naming `sql` and how long it ran.
    pub fn check(&self, err: Error, sql: &str) -> Error {
        let Some((clock, started)) = self.clock else { return err };
        // Already recognised by `PooledConnection::error`, or not yet.
        let ours = matches!(err, Error::Deadline { .. }) || (is_interrupt(&err) && clock.take_tripped());
        if !ours {
            return err;
        }
        let now = clock::now();
        let limit = clock.lease_expired(now).or(self.limit).unwrap_or_default();
        Error::Deadline { sql: excerpt(sql), ran: now.saturating_duration_since(started), limit, rolled_back: false }
    }
}

impl PooledConnection {
    fn clock(&self) -> &Arc<Clock> {
        self.entry().clock.get_or_init(Clock::new)
    }

    /// Stops every statement run on this lease (through the pool's SQL
    /// layer or the raw connection) once `budget` has passed since `start`
    /// (the acquire's start, for [`crate::AcquireOptions::deadline`]). The
    /// statement fails with [`Error::Deadline`] (raw calls: with
    /// `SQLITE_INTERRUPT`); the connection stays usable. Ends with the lease.
    pub(crate) fn set_deadline_from(&self, start: Instant, budget: Duration) {
        self.clock().set_lease(self, start, budget);
    }

    /// Stops every statement on this lease once `budget` has passed from
    /// now, with [`Error::Deadline`] (or `SQLITE_INTERRUPT` for statements run
    /// on the raw connection); the connection stays usable. The deadline ends
    /// with the lease.
    pub fn set_deadline(&self, budget: Duration) {
        self.set_deadline_from(clock::now(), budget);
    }

    /// Arms `limit` (a statement's deadline, if any) for one statement.
    #[inline]
    pub(crate) fn arm_statement(&self, limit: Option<Duration>) -> Armed<'_> {
        match limit {
            Some(limit) => {
                let started = clock::now();
                let clock = self.clock();
                clock.arm(self, started + limit);
                Armed { clock: Some((clock, started)), limit: Some(limit) }
            }
            // A lease deadline may be in force (only then is the clock read).
            None => {
                let clock = self.entry().clock.get().filter(|c| c.lease_until.load(Relaxed) != 0);
                Armed { clock: clock.map(|c| (&**c, clock::now())), limit: None }
            }
        }
    }

    /// A statement on this lease stopped by our handler, as
    /// [`Error::Deadline`] (for SQL run on the lease directly, whose text
    /// the pool does not see).
    pub(crate) fn deadline_error(&self, err: &rusqlite::Error) -> Option<Error> {
        let clock = self.entry().clock.get()?;
        let interrupted = err.sqlite_error().is_some_and(|f| f.code == rusqlite::ErrorCode::OperationInterrupted);
        if !interrupted || !clock.take_tripped() {
            return None;
        }
        let limit = clock.lease_expired(clock::now()).unwrap_or_default();
        Some(Error::Deadline { sql: "a statement on this lease".to_owned(), ran: limit, limit, rolled_back: false })
    }

    /// Sets the caller's progress handler for this lease
    /// (`sqlite3_progress_handler`: `handler` runs every `n` virtual-machine
    /// steps, and returning `true` interrupts the statement), or removes it
    /// with `None`. SQLite has one progress handler per connection and the
    /// pool's deadlines use it too: the two are composed (the deadline is
    /// then checked every `n` steps), so a caller's handler never turns
    /// `statement_timeout` or a lease deadline off. Removed when the lease
    /// ends.
    pub fn set_progress_handler<F>(&self, n: i32, handler: Option<F>) -> rusqlite::Result<()>
    where
        F: FnMut() -> bool + Send + 'static,
    {
        self.note_hooks();
        let clock = Arc::clone(self.clock());
        match handler {
            Some(mut handler) if n > 0 => {
                let deadline = Arc::clone(&clock);
                self.progress_handler(n, Some(move || deadline.expired() || handler()))?;
                clock.installed.store(true, Relaxed);
            }
            _ => {
                let had = clock.installed.swap(false, Relaxed);
                self.progress_handler(0, None::<fn() -> bool>)?;
                if had {
                    // The pool's own handler, for a deadline already in force.
                    clock.install(self);
                }
            }
        }
        Ok(())
    }

    /// Runs `f` with no deadline in force (the pool's own rollback after a
    /// statement was stopped).
    pub(crate) fn without_deadline<R>(&self, f: impl FnOnce() -> R) -> R {
        let Some(clock) = self.entry().clock.get() else { return f() };
        let until = clock.until.swap(0, Relaxed);
        let out = f();
        clock.until.store(until, Relaxed);
        out
    }
}

/// Whether `err` is SQLite reporting an interrupted statement.
pub(crate) fn is_interrupt(err: &Error) -> bool {
    match err {
        Error::Sqlite(e) | Error::ReadOnlyLane(e) => {
            e.sqlite_error().is_some_and(|f| f.code == rusqlite::ErrorCode::OperationInterrupted)
        }
        _ => false,
    }
}

/// The first 200 characters of `sql`, for error messages and logs.
pub(crate) fn excerpt(sql: &str) -> String {
    let sql = sql.trim();
    match sql.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &sql[..i]),
        None => sql.to_owned(),
    }
}
