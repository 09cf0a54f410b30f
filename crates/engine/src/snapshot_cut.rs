//! The snapshot barrier of the shell (issue 7: a snapshot is a cut at a known journal seq).

use std::collections::BTreeSet;

use tokio::sync::oneshot;

use crate::output::Ticket;
use crate::query::{EngineSnapshot, QueryAnswer, QueryError};

/// The snapshot barrier. The core's state runs ahead of the journal (events are committed
/// asynchronously), so a snapshot taken now reflects events that have no seq yet. Its answer
/// waits until every write submitted before it is committed; its `as_of_seq` is the highest
/// seq among those writes (and all earlier ones), never a later write's, even if the writer
/// finished a later one first.
#[derive(Default)]
pub(crate) struct JournalCut {
    /// The highest seq committed so far.
    pub(crate) last_seq: u64,
    /// The last ticket submitted.
    last_ticket: Option<Ticket>,
    /// Submitted, not yet committed.
    outstanding: BTreeSet<Ticket>,
    waiting: Vec<PendingSnapshot>,
}

struct PendingSnapshot {
    barrier: Ticket,
    as_of_seq: u64,
    snapshot: EngineSnapshot,
    reply: oneshot::Sender<Result<QueryAnswer, QueryError>>,
}

impl JournalCut {
    /// A cut over a journal whose head is `last_seq`.
    pub(crate) fn starting_at(last_seq: u64) -> Self {
        Self {
            last_seq,
            ..Self::default()
        }
    }

    pub(crate) fn submitted(&mut self, ticket: Ticket) {
        self.outstanding.insert(ticket);
        self.last_ticket = Some(ticket);
    }

    /// Holds `snapshot` until the writes before it are committed (answers at once if none is
    /// in flight).
    pub(crate) fn snapshot(
        &mut self,
        mut snapshot: EngineSnapshot,
        reply: oneshot::Sender<Result<QueryAnswer, QueryError>>,
    ) {
        match (self.outstanding.is_empty(), self.last_ticket) {
            (false, Some(barrier)) => self.waiting.push(PendingSnapshot {
                barrier,
                as_of_seq: self.last_seq,
                snapshot,
                reply,
            }),
            _ => {
                snapshot.as_of_seq = self.last_seq;
                let _ = reply.send(Ok(QueryAnswer::Snapshot(snapshot)));
            }
        }
    }

    /// `ticket` is committed with these seqs: answer the snapshots it was the last wait of.
    pub(crate) fn committed(&mut self, ticket: Ticket, seqs: impl Iterator<Item = u64>) {
        self.outstanding.remove(&ticket);
        let top = seqs.max().unwrap_or(0);
        self.last_seq = self.last_seq.max(top);
        let first_outstanding = self.outstanding.first().copied();
        let mut i = 0;
        while i < self.waiting.len() {
            let pending = &mut self.waiting[i];
            if ticket <= pending.barrier {
                pending.as_of_seq = pending.as_of_seq.max(top);
            }
            if first_outstanding.is_none_or(|t| t > pending.barrier) {
                let mut done = self.waiting.swap_remove(i);
                done.snapshot.as_of_seq = done.as_of_seq;
                let _ = done.reply.send(Ok(QueryAnswer::Snapshot(done.snapshot)));
            } else {
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(rx: &mut oneshot::Receiver<Result<QueryAnswer, QueryError>>) -> Option<u64> {
        match rx.try_recv() {
            Ok(Ok(QueryAnswer::Snapshot(s))) => Some(s.as_of_seq),
            _ => None,
        }
    }

    #[test]
    fn a_snapshot_with_nothing_in_flight_is_cut_at_the_last_committed_seq() {
        let mut cut = JournalCut {
            last_seq: 41,
            ..JournalCut::default()
        };
        cut.submitted(Ticket(1));
        cut.committed(Ticket(1), [42].into_iter());
        let (tx, mut rx) = oneshot::channel();
        cut.snapshot(EngineSnapshot::default(), tx);
        assert_eq!(answer(&mut rx), Some(42));
    }

    #[test]
    fn a_snapshot_waits_for_the_writes_before_it_and_ignores_later_ones() {
        let mut cut = JournalCut {
            last_seq: 10,
            ..JournalCut::default()
        };
        cut.submitted(Ticket(1));
        cut.submitted(Ticket(2));
        let (tx, mut rx) = oneshot::channel();
        cut.snapshot(EngineSnapshot::default(), tx);
        cut.submitted(Ticket(3));
        cut.committed(Ticket(1), [11, 12].into_iter());
        assert_eq!(answer(&mut rx), None, "ticket 2 still in flight");
        // Written after the snapshot, committed before ticket 2: not in its state, so not in
        // its seq either.
        cut.committed(Ticket(3), [13].into_iter());
        assert_eq!(answer(&mut rx), None);
        // A write without events (a CDR) still closes the barrier.
        cut.committed(Ticket(2), std::iter::empty());
        assert_eq!(answer(&mut rx), Some(12));
        assert_eq!(cut.last_seq, 13);
    }
}
