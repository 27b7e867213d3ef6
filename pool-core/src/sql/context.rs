//! A caller's own connection settings, carried by each of its calls onto
//! whichever pooled connection runs it: a busy timeout, SQLite limits, the
//! trace / profile / update hooks, and an interrupt that reaches every call
//! of the caller running right now.
//!
//! This is how a handle that is one connection to its user (a node-sqlite3
//! `Database`, whose `configure('busyTimeout')`, `'trace'` events and
//! `interrupt()` act on "its" connection) keeps its meaning over a pool: the
//! settings are applied when one of its calls starts on a lease and undone
//! when the call ends, so the connection goes back to the pool as it came.
//! A call without a context pays nothing.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::hooks::Action as Change;
use rusqlite::limits::Limit;
use rusqlite::trace::{TraceEvent, TraceEventCodes};
use rusqlite::InterruptHandle;

use crate::guard::PooledConnection;

/// What a caller is told while its statements run (on the worker thread
/// that runs them: keep it short and hand the work on).
pub trait CallHooks: Send + Sync + 'static {
    /// A statement began (the legacy `sqlite3_trace` text: the SQL with its
    /// parameters expanded, or `-- …` for a trigger's program).
    fn trace(&self, _sql: &str) {}
    /// A statement finished, after `elapsed`.
    fn profile(&self, _sql: &str, _elapsed: Duration) {}
    /// A row of a rowid table was inserted, updated or deleted.
    fn change(&self, _change: Change, _database: &str, _table: &str, _rowid: i64) {}
}

/// Which hooks are on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HookSet {
    /// [`CallHooks::trace`].
    pub trace: bool,
    /// [`CallHooks::profile`].
    pub profile: bool,
    /// [`CallHooks::change`].
    pub change: bool,
}

impl HookSet {
    fn any(self) -> bool {
        self.trace || self.profile || self.change
    }
}

#[derive(Default)]
struct Settings {
    busy_timeout: Option<Duration>,
    limits: Vec<(Limit, i32)>,
    hooks: HookSet,
}

/// One caller's settings and its calls running now. Share it (`Arc`) with
/// [`Call::context`](crate::sql::Call::context).
pub struct CallContext {
    settings: Mutex<Settings>,
    hooks: Option<Arc<dyn CallHooks>>,
    running: Mutex<Vec<(u64, InterruptHandle)>>,
    next: AtomicU64,
}

impl std::fmt::Debug for CallContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallContext").field("running", &self.running.lock().len()).finish_non_exhaustive()
    }
}

impl CallContext {
    /// A context with no settings; `hooks` receives what [`set_hooks`]
    /// turns on.
    ///
    /// [`set_hooks`]: CallContext::set_hooks
    pub fn new(hooks: Option<Arc<dyn CallHooks>>) -> CallContext {
        CallContext { settings: Mutex::default(), hooks, running: Mutex::default(), next: AtomicU64::new(1) }
    }

    /// `busy_timeout` for this caller's calls (`None`: the pool's).
    pub fn set_busy_timeout(&self, timeout: Option<Duration>) {
        self.settings.lock().busy_timeout = timeout;
    }

    /// `sqlite3_limit(id, value)` for this caller's calls; later values for
    /// the same limit replace earlier ones. Unknown ids are ignored, as
    /// SQLite does.
    pub fn set_limit(&self, id: i32, value: i32) {
        let Some(limit) = limit_of(id) else { return };
        let mut settings = self.settings.lock();
        settings.limits.retain(|(l, _)| *l as i32 != limit as i32);
        settings.limits.push((limit, value));
    }

    /// Whether limits are set (statements are then prepared afresh: SQLite
    /// checks some limits while preparing).
    pub(crate) fn has_limits(&self) -> bool {
        !self.settings.lock().limits.is_empty()
    }

    /// Which hooks report to this context's [`CallHooks`].
    pub fn set_hooks(&self, hooks: HookSet) {
        self.settings.lock().hooks = hooks;
    }

    /// Interrupts (`sqlite3_interrupt`) every call of this context running
    /// now; they fail with `SQLITE_INTERRUPT`. Calls not started yet are
    /// not affected. Returns how many were running.
    pub fn interrupt(&self) -> usize {
        let running = self.running.lock();
        for (_, handle) in running.iter() {
            handle.interrupt();
        }
        running.len()
    }

    /// Applies the settings to `lease` until the returned guard drops;
    /// `script`: the call is a script of statements (`Op::Script`).
    pub(crate) fn enter<'a>(self: &'a Arc<Self>, lease: &'a PooledConnection, script: bool) -> Entered<'a> {
        let id = self.next.fetch_add(1, Relaxed);
        self.running.lock().push((id, lease.get_interrupt_handle()));
        let (busy, limits, hooks) = {
            let s = self.settings.lock();
            (s.busy_timeout, s.limits.clone(), s.hooks)
        };
        if let Some(timeout) = busy {
            let _ = lease.busy_timeout(timeout);
        }
        let old_limits =
            limits.iter().filter_map(|&(limit, value)| Some((limit, lease.set_limit(limit, value).ok()?))).collect();
        let hooked = match &self.hooks {
            Some(sink) if hooks.any() => {
                install(lease, sink, hooks);
                SCRIPT.with(|c| c.set(script.then_some((0, 0))));
                true
            }
            _ => false,
        };
        Entered { context: self, lease, id, busy: busy.is_some(), old_limits, hooked }
    }
}

/// Settings applied to a lease for one call.
pub(crate) struct Entered<'a> {
    context: &'a Arc<CallContext>,
    lease: &'a PooledConnection,
    id: u64,
    busy: bool,
    old_limits: Vec<(Limit, i32)>,
    hooked: bool,
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.context.running.lock().retain(|(id, _)| *id != self.id);
        let lease = self.lease;
        if self.busy {
            let _ = lease.busy_timeout(lease.shared().config.busy_timeout);
        }
        for &(limit, value) in &self.old_limits {
            let _ = lease.set_limit(limit, value);
        }
        if self.hooked {
            lease.trace_v2(TraceEventCodes::empty(), None);
            let _ = lease.update_hook(None::<fn(Change, &str, &str, i64)>);
            CURRENT.with(|c| *c.borrow_mut() = None);
            SCRIPT.with(|c| c.set(None));
        }
    }
}

thread_local! {
    /// The hooks of the call running on this thread (SQLite's trace callback
    /// is a plain function: it finds its receiver here).
    static CURRENT: RefCell<Option<Arc<dyn CallHooks>>> = const { RefCell::new(None) };
    /// In a script: how many of its statements were traced and profiled so
    /// far. `sqlite3_exec` skips the white space between statements, which
    /// rusqlite's batch keeps: the hooks show the texts `sqlite3_exec` would.
    static SCRIPT: Cell<Option<(u32, u32)>> = const { Cell::new(None) };
}

/// `text` as `sqlite3_exec` would have prepared statement `index` of a script.
fn script_text(text: &str, index: Option<u32>) -> &str {
    match index {
        Some(i) if i > 0 => text.trim_start(),
        _ => text,
    }
}

/// Counts a top-level statement of the running script (trace: `.0`, profile: `.1`).
fn script_index(profile: bool) -> Option<u32> {
    SCRIPT.with(|c| {
        let (traced, profiled) = c.get()?;
        c.set(Some(if profile { (traced, profiled + 1) } else { (traced + 1, profiled) }));
        Some(if profile { profiled } else { traced })
    })
}

fn install(lease: &PooledConnection, sink: &Arc<dyn CallHooks>, hooks: HookSet) {
    let mut mask = TraceEventCodes::empty();
    if hooks.trace {
        mask |= TraceEventCodes::SQLITE_TRACE_STMT;
    }
    if hooks.profile {
        mask |= TraceEventCodes::SQLITE_TRACE_PROFILE;
    }
    if !mask.is_empty() {
        CURRENT.with(|c| *c.borrow_mut() = Some(Arc::clone(sink)));
        lease.trace_v2(mask, Some(on_trace));
    }
    if hooks.change {
        let sink = Arc::clone(sink);
        let _ = lease.update_hook(Some(move |change: Change, db: &str, table: &str, rowid: i64| {
            sink.change(change, db, table, rowid);
        }));
    }
}

fn on_trace(event: TraceEvent<'_>) {
    let Some(sink) = CURRENT.with(|c| c.borrow().clone()) else { return };
    match event {
        // The legacy trace's text: the statement with its parameters
        // expanded; a trigger's program keeps its `-- TRIGGER name` comment.
        TraceEvent::Stmt(stmt, text) if !text.starts_with("--") => {
            let index = script_index(false);
            let expanded = stmt.expanded_sql().unwrap_or_else(|| text.to_owned());
            sink.trace(script_text(&expanded, index));
        }
        TraceEvent::Stmt(_, text) => sink.trace(text),
        TraceEvent::Profile(stmt, elapsed) => {
            let index = script_index(true);
            sink.profile(script_text(&stmt.sql(), index), elapsed);
        }
        _ => {}
    }
}

fn limit_of(id: i32) -> Option<Limit> {
    Some(match id {
        0 => Limit::SQLITE_LIMIT_LENGTH,
        1 => Limit::SQLITE_LIMIT_SQL_LENGTH,
        2 => Limit::SQLITE_LIMIT_COLUMN,
        3 => Limit::SQLITE_LIMIT_EXPR_DEPTH,
        4 => Limit::SQLITE_LIMIT_COMPOUND_SELECT,
        5 => Limit::SQLITE_LIMIT_VDBE_OP,
        6 => Limit::SQLITE_LIMIT_FUNCTION_ARG,
        7 => Limit::SQLITE_LIMIT_ATTACHED,
        8 => Limit::SQLITE_LIMIT_LIKE_PATTERN_LENGTH,
        9 => Limit::SQLITE_LIMIT_VARIABLE_NUMBER,
        10 => Limit::SQLITE_LIMIT_TRIGGER_DEPTH,
        11 => Limit::SQLITE_LIMIT_WORKER_THREADS,
        _ => return None,
    })
}
