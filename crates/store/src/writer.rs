//! A dedicated writer thread that owns the [`Store`] and commits in batches.
//!
//! The engine's async tasks must not block on SQLite, and SQLite's cost is per commit, not per
//! row. So the engine hands [`WriteOp`]s to this thread through a bounded channel; the thread
//! takes whatever has queued up (up to `max_batch`), runs it in one transaction
//! ([`Store::apply_batch`]: a savepoint per op, so one failing op fails alone), commits, exports
//! the text files, and only then calls each op's reply. A reply therefore means "durable": it is
//! safe to publish the events, send the agent INVITE after `AgentAlerting`, or free a finished
//! call's resources. Replies are plain closures, so an async caller passes one that completes a
//! `tokio::sync::oneshot` and this crate stays free of tokio.
//!
//! The channel is bounded ([`StoreWriter::spawn`]'s `capacity`): [`WriterHandle::try_submit`]
//! fails with [`SubmitError::Full`] instead of growing memory when the disk cannot keep up.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::{self, JoinHandle};

use crate::batch::{WriteOp, WriteOutcome};
use crate::error::{Result, StoreError};
use crate::store::Store;

/// Called on the writer thread once the op is committed (or has failed).
pub type Reply = Box<dyn FnOnce(Result<WriteOutcome>) + Send>;

struct Request {
    op: WriteOp,
    reply: Reply,
}

/// Why an op was not queued. The op and its reply come back to the caller.
pub enum SubmitError {
    /// The queue is full: the store is behind (shed load, as for a full INVITE queue).
    Full(WriteOp, Reply),
    /// The writer thread has stopped.
    Stopped(WriteOp, Reply),
}

impl std::fmt::Debug for SubmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Full(op, _) => f.debug_tuple("Full").field(op).finish(),
            Self::Stopped(op, _) => f.debug_tuple("Stopped").field(op).finish(),
        }
    }
}

/// A cloneable sender of writes to the writer thread.
#[derive(Clone)]
pub struct WriterHandle {
    tx: SyncSender<Request>,
}

impl WriterHandle {
    /// Queues `op` without blocking.
    pub fn try_submit(&self, op: WriteOp, reply: Reply) -> Result<(), SubmitError> {
        self.tx
            .try_send(Request { op, reply })
            .map_err(|e| match e {
                TrySendError::Full(r) => SubmitError::Full(r.op, r.reply),
                TrySendError::Disconnected(r) => SubmitError::Stopped(r.op, r.reply),
            })
    }

    /// Queues `op`, blocking while the queue is full (for blocking contexts only).
    pub fn submit(&self, op: WriteOp, reply: Reply) -> Result<()> {
        self.tx
            .send(Request { op, reply })
            .map_err(|_| StoreError::WriterStopped)
    }

    /// Queues `op` and blocks until it is committed (tests, tools, shutdown paths).
    pub fn call(&self, op: WriteOp) -> Result<WriteOutcome> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit(
            op,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        )?;
        rx.recv().map_err(|_| StoreError::WriterStopped)?
    }
}

/// Submits writes without ever blocking its caller and commits them in the order they were
/// submitted, even when the writer's queue is full.
///
/// A plain `try_submit` that parks a refused op on another thread to wait for room lets a
/// later op overtake it: the journal would then give the later event the lower seq, and a
/// snapshot cut at a seq would no longer reflect every event before it. Here, once one op is
/// parked, every later op queues behind it on the same forwarding thread until the backlog has
/// reached the writer's queue; only then does submission go direct again.
pub struct OrderedSubmitter {
    writer: WriterHandle,
    /// Ops parked behind a full queue, in order, for the forwarding thread.
    overflow: Option<mpsc::Sender<Request>>,
    /// Ops handed to `overflow` and not yet in the writer's queue.
    parked: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl OrderedSubmitter {
    /// Submits through `writer`.
    pub fn new(writer: WriterHandle) -> Self {
        OrderedSubmitter {
            writer,
            overflow: None,
            parked: std::sync::Arc::default(),
        }
    }

    /// Ops waiting for room in the writer's queue (a gauge for the operator).
    pub fn parked(&self) -> usize {
        self.parked.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Queues `op` behind everything submitted before it. Returns `true` when it had to wait
    /// behind a full queue (the caller counts it). An op the stopped writer cannot take gets
    /// its reply called with [`StoreError::WriterStopped`].
    pub fn submit(&mut self, op: WriteOp, reply: Reply) -> bool {
        use std::sync::atomic::Ordering;
        let request = if self.parked.load(Ordering::Acquire) == 0 {
            match self.writer.try_submit(op, reply) {
                Ok(()) => return false,
                Err(SubmitError::Full(op, reply)) => Request { op, reply },
                Err(SubmitError::Stopped(_, reply)) => {
                    reply(Err(StoreError::WriterStopped));
                    return false;
                }
            }
        } else {
            Request { op, reply }
        };
        self.parked.fetch_add(1, Ordering::AcqRel);
        let overflow = self.overflow.get_or_insert_with(|| {
            let (tx, rx) = mpsc::channel::<Request>();
            let writer = self.writer.clone();
            let parked = self.parked.clone();
            // If no thread can be spawned the receiver is dropped with the closure, and the
            // send below fails and answers the op.
            let _ = thread::Builder::new()
                .name("store-overflow".into())
                .spawn(move || {
                    for request in rx {
                        // Blocks while the queue is full; that queue is FIFO, so the order
                        // holds. Counted down only once the op is in it.
                        if let Err(mpsc::SendError(request)) = writer.tx.send(request) {
                            (request.reply)(Err(StoreError::WriterStopped));
                        }
                        parked.fetch_sub(1, Ordering::AcqRel);
                    }
                });
            tx
        });
        if let Err(mpsc::SendError(request)) = overflow.send(request) {
            self.parked.fetch_sub(1, Ordering::AcqRel);
            self.overflow = None;
            (request.reply)(Err(StoreError::WriterStopped));
        }
        true
    }
}

/// The writer thread.
pub struct StoreWriter {
    handle: WriterHandle,
    join: JoinHandle<Store>,
    /// Checkpoints the WAL off this thread (`checkpoint.rs`); `None` if it could not start,
    /// and then the writer's connection checkpoints itself as SQLite does by default.
    checkpointer: Option<crate::checkpoint::Checkpointer>,
}

impl StoreWriter {
    /// Moves `store` onto a new thread named `store-writer`. `capacity` bounds the queue;
    /// `max_batch` bounds the ops per transaction (and so the latency one op can add to another).
    pub fn spawn(store: Store, capacity: usize, max_batch: usize) -> Result<Self> {
        let checkpointer = crate::checkpoint::Checkpointer::spawn(
            store.path(),
            crate::checkpoint::CHECKPOINT_INTERVAL,
        )
        .and_then(|c| store.hand_checkpoints_off().map(|()| c));
        let checkpointer = match checkpointer {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoints stay on the writer thread");
                None
            }
        };
        let (tx, rx) = mpsc::sync_channel(capacity);
        let max_batch = max_batch.max(1);
        let join = thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(store, &rx, max_batch))
            .map_err(|source| StoreError::File {
                path: "store-writer thread".into(),
                source,
            })?;
        Ok(Self {
            handle: WriterHandle { tx },
            join,
            checkpointer,
        })
    }

    /// A sender for other tasks.
    pub fn handle(&self) -> WriterHandle {
        self.handle.clone()
    }

    /// Stops taking ops, finishes the queued ones and returns the store (to
    /// [`Store::close`] it). Waits until every [`WriterHandle`] clone has been dropped.
    pub fn shutdown(self) -> Result<Store> {
        drop(self.handle);
        let store = self.join.join().map_err(|_| StoreError::WriterStopped);
        // A last checkpoint once the writer is done.
        drop(self.checkpointer);
        store
    }
}

fn run(mut store: Store, rx: &Receiver<Request>, max_batch: usize) -> Store {
    let mut ops = Vec::with_capacity(max_batch);
    let mut replies = Vec::with_capacity(max_batch);
    while let Ok(first) = rx.recv() {
        ops.push(first.op);
        replies.push(first.reply);
        while ops.len() < max_batch {
            match rx.try_recv() {
                Ok(r) => {
                    ops.push(r.op);
                    replies.push(r.reply);
                }
                Err(_) => break,
            }
        }
        let results = store.apply_batch(&ops);
        for (reply, result) in replies.drain(..).zip(results) {
            reply(result);
        }
        ops.clear();
    }
    store
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{Fixture, cdr, event};
    use crate::{EventFilter, Store};

    fn finish(call_id: &str) -> WriteOp {
        WriteOp::FinishCall {
            cdr: Box::new(cdr(call_id, 0)),
            queue_log: Vec::new(),
            events: vec![event(60, "CallEnded", Some(call_id))],
        }
    }

    #[test]
    fn concurrent_submitters_get_distinct_gap_free_seqs_committed_before_the_reply() {
        let fx = Fixture::new();
        let store = fx.open();
        // Opened before the writer runs: opening repairs the text exports, which must not race
        // the writer's own appends (that race duplicated lines under load).
        let observer = Store::open(&fx.config(), crate::tests::t(0)).unwrap();
        let writer = StoreWriter::spawn(store, 64, 16).unwrap();
        let (done_tx, done_rx) = mpsc::channel();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let handle = writer.handle();
                let done_tx = done_tx.clone();
                thread::spawn(move || {
                    for i in 0..50 {
                        let id = format!("t{t}-{i}");
                        let done_tx = done_tx.clone();
                        let reply_id = id.clone();
                        handle
                            .submit(
                                finish(&id),
                                Box::new(move |r| {
                                    let _ = done_tx.send((reply_id, r));
                                }),
                            )
                            .unwrap();
                    }
                })
            })
            .collect();
        drop(done_tx);
        let mut seqs = Vec::new();
        for (id, r) in done_rx {
            let Ok(WriteOutcome::Seqs(s)) = r else {
                panic!("{id}: {r:?}");
            };
            // Durable before the reply: another connection already sees it.
            assert!(observer.cdr(&id).unwrap().is_some(), "{id}");
            seqs.extend(s);
        }
        threads.into_iter().for_each(|t| t.join().unwrap());
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=200).collect::<Vec<u64>>());
        let store = writer.shutdown().unwrap();
        assert_eq!(store.head_seq().unwrap(), 200);
        drop(store);
        assert_eq!(fx.read(fx.master_csv()).lines().count(), 200);
    }

    #[test]
    fn a_failing_op_fails_alone_and_consumes_no_seq() {
        let fx = Fixture::new();
        let mut store = fx.open();
        let results = store.apply_batch(&[finish("a"), finish("a"), finish("b")]);
        assert_eq!(results[0].as_ref().unwrap(), &WriteOutcome::Seqs(vec![1]));
        assert!(matches!(results[1], Err(StoreError::DuplicateCdr(_))));
        assert_eq!(results[2].as_ref().unwrap(), &WriteOutcome::Seqs(vec![2]));
        let page = store.read_after(0, 10, &EventFilter::default()).unwrap();
        assert_eq!(page.events.len(), 2);
        assert_eq!(fx.read(fx.master_csv()).lines().count(), 2);
    }

    #[test]
    fn full_queue_hands_the_op_back() {
        let fx = Fixture::new();
        let writer = StoreWriter::spawn(fx.open(), 1, 1).unwrap();
        let handle = writer.handle();
        // Block the writer inside a reply until we have filled the queue.
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        handle
            .submit(
                finish("x"),
                Box::new(move |_| {
                    let _ = gate_rx.recv();
                }),
            )
            .unwrap();
        let mut full = None;
        for i in 0..3 {
            if let Err(e) = handle.try_submit(finish(&format!("y{i}")), Box::new(|_| {})) {
                full = Some(e);
                break;
            }
        }
        assert!(matches!(
            full,
            Some(SubmitError::Full(WriteOp::FinishCall { .. }, _))
        ));
        gate_tx.send(()).unwrap();
        assert!(handle.call(WriteOp::CallFinished("none".into())).is_ok());
        drop(handle);
        writer.shutdown().unwrap();
    }

    #[test]
    fn ordered_submitter_keeps_submission_order_behind_a_full_queue() {
        let fx = Fixture::new();
        let writer = StoreWriter::spawn(fx.open(), 1, 1).unwrap();
        let handle = writer.handle();
        let mut ordered = OrderedSubmitter::new(handle.clone());
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        handle
            .submit(
                WriteOp::CallFinished("gate".into()),
                Box::new(move |_| {
                    let _ = gate_rx.recv();
                }),
            )
            .unwrap();
        let (seq_tx, seq_rx) = mpsc::channel::<(usize, u64)>();
        let mut waited = 0;
        for i in 0..8 {
            let seq_tx = seq_tx.clone();
            let reply: Reply = Box::new(move |r| {
                if let Ok(WriteOutcome::Seqs(seqs)) = r {
                    let _ = seq_tx.send((i, seqs[0]));
                }
            });
            if ordered.submit(finish(&format!("c{i}")), reply) {
                waited += 1;
            }
        }
        assert!(waited >= 6, "the queue of one was full: {waited} waited");
        assert!(ordered.parked() > 0);
        gate_tx.send(()).unwrap();
        drop(seq_tx);
        let committed: Vec<(usize, u64)> = (0..8).map(|_| seq_rx.recv().unwrap()).collect();
        let seqs: Vec<u64> = committed.iter().map(|&(_, seq)| seq).collect();
        let order: Vec<usize> = committed.iter().map(|&(i, _)| i).collect();
        assert_eq!(
            order,
            (0..8).collect::<Vec<_>>(),
            "replies in submission order"
        );
        assert_eq!(
            seqs,
            (1..=8).collect::<Vec<u64>>(),
            "seqs in submission order"
        );
        // Back to direct submission once the backlog drained.
        while ordered.parked() > 0 {
            thread::yield_now();
        }
        assert!(!ordered.submit(WriteOp::CallFinished("after".into()), Box::new(|_| {})));
        drop(ordered);
        drop(handle);
        writer.shutdown().unwrap();
    }
}
