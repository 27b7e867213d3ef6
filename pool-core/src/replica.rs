//! Read replicas and loadable extensions: a [`Pool`] over a Litestream
//! replica through the Litestream VFS, read-only by construction, its lag
//! ([`ReplicaStatus`]), and commit tokens for read-your-writes.
//!
//! - `extension` loads a SQLite loadable extension once per process (the
//!   Litestream VFS registers itself process-wide when loaded). The loading
//!   connection is kept open for the life of the process: closing it would
//!   unload the library while the VFS it registered is in use.
//! - `replica_url` makes the pool a replica: connections open read-only,
//!   as `file:<path>?vfs=litestream&replica_url=<url>` (the VFS reads the
//!   URL from the URI), skip the journal pragmas, and every write — a
//!   `write()` lease, a writing statement — fails with
//!   [`Error::ReadOnlyReplica`] (`LITEPOOL_READ_ONLY_REPLICA`).
//! - Commit tokens: [`Pool::commit_token`] on the primary commits a marker
//!   (a counter in table `_litepool_commit`) after the caller's writes and
//!   returns its value; [`Pool::read_at_least`] on a replica waits, within
//!   the acquire timeout, for a read lease that sees it. Commits are
//!   ordered, so a replica that has the marker has every write before it.

#![allow(unsafe_code)]

use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::guard::PooledConnection;
use crate::pool::Pool;
use crate::stats::State;

/// Extensions this process loaded, with the connections that keep them loaded.
static LOADED: Mutex<Vec<(String, Connection)>> = Mutex::new(Vec::new());

/// Loads the SQLite extension at `path` into this process, once. Called
/// before the pool's first connection opens, so a VFS it registers is there.
pub(crate) fn load_extension(path: &str) -> Result<()> {
    let mut loaded = LOADED.lock();
    if loaded.iter().any(|(p, _)| p == path) {
        return Ok(());
    }
    let conn = Connection::open_in_memory()?;
    // SAFETY: loading runs the library's init code, so the library must be
    // trusted; the pool's user named it in `extension` for exactly this. No
    // SQL runs on `conn` while loading is enabled, and it is disabled again
    // (by the guard) before `conn` is used or stored.
    let outcome =
        unsafe { rusqlite::LoadExtensionGuard::new(&conn).and_then(|_guard| conn.load_extension(path, None::<&str>)) };
    outcome.map_err(|e| Error::InvalidConfig { field: "extension", reason: format!("cannot load {path:?}: {e}") })?;
    loaded.push((path.to_owned(), conn));
    drop(loaded);
    undo_failing_auto_extension(path);
    Ok(())
}

/// litestream-vfs 0.5.17 also registers an auto-extension that fails every
/// later connection not opened through its VFS ("automatic extension loading
/// failed", in this process only: ordinary pools, Python's `sqlite3`…). When
/// a fresh in-memory connection shows that, the process's auto-extensions
/// are reset; the VFS itself (and its pragmas) keeps working.
fn undo_failing_auto_extension(path: &str) {
    let broken = |e: &rusqlite::Error| e.to_string().contains("automatic extension loading failed");
    match Connection::open_in_memory().and_then(|c| c.query_row("SELECT 1", [], |_| Ok(()))) {
        Err(e) if broken(&e) => {
            log::warn!(
                "litepool: {path} registered an auto-extension that fails ordinary connections ({e}); \
                 resetting the process's auto-extensions"
            );
            // SAFETY: sqlite3_reset_auto_extension takes no arguments and is
            // thread-safe (it holds SQLite's static mutex); it only unregisters.
            unsafe { rusqlite::ffi::sqlite3_reset_auto_extension() };
        }
        _ => {}
    }
}

/// `url` as the value of a URI query parameter.
pub(crate) fn uri_component(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for b in url.bytes() {
        match b {
            b'%' | b'&' | b'#' | b'?' | b'=' | b' ' | b'+' | 0..=0x1f | 0x7f..=0xff => {
                out.push_str(&format!("%{b:02X}"));
            }
            _ => out.push(char::from(b)),
        }
    }
    out
}

/// Where a replica is: Litestream's position and lag, read from its VFS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaStatus {
    /// The replica URL it follows.
    pub url: String,
    /// The last Litestream transaction id applied (`PRAGMA litestream_txid`).
    pub txid: u64,
    /// Seconds since the replica last caught up with the primary, as the VFS
    /// states it (`PRAGMA litestream_lag`; -1 before its first poll).
    pub lag_seconds: i64,
    /// The last commit token it has (0: none yet).
    pub token: u64,
}

const TOKEN_TABLE: &str = "CREATE TABLE IF NOT EXISTS _litepool_commit \
     (id INTEGER PRIMARY KEY CHECK (id = 1), token INTEGER NOT NULL)";

/// The commit token a connection sees (0 before the first).
fn token_on(conn: &Connection) -> Result<u64> {
    match conn.query_row("SELECT token FROM _litepool_commit WHERE id = 1", [], |r| r.get::<_, i64>(0)) {
        Ok(t) => Ok(u64::try_from(t).unwrap_or(0)),
        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(0),
        Err(rusqlite::Error::SqliteFailure(_, Some(msg))) if msg.contains("no such table") => Ok(0),
        Err(e) => Err(e.into()),
    }
}

impl Pool {
    /// The replica URL, when this pool is a read-only replica.
    pub fn replica_url(&self) -> Option<&str> {
        self.config().replica_url.as_deref()
    }

    /// On the primary: commits a marker after everything this caller wrote
    /// and returns it as a token for [`Pool::read_at_least`] on a replica.
    #[track_caller]
    pub fn commit_token(&self) -> Result<u64> {
        if let Some(url) = self.replica_url() {
            return Err(Error::ReadOnlyReplica(url.to_owned()));
        }
        let lease = self.write()?;
        lease.execute_batch(TOKEN_TABLE)?;
        let token: i64 = lease
            .query_row(
                "INSERT INTO _litepool_commit VALUES (1, 1) \
                 ON CONFLICT(id) DO UPDATE SET token = token + 1 RETURNING token",
                [],
                |r| r.get(0),
            )
            .map_err(|e| lease.error(e))?;
        Ok(u64::try_from(token).unwrap_or(0))
    }

    /// A read lease that sees at least commit `token` (from
    /// [`Pool::commit_token`] on the primary): polls the replica within the
    /// acquire timeout, then fails with `LITEPOOL_TIMEOUT` naming the token
    /// and where the replica is.
    #[track_caller]
    pub fn read_at_least(&self, token: u64) -> Result<PooledConnection> {
        let start = Instant::now();
        let timeout = self.config().acquire_timeout;
        loop {
            let lease = self.read()?;
            let seen = token_on(&lease)?;
            if seen >= token {
                return Ok(lease);
            }
            drop(lease);
            if start.elapsed() >= timeout {
                return Err(Error::Timeout {
                    what: "the replica to reach a commit token",
                    waited: start.elapsed(),
                    state: self.state(),
                    last_error: Some(format!("the replica has commit token {seen}, the caller asked for {token}")),
                });
            }
            std::thread::sleep(Duration::from_millis(20).min(timeout.saturating_sub(start.elapsed())));
        }
    }

    /// Where this replica is (position, lag, token); `None` for a primary.
    pub fn replica_status(&self) -> Result<Option<ReplicaStatus>> {
        let Some(url) = self.replica_url() else { return Ok(None) };
        let lease = self.read()?;
        // The VFS answers both as text (the txid in hex).
        let text = |pragma: &str| -> Result<String> {
            let v: rusqlite::types::Value = lease.query_row(&format!("PRAGMA {pragma}"), [], |r| r.get(0))?;
            Ok(match v {
                rusqlite::types::Value::Text(t) => t,
                rusqlite::types::Value::Integer(i) => i.to_string(),
                _ => String::new(),
            })
        };
        let txid = text("litestream_txid")?;
        let lag = text("litestream_lag")?.trim().parse().unwrap_or(-1);
        Ok(Some(ReplicaStatus {
            url: url.to_owned(),
            txid: u64::from_str_radix(txid.trim(), 16).unwrap_or(0),
            lag_seconds: lag,
            token: token_on(&lease)?,
        }))
    }
}

/// The metrics of a replica pool (empty for a primary, or when no
/// connection is free to ask).
pub(crate) fn metrics_text(pool: &Pool, state: &State) -> String {
    if pool.replica_url().is_none() || state.idle == 0 {
        return String::new();
    }
    let Ok(Some(status)) = pool.replica_status() else { return String::new() };
    let name = &pool.config().name;
    format!(
        "# HELP litepool_replica_txid Litestream transaction id the replica has applied.\n\
         # TYPE litepool_replica_txid gauge\nlitepool_replica_txid{{pool=\"{name}\"}} {}\n\
         # HELP litepool_replica_lag_seconds Seconds since the replica last caught up (-1: unknown).\n\
         # TYPE litepool_replica_lag_seconds gauge\nlitepool_replica_lag_seconds{{pool=\"{name}\"}} {}\n",
        status.txid, status.lag_seconds
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_escaped_for_a_uri_parameter() {
        assert_eq!(uri_component("file:///tmp/r"), "file:///tmp/r");
        assert_eq!(uri_component("s3://b/p?x=1&y#z"), "s3://b/p%3Fx%3D1%26y%23z");
        assert_eq!(uri_component("/a b%"), "/a%20b%25");
    }

    #[test]
    fn a_missing_extension_is_a_config_error_naming_it() {
        let err = load_extension("/nonexistent/litestream-vfs.so").unwrap_err();
        assert_eq!(err.code(), "LITEPOOL_INVALID_CONFIG");
        assert!(err.to_string().contains("/nonexistent/litestream-vfs.so"), "{err}");
    }
}
