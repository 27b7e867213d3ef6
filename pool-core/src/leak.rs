//! Leak detection: leases held past `leak_threshold` are reported once, with
//! the site that acquired them ("Apparent connection leak detected").

use std::collections::HashMap;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::events::LeakReport;

/// Where a lease was taken: a Rust call site, or a binding's own stack text.
#[derive(Debug, Clone)]
pub enum AcquireSite {
    /// A Rust caller (`#[track_caller]`).
    Rust(&'static Location<'static>),
    /// A stack trace or traceback string passed by a binding.
    Text(String),
}

impl std::fmt::Display for AcquireSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AcquireSite::Rust(loc) => write!(f, "{loc}"),
            AcquireSite::Text(text) => f.write_str(text),
        }
    }
}

struct Lease {
    connection_id: u64,
    acquired_at: Instant,
    site: AcquireSite,
    thread: Option<String>,
    reported: bool,
}

/// The leases out right now, kept only while leak detection is on.
pub(crate) struct LeaseRegistry {
    threshold: Option<Duration>,
    /// Keep every lease's site even without leak detection (a trace hook
    /// is set: statement events carry it).
    sites: std::sync::atomic::AtomicBool,
    leases: Mutex<HashMap<u64, Lease>>,
    next_id: AtomicU64,
}

impl LeaseRegistry {
    pub fn new(threshold: Option<Duration>) -> Self {
        LeaseRegistry {
            threshold,
            sites: std::sync::atomic::AtomicBool::new(false),
            leases: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
        }
    }

    /// Keeps the site of every lease from now on (see `trace.rs`).
    pub fn keep_sites(&self) {
        self.sites.store(true, Ordering::Relaxed);
    }

    /// Records a lease; `None` when leak detection is off (and no trace
    /// hook wants the sites).
    #[inline]
    pub fn register(&self, connection_id: u64, site: AcquireSite) -> Option<u64> {
        if self.threshold.is_none() && !self.sites.load(Ordering::Relaxed) {
            return None;
        }
        self.record(connection_id, site)
    }

    #[inline(never)]
    fn record(&self, connection_id: u64, site: AcquireSite) -> Option<u64> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let lease = Lease {
            connection_id,
            acquired_at: Instant::now(),
            site,
            thread: std::thread::current().name().map(str::to_owned),
            reported: false,
        };
        self.leases.lock().insert(id, lease);
        Some(id)
    }

    pub fn unregister(&self, lease_id: u64) {
        self.leases.lock().remove(&lease_id);
    }

    /// The site of a lease still out.
    pub fn site(&self, lease_id: u64) -> Option<String> {
        self.leases.lock().get(&lease_id).map(|l| l.site.to_string())
    }

    /// Leases past the threshold not yet reported; marks them reported.
    pub fn scan(&self, now: Instant) -> Vec<LeakReport> {
        let Some(threshold) = self.threshold else { return Vec::new() };
        let mut leases = self.leases.lock();
        leases
            .values_mut()
            .filter(|l| !l.reported && now.duration_since(l.acquired_at) >= threshold)
            .map(|l| {
                l.reported = true;
                LeakReport {
                    connection_id: l.connection_id,
                    held_for: now.duration_since(l.acquired_at),
                    site: l.site.to_string(),
                    thread: l.thread.clone(),
                }
            })
            .collect()
    }

    /// When the next unreported lease crosses the threshold.
    pub fn next_deadline(&self) -> Option<Instant> {
        let threshold = self.threshold?;
        self.leases.lock().values().filter(|l| !l.reported).map(|l| l.acquired_at + threshold).min()
    }

    /// The lease out longest, if any is recorded (leak detection on).
    pub fn oldest(&self, now: Instant) -> Option<LeakReport> {
        self.leases.lock().values().min_by_key(|l| l.acquired_at).map(|l| LeakReport {
            connection_id: l.connection_id,
            held_for: now.saturating_duration_since(l.acquired_at),
            site: l.site.to_string(),
            thread: l.thread.clone(),
        })
    }

    pub fn clear(&self) {
        self.leases.lock().clear();
    }
}
