//! Tables and migrations. `PRAGMA user_version` is the schema version; each entry of
//! [`MIGRATIONS`] moves the file one version forward inside one transaction, so a crash during a
//! migration leaves the old version intact.

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Result, StoreError};

/// Version 1: the initial schema.
///
/// * `events`: the journal. `seq` is the rowid, assigned by the store as `head_seq + 1` inside the
///   appending transaction (never `AUTOINCREMENT`, whose counter survives rolled-back
///   transactions only by luck of the implementation). Times are Unix microseconds.
/// * `cdrs`: one row per finished call, Asterisk `cdr_csv` columns in file order, then ours.
///   `uniqueid` (our `call_id`) is unique: a call ends once.
/// * `queue_log`: Asterisk's queue_log as a table (the Wazo/`queue_log` realtime layout). A
///   `data<n>` column that is NULL was not written (ADDMEMBER has one empty field, CONNECT three).
/// * `calls_in_progress`: what is needed to close a call that a crash interrupted.
/// * `callbacks`: queued callback requests, restored after a restart.
/// * `meta`: key/value: `journal_epoch`, `created_us`, `head_seq`, export markers.
const V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE events (
    seq        INTEGER PRIMARY KEY,
    epoch      TEXT    NOT NULL,
    time_us    INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    call_id    TEXT,
    agent      TEXT,
    queue      TEXT,
    request_id TEXT,
    payload    BLOB    NOT NULL
);
CREATE INDEX events_time ON events(time_us);

CREATE TABLE cdrs (
    id               INTEGER PRIMARY KEY,
    accountcode      TEXT    NOT NULL,
    src              TEXT    NOT NULL,
    dst              TEXT    NOT NULL,
    dcontext         TEXT    NOT NULL,
    clid             TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    dstchannel       TEXT    NOT NULL,
    lastapp          TEXT    NOT NULL,
    lastdata         TEXT    NOT NULL,
    start_us         INTEGER NOT NULL,
    answer_us        INTEGER,
    end_us           INTEGER NOT NULL,
    duration         INTEGER NOT NULL,
    billsec          INTEGER NOT NULL,
    disposition      TEXT    NOT NULL,
    amaflags         TEXT    NOT NULL,
    uniqueid         TEXT    NOT NULL UNIQUE,
    userfield        TEXT    NOT NULL,
    queue            TEXT,
    agent            TEXT,
    wait_seconds     INTEGER,
    survey_score     INTEGER,
    recording_path   TEXT,
    hangup_side      TEXT,
    end_reason       TEXT    NOT NULL,
    disposition_code TEXT,
    notes            TEXT
);
CREATE INDEX cdrs_start ON cdrs(start_us);

CREATE TABLE queue_log (
    id        INTEGER PRIMARY KEY,
    time      INTEGER NOT NULL,
    callid    TEXT    NOT NULL,
    queuename TEXT    NOT NULL,
    agent     TEXT    NOT NULL,
    event     TEXT    NOT NULL,
    data1     TEXT,
    data2     TEXT,
    data3     TEXT,
    data4     TEXT,
    data5     TEXT
);
CREATE INDEX queue_log_time ON queue_log(time);
CREATE INDEX queue_log_callid ON queue_log(callid);

CREATE TABLE calls_in_progress (
    call_id        TEXT PRIMARY KEY,
    started_us     INTEGER NOT NULL,
    updated_us     INTEGER NOT NULL,
    state          TEXT    NOT NULL,
    accountcode    TEXT    NOT NULL,
    src            TEXT    NOT NULL,
    dst            TEXT    NOT NULL,
    dcontext       TEXT    NOT NULL,
    clid           TEXT    NOT NULL,
    channel        TEXT    NOT NULL,
    dstchannel     TEXT    NOT NULL,
    lastapp        TEXT    NOT NULL,
    lastdata       TEXT    NOT NULL,
    answer_us      INTEGER,
    queue          TEXT,
    queue_entered_us INTEGER,
    queue_orig_position INTEGER,
    queue_position INTEGER,
    agent          TEXT,
    agent_connected_us INTEGER,
    recording_path TEXT,
    data           TEXT    NOT NULL
) WITHOUT ROWID;

CREATE TABLE callbacks (
    id           TEXT PRIMARY KEY,
    queue        TEXT    NOT NULL,
    number       TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    requested_us INTEGER NOT NULL,
    due_us       INTEGER,
    priority     INTEGER NOT NULL,
    call_id      TEXT,
    data         TEXT    NOT NULL
) WITHOUT ROWID;
"#;

/// All migrations, oldest first; migration `i` takes `user_version` from `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1];

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`SCHEMA_VERSION`]; returns `true` when it was created just now.
pub(crate) fn migrate(conn: &mut Connection) -> Result<bool> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        // PRAGMA does not take bound parameters; the value is our own integer.
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        tx.commit()?;
    }
    Ok(found == 0)
}

/// Reads a `meta` value.
pub(crate) fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

/// Writes a `meta` value.
pub(crate) fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Reads a `meta` value that must be an integer (missing = `default`).
pub(crate) fn meta_get_i64(conn: &Connection, key: &str, default: i64) -> Result<i64> {
    match meta_get(conn, key)? {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| StoreError::Corrupt {
            table: "meta",
            detail: format!("{key} = {v:?} is not an integer"),
        }),
    }
}
