//! A thread's recent SQL texts, each as the shared [`Sql`] it was first
//! sent as ([`Pool::sql`]). A binding that receives SQL as a string on
//! every call (Python's `pool.query`, Node's `pool.get(sql)`) sends the same
//! `Sql` again: no copy of the text, and routed by what the pool learned
//! about it (carried on the `Sql`) instead of a look-up under the pool's
//! route lock. Per thread, so no lock either.

use std::cell::RefCell;

use crate::pool::Pool;
use crate::sql::call::Sql;

/// How many SQL texts a thread keeps (over all pools).
const RECENT_KEPT: usize = 16;

thread_local! {
    /// Newest first, with the id of the pool each was sent to.
    static RECENT: RefCell<Vec<(usize, Sql)>> = const { RefCell::new(Vec::new()) };
}

impl Pool {
    /// `text` as a shared [`Sql`]: the one this thread got for the same
    /// text and pool among its last 16, else a new one (kept). Cheaper than
    /// [`Sql::new`] for SQL a thread sends again and again.
    pub fn sql(&self, text: &str) -> Sql {
        let pool = self.shared().id;
        RECENT.with(|recent| {
            let mut recent = recent.borrow_mut();
            if let Some((_, sql)) = recent.iter().find(|(id, sql)| *id == pool && sql.as_str() == text) {
                return sql.clone();
            }
            let sql = Sql::new(text);
            recent.truncate(RECENT_KEPT - 1);
            recent.insert(0, (pool, sql.clone()));
            sql
        })
    }
}
