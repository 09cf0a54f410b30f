//! Calls in the router: where each one is, and the key that fixes its place in line.
//!
//! A call's place in line is its [`CallKey`]: priority first, then effective enqueue time (real
//! enqueue time minus the API's age bonus), then arrival order. The key does not depend on the
//! requirement step, on offers that came back (RONA), or on callback retries, so none of those
//! can cost a caller its place.

use std::cmp::Reverse;
use std::time::{Duration, Instant};

use crate::ids::{AgentIdx, AgentName, CallId, OfferId, QueueIdx, QueueName};
use crate::requirement::{ExprIdx, Steps};

/// Where a call is. Every call in the router is in exactly one place; a call that left is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallPlace {
    /// In line for an agent.
    Waiting,
    /// A callback waiting for its retry delay; not offered before `retry_at`.
    CallbackScheduled {
        /// When it is back in line.
        retry_at: Instant,
    },
    /// Ringing these agents (more than one only in ring-all).
    Offered {
        /// The agents rung.
        agents: Vec<AgentName>,
    },
    /// Connected to an agent.
    Connected {
        /// The agent.
        agent: AgentName,
    },
}

/// What the router reports about a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallView {
    /// The call.
    pub call: CallId,
    /// Its queue.
    pub queue: QueueName,
    /// Where it is.
    pub place: CallPlace,
    /// Its priority.
    pub priority: i32,
    /// Its age bonus.
    pub wait_adjustment: Duration,
    /// When it first entered a queue of this router (kept through overflow and callbacks).
    pub enqueued_at: Instant,
    /// Index of the active requirement step (the step count: past the last, any member).
    pub step: usize,
    /// It is a callback entry.
    pub callback: bool,
    /// Failed callback attempts so far.
    pub callback_attempts: u32,
    /// The EWT predicted when it was queued.
    pub predicted_wait: Option<Duration>,
}

/// A call's place in line: smaller is served first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct CallKey {
    pub(crate) priority: Reverse<i32>,
    /// Nanoseconds since the router's base instant, minus the age bonus.
    pub(crate) effective: i64,
    pub(crate) seq: u64,
}

/// The internal form of [`CallPlace`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Place {
    Waiting,
    Scheduled(Instant),
    Offered(Vec<OfferId>),
    Connected(AgentIdx),
}

/// The router's record of one call.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) id: CallId,
    pub(crate) queue: QueueIdx,
    pub(crate) priority: i32,
    pub(crate) adjustment: Duration,
    pub(crate) enqueued_at: Instant,
    /// When it entered its current queue (waits in statistics are per queue).
    pub(crate) queue_entered_at: Instant,
    pub(crate) seq: u64,
    pub(crate) steps: Steps,
    /// The steps are the queue's (re-read when the queue's requirement changes).
    pub(crate) uses_queue_requirement: bool,
    pub(crate) requirement_started: Instant,
    pub(crate) step: usize,
    pub(crate) expr: ExprIdx,
    pub(crate) step_timer: Option<Instant>,
    pub(crate) max_wait_timer: Option<Instant>,
    pub(crate) max_wait_passed: bool,
    pub(crate) announce_timer: Option<Instant>,
    pub(crate) place: Place,
    /// `Some(failed attempts)` for a callback entry.
    pub(crate) callback: Option<u32>,
    pub(crate) predicted: Option<Duration>,
    pub(crate) hops: u8,
    pub(crate) answered_at: Option<Instant>,
    pub(crate) offered_at: Option<Instant>,
    /// The outstanding offers were made by ring-all (they stay valid if the queue's strategy
    /// changes while they ring).
    pub(crate) rung_all: bool,
}

impl Call {
    pub(crate) fn key(&self, base: Instant) -> CallKey {
        let since = self.enqueued_at.saturating_duration_since(base).as_nanos();
        let since = i64::try_from(since).unwrap_or(i64::MAX);
        let bonus = i64::try_from(self.adjustment.as_nanos()).unwrap_or(i64::MAX);
        CallKey {
            priority: Reverse(self.priority),
            effective: since.saturating_sub(bonus),
            seq: self.seq,
        }
    }

    pub(crate) fn is_waiting(&self) -> bool {
        self.place == Place::Waiting
    }
}
