//! WAL checkpoints off the writer thread.
//!
//! SQLite's default auto-checkpoint runs inside the commit that pushes the WAL past 1,000
//! pages, on the committing connection: the writer thread then copies the WAL into the
//! database and, with `synchronous=NORMAL`, fsyncs it, while the `AgentAlerting` that an agent's
//! INVITE waits for sits in the same commit. That is the ring latency's tail (several ms every
//! few hundred commits). So the writer's connection has auto-checkpoint off, and this thread
//! runs a PASSIVE checkpoint on a connection of its own every `every`: PASSIVE never blocks the
//! writer (it copies what no reader still needs and gives up on the rest), and once a
//! checkpoint has caught up, the writer's next commit starts the WAL over from its beginning,
//! so the file stays as large as a few intervals of traffic (`journal_size_limit` trims it back
//! after a burst).

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rusqlite::Connection;

use crate::error::{Result, StoreError};

/// How often the checkpointer runs by default.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);
/// The WAL is truncated back to this size when it is restarted after a burst (bytes).
pub(crate) const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// What one checkpoint did (`PRAGMA wal_checkpoint`'s three columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointOutcome {
    /// Another connection held a lock the checkpoint needed (never the case for PASSIVE).
    pub busy: bool,
    /// Frames in the WAL.
    pub wal_frames: i64,
    /// Frames copied into the database (all of them once the checkpoint caught up).
    pub checkpointed: i64,
}

/// A connection that checkpoints the store's WAL.
pub struct Checkpoints {
    conn: Connection,
}

impl Checkpoints {
    /// Opens the store's database at `path` for checkpointing.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        Ok(Checkpoints { conn })
    }

    /// One PASSIVE checkpoint: copies the committed frames no reader still needs, without
    /// waiting for or blocking the writer.
    pub fn passive(&self) -> Result<CheckpointOutcome> {
        let (busy, wal_frames, checkpointed) =
            self.conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })?;
        Ok(CheckpointOutcome {
            busy: busy != 0,
            wal_frames,
            checkpointed,
        })
    }
}

/// The checkpoint thread; stops (after one last checkpoint) when dropped.
pub struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    join: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the store at `path` every `every`.
    pub fn spawn(path: &Path, every: Duration) -> Result<Self> {
        let checkpoints = Checkpoints::open(path)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let join = thread::Builder::new()
            .name("store-checkpoint".into())
            .spawn(move || {
                loop {
                    let last =
                        !matches!(stopped.recv_timeout(every), Err(RecvTimeoutError::Timeout));
                    if let Err(e) = checkpoints.passive() {
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                    }
                    if last {
                        return;
                    }
                }
            })
            .map_err(|source| StoreError::File {
                path: "store-checkpoint thread".into(),
                source,
            })?;
        Ok(Checkpointer {
            stop: Some(stop),
            join: Some(join),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(join) = self.join.take() {
            let _ = join.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WriteOp;
    use crate::tests::{Fixture, cdr, event};

    fn finish(store: &mut crate::Store, call_id: &str) {
        let op = WriteOp::FinishCall {
            cdr: Box::new(cdr(call_id, 0)),
            queue_log: Vec::new(),
            events: vec![event(60, "CallEnded", Some(call_id))],
        };
        for r in store.apply_batch(&[op]) {
            r.unwrap();
        }
    }

    #[test]
    fn with_checkpoints_handed_off_the_writer_never_checkpoints_and_a_passive_one_catches_up() {
        let fx = Fixture::new();
        let mut store = fx.open();
        store.hand_checkpoints_off().unwrap();
        let checkpoints = Checkpoints::open(store.path()).unwrap();
        let first = checkpoints.passive().unwrap();
        // Far past SQLite's 1,000-page auto-checkpoint: the writer's commits never copied
        // the WAL back (the frames keep piling up until a checkpoint runs).
        for i in 0..1500 {
            finish(&mut store, &format!("c{i}"));
        }
        let caught_up = checkpoints.passive().unwrap();
        assert!(!caught_up.busy);
        assert!(
            caught_up.wal_frames > 1000 + first.wal_frames,
            "{caught_up:?}"
        );
        assert_eq!(caught_up.checkpointed, caught_up.wal_frames, "all copied");
        // The next commit starts the WAL over.
        finish(&mut store, "after");
        let restarted = checkpoints.passive().unwrap();
        assert!(restarted.wal_frames < 20, "{restarted:?}");
    }

    #[test]
    fn the_writer_starts_a_checkpointer_that_keeps_the_wal_from_growing() {
        let fx = Fixture::new();
        let wal = fx.config().path.with_extension("sqlite-wal");
        let writer = crate::writer::StoreWriter::spawn(fx.open(), 64, 1).unwrap();
        let handle = writer.handle();
        let mut sizes = Vec::new();
        for round in 0..3 {
            for i in 0..200 {
                let id = format!("w{round}-{i}");
                handle
                    .call(WriteOp::FinishCall {
                        cdr: Box::new(cdr(&id, 0)),
                        queue_log: Vec::new(),
                        events: vec![event(60, "CallEnded", Some(&id))],
                    })
                    .unwrap();
            }
            sizes.push(std::fs::metadata(&wal).unwrap().len());
            // The checkpointer catches up meanwhile; the next round starts the WAL over.
            std::thread::sleep(CHECKPOINT_INTERVAL * 3);
        }
        // Without it the WAL would hold all three rounds (three times the first).
        assert!(
            sizes[2] < sizes[0] * 3 / 2,
            "WAL sizes after each round: {sizes:?}"
        );
        drop(handle);
        writer.shutdown().unwrap();
    }
}
