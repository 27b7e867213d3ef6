//! Counts every lease bumps, spread over cache lines (Java's `LongAdder`).
//!
//! Why: a counter or histogram bucket that every thread writes on every
//! lease is one cache line bouncing between cores. Measured with 8 threads
//! leasing 4 connections on 2 cores: the direct-acquire counter and the
//! lease-time histogram alone cost 17 % of throughput. Each thread writes
//! its own stripe (threads take stripes in turn); readers add them up.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use crossbeam_utils::CachePadded;

/// Stripes per counter: enough that few threads share one on most machines.
pub(crate) const STRIPES: usize = 8;

/// This thread's stripe, below [`STRIPES`].
#[inline]
pub(crate) fn stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local!(static MINE: usize = NEXT.fetch_add(1, Relaxed) % STRIPES);
    MINE.with(|mine| *mine)
}

/// A counter bumped by many threads at once.
#[derive(Default)]
pub(crate) struct StripedCounter([CachePadded<AtomicU64>; STRIPES]);

impl StripedCounter {
    #[inline]
    pub fn add(&self, n: u64) {
        self.0[stripe()].fetch_add(n, Relaxed);
    }

    /// The total (stripes read one after another: not a snapshot of one instant).
    pub fn sum(&self) -> u64 {
        self.0.iter().map(|c| c.load(Relaxed)).sum()
    }
}

impl std::fmt::Debug for StripedCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.sum().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_thread_counts_in_the_total() {
        let c = StripedCounter::default();
        std::thread::scope(|s| {
            for _ in 0..2 * STRIPES {
                s.spawn(|| (0..1000).for_each(|_| c.add(1)));
            }
        });
        c.add(5);
        assert_eq!(c.sum(), 2 * STRIPES as u64 * 1000 + 5);
    }
}
