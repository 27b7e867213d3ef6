//! The route cache: `sqlite3_stmt_readonly` answers per SQL text, so a
//! statement the pool has prepared once is routed without preparing it.

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::sql::call::Sql;

/// How many SQL texts the route cache remembers before it starts afresh.
const ROUTES_KEPT: usize = 1024;

/// What the pool learned about one SQL text.
#[derive(Clone, Copy, Default)]
struct Known {
    read_only: Option<bool>,
    stateful: Option<bool>,
}

/// `sqlite3_stmt_readonly` answers per SQL text, and whether running it
/// changed the connection's own state (learned by sessions).
#[derive(Default)]
pub(crate) struct Routes {
    map: Mutex<HashMap<Box<str>, Known>>,
}

impl Routes {
    /// Whether `sql` is read-only, if known.
    pub fn known(&self, sql: &Sql) -> Option<bool> {
        if let Some(ro) = sql.read_only() {
            return Some(ro);
        }
        let ro = self.map.lock().get(sql.as_str())?.read_only?;
        sql.learn(ro);
        Some(ro)
    }

    /// Whether running `sql` changes the connection's own state, if a
    /// session has run it.
    pub fn stateful(&self, sql: &Sql) -> Option<bool> {
        if let Some(st) = sql.changes_connection() {
            return Some(st);
        }
        let st = self.map.lock().get(sql.as_str())?.stateful?;
        sql.learn_state(st);
        Some(st)
    }

    pub fn learn(&self, sql: &Sql, read_only: bool) {
        sql.learn(read_only);
        self.update(sql, |k| k.read_only = Some(read_only));
    }

    pub fn learn_state(&self, sql: &Sql, stateful: bool) {
        sql.learn_state(stateful);
        self.update(sql, |k| k.stateful = Some(stateful));
    }

    fn update(&self, sql: &Sql, f: impl FnOnce(&mut Known)) {
        let mut map = self.map.lock();
        if map.len() >= ROUTES_KEPT && !map.contains_key(sql.as_str()) {
            map.clear();
        }
        f(map.entry(sql.as_str().into()).or_default());
    }
}
