//! Parking: a long-lived client (a drop-in `sqlite3.Connection`, say)
//! keeps its clean lease between calls for as long as nobody else needs
//! the connection, and the pool takes it back the moment someone does.
//!
//! A client that leases per statement would otherwise pay an acquire and a
//! release (two trips through the pool's lock, a wake-up when others wait)
//! around every autocommit statement. Parked in its [`ParkingSpot`], the
//! lease costs one uncontended lock to take back out and one to put back,
//! and touches nothing other threads write while nobody waits.
//!
//! The pool's rules hold for parked leases:
//! - **Only clean leases park**: an ordinary lease (not `write()`, not a
//!   tenant's, not tracked for leaks), in autocommit, with nothing changed
//!   that a reset would undo. Anything else goes back as usual.
//! - **Reclaimed on demand**: a caller that finds no idle connection takes
//!   a parked lease back for the pool (it goes back like any lease: rolled
//!   back, reset, handed to the first waiter), so parking never makes
//!   anyone wait. A client parking while callers queue gives its lease back
//!   at once instead.
//! - **Not kept forever**: `close()`, `evict()` and `resize()` reclaim every
//!   parked lease, and the housekeeper reclaims leases parked for a whole
//!   `housekeeping_period` (default 1 s), so idle and lifetime limits apply
//!   to their connections as to idle ones.
//! - A parked lease counts as idle in [`crate::State`]; it is one lease for
//!   statistics, events and the usage histogram, from its acquire to the
//!   moment it really goes back.
//! - After `fork()` a child never takes back a lease parked by its parent.

use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::books::ForkMutex;

use crate::guard::PooledConnection;
use crate::pool::Pool;
use crate::shared::Shared;

/// Something a client parks: it holds a lease, and dropping it gives the
/// lease back (a session, with what its client set on the connection
/// restored by its own `Drop`).
pub trait Parkable: Send + 'static {
    /// The lease it holds.
    fn lease(&self) -> &PooledConnection;
}

/// One client's parking spot in its pool (see the module docs).
pub struct ParkingSpot<T: Parkable> {
    spot: Arc<Spot<T>>,
}

struct Spot<T> {
    shared: Arc<Shared>,
    /// The parked value and the housekeeping round it was parked in.
    held: Mutex<Option<(T, u64)>>,
}

/// The pool's view of a spot.
pub(crate) trait Reclaim: Send + Sync {
    /// Takes back (and gives to the pool) what is parked here since before
    /// housekeeping round `before`; whether there was something.
    fn reclaim(&self, before: u64) -> bool;
    /// Whether something is parked here.
    fn parked(&self) -> bool;
}

/// Every spot of one pool, and the flag that asks parked leases back.
#[derive(Default)]
pub(crate) struct Parking {
    /// Held across `fork()` by the forking thread (`fork.rs`): a queueing
    /// caller reads it, and a child must not find it held by a parent thread.
    pub(crate) spots: ForkMutex<Vec<Weak<dyn Reclaim>>>,
    /// Set (under the pool's lock) when a caller queues for a connection,
    /// and by `close`, `evict` and `resize`: a client parking then checks
    /// under the lock whether the pool needs its lease. Cleared by such a
    /// client once nothing does.
    wanted: AtomicBool,
    /// Housekeeping rounds so far (a lease parked two rounds ago has sat
    /// unused for at least one period).
    round: AtomicU64,
}

impl<T: Parkable> ParkingSpot<T> {
    /// A spot in `pool` (registered with it, so the pool can reclaim what
    /// is parked here).
    pub fn new(pool: &Pool) -> ParkingSpot<T> {
        let shared = Arc::clone(pool.shared());
        let spot = Arc::new(Spot { shared: Arc::clone(&shared), held: Mutex::new(None) });
        let weak: Weak<dyn Reclaim> = Arc::downgrade(&spot) as Weak<dyn Reclaim>;
        shared.parking.register(weak);
        ParkingSpot { spot }
    }

    /// Parks `value` until [`ParkingSpot::unpark`]; gives it back when the
    /// pool's rules say it cannot be parked (its lease is not clean, or the
    /// pool needs the connection now): drop it to give the lease back.
    pub fn park(&self, value: T) -> Result<(), T> {
        if !value.lease().parkable() {
            return Err(value);
        }
        let shared = &self.spot.shared;
        let epoch = value.lease().entry().epoch;
        let round = shared.parking.round.load(Relaxed);
        *self.spot.held.lock() = Some((value, round));
        // Pairs with the fence in `Parking::reclaim_one`: either the caller
        // queueing sees this lease parked, or this sees its flag. The lease
        // stays parked while the pool is asked, so a caller queueing
        // meanwhile finds it.
        fence(SeqCst);
        if shared.parking.wanted.load(Relaxed) && shared.parking.needed(shared, epoch) {
            // Taken back by the pool meanwhile: fine, it is going back anyway.
            if let Some((value, _)) = self.spot.held.lock().take() {
                return Err(value);
            }
        }
        Ok(())
    }

    /// Takes the parked value back, if the pool left it here. A lease
    /// parked before a `fork()` is given back (to be let go without
    /// closing) instead: the child never uses its parent's connection.
    pub fn unpark(&self) -> Option<T> {
        let (value, _) = self.spot.held.lock().take()?;
        if value.lease().inherited() {
            drop(value);
            return None;
        }
        Some(value)
    }

    /// Whether something is parked here.
    pub fn is_parked(&self) -> bool {
        self.spot.parked()
    }
}

impl<T: Parkable> Reclaim for Spot<T> {
    fn reclaim(&self, before: u64) -> bool {
        let taken = {
            let mut held = self.held.lock();
            match held.as_ref() {
                Some((_, round)) if *round < before => held.take(),
                _ => None,
            }
        };
        // Dropped with the spot unlocked: giving the lease back takes the
        // pool's lock and may hand the connection to a waiter.
        taken.is_some()
    }

    fn parked(&self) -> bool {
        self.held.lock().is_some()
    }
}

impl Parking {
    fn register(&self, spot: Weak<dyn Reclaim>) {
        let mut spots = self.spots.lock();
        if spots.len() >= 32 && spots.len().is_power_of_two() {
            spots.retain(|w| w.strong_count() > 0);
        }
        spots.push(spot);
    }

    /// The spots still alive (taken out of the registry's lock, so that
    /// reclaiming runs without it).
    fn live(&self) -> Vec<Arc<dyn Reclaim>> {
        let mut spots = self.spots.lock();
        spots.retain(|w| w.strong_count() > 0);
        spots.iter().filter_map(Weak::upgrade).collect()
    }

    /// Asks parked leases back (call with the pool's lock held, as a
    /// caller queues).
    pub(crate) fn want_back(&self) {
        self.wanted.store(true, Relaxed);
    }

    /// A caller found no idle connection (and queued, after
    /// [`Parking::want_back`]): takes one parked lease back for the pool;
    /// whether there was one.
    pub(crate) fn reclaim_one(&self) -> bool {
        fence(SeqCst);
        self.live().iter().any(|spot| spot.reclaim(u64::MAX))
    }

    /// Takes every parked lease back (`close`, `evict`, `resize`); parking
    /// clients check with the pool until it needs none.
    pub(crate) fn reclaim_all(&self) {
        self.wanted.store(true, SeqCst);
        for spot in self.live() {
            spot.reclaim(u64::MAX);
        }
    }

    /// One housekeeping round: takes back the leases parked before the
    /// previous round, i.e. unused for at least a whole period.
    pub(crate) fn age(&self) {
        let round = self.round.fetch_add(1, Relaxed) + 1;
        for spot in self.live() {
            spot.reclaim(round - 1);
        }
    }

    /// Leases parked now (they count as idle).
    pub(crate) fn count(&self) -> u32 {
        self.live().iter().filter(|s| s.parked()).count() as u32
    }

    /// Whether the pool needs a lease of a connection of eviction `epoch`
    /// back now: callers queue, or the pool closed, evicted it or shrank. Clears the flag when not.
    fn needed(&self, shared: &Shared, epoch: u64) -> bool {
        let slots = shared.slots.lock();
        let (_, total, waiting) = slots.counts();
        let needed = waiting > 0 || slots.closed || epoch != slots.epoch() || total > slots.limits().0;
        if !needed {
            self.wanted.store(false, Relaxed);
        }
        needed
    }
}
