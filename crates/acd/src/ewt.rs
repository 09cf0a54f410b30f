//! Estimated wait time (EWT) per waiting call.
//!
//! Asterisk keeps one number per queue, an exponential average of past waits
//! (`holdtime = (3·old + sample)/4`, `recalc_holdtime` in `app_queue.c`), and announces it to
//! every caller whatever their position. That lags every change of staffing and ignores where
//! the caller is in line.
//!
//! Here a call's EWT is computed from the moment's facts:
//! 1. the eligible staffed agents (members meeting the call's current requirement who are Ready,
//!    ringing, talking or in wrap-up), and when each is expected to be free: a timed wrap-up's
//!    known end, otherwise the *mean residual handle time* given how long the agent has already
//!    worked, E[S − e | S > e], taken from the queue's recent handle times (a call that has
//!    lasted long is expected to last a while longer, not to end at the mean);
//! 2. the call's position p among the queue's waiting calls;
//! 3. after their current call, agents take calls every mean handle time.
//!
//! The call starts when the p-th agent release happens: a min-heap of free times simulated for
//! up to two rounds of the agents, then extended by whole rounds of one mean handle time. The
//! queue's recent offer-to-answer delay is added. Every answered call records its prediction
//! against its actual wait; the error is a statistic (`Counters::ewt_mean_abs_error`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

/// Recent handle times kept per queue.
const WINDOW: usize = 128;

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// One queue's EWT inputs: recent handle times and answer delay.
#[derive(Debug, Clone)]
pub(crate) struct EwtModel {
    default_handle: u64,
    window: VecDeque<u64>,
    /// The window sorted, and prefix sums over it, for mean residual life.
    sorted: Vec<u64>,
    prefix: Vec<u128>,
    /// Exponential average of offer-to-answer delay, in nanoseconds.
    answer_delay: u64,
    answer_samples: u64,
}

impl EwtModel {
    pub(crate) fn new(default_handle: Duration) -> Self {
        Self {
            default_handle: nanos(default_handle),
            window: VecDeque::with_capacity(WINDOW),
            sorted: Vec::with_capacity(WINDOW),
            prefix: Vec::with_capacity(WINDOW + 1),
            answer_delay: 0,
            answer_samples: 0,
        }
    }

    pub(crate) fn set_default_handle(&mut self, d: Duration) {
        self.default_handle = nanos(d);
    }

    /// A call's after-call work ended after `handle` (talk plus wrap-up).
    pub(crate) fn record_handle(&mut self, handle: Duration) {
        if self.window.len() == WINDOW {
            self.window.pop_front();
        }
        self.window.push_back(nanos(handle));
        self.sorted.clear();
        self.sorted.extend(self.window.iter().copied());
        self.sorted.sort_unstable();
        self.prefix.clear();
        self.prefix.push(0);
        let mut sum = 0u128;
        for &s in &self.sorted {
            sum += u128::from(s);
            self.prefix.push(sum);
        }
    }

    /// An offer was answered `delay` after it was made.
    pub(crate) fn record_answer_delay(&mut self, delay: Duration) {
        let d = nanos(delay);
        self.answer_delay = if self.answer_samples == 0 {
            d
        } else {
            // Same filter coefficient as Asterisk's holdtime: 3/4 old, 1/4 new.
            (self.answer_delay / 4)
                .saturating_mul(3)
                .saturating_add(d / 4)
        };
        self.answer_samples += 1;
    }

    /// Mean handle time over the window (the configured default before any call).
    pub(crate) fn mean_handle(&self) -> u64 {
        match self.prefix.last() {
            Some(&sum) if !self.sorted.is_empty() => {
                u64::try_from(sum / self.sorted.len() as u128).unwrap_or(u64::MAX)
            }
            _ => self.default_handle,
        }
    }

    /// Expected remaining work of an agent that has worked `elapsed` on its current call.
    pub(crate) fn residual(&self, elapsed: Duration) -> u64 {
        let e = nanos(elapsed);
        let mean = self.mean_handle();
        if self.sorted.is_empty() {
            return mean.saturating_sub(e).max(mean / 4);
        }
        let idx = self.sorted.partition_point(|&s| s <= e);
        let above = self.sorted.len() - idx;
        if above == 0 {
            // Longer than every recent call: expect it to end soon, but not now.
            return mean / 4;
        }
        let (Some(&total), Some(&below)) = (self.prefix.last(), self.prefix.get(idx)) else {
            return mean;
        };
        let avg_above = u64::try_from((total - below) / above as u128).unwrap_or(u64::MAX);
        avg_above.saturating_sub(e)
    }

    /// EWT of the call at 1-based `position` given each eligible staffed agent's expected free
    /// time (nanoseconds from now). `None` without agents.
    pub(crate) fn estimate(&self, free: &mut [u64], position: usize) -> Option<Duration> {
        let n = free.len();
        if n == 0 {
            return None;
        }
        let p = position.max(1);
        let handle = self.mean_handle().max(1);
        let start = if p <= n {
            let (_, nth, _) = free.select_nth_unstable(p - 1);
            *nth
        } else {
            let mut heap: BinaryHeap<Reverse<u64>> = free.iter().copied().map(Reverse).collect();
            let simulate = p.min(2 * n);
            let mut t = 0;
            for _ in 0..simulate {
                let Some(Reverse(next)) = heap.pop() else {
                    break;
                };
                t = next;
                heap.push(Reverse(next.saturating_add(handle)));
            }
            if simulate == p {
                t
            } else {
                // After two rounds the next free times lie within about one handle time of each
                // other: the r-th next start is the ((r-1) mod n)-th of them plus whole rounds.
                let mut next: Vec<u64> = heap.into_iter().map(|Reverse(x)| x).collect();
                next.sort_unstable();
                let r = p - simulate - 1;
                let first = next.get(r % n).copied().unwrap_or(t);
                first.saturating_add(((r / n) as u64).saturating_mul(handle))
            }
        };
        Some(Duration::from_nanos(
            start.saturating_add(self.answer_delay),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn first_in_line_waits_for_the_first_agent_to_free_up() {
        let m = EwtModel::new(Duration::from_secs(100));
        let mut free = vec![50 * S, 10 * S, 30 * S];
        assert_eq!(m.estimate(&mut free, 1), Some(Duration::from_secs(10)));
        assert_eq!(m.estimate(&mut free, 3), Some(Duration::from_secs(50)));
        // Fourth in line: the first agent frees at 10 s, takes call 1 for 100 s.
        assert_eq!(m.estimate(&mut free, 4), Some(Duration::from_secs(110)));
        assert_eq!(m.estimate(&mut [], 1), None);
    }

    #[test]
    fn far_positions_extrapolate_at_agents_per_handle_time() {
        let m = EwtModel::new(Duration::from_secs(60));
        let mut free = vec![0, 0];
        // Two agents, 60 s each: call 101 starts after 50 rounds.
        assert_eq!(m.estimate(&mut free, 101), Some(Duration::from_secs(3000)));
    }

    #[test]
    fn residual_of_a_long_call_uses_longer_recent_calls() {
        let mut m = EwtModel::new(Duration::from_secs(100));
        for s in [10, 20, 30, 200] {
            m.record_handle(Duration::from_secs(s));
        }
        assert_eq!(m.mean_handle(), 65 * S);
        // Worked 50 s: only the 200 s call lasted longer, so 150 s remain.
        assert_eq!(m.residual(Duration::from_secs(50)), 150 * S);
        assert_eq!(m.residual(Duration::from_secs(0)), 65 * S);
    }
}
