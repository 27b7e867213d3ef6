//! Load shedding: refuse a caller at once, with `LITEPOOL_OVERLOADED`,
//! rather than queue it to time out.
//!
//! When a caller would queue (for a connection, or at the write gate), the
//! pool estimates its wait: the callers ahead of it, plus itself, times the
//! recent mean hold time of a lease (an EWMA), divided by the connections
//! serving the queue (`max_size`; 1 at the write gate, which admits one
//! writer at a time). With `shed_load`, a caller whose remaining timeout is
//! shorter than that is refused; with `max_waiting`, a caller finding that
//! many already queued is. Both checks run only on the queueing path: a
//! direct acquire never reaches them, and with both off they cost nothing.
//!
//! The hold time comes from the lease-usage histogram the pool keeps anyway
//! (`metrics.rs`): its count and sum are sampled at most every
//! [`SAMPLE_EVERY`] when someone asks, and each interval's mean is folded
//! into the EWMA. Nothing is added to the release path.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::clock::Deadline;
use crate::error::{Error, Result};
use crate::gate::WriteGate;
use crate::metrics::Histogram;
use crate::shared::Shared;
use crate::stats::State;

/// How often the hold-time histogram is sampled into the EWMA.
pub(crate) const SAMPLE_EVERY: Duration = Duration::from_millis(10);

/// The share of a caller's remaining timeout the expected wait may take:
/// the estimate leaves out the hand-off between one lease and the next,
/// so a caller admitted right at its timeout would often miss it.
const HEADROOM: f64 = 0.9;

/// Weight of the newest interval's mean hold time in the EWMA.
const ALPHA: f64 = 0.3;

/// Why a caller was shed (the `reason` label of `litepool_shed_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// `max_waiting` callers already queued.
    QueueFull,
    /// The expected wait exceeded the caller's remaining timeout.
    ExpectedWait,
}

#[derive(Default)]
struct Sample {
    at: Option<Instant>,
    count: u64,
    sum_nanos: u64,
}

/// The EWMA of lease hold times and the shed counters.
#[derive(Default)]
pub(crate) struct Shedder {
    /// The EWMA in ns; 0: no lease has ended yet.
    ewma_nanos: AtomicU64,
    sample: Mutex<Sample>,
    pub shed_queue_full: AtomicU64,
    pub shed_expected_wait: AtomicU64,
}

impl Shedder {
    /// The recent mean hold time of a lease (sampling `usage` if due).
    pub fn mean_hold(&self, usage: &Histogram) -> Duration {
        let now = Instant::now();
        if let Some(mut s) = self.sample.try_lock() {
            let due = match s.at {
                None => true,
                Some(at) => now.duration_since(at) >= SAMPLE_EVERY,
            };
            if due {
                let (count, sum) = usage.totals();
                let (dc, ds) = (count.saturating_sub(s.count), sum.saturating_sub(s.sum_nanos));
                if dc > 0 {
                    let mean = ds as f64 / dc as f64;
                    let old = self.ewma_nanos.load(Relaxed);
                    let new = if old == 0 { mean } else { old as f64 * (1.0 - ALPHA) + mean * ALPHA };
                    self.ewma_nanos.store((new as u64).max(1), Relaxed);
                }
                *s = Sample { at: Some(now), count, sum_nanos: sum };
            }
        }
        Duration::from_nanos(self.ewma_nanos.load(Relaxed))
    }

    /// Callers shed so far, in all.
    pub fn shed(&self) -> u64 {
        self.shed_queue_full.load(Relaxed) + self.shed_expected_wait.load(Relaxed)
    }
}

/// The wait a caller joining a queue `ahead` long can expect, served by
/// `servers` at a mean hold time of `hold`.
pub(crate) fn expected_wait(ahead: u32, servers: u32, hold: Duration) -> Duration {
    hold.mul_f64(f64::from(ahead + 1) / f64::from(servers.max(1)))
}

impl Shared {
    /// Whether shedding is configured at all (the queueing paths check this
    /// before anything else).
    #[inline]
    pub(crate) fn sheds(&self) -> bool {
        self.config.max_waiting != 0 || self.config.shed_load
    }

    /// Admits or refuses a caller about to queue behind `ahead` others for
    /// one of `servers`; `state` describes the pool for the error.
    pub(crate) fn admit(&self, ahead: u32, servers: u32, deadline: &mut Deadline, state: State) -> Result<()> {
        let hold = self.shed.mean_hold(&self.metrics.usage);
        let expected = expected_wait(ahead, servers, hold);
        let remaining = deadline.at().saturating_duration_since(Instant::now());
        let reason = if self.config.max_waiting != 0 && ahead >= self.config.max_waiting {
            Reason::QueueFull
        } else if self.config.shed_load && !hold.is_zero() && expected > remaining.mul_f64(HEADROOM) {
            Reason::ExpectedWait
        } else {
            return Ok(());
        };
        let (counter, why) = match reason {
            Reason::QueueFull => (&self.shed.shed_queue_full, "the queue is full (max_waiting)"),
            Reason::ExpectedWait => (&self.shed.shed_expected_wait, "the expected wait exceeds the timeout"),
        };
        counter.fetch_add(1, Relaxed);
        Err(Error::Overloaded { reason: why, expected, timeout: remaining, state })
    }

    /// [`Shared::admit`] for a writer about to queue at `gate`.
    pub(crate) fn admit_at_gate(&self, gate: &Arc<WriteGate>, deadline: &mut Deadline) -> Result<()> {
        let ahead = gate.waiting(self.id) as u32;
        if ahead == 0 {
            return Ok(());
        }
        let state = self.state();
        self.admit(ahead, 1, deadline, state)
    }

    /// The wait a caller queueing for a connection now can expect (the
    /// `litepool_expected_wait_seconds` gauge).
    pub(crate) fn expected_wait_now(&self) -> Duration {
        let state = self.state();
        if state.waiting == 0 && state.idle > 0 {
            return Duration::ZERO;
        }
        expected_wait(state.waiting, state.max, self.shed.mean_hold(&self.metrics.usage))
    }
}

/// The shedding metrics: the expected wait now and what was shed, by reason.
pub(crate) fn metrics_text(shared: &Shared) -> String {
    let l = format!("pool=\"{}\"", shared.config.name);
    let mut out = String::new();
    let expected = shared.expected_wait_now().as_secs_f64();
    crate::metrics::gauge(
        &mut out,
        "litepool_expected_wait_seconds",
        "The wait a caller queueing now can expect (queue x mean hold time / connections).",
        &l,
        expected,
    );
    let hold = shared.shed.mean_hold(&shared.metrics.usage).as_secs_f64();
    crate::metrics::gauge(&mut out, "litepool_hold_ewma_seconds", "Recent mean lease hold time (EWMA).", &l, hold);
    out.push_str(
        "# HELP litepool_shed_total Callers refused with LITEPOOL_OVERLOADED, by reason.\n# TYPE litepool_shed_total counter\n",
    );
    for (reason, n) in [
        ("queue_full", shared.shed.shed_queue_full.load(Relaxed)),
        ("expected_wait", shared.shed.shed_expected_wait.load(Relaxed)),
    ] {
        out.push_str(&format!("litepool_shed_total{{{l},reason=\"{reason}\"}} {n}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expected_wait_grows_with_the_queue_and_shrinks_with_the_servers() {
        let hold = Duration::from_millis(10);
        assert_eq!(expected_wait(0, 1, hold), hold);
        assert_eq!(expected_wait(9, 1, hold), Duration::from_millis(100));
        assert_eq!(expected_wait(9, 10, hold), Duration::from_millis(10));
        assert_eq!(expected_wait(3, 0, hold), Duration::from_millis(40), "no servers counts as one");
    }

    #[test]
    fn the_mean_hold_follows_the_usage_histogram() {
        let usage = Histogram::default();
        let shed = Shedder::default();
        assert_eq!(shed.mean_hold(&usage), Duration::ZERO, "no lease ended yet");
        for _ in 0..10 {
            usage.observe(Duration::from_millis(4));
        }
        std::thread::sleep(SAMPLE_EVERY);
        assert_eq!(shed.mean_hold(&usage), Duration::from_millis(4));
        for _ in 0..10 {
            usage.observe(Duration::from_millis(14));
        }
        std::thread::sleep(SAMPLE_EVERY);
        let mean = shed.mean_hold(&usage);
        assert_eq!(mean, Duration::from_millis(7), "4 ms x 0.7 + 14 ms x 0.3");
    }
}
