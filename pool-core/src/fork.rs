//! Fork detection without a system call per acquire, and the pool's own
//! locks kept whole across a fork.
//!
//! `getpid()` is a real system call (about 200 ns in a VM), too dear for
//! every acquire. Instead a `pthread_atfork` child handler bumps a process-
//! wide generation; the pool compares one atomic per acquire and, when it
//! changed, confirms with `getpid()` and forgets the parent's connections.
//!
//! The child's first acquire then locks the pool's books and reads its
//! parked-lease registry: if another thread of the parent held either at
//! the fork, it stayed locked in the child for good and the child hung
//! (Python `test_60_fork`, parent threads leasing while the test forked).
//! So the prepare handler takes both, for every live pool, in the forking
//! thread, which leaves no other thread holding them at the fork, and the
//! parent and child handlers release them (`books.rs`).
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, Once, PoisonError, Weak};
use std::time::{Duration, Instant};

use crate::books::{Books, BooksGuard, ForkMutex};
use crate::parking::Reclaim;
use crate::shared::Shared;

use std::sync::atomic::AtomicBool;

static GENERATION: AtomicU64 = AtomicU64::new(0);
static REGISTER: Once = Once::new();
/// Set when the handler could not be installed: then every check asks getpid().
static UNWATCHED: AtomicBool = AtomicBool::new(false);

/// Every pool opened in this process (dead ones pruned as pools register).
static POOLS: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

/// How long the prepare handler waits for one of a pool's locks before it
/// forks without holding it (a thread that forks from inside a pool's own
/// critical section, or a lock cycle: the child may then hang as before).
const PREPARE_WAIT: Duration = Duration::from_secs(1);

/// One pool's locks held across a fork, with the pool they belong to.
struct PoolHeld {
    _books: Option<BooksGuard<'static>>,
    _spots: Option<MutexGuard<'static, Vec<Weak<dyn Reclaim>>>>,
    _pool: Arc<Shared>,
}

/// What the forking thread holds across a fork: the registry, and each
/// pool's locks.
struct Held {
    registry: Option<MutexGuard<'static, Vec<Weak<Shared>>>>,
    pools: Vec<PoolHeld>,
}

thread_local! {
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

/// Keeps `shared`'s locks whole across forks from now on.
pub(crate) fn register(shared: &Arc<Shared>) {
    let mut pools = POOLS.lock().unwrap_or_else(PoisonError::into_inner);
    pools.retain(|p| p.strong_count() > 0);
    pools.push(Arc::downgrade(shared));
}

/// Locks `lock` within [`PREPARE_WAIT`], or gives up.
fn hold<T>(lock: &'static ForkMutex<T>) -> Option<MutexGuard<'static, T>> {
    let until = Instant::now() + PREPARE_WAIT;
    loop {
        if let Some(guard) = lock.try_lock() {
            return Some(guard);
        }
        if Instant::now() >= until {
            return None;
        }
        std::thread::yield_now();
    }
}

/// `shared`'s books, then its parked-lease registry (the order the pool
/// takes them in: a queueing caller reads the registry after the books).
fn hold_pool(shared: Arc<Shared>) -> PoolHeld {
    // SAFETY: the guards borrow from `*shared`; they are stored next to a
    // clone of `shared` (in `PoolHeld`) and dropped before it (field
    // order), so what they borrow outlives them.
    let (books, spots): (&'static Books, &'static ForkMutex<Vec<Weak<dyn Reclaim>>>) =
        unsafe { (&*std::ptr::addr_of!(shared.slots), &*std::ptr::addr_of!(shared.parking.spots)) };
    PoolHeld { _books: hold(books), _spots: hold(spots), _pool: shared }
}

extern "C" fn before_fork() {
    // Runs in the forking thread before fork(): ordinary code is allowed.
    let registry = POOLS.lock().unwrap_or_else(PoisonError::into_inner);
    let pools: Vec<PoolHeld> = registry.iter().filter_map(Weak::upgrade).map(hold_pool).collect();
    HELD.with(|held| *held.borrow_mut() = Some(Held { registry: Some(registry), pools }));
}

/// After the fork, in either process (the forking thread, which holds
/// them): releases each pool's locks, then the registry.
fn release_held() {
    let held = HELD.with(|held| held.borrow_mut().take());
    if let Some(mut held) = held {
        // Each pool's guards unlock before its clone drops (field order).
        held.pools.clear();
        held.registry.take();
    }
}

extern "C" fn in_parent() {
    release_held();
}

extern "C" fn in_child() {
    GENERATION.fetch_add(1, Relaxed);
    // Unlocking a std mutex is an atomic swap (and a futex wake when it had
    // waiters: a syscall on its own word, no process-wide table), and glibc
    // keeps malloc usable in the child.
    release_held();
}

/// Installs the fork handler once per process.
pub(crate) fn watch() {
    REGISTER.call_once(|| {
        // SAFETY: the three handlers are plain `extern "C"` functions that
        // do not unwind (they take locks and touch statics); the call has
        // no other preconditions.
        let rc = unsafe { libc::pthread_atfork(Some(before_fork), Some(in_parent), Some(in_child)) };
        if rc != 0 {
            UNWATCHED.store(true, Relaxed);
            log::warn!("litepool: pthread_atfork failed ({rc}); fork detection falls back to getpid()");
        }
    });
}

/// How many times this process (or its ancestors) forked since the pool
/// library was loaded. Cheap: one relaxed atomic load.
#[inline]
pub(crate) fn generation() -> u64 {
    GENERATION.load(Relaxed)
}

/// Whether the fork handler is missing, so callers must compare pids.
#[inline]
pub(crate) fn unwatched() -> bool {
    UNWATCHED.load(Relaxed)
}
