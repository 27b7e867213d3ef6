//! How long a writer queued at the write gate lets running writers go
//! first before it is starving (handed the gate, no more barging past it):
//! the starvation bound, stretched when hand-offs are dear.
//!
//! Each writer that starves costs one hand-off, and a hand-off to a
//! sleeping thread leaves the gate idle until that thread runs. Measured on
//! a 2-core VM: 34–45 µs a hand-off (a condvar round trip between two
//! threads is 47 µs there); 8 writers with a 1 ms bound made 6,000
//! hand-offs a second and left the gate idle a fifth of the time. With `n`
//! writers queued, a patience of `20 · n · cost` keeps that idle share
//! under 5 %. Where a wake-up is cheap it stays the bound; it is never more
//! than 10 bounds.
//!
//! The pool's queue keeps the bound as its waiters' patience: a hand-off
//! there idles one connection of several, and stretching it the same way
//! (divided by the connections) gained 16 threads on 4 connections about
//! 8 % but let the longest wait grow from 3–5 ms to 14–21 ms.

use std::time::Duration;

/// Hand-offs keep the gate idle at most 1/`IDLE_SHARE` of the time.
const IDLE_SHARE: u32 = 20;

/// The most a writer's patience is stretched to, in starvation bounds.
const MAX_BOUNDS: u32 = 10;

/// What a hand-off to a sleeping waiter costs, a moving average over about
/// 8 hand-offs (zero until one is measured).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Handoffs {
    cost: Duration,
}

impl Handoffs {
    /// A waiter that was handed what it waited for ran `took` after the grant.
    pub fn observe(&mut self, took: Duration) {
        self.cost = self.cost.saturating_mul(7).saturating_add(took) / 8;
    }

    /// The patience of a writer that queues behind `ahead` others, with
    /// starvation bound `bound`.
    pub fn patience(&self, bound: Duration, ahead: usize) -> Duration {
        let queued = u32::try_from(ahead).unwrap_or(u32::MAX).saturating_add(1);
        let stretched = self.cost.saturating_mul(IDLE_SHARE.saturating_mul(queued));
        stretched.clamp(bound, bound.saturating_mul(MAX_BOUNDS))
    }

    #[cfg(test)]
    pub fn costing(cost: Duration) -> Handoffs {
        Handoffs { cost }
    }

    #[cfg(test)]
    pub fn cost(&self) -> Duration {
        self.cost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writer_is_more_patient_when_hand_offs_are_dear() {
        let ms = Duration::from_millis;
        let us = Duration::from_micros;
        assert_eq!(Handoffs::default().patience(ms(1), 6), ms(1), "nothing measured yet: the bound");
        assert_eq!(Handoffs::costing(us(5)).patience(ms(1), 6), ms(1), "cheap hand-offs: the bound");
        let dear = Handoffs::costing(us(40));
        assert_eq!(dear.patience(ms(1), 0), ms(1), "alone in the queue: 800 µs, the bound");
        assert_eq!(dear.patience(ms(1), 1), us(1600));
        assert_eq!(dear.patience(ms(1), 6), us(5600), "7 writers queued: 20 · 7 · 40 µs");
        assert_eq!(dear.patience(ms(1), 40), ms(10), "at most 10 bounds");
        assert_eq!(dear.patience(Duration::ZERO, 6), Duration::ZERO, "a zero bound stays zero");
    }

    #[test]
    fn the_cost_is_a_moving_average_of_what_hand_offs_took() {
        let mut h = Handoffs::default();
        for _ in 0..64 {
            h.observe(Duration::from_micros(40));
        }
        assert!(h.cost > Duration::from_micros(39) && h.cost <= Duration::from_micros(40), "{:?}", h.cost);
        h.observe(Duration::from_micros(840));
        assert!(
            h.cost > Duration::from_micros(130) && h.cost < Duration::from_micros(150),
            "one slow hand-off weighs 1/8"
        );
    }
}
