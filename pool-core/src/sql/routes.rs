//! The route cache: `sqlite3_stmt_readonly` answers per SQL text, so a
//! statement the pool has prepared once is routed without preparing it.

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::sql::call::Sql;

/// How many SQL texts the route cache remembers before it starts afresh.
const ROUTES_KEPT: usize = 1024;

/// `sqlite3_stmt_readonly` answers per SQL text.
#[derive(Default)]
pub(crate) struct Routes {
    map: Mutex<HashMap<Box<str>, bool>>,
}

impl Routes {
    /// Whether `sql` is read-only, if known.
    pub fn known(&self, sql: &Sql) -> Option<bool> {
        if let Some(ro) = sql.read_only() {
            return Some(ro);
        }
        let ro = self.map.lock().get(sql.as_str()).copied()?;
        sql.learn(ro);
        Some(ro)
    }

    pub fn learn(&self, sql: &Sql, read_only: bool) {
        sql.learn(read_only);
        let mut map = self.map.lock();
        if map.len() >= ROUTES_KEPT {
            map.clear();
        }
        map.insert(sql.as_str().into(), read_only);
    }
}
