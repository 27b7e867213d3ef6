//! One-call SQL on the pool: [`Pool::query`] and [`Pool::execute`] lease a
//! connection on the right lane (by `sqlite3_stmt_readonly`), run, and give
//! it back.

use rusqlite::types::Value;
use rusqlite::{Connection, Params};

use crate::error::{Error, Result};
use crate::guard::Lane;
use crate::pool::{AcquireOptions, Pool};

/// Every row of a query, with its column names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rows {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Each row's values, in column order.
    pub rows: Vec<Vec<Value>>,
}

/// What a data-changing statement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Executed {
    /// Rows inserted, updated or deleted (`sqlite3_changes`).
    pub changes: u64,
    /// The last inserted rowid on this connection.
    pub last_insert_rowid: i64,
}

/// `sql` after leading white space and `--` / `/* */` comments.
fn skip_comments(mut sql: &str) -> &str {
    loop {
        sql = sql.trim_start();
        if let Some(rest) = sql.strip_prefix("--") {
            sql = rest.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(rest) = sql.strip_prefix("/*") {
            sql = rest.split_once("*/").map_or("", |(_, after)| after);
        } else {
            return sql;
        }
    }
}

/// Refuses transaction-control statements in one-shot calls.
pub(crate) fn refuse_transaction_control(sql: &str) -> Result<()> {
    let word: String =
        skip_comments(sql).chars().take_while(char::is_ascii_alphabetic).map(|c| c.to_ascii_uppercase()).collect();
    if matches!(word.as_str(), "BEGIN" | "COMMIT" | "END" | "ROLLBACK" | "SAVEPOINT" | "RELEASE") {
        return Err(Error::Misuse(format!(
            "{word} through a one-shot query/execute would end with its lease; hold a lease \
             (write() and its transaction()) to run a transaction"
        )));
    }
    Ok(())
}

pub(crate) fn collect_rows<P: Params>(conn: &Connection, sql: &str, params: P) -> rusqlite::Result<Rows> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut out = Vec::new();
    let mut rows = stmt.query(params)?;
    while let Some(row) = rows.next()? {
        out.push(row_values(row)?);
    }
    drop(rows);
    // Names are read after stepping: a cached statement is re-prepared at
    // its first step if the schema changed, and its old names are stale.
    let columns = stmt.column_names().into_iter().map(str::to_owned).collect();
    Ok(Rows { columns, rows: out })
}

fn row_values(row: &rusqlite::Row<'_>) -> rusqlite::Result<Vec<Value>> {
    let width = row.as_ref().column_count();
    (0..width).map(|i| row.get::<_, Value>(i)).collect()
}

pub(crate) fn run<P: Params>(conn: &Connection, sql: &str, params: P) -> rusqlite::Result<Executed> {
    let mut stmt = conn.prepare_cached(sql)?;
    // raw_execute-like: step through any rows a RETURNING clause yields.
    let mut rows = stmt.query(params)?;
    while rows.next()?.is_some() {}
    drop(rows);
    Ok(Executed { changes: conn.changes(), last_insert_rowid: conn.last_insert_rowid() })
}

impl Pool {
    /// Runs `sql` on a pooled connection and returns every row. Read-only
    /// statements run without the write gate; others take the write lane.
    #[track_caller]
    pub fn query<P: Params>(&self, sql: &str, params: P) -> Result<Rows> {
        self.query_as(None, sql, params)
    }

    /// Runs a data-changing `sql` (routed like [`Pool::query`]).
    #[track_caller]
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<Executed> {
        self.execute_as(None, sql, params)
    }

    /// Runs a multi-statement script on the write lane.
    #[track_caller]
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        self.acquire(AcquireOptions::lane(Lane::Write))?.execute_batch(sql)
    }

    /// [`Pool::query`] with tenant `code` attached (`None`: no tenant).
    #[track_caller]
    pub fn query_as<P: Params>(&self, tenant: Option<&str>, sql: &str, params: P) -> Result<Rows> {
        let conn = self.routed(tenant, sql)?;
        conn.query_rows(sql, params)
    }

    /// [`Pool::execute`] with tenant `code` attached (`None`: no tenant).
    #[track_caller]
    pub fn execute_as<P: Params>(&self, tenant: Option<&str>, sql: &str, params: P) -> Result<Executed> {
        let conn = self.routed(tenant, sql)?;
        conn.run(sql, params)
    }

    /// Leases the lane `sql` needs: an ordinary lease for read-only
    /// statements, the write lane otherwise.
    ///
    /// Transaction control (`BEGIN`, `COMMIT`, `SAVEPOINT`…) is refused with
    /// [`Error::Misuse`]: the lease ends with the statement, so the
    /// transaction would be rolled back at once. Hold a lease instead.
    #[track_caller]
    pub fn routed(&self, tenant: Option<&str>, sql: &str) -> Result<crate::PooledConnection> {
        refuse_transaction_control(sql)?;
        let opts = |lane| AcquireOptions { lane, tenant: tenant.map(str::to_owned), ..AcquireOptions::default() };
        match self.shared().cached_read_only(sql) {
            Some(true) => return self.acquire(opts(Lane::Any)),
            Some(false) => {}
            None => {
                let conn = self.acquire(opts(Lane::Any))?;
                if self.shared().probe_read_only(&conn, sql).map_err(Error::Sqlite)? {
                    return Ok(conn);
                }
            }
        }
        self.acquire(opts(Lane::Write))
    }

    /// The lane [`Pool::routed`] picks for `sql`, if the pool has already
    /// learned it: [`Lane::Any`] for read-only statements, [`Lane::Write`]
    /// otherwise. For callers that acquire asynchronously and route themselves
    /// (the Node and Python bindings).
    pub fn known_lane(&self, sql: &str) -> Option<Lane> {
        self.shared().cached_read_only(sql).map(|ro| if ro { Lane::Any } else { Lane::Write })
    }

    /// Prepares `sql` on `conn` to learn the lane it needs (as
    /// [`Pool::known_lane`]), and remembers the answer.
    pub fn learn_lane(&self, conn: &Connection, sql: &str) -> Result<Lane> {
        let ro = self.shared().probe_read_only(conn, sql).map_err(Error::Sqlite)?;
        Ok(if ro { Lane::Any } else { Lane::Write })
    }
}
