//! Bringing a connection a lease changed back to the pool's state before
//! the next borrower gets it — or saying it cannot be, so the pool closes it
//! and opens a fresh one.
//!
//! The pool's state is what setup left on a new connection: the
//! [`Baseline`], read once from the pool's first connection (so it includes
//! whatever `init_sql` and the init hook set). A clean lease pays nothing
//! here; `watch.rs` says which leases are dirty and what they touched.

use rusqlite::types::Value;
use rusqlite::Connection;

use crate::config::PoolConfig;
use crate::entry::PoolEntry;
use crate::watch::{self, Watch};

/// Per-connection pragma values right after setup.
#[derive(Debug, Clone, Default)]
pub(crate) struct Baseline {
    values: Vec<(&'static str, String)>,
}

impl Baseline {
    /// Reads every restorable pragma of `conn` (pragmas this SQLite build
    /// lacks are left out; a lease that sets one gets its connection replaced).
    pub fn read(conn: &Connection) -> Baseline {
        let values = watch::CONNECTION_PRAGMAS
            .iter()
            .filter_map(|&name| {
                let value: Value = conn.query_row(&format!("PRAGMA main.{name}"), [], |r| r.get(0)).ok()?;
                Some((name, literal(&value)?))
            })
            .collect();
        Baseline { values }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

/// A pragma value as SQL text.
fn literal(value: &Value) -> Option<String> {
    match value {
        Value::Integer(i) => Some(i.to_string()),
        Value::Real(f) => Some(f.to_string()),
        Value::Text(t) => Some(format!("'{}'", t.replace('\'', "''"))),
        Value::Null | Value::Blob(_) => None,
    }
}

/// Why a connection could not be reset (it is then replaced).
#[derive(Debug)]
pub(crate) struct NotReset(pub String);

impl From<rusqlite::Error> for NotReset {
    fn from(e: rusqlite::Error) -> Self {
        NotReset(e.to_string())
    }
}

/// Undoes what a lease changed (`changes`, from [`Watch::finish`]) on
/// `entry`, outside any transaction. `Ok` means the connection is back in
/// the pool's state.
pub(crate) fn restore(
    entry: &mut PoolEntry,
    baseline: &Baseline,
    config: &PoolConfig,
    mut changes: u32,
) -> Result<(), NotReset> {
    let watch = std::sync::Arc::clone(&entry.watch);
    if changes & watch::RAW != 0 {
        changes |= check_raw(&entry.conn, &watch, config)?;
    }
    if changes & watch::UNKNOWN != 0 {
        return Err(NotReset("the lease set a pragma the pool cannot restore".to_owned()));
    }
    if changes & watch::EXTENSION != 0 {
        return Err(NotReset("the lease loaded an extension, which cannot be unloaded".to_owned()));
    }
    watch.internal(|| {
        // Statements prepared under the lease's state are authorized for it
        // and would run again unseen: prepare them afresh.
        entry.conn.flush_prepared_statement_cache();
        entry.last_scope = 0;
        if changes & (watch::TEMP | watch::RAW) != 0 {
            drop_temp_objects(&entry.conn)?;
        }
        if changes & (watch::ATTACH | watch::RAW) != 0 {
            reconcile_attachments(entry)?;
        }
        let pragmas = watch.take_pragmas();
        if changes & watch::RAW != 0 {
            // Anything may have been set without SQL: restore every pragma.
            for (name, value) in &baseline.values {
                set_pragma(&entry.conn, name, value)?;
            }
        } else {
            for (schema, name) in pragmas {
                restore_pragma(entry, baseline, schema.as_deref(), &name)?;
            }
        }
        if changes & watch::FUNCTIONS != 0 {
            let (functions, collations) = watch.take_functions();
            for (name, n_arg) in functions {
                entry.conn.remove_function(name.as_str(), n_arg)?;
            }
            for name in collations {
                entry.conn.remove_collation(name.as_str())?;
            }
        }
        if changes & (watch::HOOKS | watch::RAW) != 0 {
            // Ours too, if it was installed: set again at the next deadline.
            if let Some(deadline) = entry.clock.get() {
                deadline.forget_handler();
            }
        }
        if changes & watch::HOOKS != 0 {
            entry.conn.progress_handler(0, None::<fn() -> bool>)?;
            entry.conn.commit_hook(None::<fn() -> bool>)?;
            entry.conn.rollback_hook(None::<fn()>)?;
            entry.conn.update_hook(None::<fn(rusqlite::hooks::Action, &str, &str, i64)>)?;
        }
        if changes & (watch::PRAGMA | watch::RAW) != 0 {
            // Never trust the cached lane state a lease could have changed.
            entry.query_only = entry.conn.query_row("PRAGMA query_only", [], |r| r.get(0))?;
        }
        Ok(())
    })
}

/// After a lease that had the raw handle: re-applies what the C API can
/// change without SQL, and, when our authorizer is gone (replaced or removed
/// with `sqlite3_set_authorizer`), reinstalls it and treats everything as
/// changed.
fn check_raw(conn: &Connection, watch: &std::sync::Arc<Watch>, config: &PoolConfig) -> Result<u32, NotReset> {
    conn.busy_timeout(config.busy_timeout)?;
    let before = watch.calls();
    // Preparing anything calls the authorizer, if it is still ours.
    drop(conn.prepare("SELECT 1")?);
    if watch.calls() != before {
        return Ok(0);
    }
    watch.reinstall(conn)?;
    Ok(watch::PRAGMA | watch::TEMP | watch::ATTACH)
}

fn restore_pragma(
    entry: &mut PoolEntry,
    baseline: &Baseline,
    schema: Option<&str>,
    name: &str,
) -> Result<(), NotReset> {
    match schema {
        None | Some("main") => match baseline.get(name) {
            Some(value) => set_pragma(&entry.conn, name, value),
            None => Err(NotReset(format!("PRAGMA {name} has no baseline value to restore"))),
        },
        // A tenant's schema: detach it; the next lease for that tenant
        // attaches it again with the configured pragmas.
        Some(other) if entry.attached.iter().any(|(s, _)| s == other) => {
            entry.conn.execute_batch(&format!("DETACH DATABASE \"{other}\""))?;
            entry.attached.retain(|(s, _)| s != other);
            Ok(())
        }
        Some(other) => Err(NotReset(format!("PRAGMA {other}.{name} cannot be restored"))),
    }
}

/// Runs `PRAGMA main.<name> = <value>`, stepping through any row it returns.
fn set_pragma(conn: &Connection, name: &str, value: &str) -> Result<(), NotReset> {
    let mut stmt = conn.prepare(&format!("PRAGMA main.{name} = {value}"))?;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

/// Drops every TEMP trigger, view and table (indexes go with their tables).
fn drop_temp_objects(conn: &Connection) -> Result<(), NotReset> {
    let objects: Vec<(String, String)> = conn
        .prepare(
            "SELECT type, name FROM temp.sqlite_master WHERE type IN ('trigger', 'view', 'table') \
             ORDER BY CASE type WHEN 'trigger' THEN 0 WHEN 'view' THEN 1 ELSE 2 END",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (kind, name) in objects {
        let name = name.replace('"', "\"\"");
        conn.execute_batch(&format!("DROP {} IF EXISTS temp.\"{name}\"", kind.to_ascii_uppercase()))?;
    }
    Ok(())
}

/// Detaches databases a lease attached, and forgets tenant attachments a
/// lease detached.
fn reconcile_attachments(entry: &mut PoolEntry) -> Result<(), NotReset> {
    let present: Vec<String> = entry
        .conn
        .prepare("SELECT name FROM pragma_database_list")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for schema in &present {
        let known = schema == "main" || schema == "temp" || entry.attached.iter().any(|(s, _)| s == schema);
        if !known {
            entry.conn.execute_batch(&format!("DETACH DATABASE \"{}\"", schema.replace('"', "\"\"")))?;
        }
    }
    entry.attached.retain(|(s, _)| present.contains(s));
    Ok(())
}
