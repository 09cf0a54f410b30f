//! `QueueStatsUpdated` events (issue 7: queue statistics are also pushed on the event stream).
//! The router says when a queue's statistics changed; a busy queue changes many times a second,
//! so each queue is journaled at most once per [`STATS_INTERVAL`], with its statistics as of the
//! flush (the latest, not the first change's), after the events of the input that changed
//! them, and only when they differ from what was pushed last (the start-up figures count as
//! pushed: a restart adds nothing to the journal).

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use switchboard_proto::codec::journal_event;
use switchboard_proto::pb;
use switchboard_proto::pb::event::Payload;

use crate::engine::Engine;

/// At most one `QueueStatsUpdated` per queue this often.
pub(crate) const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// Queues whose statistics changed since the last flush.
#[derive(Debug, Default)]
pub(crate) struct StatsPush {
    dirty: BTreeSet<String>,
    last_flush: Option<Instant>,
    last_pushed: HashMap<String, pb::QueueStats>,
}

impl StatsPush {
    /// When the dirty queues are due (`None`: nothing to push). A change with no flush
    /// before it is flushed at once, so a dirty set always has a last flush.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        if self.dirty.is_empty() {
            return None;
        }
        self.last_flush.map(|at| at + STATS_INTERVAL)
    }
}

impl Engine {
    /// The figures at start-up, as if pushed (called once the engine is built).
    pub(crate) fn stats_baseline(&mut self, now: Instant) {
        let names: Vec<String> = self
            .config
            .queues()
            .iter()
            .map(|q| q.name.as_str().to_owned())
            .collect();
        for name in names {
            if let Some(stats) = self.queue_view(now, &name).and_then(|v| v.stats) {
                self.stats_push.last_pushed.insert(name, stats);
            }
        }
    }

    /// The router reports a change of `queue`'s statistics.
    pub(crate) fn stats_changed(&mut self, queue: &str) {
        // Agents' personal queues (`agent:<id>`) are the router's business, not the API's.
        if self.config.queue(queue).is_some() {
            self.stats_push.dirty.insert(queue.to_owned());
        }
    }

    /// Journals the dirty queues if they are due: at the end of every input, and at the
    /// deadline.
    pub(crate) fn push_stats(&mut self, now: Instant) {
        let due = !self.stats_push.dirty.is_empty()
            && self
                .stats_push
                .last_flush
                .is_none_or(|at| now >= at + STATS_INTERVAL);
        if due {
            self.flush_stats(now);
        }
    }

    fn flush_stats(&mut self, now: Instant) {
        let wall = self.wall(now);
        let queues = std::mem::take(&mut self.stats_push.dirty);
        self.stats_push.last_flush = Some(now);
        let mut events = Vec::new();
        for queue in queues {
            let Some(stats) = self.queue_view(now, &queue).and_then(|v| v.stats) else {
                continue;
            };
            if self.stats_push.last_pushed.get(&queue) == Some(&stats) {
                continue;
            }
            self.stats_push
                .last_pushed
                .insert(queue.clone(), stats.clone());
            let event = pb::Event {
                queue,
                payload: Some(Payload::QueueStatsUpdated(pb::QueueStatsUpdated {
                    stats: Some(stats),
                })),
                ..Default::default()
            };
            events.push(journal_event(wall, &event));
        }
        self.journal(events);
    }
}
