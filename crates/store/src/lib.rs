//! Switchboard's persistence: the event journal, CDRs, the queue log, calls in progress and
//! queued callbacks, in one SQLite file (WAL), plus the text files operators already read:
//! Asterisk-compatible `cdr/Master.csv` and `queue_log`.
//!
//! ## Who drives it
//! [`Store`] is synchronous and owns one connection; the engine calls it from one dedicated
//! thread ([`writer::StoreWriter`] runs one and batches) or from `spawn_blocking`. It never reads
//! a clock: every time is an argument. Readers on other threads use [`Store::reader`].
//!
//! ## Guarantees
//! * **Journal**: every event gets a gap-free `seq` (allocated inside the appending transaction,
//!   so a failed append consumes nothing), which continues across restarts; the
//!   [`JournalEpoch`] is created with the database and never changes. Pruning removes a prefix,
//!   so [`JournalInfo::oldest_seq`]..=head is always complete.
//! * **A finished call**: [`Store::finish_call`] commits the CDR, the call's last queue_log
//!   lines and its end events in one transaction. Once it returns, a `kill -9` cannot lose
//!   them (see [`Durability`] for power loss).
//! * **Text files** are appended after the commit and repaired at open (see [`export`]): they
//!   never lack a committed row and never repeat one.
//! * **Crash recovery**: calls left in progress are closed with end reason `restart` by
//!   [`Store::recover_after_restart`].
//!
//! ## Drive
//! ```no_run
//! # use std::time::SystemTime;
//! # use switchboard_store::*;
//! # fn main() -> Result<(), StoreError> {
//! let now = SystemTime::now();
//! let config = StoreConfig::new("/var/lib/switchboard/switchboard.db")
//!     .with_export_dir("/var/log/switchboard");
//! let mut store = Store::open(&config, now)?;
//! let closed = store.recover_after_restart(now, |cdr| {
//!     let mut e = NewEvent::new(now, "CallEnded", b"restart".to_vec());
//!     e.call_id = Some(cdr.call_id.clone());
//!     e
//! })?;
//! let info = store.journal_info()?;
//! println!("epoch {} head {} ({} calls closed)", info.epoch, info.head_seq, closed.len());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod batch;
mod callbacks;
mod calls;
mod cdr;
pub mod checkpoint;
mod error;
pub mod export;
mod journal;
mod queue_log;
mod records;
mod schema;
mod store;
mod time;
pub mod writer;

pub use batch::{WriteOp, WriteOutcome};
pub use callbacks::CallbackEntry;
pub use calls::{CallInProgress, QueueStay};
pub use cdr::{AmaFlags, Cdr, Disposition, END_REASON_RESTART, HangupSide};
pub use error::{Result, StoreError};
pub use export::{ExportRepair, FileRepair};
pub use journal::{
    EventFilter, EventPage, JournalEpoch, JournalInfo, NewEvent, PruneReport, Retention,
    StoredEvent,
};
pub use queue_log::{QUEUE_LOG_NONE, QueueLogLine};
pub use store::{Durability, FinishedCall, JournalReader, OpenReport, Store, StoreConfig};

#[cfg(test)]
mod tests;
