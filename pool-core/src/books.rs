//! The lock on a pool's books ([`Slots`]). std's `Mutex` (a futex on its own
//! word), so that a fork cannot leave it held in the child: the forking
//! thread takes every pool's books before `fork()` (`fork.rs`), so no other
//! thread of the parent holds them at that moment, and both processes
//! release them after. A parking_lot lock could not be released safely in
//! the child: its waiters park through a process-wide table whose bucket
//! locks a fork can leave held for good.

use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use crate::slots::Slots;

/// A pool's books behind their lock.
pub(crate) struct Books(Mutex<Slots>);

/// The books, locked.
pub(crate) type BooksGuard<'a> = MutexGuard<'a, Slots>;

impl Books {
    pub(crate) fn new(slots: Slots) -> Self {
        Books(Mutex::new(slots))
    }

    /// Locks the books. Nothing that runs under this lock calls out to user
    /// code, and a panic under it (a bug) leaves the books as they were
    /// between whole updates, so a poisoned lock is taken as it is.
    #[inline]
    pub(crate) fn lock(&self) -> BooksGuard<'_> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the books if nobody holds them.
    pub(crate) fn try_lock(&self) -> Option<BooksGuard<'_>> {
        match self.0.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}
