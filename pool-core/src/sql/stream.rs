//! Statements kept open across calls on one lease, so a binding's cursor
//! can step its rows in batches as it is iterated (memory stays flat for a
//! million rows) instead of collecting every row up front.
//!
//! Open blobs (`sqlite3_blob_open`) are kept the same way: a handle that
//! SQLite expires when its row changes.
//!
//! A statement borrows its connection, and the lease owns the connection:
//! [`Live`] holds both (a self-referential pair, built with `self_cell`), so
//! a session keeps its open statements for as long as it keeps its lease.

use rusqlite::blob::Blob;
use rusqlite::{CachedStatement, Statement};

use crate::error::Result;
use crate::guard::PooledConnection;
use crate::sql::rowbuf::RowBuf;

/// An open statement of a session (from [`Session::open`](crate::sql::Session::open)).
/// Ids are never reused within a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamId(pub(crate) u64);

impl StreamId {
    /// The id as a number (for a binding to hand out).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for StreamId {
    fn from(id: u64) -> StreamId {
        StreamId(id)
    }
}

/// A statement stepped part-way.
pub(crate) struct Stream<'c> {
    id: u64,
    pub(crate) stmt: CachedStatement<'c>,
    /// `sqlite3_stmt_readonly`: a statement that writes keeps the write gate.
    pub(crate) read_only: bool,
}

/// The statements and blobs open on a lease.
#[derive(Default)]
pub(crate) struct Open<'c> {
    streams: Vec<Stream<'c>>,
    blobs: Vec<(u64, Blob<'c>)>,
}

impl<'c> Open<'c> {
    pub(crate) fn insert(&mut self, id: StreamId, stmt: CachedStatement<'c>, read_only: bool) {
        self.streams.push(Stream { id: id.0, stmt, read_only });
    }

    pub(crate) fn get_mut(&mut self, id: StreamId) -> Option<&mut Stream<'c>> {
        self.streams.iter_mut().find(|s| s.id == id.0)
    }

    /// Takes stream `id` out (dropping it resets the statement and returns
    /// it to the connection's cache).
    pub(crate) fn remove(&mut self, id: StreamId) -> Option<Stream<'c>> {
        let at = self.streams.iter().position(|s| s.id == id.0)?;
        Some(self.streams.swap_remove(at))
    }

    pub(crate) fn len(&self) -> usize {
        self.streams.len()
    }

    pub(crate) fn insert_blob(&mut self, id: StreamId, blob: Blob<'c>) {
        self.blobs.push((id.0, blob));
    }

    pub(crate) fn blob_mut(&mut self, id: StreamId) -> Option<&mut Blob<'c>> {
        self.blobs.iter_mut().find(|(i, _)| *i == id.0).map(|(_, b)| b)
    }

    pub(crate) fn remove_blob(&mut self, id: StreamId) -> Option<Blob<'c>> {
        let at = self.blobs.iter().position(|(i, _)| *i == id.0)?;
        Some(self.blobs.swap_remove(at).1)
    }

    pub(crate) fn blobs(&self) -> usize {
        self.blobs.len()
    }

    /// Whether an open statement writes (`INSERT … RETURNING` stepped part-way).
    pub(crate) fn writes(&self) -> bool {
        self.streams.iter().any(|s| !s.read_only)
    }
}

self_cell::self_cell!(
    struct LiveCell {
        owner: PooledConnection,
        #[covariant]
        dependent: Open,
    }
);

/// A lease and the statements open on it.
pub(crate) struct Live(LiveCell);

// SAFETY: `Open` borrows only the connection inside the `PooledConnection`
// that `LiveCell` owns (its statements and the connection's statement
// cache), and nothing outside a `Live` can hold those borrows: the closures
// of `with_dependent_mut` end before `Live` is usable again. Sending a `Live`
// moves the connection together with every reference to it, exactly like
// sending the `PooledConnection` alone (which is `Send`). `Live` is not
// `Sync`, so no two threads ever reach the connection at once.
#[allow(unsafe_code)]
unsafe impl Send for Live {}

impl Live {
    pub(crate) fn new(lease: PooledConnection) -> Live {
        Live(LiveCell::new(lease, |_| Open::default()))
    }

    pub(crate) fn lease(&self) -> &PooledConnection {
        self.0.borrow_owner()
    }

    pub(crate) fn open(&self) -> &Open<'_> {
        self.0.borrow_dependent()
    }

    /// Runs `f` with the lease and its open statements.
    pub(crate) fn with<R>(&mut self, f: impl for<'c> FnOnce(&'c PooledConnection, &mut Open<'c>) -> R) -> R {
        self.0.with_dependent_mut(f)
    }

    /// Closes every open statement and gives the lease back.
    pub(crate) fn into_lease(self) -> PooledConnection {
        self.0.into_owner()
    }
}

/// Steps `stmt` for up to `max` more rows into `buf`; `true` when it is done
/// (SQLite has reset it). On an error the statement is reset too.
pub(crate) fn step(lease: &PooledConnection, stmt: &mut Statement<'_>, buf: &mut RowBuf, max: usize) -> Result<bool> {
    let mut rows = stmt.raw_query();
    for _ in 0..max {
        match rows.next().map_err(|e| lease.error(e))? {
            Some(row) => buf.push(row).map_err(|e| lease.error(e))?,
            None => return Ok(true),
        }
    }
    // More rows may follow. Dropping `rows` would reset the statement; it
    // holds nothing but a borrow of `stmt`, so forgetting it leaves the
    // statement where it is for the next `raw_query()` to step on.
    std::mem::forget(rows);
    Ok(false)
}
