//! Estimated wait time (EWT) per waiting call.
//!
//! Asterisk keeps one number per queue, an exponential average of past waits
//! (`holdtime = (3·old + sample)/4`, `recalc_holdtime` in `app_queue.c`), and announces it to
//! every caller whatever their position. That lags every change of staffing and ignores where
//! the caller is in line.
//!
//! Here a call's EWT is computed from the moment's facts:
//! 1. the eligible staffed agents (members meeting the call's current requirement who are Ready,
//!    ringing, talking or in wrap-up) and what each is doing: Ready (free now), in a timed
//!    wrap-up (free at its known end), or working for `e` seconds on a call;
//! 2. the queue's recent handle times (talk plus wrap-up, the last 128 calls), which give the
//!    distribution of a working agent's remaining time given `e`: the recent calls that lasted
//!    longer than `e`, each minus `e` (a call that has lasted long is expected to last a while
//!    longer, not to end at the mean);
//! 3. the call's position p among the queue's waiting calls.
//!
//! Let m(t) be the expected number of agent releases within t: per agent, the probability its
//! current work ends within t, plus the calls it then takes at one per mean handle time A
//! (E[(t − R)⁺]/A for a remaining time R). The EWT is the t where m(t) reaches p, found by
//! bisection. That is exact in the two textbook cases: with exponential handle times
//! m(t) = N·t/A and the EWT is p·A/N (Erlang C's conditional wait), and with known remaining
//! times it is the p-th smallest of them. Taking the p-th smallest *expected* remaining time
//! instead would be far off: the first of N busy agents frees up after about A/N, not A.
//! The queue's recent offer-to-answer delay is added.
//!
//! Every answered call records its prediction against its actual wait; the error is a statistic
//! (`Counters::ewt_mean_abs_error`). `benches/ewt_accuracy.rs` compares it with Asterisk's.

use std::collections::VecDeque;
use std::time::Duration;

/// Recent handle times kept per queue.
const WINDOW: usize = 128;
/// Agents beyond this many are represented by an evenly spaced sample of this many, scaled:
/// it bounds the work per estimate in very large queues.
const MAX_AGENTS: usize = 64;
/// Bisection steps: the EWT is found to 2⁻²⁴ of its bracket.
const STEPS: usize = 24;

/// What one eligible staffed agent is doing, for EWT.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AgentLoad {
    /// Free now.
    Ready,
    /// Free after this long (a timed wrap-up's end).
    FreeIn(Duration),
    /// Working on a call (talking, ringing, manual wrap-up) for this long.
    Working(Duration),
}

/// One queue's EWT inputs: recent handle times and answer delay.
#[derive(Debug, Clone)]
pub(crate) struct EwtModel {
    default_handle: f64,
    window: VecDeque<f64>,
    /// The window sorted ascending, and prefix sums over it.
    sorted: Vec<f64>,
    prefix: Vec<f64>,
    /// Exponential average of offer-to-answer delay, seconds.
    answer_delay: f64,
    answer_samples: u64,
}

impl EwtModel {
    pub(crate) fn new(default_handle: Duration) -> Self {
        Self {
            default_handle: default_handle.as_secs_f64().max(1.0),
            window: VecDeque::with_capacity(WINDOW),
            sorted: Vec::with_capacity(WINDOW),
            prefix: Vec::with_capacity(WINDOW + 1),
            answer_delay: 0.0,
            answer_samples: 0,
        }
    }

    pub(crate) fn set_default_handle(&mut self, d: Duration) {
        self.default_handle = d.as_secs_f64().max(1.0);
    }

    /// A call's after-call work ended after `handle` (talk plus wrap-up).
    pub(crate) fn record_handle(&mut self, handle: Duration) {
        if self.window.len() == WINDOW {
            self.window.pop_front();
        }
        self.window.push_back(handle.as_secs_f64());
        self.sorted.clear();
        self.sorted.extend(self.window.iter().copied());
        self.sorted.sort_unstable_by(f64::total_cmp);
        self.prefix.clear();
        self.prefix.push(0.0);
        let mut sum = 0.0;
        for &s in &self.sorted {
            sum += s;
            self.prefix.push(sum);
        }
    }

    /// An offer was answered `delay` after it was made.
    pub(crate) fn record_answer_delay(&mut self, delay: Duration) {
        let d = delay.as_secs_f64();
        self.answer_delay = if self.answer_samples == 0 {
            d
        } else {
            // Same filter coefficient as Asterisk's holdtime: 3/4 old, 1/4 new.
            0.75 * self.answer_delay + 0.25 * d
        };
        self.answer_samples += 1;
    }

    /// The recent offer-to-answer delay.
    pub(crate) fn answer_delay(&self) -> Duration {
        Duration::try_from_secs_f64(self.answer_delay).unwrap_or_default()
    }

    /// Mean handle time over the window (the configured default before any call), seconds.
    pub(crate) fn mean_handle(&self) -> f64 {
        match (self.prefix.last(), self.sorted.len()) {
            (Some(&sum), n) if n > 0 => (sum / n as f64).max(1e-3),
            _ => self.default_handle,
        }
    }

    /// Expected releases within `t` seconds of an agent working `e` seconds: P(R ≤ t) and
    /// E[(t − R)⁺] for its remaining time R.
    fn working(&self, e: f64, t: f64) -> (f64, f64) {
        let start = self.sorted.partition_point(|&s| s <= e);
        let longer = self.sorted.len() - start;
        if longer == 0 {
            // No recent call lasted this long (or no history): remaining time exponential with
            // the mean handle time (half of it past the longest recent call).
            let mean = if self.sorted.is_empty() {
                self.mean_handle()
            } else {
                self.mean_handle() / 2.0
            };
            let p = 1.0 - (-t / mean).exp();
            return (p, t - mean * p);
        }
        let end = self.sorted.partition_point(|&s| s <= e + t);
        let done = (end - start) as f64;
        let (Some(&hi), Some(&lo)) = (self.prefix.get(end), self.prefix.get(start)) else {
            return (0.0, 0.0);
        };
        let over = done * (e + t) - (hi - lo);
        (done / longer as f64, over / longer as f64)
    }

    /// m(t): expected agent releases within `t` seconds.
    fn releases(&self, agents: &[AgentLoad], scale: f64, t: f64) -> f64 {
        let a = self.mean_handle();
        let mut m = 0.0;
        for load in agents {
            m += match *load {
                AgentLoad::Ready => 1.0 + t / a,
                AgentLoad::FreeIn(w) => {
                    let w = w.as_secs_f64();
                    if t >= w { 1.0 + (t - w) / a } else { 0.0 }
                }
                AgentLoad::Working(e) => {
                    let (p, over) = self.working(e.as_secs_f64(), t);
                    p + over / a
                }
            };
        }
        m * scale
    }

    /// EWT of the call at 1-based `position`, given what each eligible staffed agent is doing.
    /// `None` without agents.
    pub(crate) fn estimate(&self, agents: &[AgentLoad], position: usize) -> Option<Duration> {
        if agents.is_empty() {
            return None;
        }
        // In a very large queue, an evenly spaced sample stands for all.
        let stride = agents.len().div_ceil(MAX_AGENTS);
        let sample: Vec<AgentLoad> = agents.iter().step_by(stride).copied().collect();
        let scale = agents.len() as f64 / sample.len() as f64;
        let p = position.max(1) as f64;
        // Bracket: grow until p releases are expected.
        let mut hi = (self.mean_handle() * p / agents.len() as f64).max(1.0);
        let mut guard = 0;
        while self.releases(&sample, scale, hi) < p {
            hi *= 2.0;
            guard += 1;
            if guard > 40 {
                return None;
            }
        }
        let mut lo = 0.0;
        if self.releases(&sample, scale, 0.0) >= p {
            hi = 0.0;
        }
        for _ in 0..STEPS {
            if hi - lo < 1e-3 {
                break;
            }
            let mid = (lo + hi) / 2.0;
            if self.releases(&sample, scale, mid) >= p {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(Duration::try_from_secs_f64(hi + self.answer_delay).unwrap_or(Duration::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn close(d: Option<Duration>, want: f64) -> bool {
        d.is_some_and(|d| (d.as_secs_f64() - want).abs() < 0.5)
    }

    #[test]
    fn known_free_times_give_the_pth_smallest() {
        let m = EwtModel::new(secs(100));
        let agents = [
            AgentLoad::FreeIn(secs(50)),
            AgentLoad::FreeIn(secs(10)),
            AgentLoad::FreeIn(secs(30)),
        ];
        assert!(close(m.estimate(&agents, 1), 10.0));
        assert!(close(m.estimate(&agents, 3), 50.0));
        assert_eq!(m.estimate(&[], 1), None);
    }

    #[test]
    fn without_history_busy_agents_release_at_n_over_mean_handle() {
        // Exponential assumption: 4 busy agents, 120 s mean → one release per 30 s.
        let m = EwtModel::new(secs(120));
        let agents = [AgentLoad::Working(secs(10)); 4];
        assert!(
            close(m.estimate(&agents, 1), 30.0),
            "{:?}",
            m.estimate(&agents, 1)
        );
        assert!(close(m.estimate(&agents, 3), 90.0));
    }

    #[test]
    fn a_ready_agent_means_no_wait_for_the_first_in_line() {
        let m = EwtModel::new(secs(120));
        assert!(close(
            m.estimate(&[AgentLoad::Ready, AgentLoad::Working(secs(5))], 1),
            0.0
        ));
    }

    #[test]
    fn remaining_time_follows_recent_calls_longer_than_the_elapsed_work() {
        let mut m = EwtModel::new(secs(100));
        for s in [10, 20, 30, 200] {
            m.record_handle(secs(s));
        }
        assert!((m.mean_handle() - 65.0).abs() < 1e-9);
        // Worked 50 s: only the 200 s call lasted longer, so it ends 150 s from now.
        let (p, _) = m.working(50.0, 149.0);
        assert_eq!(p, 0.0);
        let (p, _) = m.working(50.0, 150.0);
        assert_eq!(p, 1.0);
        assert!(close(m.estimate(&[AgentLoad::Working(secs(50))], 1), 150.0));
    }

    #[test]
    fn answer_delay_is_added() {
        let mut m = EwtModel::new(secs(60));
        m.record_answer_delay(secs(4));
        assert!(close(m.estimate(&[AgentLoad::FreeIn(secs(10))], 1), 14.0));
    }
}
