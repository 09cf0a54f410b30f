//! The store's one error type.

use std::path::PathBuf;

/// Everything a store operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite refused: I/O error, disk full, corrupt file, locked by another process…
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A text export file (`Master.csv`, `queue_log`) or its directory could not be written.
    #[error("{path}: {source}")]
    File {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The database was written by a newer Switchboard (its `user_version` is above ours).
    #[error("database schema version {found} is newer than this build understands ({supported})")]
    SchemaTooNew {
        /// `PRAGMA user_version` of the file.
        found: i64,
        /// The newest version this build migrates to.
        supported: i64,
    },
    /// SQLite did not switch to WAL (for example an in-memory or read-only database).
    #[error("journal_mode WAL refused, SQLite kept {0:?}")]
    NotWal(String),
    /// A call already has its CDR: each call ends exactly once.
    #[error("call {0} already has a CDR")]
    DuplicateCdr(String),
    /// A stored value is not what this build wrote (hand-edited row, foreign tool).
    #[error("corrupt row in {table}: {detail}")]
    Corrupt {
        /// The table the row is in.
        table: &'static str,
        /// What was wrong with it.
        detail: String,
    },
    /// A journal cursor points before the oldest retained event: events were pruned, so the
    /// reader must resync from a snapshot (the API's `OUT_OF_RANGE CURSOR_EXPIRED`).
    #[error("cursor after seq {after_seq} expired: oldest retained seq is {oldest_seq}")]
    CursorExpired {
        /// The reader's cursor.
        after_seq: u64,
        /// The first retained seq.
        oldest_seq: u64,
    },
    /// A journal cursor points past the head (a cursor from another journal, or made up).
    #[error("cursor after seq {after_seq} is past the head seq {head_seq}")]
    CursorAhead {
        /// The reader's cursor.
        after_seq: u64,
        /// The last assigned seq.
        head_seq: u64,
    },
    /// The commit of a batch failed, so none of its writes happened.
    #[error("batch commit failed: {0}")]
    CommitFailed(String),
    /// The background writer thread is gone (it panicked or the store was closed).
    #[error("store writer thread stopped")]
    WriterStopped,
}

/// Shorthand for results of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
