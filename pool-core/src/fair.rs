//! Fair tenants: the queue of waiters for a connection, served by weighted
//! fair queueing across tenants when `fair_tenants` (or
//! `max_leases_per_tenant`) is set, one FIFO otherwise.
//!
//! **Deficit round robin.** Each tenant with callers queued has a lane
//! (callers without a tenant share one); lanes take turns, and a lane's
//! turn serves up to its tenant's weight ([`crate::Pool::set_tenant_weight`],
//! 1 by default) of its callers, first come first served within the lane.
//! A tenant flooding the pool with a hundred waiters therefore delays
//! another tenant's single request by at most one turn of each busier
//! lane, not by the hundred: with `n` lanes of weight 1, a newly queued
//! caller is served within `n` hand-offs.
//!
//! **Limits.** With `max_leases_per_tenant`, a tenant holding that many
//! leases is passed over: its lane waits (keeping its callers' order)
//! and its new callers queue even with connections idle. What a tenant
//! holds is counted by a [`Reservation`] the connection carries from the
//! moment it is handed to the tenant (under the pool's lock, so the limit
//! is never overshot) until it comes back or is closed.
//!
//! The write lane needs nothing here: each tenant has its own write gate
//! (`tenant.rs`), so one tenant's writers never queue ahead of another's.
//!
//! With fairness off, [`Waiters`] is the plain FIFO and every method costs
//! one extra branch.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

use crate::entry::PoolEntry;
use crate::tenant::Tenant;
use crate::waiter::{WaitQueue, Waiter};

/// A tenant's share of the pool: its weight and the leases it holds.
#[derive(Debug)]
pub(crate) struct Share {
    held: AtomicU32,
    weight: AtomicU32,
}

impl Default for Share {
    fn default() -> Self {
        Share { held: AtomicU32::new(0), weight: AtomicU32::new(1) }
    }
}

impl Share {
    pub fn set_weight(&self, weight: u32) {
        self.weight.store(weight.max(1), Relaxed);
    }

    pub fn weight(&self) -> u32 {
        self.weight.load(Relaxed)
    }

    pub fn held(&self) -> u32 {
        self.held.load(Relaxed)
    }
}

/// A connection handed to a tenant, counted in its share until dropped.
#[derive(Debug)]
pub(crate) struct Reservation(Arc<Share>);

impl Reservation {
    fn new(share: &Arc<Share>) -> Reservation {
        share.held.fetch_add(1, Relaxed);
        Reservation(Arc::clone(share))
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.0.held.fetch_sub(1, Relaxed);
    }
}

type W = Arc<Waiter<PoolEntry>>;

struct Lane {
    /// The tenant's uid (0: callers without a tenant).
    uid: u64,
    share: Option<Arc<Share>>,
    queue: VecDeque<W>,
    /// Callers left to serve in this lane's turn.
    credits: u32,
    in_turn: bool,
}

impl Lane {
    /// Whether its tenant is below `limit` (0: no limit).
    fn eligible(&self, limit: u32) -> bool {
        match &self.share {
            Some(share) if limit > 0 => share.held() < limit,
            _ => true,
        }
    }
}

/// The lanes of the fair queue.
struct Lanes {
    /// Lanes with callers queued, in turn order: the first is the current.
    lanes: VecDeque<Lane>,
    len: usize,
    /// `max_leases_per_tenant` (0: none).
    limit: u32,
}

impl Lanes {
    /// The index of the lane served next: the first eligible one.
    fn next(&self) -> Option<usize> {
        self.lanes.iter().position(|l| l.eligible(self.limit))
    }

    /// Bookkeeping after lane `i` was served one caller (already out of its
    /// queue): when it was the lane due, the lanes passed over (at their
    /// limit) go to the back in order, its turn is charged, and it is
    /// retired when empty or its turn is over. A lane served out of turn (a
    /// caller taking a connection ahead of the front) is only retired when
    /// empty.
    fn served(&mut self, i: usize) {
        self.len -= 1;
        let due = self.lanes.iter().take(i).all(|l| !l.eligible(self.limit));
        if !due {
            if self.lanes[i].queue.is_empty() {
                self.lanes.remove(i);
            }
            return;
        }
        self.lanes.rotate_left(i);
        let lane = &mut self.lanes[0];
        if !lane.in_turn {
            lane.credits = lane.share.as_ref().map_or(1, |s| s.weight());
            lane.in_turn = true;
        }
        lane.credits = lane.credits.saturating_sub(1);
        if lane.queue.is_empty() {
            self.lanes.pop_front();
        } else if lane.credits == 0 {
            lane.in_turn = false;
            self.lanes.rotate_left(1);
        }
    }

    fn find(&self, w: &W) -> Option<(usize, usize)> {
        self.lanes.iter().enumerate().find_map(|(i, l)| l.queue.iter().position(|x| Arc::ptr_eq(x, w)).map(|j| (i, j)))
    }

    fn remove_at(&mut self, i: usize, j: usize) -> W {
        let w = self.lanes[i].queue.remove(j).expect("found");
        if self.lanes[i].queue.is_empty() {
            self.lanes.remove(i);
        }
        self.len -= 1;
        w
    }
}

/// The pool's queue of waiters for a connection.
pub(crate) struct Waiters {
    fifo: WaitQueue<PoolEntry>,
    fair: Option<Box<Lanes>>,
}

impl Waiters {
    /// A FIFO, or with `fair`, lanes per tenant limited to `limit` leases each.
    pub fn new(fair: bool, limit: u32) -> Waiters {
        let fair = (fair || limit > 0).then(|| Box::new(Lanes { lanes: VecDeque::new(), len: 0, limit }));
        Waiters { fifo: WaitQueue::default(), fair }
    }

    /// Whether it serves by tenant.
    #[inline]
    pub fn is_fair(&self) -> bool {
        self.fair.is_some()
    }

    #[inline]
    pub fn len(&self) -> usize {
        match &self.fair {
            None => self.fifo.len(),
            Some(f) => f.len,
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn push(&mut self, waiter: W, tenant: Option<&Tenant>) {
        let Some(f) = &mut self.fair else { return self.fifo.push(waiter) };
        let uid = tenant.map_or(0, Tenant::uid);
        f.len += 1;
        match f.lanes.iter_mut().find(|l| l.uid == uid) {
            Some(lane) => lane.queue.push_back(waiter),
            None => f.lanes.push_back(Lane {
                uid,
                share: tenant.map(|t| Arc::clone(t.share())),
                queue: VecDeque::from([waiter]),
                credits: 0,
                in_turn: false,
            }),
        }
    }

    /// The waiter served next (fair: the head of the first lane whose
    /// tenant is below its limit), left in place.
    #[inline]
    pub fn front(&self) -> Option<&W> {
        match &self.fair {
            None => self.fifo.front(),
            Some(f) => f.next().and_then(|i| f.lanes[i].queue.front()),
        }
    }

    pub fn is_front(&self, waiter: &W) -> bool {
        self.front().is_some_and(|w| Arc::ptr_eq(w, waiter))
    }

    /// Takes the waiter [`Waiters::front`] named, handing it `entry` (the
    /// tenant's reservation goes with it).
    pub fn pop_granting(&mut self, entry: &mut PoolEntry) -> Option<W> {
        let Some(f) = &mut self.fair else { return self.fifo.pop() };
        let i = f.next()?;
        let w = f.lanes[i].queue.pop_front()?;
        entry.reservation = f.lanes[i].share.as_ref().map(Reservation::new);
        f.served(i);
        Some(w)
    }

    /// Takes a waiter that is being served (a nudged one taking a
    /// connection itself); `false` if it was already removed.
    pub fn serve(&mut self, waiter: &W) -> bool {
        let Some(f) = &mut self.fair else { return self.fifo.remove(waiter) };
        let Some((i, j)) = f.find(waiter) else { return false };
        f.lanes[i].queue.remove(j);
        f.served(i);
        true
    }

    /// Takes a waiter that gave up out of the queue; `false` if it was
    /// already removed (a grant is on its way).
    pub fn remove(&mut self, waiter: &W) -> bool {
        let Some(f) = &mut self.fair else { return self.fifo.remove(waiter) };
        match f.find(waiter) {
            Some((i, j)) => {
                f.remove_at(i, j);
                true
            }
            None => false,
        }
    }

    /// Whether a newcomer of `tenant` may take an idle connection now, as
    /// far as its tenant's limit goes.
    #[inline]
    pub fn admits(&self, tenant: Option<&Tenant>) -> bool {
        match (&self.fair, tenant) {
            (Some(f), Some(t)) if f.limit > 0 => t.share().held() < f.limit,
            _ => true,
        }
    }

    /// Counts `entry` as held by `tenant` (fair mode only).
    #[inline]
    pub fn reserve(&self, entry: &mut PoolEntry, tenant: Option<&Tenant>) {
        if self.fair.is_some() {
            entry.reservation = tenant.map(|t| Reservation::new(t.share()));
        }
    }

    /// A connection came back: it is no tenant's any more (fair mode only).
    #[inline]
    pub fn release(&self, entry: &mut PoolEntry) {
        if self.fair.is_some() {
            entry.reservation = None;
        }
    }

    pub fn take_expired(&mut self, now: Instant) -> Vec<W> {
        let Some(f) = &mut self.fair else { return self.fifo.take_expired(now) };
        let mut out = Vec::new();
        for lane in &mut f.lanes {
            let (gone, kept): (VecDeque<W>, VecDeque<W>) =
                std::mem::take(&mut lane.queue).into_iter().partition(|w| w.deadline <= now);
            lane.queue = kept;
            out.extend(gone);
        }
        f.lanes.retain(|l| !l.queue.is_empty());
        f.len -= out.len();
        out
    }

    pub fn next_async_deadline(&self) -> Option<Instant> {
        let Some(f) = &self.fair else { return self.fifo.next_async_deadline() };
        f.lanes.iter().flat_map(|l| &l.queue).filter(|w| !w.blocking).map(|w| w.deadline).min()
    }

    pub fn drain(&mut self) -> Vec<W> {
        let Some(f) = &mut self.fair else { return self.fifo.drain() };
        f.len = 0;
        f.lanes.drain(..).flat_map(|l| l.queue).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Deadline;
    use std::time::Duration;

    fn waiter() -> W {
        Waiter::new(&mut Deadline::after(Duration::from_secs(10)), true, Duration::from_millis(1))
    }

    fn lanes_only(limit: u32) -> Waiters {
        Waiters::new(true, limit)
    }

    /// Serves everything queued, noting which lane (by uid) each went to.
    fn order(q: &mut Waiters, lane_of: &[(W, u64)]) -> Vec<u64> {
        let mut out = Vec::new();
        while let Some(w) = q.front().cloned() {
            assert!(q.serve(&w));
            out.push(lane_of.iter().find(|(x, _)| Arc::ptr_eq(x, &w)).map(|(_, u)| *u).unwrap());
        }
        out
    }

    fn push_uid(q: &mut Waiters, uid: u64, share: Option<Arc<Share>>) -> W {
        let w = waiter();
        let f = q.fair.as_mut().unwrap();
        f.len += 1;
        match f.lanes.iter_mut().find(|l| l.uid == uid) {
            Some(l) => l.queue.push_back(Arc::clone(&w)),
            None => f.lanes.push_back(Lane {
                uid,
                share,
                queue: VecDeque::from([Arc::clone(&w)]),
                credits: 0,
                in_turn: false,
            }),
        }
        w
    }

    #[test]
    fn a_flooding_tenant_does_not_delay_another_beyond_one_turn() {
        let mut q = lanes_only(0);
        let mut lane_of = Vec::new();
        for _ in 0..100 {
            lane_of.push((push_uid(&mut q, 1, None), 1));
        }
        lane_of.push((push_uid(&mut q, 2, None), 2));
        let served = order(&mut q, &lane_of);
        assert_eq!(served.iter().position(|&u| u == 2), Some(1), "served second, not 101st");
        assert_eq!(served.len(), 101);
        assert!(q.is_empty());
    }

    #[test]
    fn weights_give_a_tenant_that_many_turns_in_a_row() {
        let mut q = lanes_only(0);
        let heavy = Arc::new(Share::default());
        heavy.set_weight(3);
        let mut lane_of = Vec::new();
        for _ in 0..6 {
            lane_of.push((push_uid(&mut q, 1, Some(Arc::clone(&heavy))), 1));
            lane_of.push((push_uid(&mut q, 2, None), 2));
        }
        assert_eq!(order(&mut q, &lane_of), [1, 1, 1, 2, 1, 1, 1, 2, 2, 2, 2, 2]);
    }

    #[test]
    fn a_tenant_at_its_limit_is_passed_over_and_keeps_its_order() {
        let mut q = lanes_only(1);
        let busy = Arc::new(Share::default());
        let held = Reservation::new(&busy);
        let a1 = push_uid(&mut q, 1, Some(Arc::clone(&busy)));
        let _a2 = push_uid(&mut q, 1, Some(Arc::clone(&busy)));
        let b = push_uid(&mut q, 2, None);
        assert!(Arc::ptr_eq(q.front().unwrap(), &b), "tenant 1 holds its one lease");
        assert!(q.serve(&b));
        assert!(q.front().is_none(), "only tenant 1 waits, and it is at its limit");
        assert_eq!(q.len(), 2);
        drop(held);
        assert!(Arc::ptr_eq(q.front().unwrap(), &a1), "its first caller, once below the limit");
    }

    #[test]
    fn removing_waiters_keeps_the_count_and_drops_empty_lanes() {
        let mut q = lanes_only(0);
        let a = push_uid(&mut q, 1, None);
        let b = push_uid(&mut q, 2, None);
        assert!(q.remove(&a) && !q.remove(&a));
        assert_eq!(q.len(), 1);
        assert!(Arc::ptr_eq(q.front().unwrap(), &b));
        assert_eq!(q.drain().len(), 1);
        assert!(q.is_empty() && q.front().is_none());
    }
}
