//! The watch every pooled connection carries: one SQLite authorizer that
//! confines tenant leases and records what a lease changed on its
//! connection, so the pool can undo it before the next borrower (`reset.rs`).
//!
//! SQLite calls the authorizer while it *prepares* a statement, once per
//! action (each column read, each pragma, each object created). The common
//! case — a lease with no tenant and no read-only lane preparing a statement
//! that changes nothing — costs two relaxed atomic loads; the lock is taken
//! only to record a change or to check a confined lease.
//!
//! What counts as a change: a `PRAGMA` that sets per-connection state
//! (`foreign_keys`, `busy_timeout`, `query_only`, …), a TEMP object, an
//! `ATTACH` or `DETACH`, and a lease that handed out the raw `sqlite3 *`
//! (which can change anything without SQL). Database-level pragmas
//! (`user_version`, `application_id`, …) and reads (`table_info`, …) are not
//! connection state and are left alone.
//!
//! Statements are authorized when prepared, not when run: a cached
//! statement runs again without asking. The reset therefore also flushes the
//! connection's statement cache, so a state-changing statement is always
//! prepared — and seen — again in a later lease.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use parking_lot::Mutex;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::Connection;

/// A per-connection pragma a lease set (`PRAGMA foreign_keys = OFF`).
pub(crate) const PRAGMA: u32 = 1;
/// A TEMP table, index, view or trigger was created.
pub(crate) const TEMP: u32 = 2;
/// A database was attached or detached.
pub(crate) const ATTACH: u32 = 4;
/// Something the pool cannot undo (an unknown or write-only pragma): the
/// connection is closed and replaced instead of reset.
pub(crate) const UNKNOWN: u32 = 8;
/// The lease handed out the raw `sqlite3 *` (the C ABI).
pub(crate) const RAW: u32 = 16;
/// The lease registered SQL functions or collations (removed on return).
pub(crate) const FUNCTIONS: u32 = 32;
/// The lease installed a progress, commit, rollback or update hook.
pub(crate) const HOOKS: u32 = 64;

/// Pragmas that set per-connection state the pool can read and restore.
/// Their values right after setup form the pool's baseline (`reset.rs`).
pub(crate) const CONNECTION_PRAGMAS: [&str; 34] = [
    "analysis_limit",
    "automatic_index",
    "busy_timeout",
    "cache_size",
    "cache_spill",
    "cell_size_check",
    "checkpoint_fullfsync",
    "count_changes",
    "defer_foreign_keys",
    "empty_result_callbacks",
    "foreign_keys",
    "full_column_names",
    "fullfsync",
    "hard_heap_limit",
    "ignore_check_constraints",
    "journal_mode",
    "journal_size_limit",
    "legacy_alter_table",
    "locking_mode",
    "max_page_count",
    "mmap_size",
    "query_only",
    "read_uncommitted",
    "recursive_triggers",
    "reverse_unordered_selects",
    "secure_delete",
    "short_column_names",
    "soft_heap_limit",
    "synchronous",
    "temp_store",
    "threads",
    "trusted_schema",
    "wal_autocheckpoint",
    "writable_schema",
];

/// Pragmas with an argument that only read, act on the database, or set
/// persistent database state a write is entitled to change: not a change
/// of the connection.
const NOT_CONNECTION_STATE: [&str; 24] = [
    "application_id",
    "auto_vacuum",
    "collation_list",
    "compile_options",
    "data_version",
    "database_list",
    "foreign_key_check",
    "foreign_key_list",
    "freelist_count",
    "function_list",
    "incremental_vacuum",
    "index_info",
    "index_list",
    "index_xinfo",
    "integrity_check",
    "module_list",
    "optimize",
    "page_count",
    "page_size",
    "quick_check",
    "schema_version",
    "shrink_memory",
    "table_info",
    "user_version",
];

/// Read-only queries with an argument, beside the list above.
const MORE_READS: [&str; 4] = ["pragma_list", "table_list", "table_xinfo", "wal_checkpoint"];

/// Pragmas that describe every attached database, other tenants' included.
const METADATA_PRAGMAS: [&str; 2] = ["database_list", "table_list"];

/// One connection's authorizer state. Shared (`Arc`) by the entry and the
/// authorizer closure SQLite holds.
pub(crate) struct Watch {
    /// Authorizer calls so far: a raw-handle lease's return checks that the
    /// count still moves, i.e. that our authorizer is still installed.
    calls: AtomicU64,
    /// Change bits recorded since the lease began.
    changes: AtomicU32,
    /// A tenant lease is out: the authorizer checks schemas (under `state`).
    scoped: AtomicBool,
    /// A `read()` lease is out: `query_only` may not be turned off.
    read_only: AtomicBool,
    /// The pool itself is running SQL (lane pragma, attach, reset): nothing
    /// is recorded.
    internal: AtomicBool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The schema a tenant lease is confined to.
    scope: Option<Arc<str>>,
    /// `(schema, pragma)` pairs set by the lease, lower case.
    pragmas: Vec<(Option<String>, String)>,
    /// Why the last denied action was denied, for the error message.
    denied: Option<String>,
    /// SQL functions `(name, n_arg)` and collations the lease registered.
    functions: Vec<(String, i32)>,
    collations: Vec<String>,
}

impl Watch {
    /// Installs a new watch as `conn`'s authorizer.
    pub fn install(conn: &Connection) -> rusqlite::Result<Arc<Watch>> {
        let watch = Arc::new(Watch {
            calls: AtomicU64::new(0),
            changes: AtomicU32::new(0),
            scoped: AtomicBool::new(false),
            read_only: AtomicBool::new(false),
            internal: AtomicBool::new(false),
            state: Mutex::new(State::default()),
        });
        watch.reinstall(conn)?;
        Ok(watch)
    }

    /// Installs this watch (again) as `conn`'s authorizer: after raw access
    /// replaced or removed it. Expires `conn`'s prepared statements.
    pub fn reinstall(self: &Arc<Self>, conn: &Connection) -> rusqlite::Result<()> {
        let me = Arc::clone(self);
        conn.authorizer(Some(move |ctx: AuthContext<'_>| me.authorize(&ctx)))
    }

    /// Starts a lease: confined to `scope` (a tenant schema) or free, and
    /// read-only or not. Cheap when neither is asked and neither was.
    #[inline]
    pub fn begin(&self, scope: Option<&Arc<str>>, read_only: bool) {
        if read_only != self.read_only.load(Relaxed) {
            self.read_only.store(read_only, Relaxed);
        }
        if scope.is_some() || self.scoped.load(Relaxed) {
            self.state.lock().scope = scope.cloned();
            self.scoped.store(scope.is_some(), Relaxed);
        }
    }

    /// Ends a lease: lifts its confinement and returns (and clears) what it
    /// changed. One atomic load for a clean, unconfined lease.
    #[inline]
    pub fn finish(&self) -> u32 {
        if self.scoped.load(Relaxed) {
            self.state.lock().scope = None;
            self.scoped.store(false, Relaxed);
        }
        let changes = self.changes.load(Relaxed);
        if changes != 0 {
            self.changes.store(0, Relaxed);
        }
        changes
    }

    /// What the current lease changed so far (bits; 0: nothing).
    pub fn pending(&self) -> u32 {
        self.changes.load(Relaxed)
    }

    /// The pragmas a lease set (and forgets them).
    pub fn take_pragmas(&self) -> Vec<(Option<String>, String)> {
        std::mem::take(&mut self.state.lock().pragmas)
    }

    /// Marks a change made outside SQL (raw handle access, hooks).
    pub fn note(&self, change: u32) {
        self.changes.fetch_or(change, Relaxed);
    }

    /// Records a SQL function the lease registered.
    pub fn note_function(&self, name: &str, n_arg: i32) {
        self.state.lock().functions.push((name.to_owned(), n_arg));
        self.note(FUNCTIONS);
    }

    /// Records a collation the lease registered.
    pub fn note_collation(&self, name: &str) {
        self.state.lock().collations.push(name.to_owned());
        self.note(FUNCTIONS);
    }

    /// The functions and collations a lease registered (and forgets them).
    pub fn take_functions(&self) -> (Vec<(String, i32)>, Vec<String>) {
        let mut st = self.state.lock();
        (std::mem::take(&mut st.functions), std::mem::take(&mut st.collations))
    }

    /// Why the last denied action was denied, if it was.
    pub fn take_denial(&self) -> Option<String> {
        self.state.lock().denied.take()
    }

    pub fn calls(&self) -> u64 {
        self.calls.load(Relaxed)
    }

    /// Runs `f` as the pool: nothing it does is recorded as a lease's change.
    pub fn internal<R>(&self, f: impl FnOnce() -> R) -> R {
        let was = self.internal.swap(true, Relaxed);
        let out = f();
        self.internal.store(was, Relaxed);
        out
    }

    fn authorize(&self, ctx: &AuthContext<'_>) -> Authorization {
        self.calls.fetch_add(1, Relaxed);
        if self.internal.load(Relaxed) {
            return Authorization::Allow;
        }
        let guarded = self.scoped.load(Relaxed) || self.read_only.load(Relaxed);
        let change = change_of(ctx);
        if !guarded && change == 0 {
            return Authorization::Allow;
        }
        let mut st = self.state.lock();
        if let Some(reason) = self.refusal(&st, ctx) {
            st.denied = Some(reason);
            return Authorization::Deny;
        }
        if change != 0 {
            if change == PRAGMA {
                if let AuthAction::Pragma { pragma_name, .. } = ctx.action {
                    let item = (ctx.database_name.map(str::to_ascii_lowercase), pragma_name.to_ascii_lowercase());
                    if !st.pragmas.contains(&item) {
                        st.pragmas.push(item);
                    }
                }
            }
            self.changes.fetch_or(change, Relaxed);
        }
        Authorization::Allow
    }

    /// Why a confined or read-only lease may not do this, if it may not.
    fn refusal(&self, st: &State, ctx: &AuthContext<'_>) -> Option<String> {
        if self.read_only.load(Relaxed) {
            if let AuthAction::Pragma { pragma_name, pragma_value: Some(_) } = ctx.action {
                if pragma_name.eq_ignore_ascii_case("query_only") {
                    return Some(
                        "a read() lease stays read-only: PRAGMA query_only cannot be changed on it; \
                         lease the connection with write() to write"
                            .to_owned(),
                    );
                }
            }
        }
        let own = st.scope.as_deref()?;
        match ctx.action {
            AuthAction::Attach { .. }
            | AuthAction::Detach { .. }
            | AuthAction::Unknown { code: SQLITE_ATTACH | SQLITE_DETACH, .. } => {
                return Some(format!(
                    "ATTACH and DETACH are not allowed on a tenant lease ({own}): the pool manages attachments"
                ))
            }
            AuthAction::CreateTempTrigger { .. }
            | AuthAction::CreateTempView { .. }
            | AuthAction::Unknown { code: SQLITE_CREATE_TEMP_TRIGGER | SQLITE_CREATE_TEMP_VIEW, .. } => {
                return Some(temp_code_refusal(own));
            }
            AuthAction::CreateTrigger { .. } | AuthAction::CreateView { .. } if ctx.database_name == Some("temp") => {
                return Some(temp_code_refusal(own));
            }
            AuthAction::Pragma { pragma_name, .. }
                if METADATA_PRAGMAS.iter().any(|p| p.eq_ignore_ascii_case(pragma_name)) =>
            {
                return Some(format!(
                    "PRAGMA {} is not available on a tenant lease ({own}): it would list other tenants' databases",
                    pragma_name.to_ascii_lowercase()
                ));
            }
            _ => {}
        }
        match ctx.database_name {
            Some(db) if db.starts_with("tenant_") && db != own => {
                Some(format!("{db} is not this lease's tenant: a tenant lease may use main, temp and {own} only"))
            }
            _ => None,
        }
    }
}

fn temp_code_refusal(own: &str) -> String {
    format!(
        "TEMP triggers and views cannot be created on a tenant lease ({own}): they outlive the lease's \
         statements and would later run with another tenant's rights"
    )
}

/// The change an action makes to the connection, as bits (0: none).
fn change_of(ctx: &AuthContext<'_>) -> u32 {
    match ctx.action {
        AuthAction::Pragma { pragma_name, pragma_value } => pragma_change(pragma_name, pragma_value.is_some()),
        AuthAction::CreateTempTable { .. }
        | AuthAction::CreateTempIndex { .. }
        | AuthAction::CreateTempTrigger { .. }
        | AuthAction::CreateTempView { .. } => TEMP,
        AuthAction::CreateTable { .. }
        | AuthAction::CreateIndex { .. }
        | AuthAction::CreateTrigger { .. }
        | AuthAction::CreateView { .. }
        | AuthAction::CreateVtable { .. }
            if ctx.database_name == Some("temp") =>
        {
            TEMP
        }
        AuthAction::Attach { .. } | AuthAction::Detach { .. } => ATTACH,
        // Variants whose arguments SQLite left out come as `Unknown`
        // (`ATTACH ?1` has no file name to pass).
        AuthAction::Unknown { code, .. } => match code {
            SQLITE_ATTACH | SQLITE_DETACH => ATTACH,
            SQLITE_CREATE_TEMP_INDEX..=SQLITE_CREATE_TEMP_VIEW => TEMP,
            _ => 0,
        },
        _ => 0,
    }
}

const SQLITE_CREATE_TEMP_INDEX: i32 = 3;
const SQLITE_CREATE_TEMP_TRIGGER: i32 = 5;
const SQLITE_CREATE_TEMP_VIEW: i32 = 6;
const SQLITE_ATTACH: i32 = 24;
const SQLITE_DETACH: i32 = 25;

fn pragma_change(name: &str, has_value: bool) -> u32 {
    let is = |list: &[&str]| list.iter().any(|p| p.eq_ignore_ascii_case(name));
    if !has_value || is(&NOT_CONNECTION_STATE) || is(&MORE_READS) {
        0
    } else if is(&CONNECTION_PRAGMAS) {
        PRAGMA
    } else {
        UNKNOWN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pragma_classes() {
        assert_eq!(pragma_change("foreign_keys", true), PRAGMA);
        assert_eq!(pragma_change("FOREIGN_KEYS", true), PRAGMA);
        assert_eq!(pragma_change("foreign_keys", false), 0, "a read");
        assert_eq!(pragma_change("table_info", true), 0);
        assert_eq!(pragma_change("user_version", true), 0, "database state, a write's to change");
        assert_eq!(pragma_change("case_sensitive_like", true), UNKNOWN, "write-only: cannot be restored");
        assert_eq!(pragma_change("no_such_pragma", true), UNKNOWN);
    }

    fn watched() -> (Connection, Arc<Watch>) {
        let conn = Connection::open_in_memory().unwrap();
        let watch = Watch::install(&conn).unwrap();
        (conn, watch)
    }

    #[test]
    fn records_pragmas_temp_objects_and_attachments() {
        let (conn, watch) = watched();
        watch.begin(None, false);
        conn.execute_batch("SELECT 1; PRAGMA foreign_keys").unwrap();
        assert_eq!(watch.finish(), 0, "reads change nothing");
        watch.begin(None, false);
        conn.execute_batch("PRAGMA foreign_keys = OFF; CREATE TEMP TABLE t (x); ATTACH ':memory:' AS other").unwrap();
        assert_eq!(watch.finish(), PRAGMA | TEMP | ATTACH);
        assert_eq!(watch.take_pragmas(), vec![(None, "foreign_keys".to_owned())]);
        assert_eq!(watch.finish(), 0, "finish clears");
    }

    #[test]
    fn internal_work_is_not_recorded() {
        let (conn, watch) = watched();
        watch.internal(|| conn.execute_batch("PRAGMA query_only = ON").unwrap());
        assert_eq!(watch.finish(), 0);
    }

    #[test]
    fn a_confined_lease_is_refused_other_schemas_temp_code_and_metadata() {
        let (conn, watch) = watched();
        conn.execute_batch("ATTACH ':memory:' AS tenant_a; ATTACH ':memory:' AS tenant_b").unwrap();
        conn.execute_batch("CREATE TABLE tenant_b.secret (x)").unwrap();
        watch.finish();
        let own: Arc<str> = Arc::from("tenant_a");
        watch.begin(Some(&own), false);
        assert!(conn.prepare("SELECT * FROM tenant_b.secret").is_err());
        assert!(watch.take_denial().unwrap().contains("tenant_b is not this lease's tenant"));
        assert!(conn.prepare("CREATE TEMP TRIGGER g AFTER INSERT ON main.t BEGIN SELECT 1; END").is_err());
        assert!(conn.prepare("PRAGMA database_list").is_err());
        assert!(conn.prepare("CREATE TEMP TABLE scratch (x)").is_ok(), "TEMP tables are allowed (and dropped later)");
        watch.finish();
        watch.begin(None, false);
        assert!(conn.prepare("SELECT * FROM tenant_b.secret").is_ok(), "free again");
    }

    #[test]
    fn a_read_lease_cannot_turn_query_only_off() {
        let (conn, watch) = watched();
        watch.begin(None, true);
        assert!(conn.execute_batch("PRAGMA query_only = OFF").is_err());
        assert!(watch.take_denial().unwrap().contains("read() lease stays read-only"));
        watch.finish();
        watch.begin(None, false);
        assert!(conn.execute_batch("PRAGMA query_only = OFF").is_ok());
    }
}
