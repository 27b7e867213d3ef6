//! The drop-in connection's hooks: `set_authorizer`, `set_progress_handler`
//! and `set_trace_callback`, installed on its (pinned) lease.
//!
//! The pool's own authorizer watches every lease; a program's authorizer
//! replaces it for the lease, which is therefore marked as raw-accessed:
//! when it goes back the pool reinstalls its watch and restores everything.
//!
//! SQLite's trace hook takes a plain function, so the Python callback to
//! call is found per thread: a drop-in connection pushes its callback
//! before it runs SQL on that thread and pops it after.

use std::cell::RefCell;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyInt;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization, TransactionOperation};
use rusqlite::trace::{TraceEvent, TraceEventCodes};
use rusqlite::Connection;

use litepool::PooledConnection;

use crate::errors::exception_class;
use crate::sqlite3::report;

/// `set_authorizer`: `callback(action, arg1, arg2, db_name, trigger_or_view)`
/// returns `SQLITE_OK`, `SQLITE_DENY` or `SQLITE_IGNORE`; anything else,
/// or an exception, denies.
pub fn set_authorizer(conn: &Connection, callback: Option<Py<PyAny>>) -> rusqlite::Result<()> {
    let Some(callback) = callback else { return conn.authorizer(None::<fn(AuthContext<'_>) -> Authorization>) };
    conn.authorizer(Some(move |ctx: AuthContext<'_>| {
        let (code, arg1, arg2) = action_args(&ctx.action);
        Python::attach(|py| {
            let f = callback.bind(py);
            match f.call1((code, arg1, arg2, ctx.database_name, ctx.accessor)) {
                Ok(ret) => match ret.cast::<PyInt>() {
                    Ok(i) => match i.extract::<i32>() {
                        Ok(0) => Authorization::Allow,
                        Ok(2) => Authorization::Ignore,
                        Ok(_) => Authorization::Deny,
                        Err(e) => {
                            report(py, e, f);
                            Authorization::Deny
                        }
                    },
                    Err(_) => Authorization::Deny,
                },
                Err(e) => {
                    report(py, e, f);
                    Authorization::Deny
                }
            }
        })
    }))
}

/// SQLite's action code and its two string arguments.
fn action_args<'a>(action: &AuthAction<'a>) -> (i32, Option<&'a str>, Option<&'a str>) {
    use rusqlite::ffi::*;
    use AuthAction as A;
    let op = |o: &TransactionOperation| {
        Some(match o {
            TransactionOperation::Begin => "BEGIN",
            TransactionOperation::Release => "RELEASE",
            TransactionOperation::Rollback => "ROLLBACK",
            _ => "COMMIT",
        })
    };
    match *action {
        A::Unknown { code, arg1, arg2 } => (code, arg1, arg2),
        A::CreateIndex { index_name, table_name } => (SQLITE_CREATE_INDEX, Some(index_name), Some(table_name)),
        A::CreateTable { table_name } => (SQLITE_CREATE_TABLE, Some(table_name), None),
        A::CreateTempIndex { index_name, table_name } => (SQLITE_CREATE_TEMP_INDEX, Some(index_name), Some(table_name)),
        A::CreateTempTable { table_name } => (SQLITE_CREATE_TEMP_TABLE, Some(table_name), None),
        A::CreateTempTrigger { trigger_name, table_name } => {
            (SQLITE_CREATE_TEMP_TRIGGER, Some(trigger_name), Some(table_name))
        }
        A::CreateTempView { view_name } => (SQLITE_CREATE_TEMP_VIEW, Some(view_name), None),
        A::CreateTrigger { trigger_name, table_name } => (SQLITE_CREATE_TRIGGER, Some(trigger_name), Some(table_name)),
        A::CreateView { view_name } => (SQLITE_CREATE_VIEW, Some(view_name), None),
        A::Delete { table_name } => (SQLITE_DELETE, Some(table_name), None),
        A::DropIndex { index_name, table_name } => (SQLITE_DROP_INDEX, Some(index_name), Some(table_name)),
        A::DropTable { table_name } => (SQLITE_DROP_TABLE, Some(table_name), None),
        A::DropTempIndex { index_name, table_name } => (SQLITE_DROP_TEMP_INDEX, Some(index_name), Some(table_name)),
        A::DropTempTable { table_name } => (SQLITE_DROP_TEMP_TABLE, Some(table_name), None),
        A::DropTempTrigger { trigger_name, table_name } => {
            (SQLITE_DROP_TEMP_TRIGGER, Some(trigger_name), Some(table_name))
        }
        A::DropTempView { view_name } => (SQLITE_DROP_TEMP_VIEW, Some(view_name), None),
        A::DropTrigger { trigger_name, table_name } => (SQLITE_DROP_TRIGGER, Some(trigger_name), Some(table_name)),
        A::DropView { view_name } => (SQLITE_DROP_VIEW, Some(view_name), None),
        A::Insert { table_name } => (SQLITE_INSERT, Some(table_name), None),
        A::Pragma { pragma_name, pragma_value } => (SQLITE_PRAGMA, Some(pragma_name), pragma_value),
        A::Read { table_name, column_name } => (SQLITE_READ, Some(table_name), Some(column_name)),
        A::Select => (SQLITE_SELECT, None, None),
        A::Transaction { ref operation } => (SQLITE_TRANSACTION, op(operation), None),
        A::Update { table_name, column_name } => (SQLITE_UPDATE, Some(table_name), Some(column_name)),
        A::Attach { filename } => (SQLITE_ATTACH, Some(filename), None),
        A::Detach { database_name } => (SQLITE_DETACH, Some(database_name), None),
        A::AlterTable { database_name, table_name } => (SQLITE_ALTER_TABLE, Some(database_name), Some(table_name)),
        A::Reindex { index_name } => (SQLITE_REINDEX, Some(index_name), None),
        A::Analyze { table_name } => (SQLITE_ANALYZE, Some(table_name), None),
        A::CreateVtable { table_name, module_name } => (SQLITE_CREATE_VTABLE, Some(table_name), Some(module_name)),
        A::DropVtable { table_name, module_name } => (SQLITE_DROP_VTABLE, Some(table_name), Some(module_name)),
        A::Function { function_name } => (SQLITE_FUNCTION, None, Some(function_name)),
        A::Savepoint { ref operation, savepoint_name } => (SQLITE_SAVEPOINT, op(operation), Some(savepoint_name)),
        A::Recursive => (SQLITE_RECURSIVE, None, None),
        _ => (0, None, None),
    }
}

/// `set_progress_handler`: `callback()` every `n` virtual-machine steps; a
/// true result (or an exception) interrupts the statement. Through the
/// core, which composes it with the pool's deadline check.
pub fn set_progress_handler(lease: &PooledConnection, callback: Option<Py<PyAny>>, n: i32) -> rusqlite::Result<()> {
    let handler = callback.map(|callback| {
        move || {
            Python::attach(|py| {
                let f = callback.bind(py);
                match f.call0().and_then(|r| r.is_truthy()) {
                    Ok(stop) => stop,
                    Err(e) => {
                        report(py, e, f);
                        true
                    }
                }
            })
        }
    });
    lease.set_progress_handler(n, handler)
}

thread_local! {
    /// The trace callbacks of the drop-in connections running SQL on this
    /// thread, innermost last.
    static TRACE: RefCell<Vec<Arc<Py<PyAny>>>> = const { RefCell::new(Vec::new()) };
}

/// While alive, `callback` receives the statements run on this thread.
pub struct Tracing(bool);

impl Tracing {
    pub fn push(callback: Option<Arc<Py<PyAny>>>) -> Tracing {
        let Some(callback) = callback else { return Tracing(false) };
        TRACE.with(|t| t.borrow_mut().push(callback));
        Tracing(true)
    }
}

impl Drop for Tracing {
    fn drop(&mut self) {
        if self.0 {
            TRACE.with(|t| t.borrow_mut().pop());
        }
    }
}

/// Installs (or, with `false`, removes) the trace hook on `conn`.
pub fn set_trace(conn: &Connection, on: bool) {
    if on {
        conn.trace_v2(TraceEventCodes::SQLITE_TRACE_STMT, Some(on_trace));
    } else {
        conn.trace_v2(TraceEventCodes::empty(), None);
    }
}

/// Calls the current thread's trace callback with the statement's expanded
/// SQL (its text as written when the expansion is too long, after
/// reporting a `DataError`).
fn on_trace(event: TraceEvent<'_>) {
    let TraceEvent::Stmt(stmt, sql) = event else { return };
    let Some(callback) = TRACE.with(|t| t.borrow().last().cloned()) else { return };
    Python::attach(|py| {
        let f = callback.bind(py);
        let text = match stmt.expanded_sql() {
            Some(expanded) => expanded,
            None => {
                let err = match exception_class(py, "DataError")
                    .and_then(|c| c.call1(("Expanded SQL string exceeds the maximum string length",)))
                {
                    Ok(exc) => PyErr::from_value(exc),
                    Err(e) => e,
                };
                report(py, err, f);
                sql.to_owned()
            }
        };
        if let Err(e) = f.call1((text,)) {
            report(py, e, f);
        }
    });
}
