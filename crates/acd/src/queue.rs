//! Queues: the indexes that make each decision cheap.
//!
//! Per queue the router keeps
//! - its Ready members, ordered by the strategy's key ([`crate::strategy`]), and
//! - its waiting calls, split into classes by their current requirement expression and ordered
//!   within a class by [`CallKey`].
//!
//! An agent that becomes Ready looks, in each of its queues, only at the head of each class
//! whose expression it meets: the best call it may take is among those heads. With a handful of
//! classes per queue that is a few comparisons per queue, whatever the number of waiting calls.

use std::collections::BTreeSet;
use std::time::Instant;

use crate::call::CallKey;
use crate::ewt::EwtModel;
use crate::ids::{AgentIdx, CallId, QueueIdx};
use crate::requirement::{ExprIdx, Steps};
use crate::spec::QueueSpec;
use crate::stats::QueueCounters;
use crate::strategy::ReadyKey;

/// Waiting calls of one requirement class, in line order.
pub(crate) type CallLine = BTreeSet<(CallKey, CallId)>;

/// The router's record of one queue.
#[derive(Debug)]
pub(crate) struct Queue {
    pub(crate) spec: QueueSpec,
    /// In the configuration; a removed queue lingers until its connected calls end.
    pub(crate) configured: bool,
    /// The queue's requirement, interned.
    pub(crate) steps: Steps,
    /// The overflow target when it is a queue of this router.
    pub(crate) overflow_queue: Option<QueueIdx>,
    /// Members in configuration order.
    pub(crate) members: Vec<AgentIdx>,
    /// Ready members in strategy order.
    pub(crate) ready: BTreeSet<(ReadyKey, AgentIdx)>,
    /// Waiting calls by requirement class.
    pub(crate) waiting: Vec<(ExprIdx, CallLine)>,
    /// Round robin memory: the member position offered last.
    pub(crate) rr_last: Option<u32>,
    /// Calls in the queue (waiting, ringing or scheduled callbacks) by entry time: their count
    /// is what `max_length` limits, and the live view reads only this queue's calls.
    pub(crate) in_queue: BTreeSet<(Instant, CallId)>,
    pub(crate) counters: QueueCounters,
    pub(crate) ewt: EwtModel,
}

impl Queue {
    pub(crate) fn new(spec: QueueSpec, steps: Steps) -> Self {
        let ewt = EwtModel::new(spec.default_handle_time);
        Self {
            spec,
            configured: true,
            steps,
            overflow_queue: None,
            members: Vec::new(),
            ready: BTreeSet::new(),
            waiting: Vec::new(),
            rr_last: None,
            in_queue: BTreeSet::new(),
            counters: QueueCounters::default(),
            ewt,
        }
    }

    pub(crate) fn insert_waiting(&mut self, expr: ExprIdx, key: CallKey, call: CallId) {
        if let Some((_, line)) = self.waiting.iter_mut().find(|(e, _)| *e == expr) {
            line.insert((key, call));
        } else {
            let mut line = CallLine::new();
            line.insert((key, call));
            self.waiting.push((expr, line));
        }
    }

    pub(crate) fn remove_waiting(&mut self, expr: ExprIdx, key: CallKey, call: CallId) -> bool {
        let Some(i) = self.waiting.iter().position(|(e, _)| *e == expr) else {
            return false;
        };
        let removed = self.waiting[i].1.remove(&(key, call));
        if self.waiting[i].1.is_empty() {
            self.waiting.swap_remove(i);
        }
        removed
    }

    /// 1-based position of a waiting call with this key among the queue's waiting calls.
    pub(crate) fn position(&self, key: CallKey) -> usize {
        1 + self
            .waiting
            .iter()
            .map(|(_, line)| line.range(..(key, CallId(0))).count())
            .sum::<usize>()
    }
}
