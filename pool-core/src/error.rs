//! The one error type of the pool, with a stable [`Error::code`] that every
//! binding maps (C result codes, Python exception classes, Node `err.code`).

use std::time::Duration;

use crate::codes::sqlite_code_name;
use crate::stats::State;

/// `Result` with litepool's [`Error`] by default.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the pool.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No connection (or write-gate turn) came free within the acquire timeout.
    #[error("timed out after {} ms waiting for {what} (total={}, active={}, idle={}, waiting={}){}",
        waited.as_millis(), state.total, state.active, state.idle, state.waiting,
        last_error.as_ref().map(|e| format!("; last connection error: {e}")).unwrap_or_default())]
    Timeout {
        /// What was waited for: `"a connection"` or `"the write gate"`.
        what: &'static str,
        /// How long the caller waited.
        waited: Duration,
        /// The pool's counts when the wait gave up.
        state: State,
        /// The last error seen while opening a connection, if any.
        last_error: Option<String>,
    },

    /// The pool is closed (or closing): no new leases are handed out.
    #[error("the pool is closed")]
    Closed,

    /// `try_get()` found no idle connection and no room to open one.
    #[error("no connection is free right now (total={}, active={}, waiting={})", state.total, state.active, state.waiting)]
    Exhausted {
        /// The pool's counts at the time.
        state: State,
    },

    /// A configuration value is out of range.
    #[error("invalid config: `{field}` {reason}")]
    InvalidConfig {
        /// The config field at fault, e.g. `max_size`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// An environment variable held a value that is not valid for it.
    #[error("invalid environment variable {var}={value:?}: {reason}")]
    InvalidEnv {
        /// The variable's name, e.g. `DB_POOL_MAX`.
        var: &'static str,
        /// The value found.
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The database could not be opened or set up.
    #[error("cannot open database {path:?}: {source}")]
    Open {
        /// The path (or URI) given to the pool.
        path: String,
        /// SQLite's reason.
        #[source]
        source: rusqlite::Error,
    },

    /// A write was attempted on a connection leased with `read()`.
    #[error("attempt to write through a read() lease (PRAGMA query_only is on); lease the connection with write() to write: {0}")]
    ReadOnlyLane(#[source] rusqlite::Error),

    /// An error from SQLite (or rusqlite) while running SQL.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),

    /// A tenant code is not of the form `[a-z0-9_]{1,64}`.
    #[error("invalid tenant code {0:?}: expected 1 to 64 characters of [a-z0-9_]")]
    InvalidTenant(String),

    /// No tenant is registered under that code.
    #[error("unknown tenant {0:?}: register it with register_tenant() first")]
    UnknownTenant(String),

    /// The tenant still has leases out and could not be removed in time.
    #[error("tenant {code:?} still has {active} lease(s) out")]
    TenantBusy {
        /// The tenant's code.
        code: String,
        /// Leases still out.
        active: u32,
    },

    /// A user callback (init hook, event hook) panicked.
    #[error("a callback panicked: {0}")]
    CallbackPanicked(String),

    /// The call cannot work as asked, e.g. `BEGIN` through the one-shot
    /// `query()`/`execute()`, whose lease ends right after the statement.
    #[error("{0}")]
    Misuse(String),

    /// Statement parameters do not fit the statement (count, names).
    #[error("{0}")]
    Bind(String),

    /// A parameter value cannot be stored in SQLite (an integer beyond 64 bits…).
    #[error("{0}")]
    InvalidValue(String),

    /// The lease was already given back to the pool.
    #[error("this connection was released back to the pool; acquire another")]
    Released,

    /// A call is still running on this session; a synchronous call must
    /// wait for it.
    #[error("this connection is running an async call; await it before a synchronous call")]
    Busy,

    /// A write (a `write()` lease, or a writing statement) on a pool that is
    /// a read-only replica (`replica_url`): writes go to the primary.
    #[error("this pool is a read-only replica of {0}; send writes to the primary's pool")]
    ReadOnlyReplica(String),

    /// A statement ran past its deadline (the pool's `statement_timeout`, a
    /// call's timeout or the lease's deadline) and SQLite stopped it. The
    /// connection stays usable.
    #[error("deadline exceeded: {sql:?} was stopped after {} ms (deadline {} ms){}; the connection stays usable",
        ran.as_millis(), limit.as_millis(), if *rolled_back { "; the pool's transaction was rolled back" } else { "" })]
    Deadline {
        /// The statement (its first 200 characters).
        sql: String,
        /// How long it ran.
        ran: Duration,
        /// The deadline it had.
        limit: Duration,
        /// Whether a transaction the pool had begun for it was rolled back.
        rolled_back: bool,
    },

    /// The pool shed this acquire instead of queueing it: the queue is at
    /// `max_waiting`, or (with `shed_load`) the expected wait already exceeds
    /// the caller's timeout.
    #[error("overloaded: {reason} (waiting={}, active={}, expected wait {} ms, timeout {} ms); retry later",
        state.waiting, state.active, expected.as_millis(), timeout.as_millis())]
    Overloaded {
        /// Why: the queue bound or the expected wait.
        reason: &'static str,
        /// The wait the pool expected (queue position × mean hold time ÷ connections).
        expected: Duration,
        /// The caller's remaining timeout.
        timeout: Duration,
        /// The pool's counts at the time.
        state: State,
    },

    /// `close()` gave up waiting for leases to come back.
    #[error("close timed out with {active} connection(s) still leased; they will be closed when returned")]
    CloseTimedOut {
        /// Leases still out.
        active: u32,
    },
}

impl Error {
    /// Every `LITEPOOL_*` code [`Error::code`] can return (the others are
    /// SQLite's names, `SQLITE_*`). Bindings check their mapping against it.
    pub const CODES: [&'static str; 18] = [
        "LITEPOOL_TIMEOUT",
        "LITEPOOL_CLOSED",
        "LITEPOOL_EXHAUSTED",
        "LITEPOOL_INVALID_CONFIG",
        "LITEPOOL_READ_ONLY_LANE",
        "LITEPOOL_INVALID_ARGUMENT",
        "LITEPOOL_INVALID_TENANT",
        "LITEPOOL_UNKNOWN_TENANT",
        "LITEPOOL_TENANT_BUSY",
        "LITEPOOL_PANIC",
        "LITEPOOL_MISUSE",
        "LITEPOOL_INVALID_VALUE",
        "LITEPOOL_RELEASED",
        "LITEPOOL_CONNECTION_BUSY",
        "LITEPOOL_CLOSE_TIMEOUT",
        "LITEPOOL_READ_ONLY_REPLICA",
        "LITEPOOL_DEADLINE",
        "LITEPOOL_OVERLOADED",
    ];

    /// A stable, documented code for this error, e.g. `LITEPOOL_TIMEOUT` or,
    /// for SQLite failures, SQLite's own extended name such as
    /// `SQLITE_CONSTRAINT_UNIQUE`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Timeout { .. } => "LITEPOOL_TIMEOUT",
            Error::Closed => "LITEPOOL_CLOSED",
            Error::Exhausted { .. } => "LITEPOOL_EXHAUSTED",
            Error::InvalidConfig { .. } | Error::InvalidEnv { .. } => "LITEPOOL_INVALID_CONFIG",
            Error::Open { source, .. } => rusqlite_code(source).unwrap_or("SQLITE_CANTOPEN"),
            Error::ReadOnlyLane(_) => "LITEPOOL_READ_ONLY_LANE",
            Error::Sqlite(e) => rusqlite_code(e).unwrap_or("LITEPOOL_INVALID_ARGUMENT"),
            Error::InvalidTenant(_) => "LITEPOOL_INVALID_TENANT",
            Error::UnknownTenant(_) => "LITEPOOL_UNKNOWN_TENANT",
            Error::TenantBusy { .. } => "LITEPOOL_TENANT_BUSY",
            Error::CallbackPanicked(_) => "LITEPOOL_PANIC",
            Error::Misuse(_) => "LITEPOOL_MISUSE",
            Error::Bind(_) => "LITEPOOL_INVALID_ARGUMENT",
            Error::Released => "LITEPOOL_RELEASED",
            Error::Busy => "LITEPOOL_CONNECTION_BUSY",
            Error::InvalidValue(_) => "LITEPOOL_INVALID_VALUE",
            Error::CloseTimedOut { .. } => "LITEPOOL_CLOSE_TIMEOUT",
            Error::ReadOnlyReplica(_) => "LITEPOOL_READ_ONLY_REPLICA",
            Error::Deadline { .. } => "LITEPOOL_DEADLINE",
            Error::Overloaded { .. } => "LITEPOOL_OVERLOADED",
        }
    }

    /// For [`Error::Overloaded`]: how long to wait before retrying (the
    /// expected wait, at least 1 ms), e.g. for an HTTP `Retry-After`.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Overloaded { expected, .. } => Some((*expected).max(Duration::from_millis(1))),
            _ => None,
        }
    }

    /// SQLite's extended result code, when the error came from SQLite.
    pub fn sqlite_code(&self) -> Option<i32> {
        match self {
            Error::Open { source: e, .. } | Error::ReadOnlyLane(e) | Error::Sqlite(e) => {
                e.sqlite_error().map(|f| f.extended_code)
            }
            _ => None,
        }
    }

    /// Maps an error from SQL run on a lease of `lane`: on a read lease, a
    /// write refused by `query_only` becomes [`Error::ReadOnlyLane`].
    pub fn on_lane(err: rusqlite::Error, lane: crate::Lane) -> Error {
        let refused_write = err.sqlite_error().is_some_and(|f| f.code == rusqlite::ErrorCode::ReadOnly);
        if lane == crate::Lane::Read && refused_write {
            Error::ReadOnlyLane(err)
        } else {
            Error::Sqlite(err)
        }
    }
}

fn rusqlite_code(e: &rusqlite::Error) -> Option<&'static str> {
    e.sqlite_error().map(|f| sqlite_code_name(f.extended_code))
}
