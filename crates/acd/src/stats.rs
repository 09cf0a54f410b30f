//! Statistics: per-queue counters, live totals and per interval (15 minutes by default).
//!
//! Each counter moves once per event, at the event: a call is offered once when it enters a
//! queue, and ends in exactly one outcome (answered, abandoned, exited, overflowed, or a
//! callback outcome). The same increment goes to the running totals and to the open interval,
//! so the intervals of a day add up to the day. Interval boundaries are multiples of the
//! interval length since the Unix epoch, in wall-clock time handed in by the engine.
//!
//! Service level comes in both of Asterisk's formulas (`app_queue.c`, `QueueSummary` /
//! `QueueStatus` and `queues.conf` `servicelevel`):
//! - `servicelevelperf`  = answered within SL / answered;
//! - `servicelevelperf2` = (answered within SL + abandoned within SL) / (answered + abandoned),
//!   which forgives callers who hung up before the threshold.

use std::time::{Duration, SystemTime};

use crate::ids::QueueName;

/// Event counters of one queue over some period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Calls that entered the queue (including overflow arrivals and callbacks' original calls).
    pub offered: u64,
    /// Calls refused at arrival (full, or empty under `join_empty`); not in `offered`.
    pub refused: u64,
    /// Calls answered by an agent.
    pub answered: u64,
    /// Answered within the service-level threshold.
    pub answered_within_sl: u64,
    /// Callers who hung up while waiting or ringing.
    pub abandoned: u64,
    /// Abandoned within the service-level threshold.
    pub abandoned_within_sl: u64,
    /// Abandoned within the short-abandon threshold (also counted in `abandoned`).
    pub short_abandoned: u64,
    /// Calls that left unanswered: max wait, leave-empty, queue removed, overflow loop.
    pub exited: u64,
    /// Calls moved to another queue of the router (counted as offered there).
    pub overflowed: u64,
    /// Waiting callers who asked for a callback.
    pub callbacks_requested: u64,
    /// Callbacks that reached the customer and ended.
    pub callbacks_completed: u64,
    /// Callbacks that ran out of attempts.
    pub callbacks_failed: u64,
    /// Callback entries withdrawn before completion.
    pub callbacks_cancelled: u64,
    /// Offers that timed out or were rejected.
    pub ronas: u64,
    /// Sum of waits of answered calls (ASA = this / answered).
    pub total_answer_wait: Duration,
    /// Longest wait of an answered call.
    pub longest_answer_wait: Duration,
    /// Calls whose talk ended.
    pub talked: u64,
    /// Sum of talk times.
    pub total_talk_time: Duration,
    /// Calls whose after-call work ended (talk plus wrap-up done).
    pub handled: u64,
    /// Sum of handle times (talk plus wrap-up).
    pub total_handle_time: Duration,
    /// Answered calls that had an EWT prediction.
    pub ewt_samples: u64,
    /// Sum of |predicted − actual| wait.
    pub ewt_total_abs_error: Duration,
    /// Sum of (predicted − actual) where the prediction was too long.
    pub ewt_total_over: Duration,
    /// Sum of (actual − predicted) where the prediction was too short.
    pub ewt_total_under: Duration,
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| 100.0 * num as f64 / den as f64)
}

fn mean(total: Duration, n: u64) -> Option<Duration> {
    (n > 0).then(|| {
        Duration::from_nanos(u64::try_from(total.as_nanos() / u128::from(n)).unwrap_or(u64::MAX))
    })
}

impl Counters {
    /// Asterisk `servicelevelperf`: % of answered calls answered within the threshold.
    pub fn service_level(&self) -> Option<f64> {
        ratio(self.answered_within_sl, self.answered)
    }

    /// Asterisk `servicelevelperf2`: % of answered plus abandoned calls that were answered or
    /// abandoned within the threshold.
    pub fn service_level_with_abandons(&self) -> Option<f64> {
        ratio(
            self.answered_within_sl + self.abandoned_within_sl,
            self.answered + self.abandoned,
        )
    }

    /// Average speed of answer.
    pub fn asa(&self) -> Option<Duration> {
        mean(self.total_answer_wait, self.answered)
    }

    /// Average talk time.
    pub fn average_talk_time(&self) -> Option<Duration> {
        mean(self.total_talk_time, self.talked)
    }

    /// Average handle time (talk plus wrap-up).
    pub fn aht(&self) -> Option<Duration> {
        mean(self.total_handle_time, self.handled)
    }

    /// Mean absolute error of the EWT predicted at queueing against the actual wait.
    pub fn ewt_mean_abs_error(&self) -> Option<Duration> {
        mean(self.ewt_total_abs_error, self.ewt_samples)
    }

    /// Mean signed error (predicted − actual) in seconds: positive when EWT overestimates.
    pub fn ewt_bias_seconds(&self) -> Option<f64> {
        (self.ewt_samples > 0).then(|| {
            (self.ewt_total_over.as_secs_f64() - self.ewt_total_under.as_secs_f64())
                / self.ewt_samples as f64
        })
    }
}

/// A queue's counters: since start, and for the open interval.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueueCounters {
    pub(crate) totals: Counters,
    pub(crate) interval: Counters,
}

impl QueueCounters {
    /// Applies one event to the totals and the open interval alike.
    pub(crate) fn count(&mut self, event: impl Fn(&mut Counters)) {
        event(&mut self.totals);
        event(&mut self.interval);
    }
}

/// Agents of a queue by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AgentCounts {
    /// Logged out.
    pub logged_out: usize,
    /// Not Ready.
    pub not_ready: usize,
    /// Ready.
    pub ready: usize,
    /// An offer is out.
    pub reserved: usize,
    /// On a call.
    pub on_call: usize,
    /// In wrap-up.
    pub wrap_up: usize,
}

/// A queue's live statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueStats {
    /// The queue.
    pub queue: QueueName,
    /// Counters since the router started.
    pub totals: Counters,
    /// Counters of the open interval.
    pub interval: Counters,
    /// Start of the open interval.
    pub interval_start: SystemTime,
    /// Calls waiting (callbacks included, scheduled retries not).
    pub waiting: usize,
    /// Calls ringing an agent.
    pub ringing: usize,
    /// Callbacks waiting for their retry delay.
    pub scheduled_callbacks: usize,
    /// Longest current wait among waiting and ringing calls.
    pub longest_wait: Duration,
    /// Members by state.
    pub agents: AgentCounts,
}

/// The counters of a closed interval.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalReport {
    /// The queue.
    pub queue: QueueName,
    /// Start of the interval (wall clock).
    pub start: SystemTime,
    /// Its length.
    pub length: Duration,
    /// What happened in it.
    pub counters: Counters,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_asterisk_service_level_formulas() {
        let c = Counters {
            answered: 8,
            answered_within_sl: 6,
            abandoned: 2,
            abandoned_within_sl: 2,
            ..Counters::default()
        };
        assert_eq!(c.service_level(), Some(75.0));
        assert_eq!(c.service_level_with_abandons(), Some(80.0));
        assert_eq!(Counters::default().service_level(), None);
    }

    #[test]
    fn each_event_goes_to_totals_and_interval_once() {
        let mut q = QueueCounters::default();
        q.count(|c| c.offered += 1);
        q.interval = Counters::default();
        q.count(|c| c.offered += 1);
        assert_eq!((q.totals.offered, q.interval.offered), (2, 1));
    }
}
