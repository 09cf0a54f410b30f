//! One Subscribe stream: replay from the journal, then live from the engine's broadcast, with
//! exactly-once delivery in seq order (research cti-api.md §9.5).
//!
//! The task keeps one number, `cursor`: every journal entry up to it has been evaluated for
//! this stream (delivered if it matched the filter). It only grows, by journal pages
//! (`scanned_upto`) or by live events that are exactly `cursor + 1`. Hence:
//! * a live event at or below the cursor was already replayed: skipped (no duplicate);
//! * a live event past `cursor + 1` means the broadcast missed something (it started after the
//!   event was published, or a lag): the gap is read from the journal first (no loss);
//! * a lagging receiver (the client reads slower than events arrive, so the bounded output
//!   channel is full and the broadcast overruns) is not dropped: it reads from the journal
//!   until it reaches the head, then goes back to live.
//!
//! The live receiver is created before the first journal read, so nothing published after the
//! read's head is lost either.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use switchboard_store::{EventFilter, StoredEvent};
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use tonic::Status;

use crate::codec::to_wire;
use crate::error::ApiError;
use crate::journal::JournalPool;
use crate::pb;
use crate::pb::subscribe_response::Kind;
use crate::seam::EngineSnapshot;
use crate::subscriptions::Registration;

/// Events read from the journal per page.
pub(crate) const REPLAY_PAGE: usize = 512;

/// Items per snapshot part.
const SNAPSHOT_PART: usize = 200;

pub(crate) type Outbox = mpsc::Sender<Result<pb::SubscribeResponse, Status>>;

/// Everything a stream task needs.
pub(crate) struct StreamTask {
    pub(crate) pool: Arc<JournalPool>,
    pub(crate) live: broadcast::Receiver<Arc<StoredEvent>>,
    pub(crate) filter: Arc<EventFilter>,
    pub(crate) cursor: u64,
    pub(crate) heartbeat: Duration,
    pub(crate) snapshot: Option<EngineSnapshot>,
    pub(crate) registration: Registration,
    pub(crate) out: Outbox,
}

/// Why the task stopped sending.
enum Stop {
    /// The client went away.
    ClientGone,
    /// A terminal error to report to the client.
    Error(ApiError),
}

impl From<ApiError> for Stop {
    fn from(error: ApiError) -> Self {
        Stop::Error(error)
    }
}

impl StreamTask {
    /// Runs until the client leaves or a terminal error (sent to the client as the status).
    pub(crate) async fn run(mut self) {
        let out = self.out.clone();
        if let Err(Stop::Error(error)) = self.drive().await {
            let _ = out.send(Err(Status::from(error))).await;
        }
    }

    async fn send(&self, kind: Kind) -> Result<(), Stop> {
        self.out
            .send(Ok(pb::SubscribeResponse { kind: Some(kind) }))
            .await
            .map_err(|_| Stop::ClientGone)
    }

    async fn drive(&mut self) -> Result<(), Stop> {
        let epoch = self.pool.epoch().to_string();
        let mut head = self.cursor;
        if let Some(snapshot) = self.snapshot.take() {
            self.send_snapshot(snapshot).await?;
        }
        head = head.max(self.catch_up().await?);
        self.registration.entry.set_replaying(false);
        self.send(Kind::CaughtUp(pb::CaughtUp {
            watermark_seq: self.cursor,
            journal_epoch: epoch,
        }))
        .await?;
        let mut next_heartbeat = Instant::now() + self.heartbeat;
        loop {
            tokio::select! {
                () = self.out.closed() => return Err(Stop::ClientGone),
                received = self.live.recv() => {
                    let sent = match received {
                        Ok(event) => {
                            head = head.max(event.seq);
                            self.on_live(&event).await?
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            // The bounded live buffer overran: serve from the journal instead.
                            self.registration.entry.set_replaying(true);
                            let scanned = self.catch_up().await?;
                            self.registration.entry.set_replaying(false);
                            head = head.max(scanned);
                            true
                        }
                        Err(broadcast::error::RecvError::Closed) => {
                            return Err(Stop::Error(ApiError::Unavailable(
                                "the engine stopped publishing events".into(),
                            )));
                        }
                    };
                    if sent {
                        next_heartbeat = Instant::now() + self.heartbeat;
                    }
                }
                () = tokio::time::sleep_until(next_heartbeat) => {
                    self.send(Kind::Heartbeat(pb::Heartbeat {
                        head_seq: head.max(self.cursor),
                        watermark_seq: self.cursor,
                        server_time: Some(SystemTime::now().into()),
                    }))
                    .await?;
                    next_heartbeat = Instant::now() + self.heartbeat;
                }
            }
        }
    }

    /// Handles one live event; returns whether anything was sent.
    async fn on_live(&mut self, event: &StoredEvent) -> Result<bool, Stop> {
        if event.seq <= self.cursor {
            return Ok(false);
        }
        let mut sent = false;
        if event.seq > self.cursor + 1 {
            // Gap: the journal has what the broadcast did not bring.
            self.catch_up().await?;
            sent = true;
            if event.seq <= self.cursor {
                return Ok(sent);
            }
        }
        if self.filter.matches(&event.event) {
            self.send(Kind::Event(to_wire(event))).await?;
            sent = true;
        }
        self.cursor = event.seq;
        self.registration.entry.advance(self.cursor);
        Ok(sent)
    }

    /// Reads from the journal after the cursor up to the head; returns the last scanned seq.
    async fn catch_up(&mut self) -> Result<u64, Stop> {
        loop {
            let page = self
                .pool
                .read_after(self.cursor, REPLAY_PAGE, self.filter.clone())
                .await?;
            let full = page.events.len() == REPLAY_PAGE;
            for event in &page.events {
                self.send(Kind::Event(to_wire(event))).await?;
                self.cursor = event.seq;
                self.registration.entry.advance(self.cursor);
            }
            self.cursor = self.cursor.max(page.scanned_upto);
            self.registration.entry.advance(self.cursor);
            if !full {
                return Ok(self.cursor);
            }
        }
    }

    async fn send_snapshot(&self, snapshot: EngineSnapshot) -> Result<(), Stop> {
        let as_of_seq = snapshot.as_of_seq;
        let mut parts = Vec::new();
        for chunk in snapshot.calls.chunks(SNAPSHOT_PART) {
            parts.push(pb::SnapshotPart {
                as_of_seq,
                calls: chunk.to_vec(),
                ..Default::default()
            });
        }
        for chunk in snapshot.agents.chunks(SNAPSHOT_PART) {
            parts.push(pb::SnapshotPart {
                as_of_seq,
                agents: chunk.to_vec(),
                ..Default::default()
            });
        }
        parts.push(pb::SnapshotPart {
            as_of_seq,
            queues: snapshot.queues,
            last: true,
            ..Default::default()
        });
        for part in parts {
            self.send(Kind::Snapshot(part)).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! The stream's invariant under any interleaving of appends that are published, appends the
    //! broadcast never sees, a live buffer that overruns, and a client reading in bursts: the
    //! stream delivers exactly the journal, in seq order, once each.

    use std::time::SystemTime;

    use proptest::prelude::*;
    use switchboard_store::{NewEvent, Store, StoreConfig};

    use super::*;
    use crate::subscriptions::Registry;

    #[derive(Debug, Clone)]
    enum Step {
        /// Append and publish this many events.
        Publish(u8),
        /// Append without publishing (the broadcast missed them).
        JournalOnly(u8),
        /// The client reads this many messages.
        Read(u8),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (1..40u8).prop_map(Step::Publish),
            (1..5u8).prop_map(Step::JournalOnly),
            (1..60u8).prop_map(Step::Read),
        ]
    }

    fn row(i: u64) -> NewEvent {
        let mut e = NewEvent::new(SystemTime::UNIX_EPOCH, "DtmfReceived", Vec::new());
        e.call_id = Some(format!("c{i}"));
        e
    }

    async fn run(script: Vec<Step>, start_after: u64) -> Result<(), TestCaseError> {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(
            &StoreConfig::new(dir.path().join("j.db")),
            SystemTime::now(),
        )
        .unwrap();
        let pre: Vec<_> = (0..start_after).map(row).collect();
        store.append(&pre).unwrap();
        let pool = JournalPool::open(&store, 2).unwrap();
        // Tiny buffers so lags and back-pressure happen often.
        let (live, receiver) = broadcast::channel(4);
        let (out, mut rx) = mpsc::channel(8);
        let registry = Registry::new(4);
        let registration = registry
            .register(
                String::new(),
                String::new(),
                String::new(),
                EventFilter::default(),
                0,
                SystemTime::now(),
            )
            .unwrap();
        let task = StreamTask {
            pool,
            live: receiver,
            filter: Arc::new(EventFilter::default()),
            cursor: 0,
            heartbeat: Duration::from_secs(60),
            snapshot: None,
            registration,
            out,
        };
        let handle = tokio::spawn(task.run());
        let mut seqs = Vec::new();
        let mut n = start_after;
        let read = |msg: pb::SubscribeResponse, seqs: &mut Vec<u64>| {
            if let Some(Kind::Event(e)) = msg.kind {
                seqs.push(e.seq);
            }
        };
        for step in script {
            match step {
                Step::Publish(k) | Step::JournalOnly(k) => {
                    let rows: Vec<_> = (n..n + u64::from(k)).map(row).collect();
                    n += u64::from(k);
                    let assigned = store.append(&rows).unwrap();
                    if matches!(step, Step::Publish(_)) {
                        for (seq, event) in assigned.into_iter().zip(rows) {
                            let _ = live.send(Arc::new(StoredEvent {
                                seq,
                                epoch: store.epoch(),
                                event,
                            }));
                        }
                    }
                }
                Step::Read(k) => {
                    for _ in 0..k {
                        match tokio::time::timeout(Duration::from_millis(50), rx.recv()).await {
                            Ok(Some(Ok(msg))) => read(msg, &mut seqs),
                            Ok(Some(Err(status))) => {
                                return Err(TestCaseError::fail(format!("{status}")));
                            }
                            _ => break,
                        }
                    }
                }
            }
        }
        // A final published event forces the stream to the head even if the last appends were
        // journal-only; then drain.
        let last: Vec<_> = vec![row(n)];
        let assigned = store.append(&last).unwrap();
        let _ = live.send(Arc::new(StoredEvent {
            seq: assigned[0],
            epoch: store.epoch(),
            event: last[0].clone(),
        }));
        let head = assigned[0];
        while seqs.last().copied().unwrap_or(0) < head {
            match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
                Ok(Some(Ok(msg))) => read(msg, &mut seqs),
                other => {
                    return Err(TestCaseError::fail(format!(
                        "stream stalled at {:?}: {other:?}",
                        seqs.last()
                    )));
                }
            }
        }
        drop(rx);
        handle.abort();
        prop_assert_eq!(seqs, (1..=head).collect::<Vec<_>>());
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        #[test]
        fn stream_delivers_the_journal_exactly_once_in_order(
            script in proptest::collection::vec(step(), 1..25),
            start_after in 0..30u64,
        ) {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(run(script, start_after))?;
        }
    }
}
