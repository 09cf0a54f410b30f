//! [`Store`]: one SQLite connection that owns all writes.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::batch::{WriteOp, WriteOutcome, apply_op, finish_call_in};
use crate::callbacks::{self, CallbackEntry};
use crate::calls::{self, CallInProgress};
use crate::cdr::Cdr;
use crate::error::{Result, StoreError};
use crate::export::{ExportRepair, Exporter};
use crate::journal::{
    self, EventFilter, EventPage, JournalEpoch, JournalInfo, NewEvent, PruneReport, Retention,
};
use crate::queue_log::QueueLogLine;
use crate::records;
use crate::schema::{self, meta_get, meta_set};
use crate::time::to_micros;

/// How long a statement waits for another connection's lock before failing with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// When a commit is durable.
///
/// In WAL mode a commit appends the transaction's pages to the `-wal` file with `write(2)` before
/// it returns, under both settings, so a killed process (`kill -9`, panic, OOM kill) loses no
/// committed transaction: the kernel has the bytes and the next open replays the WAL. They
/// differ only when the OS itself stops (power loss, kernel panic):
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=NORMAL`: the WAL is fsynced at checkpoints, not at each commit. An OS crash
    /// can roll back the last transactions (never corrupt the file). The default: a commit costs
    /// no disk flush, which keeps the journal append off the screen-pop latency path.
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit fsyncs the WAL; survives power loss, costs a flush per
    /// transaction (milliseconds on rotating disks, less on SSDs).
    Full,
}

/// Where and how to open the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// The SQLite file (created if missing, with its `-wal` and `-shm` beside it).
    pub path: PathBuf,
    /// Where `cdr/Master.csv` and `queue_log` are written; `None` writes no text files. Opening
    /// fails if the directory cannot be created or the files cannot be read (the repair needs
    /// them); later append failures are logged and retried, never lose the committed rows.
    pub export_dir: Option<PathBuf>,
    /// Commit durability.
    pub durability: Durability,
    /// fsync the text files after each append (only matters on power loss).
    pub sync_files: bool,
}

impl StoreConfig {
    /// A database at `path`, no text export, [`Durability::Normal`].
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            export_dir: None,
            durability: Durability::Normal,
            sync_files: false,
        }
    }

    /// Also write `dir/cdr/Master.csv` and `dir/queue_log`.
    pub fn with_export_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.export_dir = Some(dir.into());
        self
    }
}

/// What [`Store::open`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenReport {
    /// The database file was created now (and so got a new journal epoch).
    pub created: bool,
    /// The repair of the text files, when exporting.
    pub export: Option<ExportRepair>,
}

/// The result of [`Store::finish_call`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinishedCall {
    /// The seqs given to the call's events, in order.
    pub seqs: Vec<u64>,
    /// The text files got the rows. `false` means the append failed (logged); the rows are
    /// committed regardless and are appended by the next successful export or the next open.
    pub exported: bool,
}

/// The persistence of one Switchboard node. Synchronous: drive it from one dedicated thread
/// (see [`crate::writer`]) or `spawn_blocking`, never from an async task directly.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    epoch: JournalEpoch,
    exporter: Option<Exporter>,
    open_report: OpenReport,
    #[cfg(test)]
    pub(crate) faults: Faults,
}

/// Failures tests inject to cut an operation at a chosen point.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct Faults {
    /// Commit, then skip the file export: the state a crash right after the commit leaves.
    pub(crate) skip_export: bool,
    /// Fail `finish_call` after its events and queue_log lines, before its CDR.
    pub(crate) fail_before_cdr: bool,
}

fn configure(conn: &Connection, durability: Durability) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::NotWal(mode));
    }
    conn.execute_batch(match durability {
        Durability::Normal => "PRAGMA synchronous = NORMAL",
        Durability::Full => "PRAGMA synchronous = FULL",
    })?;
    Ok(())
}

const EPOCH: &str = "journal_epoch";
const CREATED: &str = "created_us";

impl Store {
    /// Opens (creating and migrating as needed) the database, creates the journal epoch of a new
    /// database, and repairs the text files. `now` is recorded as the creation time of a new
    /// database. Call [`Store::recover_after_restart`] next.
    pub fn open(config: &StoreConfig, now: SystemTime) -> Result<Self> {
        if let Some(parent) = config.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::File {
                path: parent.to_owned(),
                source,
            })?;
        }
        let mut conn = Connection::open(&config.path)?;
        configure(&conn, config.durability)?;
        let created = schema::migrate(&mut conn)?;
        let epoch = {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let epoch = match meta_get(&tx, EPOCH)? {
                Some(e) => e.parse().map_err(|_| StoreError::Corrupt {
                    table: "meta",
                    detail: format!("{EPOCH} = {e:?}"),
                })?,
                None => {
                    let epoch = JournalEpoch(rand::random());
                    meta_set(&tx, EPOCH, &epoch.to_string())?;
                    meta_set(&tx, CREATED, &to_micros(now).to_string())?;
                    epoch
                }
            };
            tx.commit()?;
            epoch
        };
        let (exporter, export) = match &config.export_dir {
            Some(dir) => {
                let (e, report) = Exporter::open(&conn, dir, config.sync_files)?;
                (Some(e), Some(report))
            }
            None => (None, None),
        };
        Ok(Self {
            conn,
            path: config.path.clone(),
            epoch,
            exporter,
            open_report: OpenReport { created, export },
            #[cfg(test)]
            faults: Faults::default(),
        })
    }

    /// What the open found and repaired.
    pub fn open_report(&self) -> OpenReport {
        self.open_report
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Leaves WAL checkpoints to another connection (`checkpoint.rs`): this one no longer
    /// checkpoints inside its commits, and a WAL restarted after a burst is trimmed back.
    pub fn hand_checkpoints_off(&self) -> Result<()> {
        self.conn.execute_batch(&format!(
            "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {};",
            crate::checkpoint::JOURNAL_SIZE_LIMIT
        ))?;
        Ok(())
    }

    /// `cdr/Master.csv` and `queue_log`, when exporting.
    pub fn export_paths(&self) -> Option<(&Path, &Path)> {
        self.exporter
            .as_ref()
            .map(|e| (e.master_csv_path(), e.queue_log_path()))
    }

    /// Runs `f` in one immediate transaction (with the export markers piggybacked).
    fn write<T>(&mut self, f: impl FnOnce(&Transaction<'_>, &Faults) -> Result<T>) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(e) = &mut self.exporter {
            e.persist_markers(&tx)?;
        }
        #[cfg(test)]
        let out = f(&tx, &self.faults)?;
        #[cfg(not(test))]
        let out = f(&tx, &Faults)?;
        tx.commit()?;
        if let Some(e) = &mut self.exporter {
            e.markers_committed();
        }
        Ok(out)
    }

    /// Appends committed rows to the text files; failures are logged and retried later.
    fn export(&mut self) -> bool {
        #[cfg(test)]
        if self.faults.skip_export {
            return false;
        }
        let Some(e) = &mut self.exporter else {
            return true;
        };
        match e.export_pending(&self.conn) {
            Ok(()) => true,
            Err(err) => {
                tracing::warn!(error = %err, "text export failed; retried on the next write");
                false
            }
        }
    }

    // ---- journal ----

    /// The journal's epoch.
    pub fn epoch(&self) -> JournalEpoch {
        self.epoch
    }

    /// The last assigned seq (0 for an empty new journal).
    pub fn head_seq(&self) -> Result<u64> {
        journal::head_seq(&self.conn)
    }

    /// The first retained seq (`head_seq + 1` if none is retained).
    pub fn oldest_seq(&self) -> Result<u64> {
        journal::oldest_seq(&self.conn)
    }

    /// Epoch, oldest and head, read consistently.
    pub fn journal_info(&self) -> Result<JournalInfo> {
        journal_info(&self.conn, self.epoch)
    }

    /// Appends `events` in one transaction; returns their seqs (consecutive, after the head).
    pub fn append(&mut self, events: &[NewEvent]) -> Result<Vec<u64>> {
        let epoch = self.epoch;
        self.write(|tx, _| journal::append_in(tx, epoch, events))
    }

    /// Up to `limit` events after `after_seq` that match `filter`, in seq order.
    /// [`StoreError::CursorExpired`] if events after `after_seq` were pruned,
    /// [`StoreError::CursorAhead`] if `after_seq` is past the head.
    pub fn read_after(
        &self,
        after_seq: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<EventPage> {
        journal::read_after(&self.conn, after_seq, limit, filter)
    }

    /// Deletes the oldest events that `retention` no longer wants, in chunks of one transaction
    /// each; the retained events stay a contiguous range ending at the head.
    pub fn prune(&mut self, now: SystemTime, retention: Retention) -> Result<PruneReport> {
        let cut = journal::prune_cut(&self.conn, now, retention)?;
        let mut removed = 0;
        loop {
            let n = self.write(|tx, _| journal::prune_chunk(tx, cut))?;
            if n == 0 {
                break;
            }
            removed += n;
        }
        Ok(PruneReport {
            removed,
            oldest_seq: self.oldest_seq()?,
        })
    }

    /// A second, read-only connection for journal readers on other threads (WAL lets it read
    /// while this one writes).
    pub fn reader(&self) -> Result<JournalReader> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(JournalReader {
            conn,
            epoch: self.epoch,
        })
    }

    // ---- queue_log and CDRs ----

    /// Writes queue_log lines that are not part of a call's end (ENTERQUEUE, CONNECT,
    /// RINGNOANSWER, member and pause events), with the events they go with, in one transaction.
    pub fn record(&mut self, queue_log: &[QueueLogLine], events: &[NewEvent]) -> Result<Vec<u64>> {
        let epoch = self.epoch;
        let seqs = self.write(|tx, _| {
            let seqs = journal::append_in(tx, epoch, events)?;
            records::insert_queue_log(tx, queue_log)?;
            Ok(seqs)
        })?;
        if !queue_log.is_empty() {
            self.export();
        }
        Ok(seqs)
    }

    /// Ends a call: its CDR, its last queue_log lines and its events (`CallEnded` …) in one
    /// transaction, and its in-progress row removed; then the text files. When this returns
    /// `Ok`, the CDR survives a kill of the process, and the call's resources may be freed.
    pub fn finish_call(
        &mut self,
        cdr: &Cdr,
        queue_log: &[QueueLogLine],
        events: &[NewEvent],
    ) -> Result<FinishedCall> {
        let epoch = self.epoch;
        let seqs =
            self.write(|tx, faults| finish_call_in(tx, epoch, cdr, queue_log, events, faults))?;
        let exported = self.export();
        Ok(FinishedCall { seqs, exported })
    }

    /// The CDR of `call_id`, if the call has ended.
    pub fn cdr(&self, call_id: &str) -> Result<Option<Cdr>> {
        records::cdr_by_call(&self.conn, call_id)
    }

    /// The queue_log lines of `call_id`, as file lines, in order.
    pub fn queue_log_of_call(&self, call_id: &str) -> Result<Vec<String>> {
        records::queue_log_of_call(&self.conn, call_id)
    }

    // ---- calls in progress ----

    /// A call began; `now` stamps the row.
    pub fn call_started(&mut self, call: &CallInProgress, now: SystemTime) -> Result<()> {
        self.write(|tx, _| calls::upsert(tx, call, now))
    }

    /// Something the CDR needs changed (answer, queue, agent, recording).
    pub fn call_updated(&mut self, call: &CallInProgress, now: SystemTime) -> Result<()> {
        self.write(|tx, _| calls::upsert(tx, call, now))
    }

    /// Forgets an in-progress call without a CDR (a call that never became one, such as a
    /// rejected INVITE that was tracked). [`Store::finish_call`] already does this.
    pub fn call_finished(&mut self, call_id: &str) -> Result<bool> {
        self.write(|tx, _| calls::delete(tx, call_id))
    }

    /// The calls in progress, oldest first.
    pub fn calls_in_progress(&self) -> Result<Vec<CallInProgress>> {
        calls::list(&self.conn)
    }

    /// Closes every call a previous process left in progress, at `now`, with end reason
    /// `restart`: for each, a CDR, a queue_log line if it was queued (ABANDON while waiting,
    /// COMPLETEAGENT once connected) and the event `ended_event` builds from the CDR (the
    /// engine's `CallEnded` encoding), all in one transaction. Returns the CDRs written.
    pub fn recover_after_restart(
        &mut self,
        now: SystemTime,
        mut ended_event: impl FnMut(&Cdr) -> NewEvent,
    ) -> Result<Vec<Cdr>> {
        let epoch = self.epoch;
        let cdrs = self.write(|tx, _| {
            let mut cdrs = Vec::new();
            for call in calls::list(tx)? {
                calls::delete(tx, &call.call_id)?;
                if records::has_cdr(tx, &call.call_id)? {
                    continue; // ended after all; the row is stale
                }
                let (cdr, line) = calls::close_interrupted(&call, now);
                records::insert_queue_log(tx, line.as_slice())?;
                records::insert_cdr(tx, &cdr)?;
                journal::append_in(tx, epoch, &[ended_event(&cdr)])?;
                cdrs.push(cdr);
            }
            Ok(cdrs)
        })?;
        if !cdrs.is_empty() {
            self.export();
        }
        Ok(cdrs)
    }

    // ---- batches ----

    /// Runs `ops` in one transaction (one commit for all: SQLite's cost is per commit), each in
    /// its own savepoint so a failing op rolls back alone and consumes no seq; then exports.
    /// Results come back in order. If the commit itself fails, every op fails.
    pub fn apply_batch(&mut self, ops: &[WriteOp]) -> Vec<Result<WriteOutcome>> {
        let epoch = self.epoch;
        let mut results = Vec::with_capacity(ops.len());
        let committed = self.write(|tx, faults| {
            // Cached statements: `execute_batch` would parse the SQL text again for every op
            // (two or three parses per op, ~6 % of the daemon's CPU under queue_calls).
            for op in ops {
                tx.prepare_cached("SAVEPOINT op")?.execute([])?;
                let r = apply_op(tx, epoch, op, faults);
                if r.is_err() {
                    tx.prepare_cached("ROLLBACK TO op")?.execute([])?;
                }
                tx.prepare_cached("RELEASE op")?.execute([])?;
                results.push(r);
            }
            Ok(())
        });
        if let Err(e) = committed {
            let detail = e.to_string();
            return ops
                .iter()
                .map(|_| Err(StoreError::CommitFailed(detail.clone())))
                .collect();
        }
        if ops.iter().any(WriteOp::writes_files) {
            self.export();
        }
        results
    }

    // ---- callbacks ----

    /// Persists (or replaces) a queued callback.
    pub fn save_callback(&mut self, entry: &CallbackEntry) -> Result<()> {
        self.write(|tx, _| callbacks::save(tx, entry))
    }

    /// Removes a callback (dialled or cancelled); `false` if it was not there.
    pub fn remove_callback(&mut self, id: &str) -> Result<bool> {
        self.write(|tx, _| callbacks::remove(tx, id))
    }

    /// The queued callbacks, oldest request first, to restore after a restart.
    pub fn callbacks(&self) -> Result<Vec<CallbackEntry>> {
        callbacks::list(&self.conn)
    }

    /// Flushes the export markers and closes the database, reporting errors that a drop would
    /// swallow.
    pub fn close(mut self) -> Result<()> {
        self.write(|_, _| Ok(()))?;
        self.exporter = None;
        let conn = std::mem::replace(&mut self.conn, Connection::open_in_memory()?);
        conn.close().map_err(|(_, e)| e.into())
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if self.exporter.is_some() {
            // Best effort: a lost marker only makes the next open compare a longer tail.
            let _ = self.write(|_, _| Ok(()));
        }
    }
}

#[cfg(not(test))]
pub(crate) struct Faults;

impl Faults {
    #[cfg(test)]
    pub(crate) fn before_cdr(&self) -> Result<()> {
        if self.fail_before_cdr {
            return Err(StoreError::Corrupt {
                table: "cdrs",
                detail: "injected failure".into(),
            });
        }
        Ok(())
    }

    #[cfg(not(test))]
    #[inline]
    pub(crate) fn before_cdr(&self) -> Result<()> {
        Ok(())
    }
}

fn journal_info(conn: &Connection, epoch: JournalEpoch) -> Result<JournalInfo> {
    let tx = conn.unchecked_transaction()?;
    let info = JournalInfo {
        epoch,
        oldest_seq: journal::oldest_seq(&tx)?,
        head_seq: journal::head_seq(&tx)?,
    };
    tx.finish()?;
    Ok(info)
}

/// A read-only view of the journal for another thread (the API's stream readers).
pub struct JournalReader {
    conn: Connection,
    epoch: JournalEpoch,
}

impl JournalReader {
    /// The journal's epoch.
    pub fn epoch(&self) -> JournalEpoch {
        self.epoch
    }

    /// Epoch, oldest and head.
    pub fn journal_info(&self) -> Result<JournalInfo> {
        journal_info(&self.conn, self.epoch)
    }

    /// As [`Store::read_after`].
    pub fn read_after(
        &self,
        after_seq: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<EventPage> {
        journal::read_after(&self.conn, after_seq, limit, filter)
    }
}
