//! Fork detection without a system call per acquire.
//!
//! `getpid()` is a real system call (about 200 ns in a VM), too dear for
//! every acquire. Instead a `pthread_atfork` child handler bumps a process-
//! wide generation; the pool compares one atomic per acquire and, when it
//! changed, confirms with `getpid()` and forgets the parent's connections.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Once;

use std::sync::atomic::AtomicBool;

static GENERATION: AtomicU64 = AtomicU64::new(0);
static REGISTER: Once = Once::new();
/// Set when the handler could not be installed: then every check asks getpid().
static UNWATCHED: AtomicBool = AtomicBool::new(false);

extern "C" fn in_child() {
    // Only an atomic increment: async-signal-safe, as a fork handler must be.
    GENERATION.fetch_add(1, Relaxed);
}

/// Installs the fork handler once per process.
pub(crate) fn watch() {
    REGISTER.call_once(|| {
        // SAFETY: `in_child` is a plain `extern "C"` function that only
        // touches a static atomic; passing `None` for the prepare/parent
        // handlers is allowed by POSIX. The call has no other preconditions.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
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
