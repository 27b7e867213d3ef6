//! Prometheus text exposition with HikariCP-style metric names.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crossbeam_utils::CachePadded;

use crate::stats::{State, Statistics};
use crate::striped::{stripe, STRIPES};

/// Upper bounds (seconds) of the latency histograms' buckets.
const BUCKETS: [f64; 12] = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0];

/// The same bounds in nanoseconds: every lease is observed, so the bucket
/// is found without a float conversion.
const BUCKETS_NANOS: [u64; 12] = [
    100_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    500_000_000,
    1_000_000_000,
    5_000_000_000,
];

/// One set of a histogram's cells.
#[derive(Default)]
struct Cells {
    counts: [AtomicU64; BUCKETS.len()],
    overflow: AtomicU64,
    sum_nanos: AtomicU64,
}

/// A fixed-bucket latency histogram updated without locks; one set of
/// cells, or one per stripe ([`Histogram::striped`]) when every lease
/// observes it (see `striped.rs`).
pub(crate) struct Histogram {
    stripes: Box<[CachePadded<Cells>]>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { stripes: Box::new([CachePadded::default()]) }
    }
}

impl Histogram {
    /// A histogram many threads observe at once: its cells striped.
    pub fn striped() -> Histogram {
        Histogram { stripes: (0..STRIPES).map(|_| CachePadded::default()).collect() }
    }

    #[inline]
    pub fn observe(&self, d: Duration) {
        let cells = match self.stripes.len() {
            1 => &self.stripes[0],
            n => &self.stripes[stripe() % n],
        };
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        match BUCKETS_NANOS.iter().position(|&b| nanos <= b) {
            Some(i) => cells.counts[i].fetch_add(1, Relaxed),
            None => cells.overflow.fetch_add(1, Relaxed),
        };
        cells.sum_nanos.fetch_add(nanos, Relaxed);
    }

    /// Bucket `i`'s count (`BUCKETS.len()`: the overflow), over every stripe.
    fn count(&self, i: usize) -> u64 {
        let cell = |c: &Cells| if i < BUCKETS.len() { c.counts[i].load(Relaxed) } else { c.overflow.load(Relaxed) };
        self.stripes.iter().map(|c| cell(c)).sum()
    }

    fn sum_nanos(&self) -> u64 {
        self.stripes.iter().map(|c| c.sum_nanos.load(Relaxed)).sum()
    }

    /// `(count, sum in ns)` of every observation so far.
    pub fn totals(&self) -> (u64, u64) {
        ((0..=BUCKETS.len()).map(|i| self.count(i)).sum(), self.sum_nanos())
    }

    /// Renders it with no observations counted elsewhere.
    pub fn render_to(&self, out: &mut String, name: &str, help: &str, labels: &str) {
        self.render(out, name, help, labels, 0);
    }

    /// `zeros`: observations of zero duration counted elsewhere (direct
    /// acquires skip the histogram on the hot path and are added here).
    fn render(&self, out: &mut String, name: &str, help: &str, labels: &str, zeros: u64) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = zeros;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.count(i);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.count(BUCKETS.len());
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_nanos() as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}\n{name}_count{{{labels}}} {cumulative}");
    }
}

/// The pool's latency histograms.
pub(crate) struct Metrics {
    /// Time from asking for a connection to getting it, for callers that
    /// queued (direct acquires count as zero at render time).
    pub acquire: Histogram,
    /// Time a lease was held (observed by every lease: striped).
    pub usage: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics { acquire: Histogram::default(), usage: Histogram::striped() }
    }
}

pub(crate) fn gauge(out: &mut String, name: &str, help: &str, labels: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{{labels}}} {value}");
}

pub(crate) fn counter(out: &mut String, name: &str, help: &str, labels: &str, value: u64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name}{{{labels}}} {value}");
}

/// The WAL's size and the pool's checkpoints (`checkpoint.rs`).
fn render_wal(out: &mut String, l: &str, stats: &Statistics) {
    gauge(out, "litepool_wal_bytes", "Size of the WAL file.", l, stats.wal_bytes);
    gauge(out, "litepool_wal_peak_bytes", "Largest WAL file size seen.", l, stats.wal_peak_bytes);
    let _ = writeln!(
        out,
        "# HELP litepool_checkpoint_total Checkpoints the pool ran, by mode.\n# TYPE litepool_checkpoint_total counter"
    );
    for (mode, n) in [("passive", stats.checkpoints_passive), ("truncate", stats.checkpoints_truncate)] {
        let _ = writeln!(out, "litepool_checkpoint_total{{{l},mode=\"{mode}\"}} {n}");
    }
    counter(
        out,
        "litepool_checkpoint_incomplete_total",
        "Checkpoints an open read or a writer kept from finishing.",
        l,
        stats.checkpoints_incomplete,
    );
    counter(out, "litepool_checkpoint_failed_total", "Checkpoints that failed.", l, stats.checkpoints_failed);
    counter(out, "litepool_checkpoint_pages_total", "WAL pages copied back by checkpoints.", l, stats.checkpoint_pages);
    counter(
        out,
        "litepool_wal_backpressure_waits_total",
        "Leases held back while the pool truncated the WAL.",
        l,
        stats.backpressure_waits,
    );
    let secs = stats.backpressure_wait_time.as_secs_f64();
    counter_f(out, "litepool_wal_backpressure_seconds_total", "Time leases were held back.", l, secs);
    counter(out, "litepool_wal_pinned_total", "Leases reported as pinning the WAL.", l, stats.wal_pinned);
}

pub(crate) fn counter_f(out: &mut String, name: &str, help: &str, labels: &str, value: f64) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name}{{{labels}}} {value}");
}

/// Renders the pool's metrics in the Prometheus text format (0.0.4).
pub(crate) fn render(pool: &str, state: &State, stats: &Statistics, metrics: &Metrics, extra: &str) -> String {
    let labels = format!("pool=\"{pool}\"");
    let l = labels.as_str();
    let mut out = String::with_capacity(4096);
    gauge(&mut out, "litepool_connections_active", "Connections leased out.", l, state.active);
    gauge(&mut out, "litepool_connections_idle", "Connections idle in the pool.", l, state.idle);
    gauge(&mut out, "litepool_connections_total", "Open connections.", l, state.total);
    gauge(&mut out, "litepool_connections_max", "Configured max_size.", l, state.max);
    gauge(&mut out, "litepool_connections_min", "Configured min_idle.", l, state.min);
    gauge(&mut out, "litepool_connections_pending", "Callers waiting for a connection.", l, state.waiting);
    counter(&mut out, "litepool_connection_timeout_total", "Acquires that timed out.", l, stats.timeouts);
    counter(&mut out, "litepool_connection_acquired_total", "Leases handed out.", l, stats.acquired);
    counter(&mut out, "litepool_connection_created_total", "Connections opened.", l, stats.created);
    counter(
        &mut out,
        "litepool_connection_create_failures_total",
        "Failed connection attempts.",
        l,
        stats.create_failures,
    );
    let closed = [
        ("idle", stats.closed_idle),
        ("lifetime", stats.closed_lifetime),
        ("broken", stats.closed_broken),
        ("dirty", stats.closed_dirty),
        ("evicted", stats.closed_evicted),
    ];
    let _ = writeln!(
        out,
        "# HELP litepool_connection_closed_total Connections retired, by reason.\n# TYPE litepool_connection_closed_total counter"
    );
    for (reason, n) in closed {
        let _ = writeln!(out, "litepool_connection_closed_total{{{l},reason=\"{reason}\"}} {n}");
    }
    counter(
        &mut out,
        "litepool_connection_rollback_on_return_total",
        "Leases returned inside a transaction.",
        l,
        stats.rolled_back_on_return,
    );
    counter(
        &mut out,
        "litepool_connection_reset_on_return_total",
        "Connections a lease changed, brought back to the pool's state on return.",
        l,
        stats.reset_on_return,
    );
    counter(&mut out, "litepool_connection_leak_total", "Leases held past leak_threshold.", l, stats.leaks);
    render_wal(&mut out, l, stats);
    let acquire = "litepool_connection_acquire_seconds";
    metrics.acquire.render(&mut out, acquire, "Time to acquire a connection.", l, stats.acquired_direct);
    metrics.usage.render(&mut out, "litepool_connection_usage_seconds", "Time a connection was leased.", l, 0);
    out.push_str(extra);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nanosecond_bounds_are_the_rendered_bounds() {
        for (secs, nanos) in BUCKETS.iter().zip(BUCKETS_NANOS) {
            assert_eq!((secs * 1e9).round() as u64, nanos);
        }
    }

    #[test]
    fn an_observation_lands_in_the_first_bucket_that_holds_it() {
        for h in [Histogram::default(), Histogram::striped()] {
            h.observe(Duration::from_micros(100));
            h.observe(Duration::from_micros(101));
            h.observe(Duration::from_secs(6));
            assert_eq!(h.count(0), 1, "the bound is inclusive");
            assert_eq!(h.count(1), 1);
            assert_eq!(h.count(BUCKETS.len()), 1, "overflow");
            assert_eq!(h.totals(), (3, 6_000_201_000));
        }
    }

    #[test]
    fn a_striped_histogram_adds_up_every_threads_observations() {
        let h = Histogram::striped();
        std::thread::scope(|s| {
            for _ in 0..2 * STRIPES {
                s.spawn(|| (0..100).for_each(|_| h.observe(Duration::from_millis(2))));
            }
        });
        assert_eq!(h.totals(), (200 * STRIPES as u64, 400 * STRIPES as u64 * 1_000_000));
        assert_eq!(h.count(3), 200 * STRIPES as u64, "all in the 2.5 ms bucket");
    }
}
