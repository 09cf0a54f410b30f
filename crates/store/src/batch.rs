//! One write operation of a batch ([`crate::Store::apply_batch`], the [`crate::writer`] thread)
//! and the transaction bodies shared with the direct `Store` methods.

use std::time::SystemTime;

use rusqlite::Connection;

use crate::callbacks::{self, CallbackEntry};
use crate::calls::{self, CallInProgress};
use crate::cdr::Cdr;
use crate::error::Result;
use crate::journal::{self, JournalEpoch, NewEvent};
use crate::queue_log::QueueLogLine;
use crate::records;
use crate::store::Faults;

/// One write, for [`crate::Store::apply_batch`] and the [`crate::writer`] thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteOp {
    /// [`crate::Store::append`].
    Append(Vec<NewEvent>),
    /// [`crate::Store::record`].
    Record {
        /// queue_log lines.
        queue_log: Vec<QueueLogLine>,
        /// Events.
        events: Vec<NewEvent>,
    },
    /// [`crate::Store::finish_call`].
    FinishCall {
        /// The CDR.
        cdr: Box<Cdr>,
        /// The call's last queue_log lines.
        queue_log: Vec<QueueLogLine>,
        /// Its end events.
        events: Vec<NewEvent>,
    },
    /// [`crate::Store::call_started`] / [`crate::Store::call_updated`].
    SaveCall {
        /// The call's state.
        call: Box<CallInProgress>,
        /// Stamps the row.
        now: SystemTime,
    },
    /// [`crate::Store::call_finished`].
    CallFinished(String),
    /// [`crate::Store::save_callback`].
    SaveCallback(Box<CallbackEntry>),
    /// [`crate::Store::remove_callback`].
    RemoveCallback(String),
    /// Puts the agent's wrap-up disposition and notes on a call's CDR (the CDR is written when
    /// the call ends; the agent classifies it during wrap-up, after that). The database row
    /// changes; `Master.csv`, appended at the call's end, keeps its line as written. The
    /// outcome is [`WriteOutcome::Removed`]`(found)`: `false` when the call has no CDR.
    Disposition {
        /// The call (the CDR's `uniqueid`).
        call_id: String,
        /// The disposition code.
        disposition_code: String,
        /// Free-text notes.
        notes: String,
    },
}

impl WriteOp {
    pub(crate) fn writes_files(&self) -> bool {
        match self {
            Self::Record { queue_log, .. } => !queue_log.is_empty(),
            Self::FinishCall { .. } => true,
            _ => false,
        }
    }
}

/// What a [`WriteOp`] produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The seqs given to the op's events (empty if it had none).
    Seqs(Vec<u64>),
    /// Whether the row to remove was there.
    Removed(bool),
    /// Done, nothing to report.
    Done,
}

pub(crate) fn apply_op(
    conn: &Connection,
    epoch: JournalEpoch,
    op: &WriteOp,
    faults: &Faults,
) -> Result<WriteOutcome> {
    Ok(match op {
        WriteOp::Append(events) => WriteOutcome::Seqs(journal::append_in(conn, epoch, events)?),
        WriteOp::Record { queue_log, events } => {
            let seqs = journal::append_in(conn, epoch, events)?;
            records::insert_queue_log(conn, queue_log)?;
            WriteOutcome::Seqs(seqs)
        }
        WriteOp::FinishCall {
            cdr,
            queue_log,
            events,
        } => WriteOutcome::Seqs(finish_call_in(conn, epoch, cdr, queue_log, events, faults)?),
        WriteOp::SaveCall { call, now } => {
            calls::upsert(conn, call, *now)?;
            WriteOutcome::Done
        }
        WriteOp::CallFinished(id) => WriteOutcome::Removed(calls::delete(conn, id)?),
        WriteOp::SaveCallback(entry) => {
            callbacks::save(conn, entry)?;
            WriteOutcome::Done
        }
        WriteOp::RemoveCallback(id) => WriteOutcome::Removed(callbacks::remove(conn, id)?),
        WriteOp::Disposition {
            call_id,
            disposition_code,
            notes,
        } => WriteOutcome::Removed(records::set_disposition(
            conn,
            call_id,
            disposition_code,
            notes,
        )?),
    })
}

/// The body of [`crate::Store::finish_call`], inside the caller's transaction.
pub(crate) fn finish_call_in(
    conn: &Connection,
    epoch: JournalEpoch,
    cdr: &Cdr,
    queue_log: &[QueueLogLine],
    events: &[NewEvent],
    faults: &Faults,
) -> Result<Vec<u64>> {
    let seqs = journal::append_in(conn, epoch, events)?;
    records::insert_queue_log(conn, queue_log)?;
    faults.before_cdr()?;
    records::insert_cdr(conn, cdr)?;
    calls::delete(conn, &cdr.call_id)?;
    Ok(seqs)
}
