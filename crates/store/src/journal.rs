//! The event journal: every call, leg, agent and queue change, in one total order.
//!
//! `seq` is gap-free: the next seq is `head_seq + 1`, read and written inside the appending
//! transaction (`BEGIN IMMEDIATE`, so two writers cannot read the same head), and `head_seq` is
//! itself a `meta` row updated by that same transaction. A failed or rolled-back append consumes
//! no number; pruning every event keeps the head. The retained events are always the contiguous
//! range `oldest_seq..=head_seq` (pruning cuts a prefix), so a cursor `after_seq` can be served
//! exactly iff `oldest_seq <= after_seq + 1` and `after_seq <= head_seq`.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, ToSql, params};

use crate::error::{Result, StoreError};
use crate::schema::{meta_get_i64, meta_set};
use crate::time::{from_micros, to_micros};

/// Identifies one journal: created at random with the database, never changed. A cursor from
/// another epoch (the database was replaced) must not be resumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JournalEpoch(pub u64);

impl fmt::Display for JournalEpoch {
    /// Sixteen lowercase hex digits, the form stored and sent to clients.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl FromStr for JournalEpoch {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        u64::from_str_radix(s, 16).map(Self)
    }
}

/// An event to append. The payload is opaque to the store (the engine's encoding); the routing
/// keys are columns so readers can filter without decoding it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// When it happened (wall clock, from the caller).
    pub time: SystemTime,
    /// The event's name: `CallQueued`, `AgentAlerting`, `CallEnded` …
    pub kind: String,
    /// The call it concerns, if any.
    pub call_id: Option<String>,
    /// The agent it concerns, if any.
    pub agent: Option<String>,
    /// The queue it concerns, if any.
    pub queue: Option<String>,
    /// The API command that caused it, if any.
    pub request_id: Option<String>,
    /// The encoded event.
    pub payload: Vec<u8>,
}

impl NewEvent {
    /// An event with no routing keys; set the `Option` fields as needed.
    pub fn new(time: SystemTime, kind: impl Into<String>, payload: Vec<u8>) -> Self {
        Self {
            time,
            kind: kind.into(),
            call_id: None,
            agent: None,
            queue: None,
            request_id: None,
            payload,
        }
    }
}

/// An event as journaled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its position in the journal.
    pub seq: u64,
    /// The journal it belongs to.
    pub epoch: JournalEpoch,
    /// The event itself.
    pub event: NewEvent,
}

/// Which events a reader wants: the AND of the non-empty lists, each list an OR. The default
/// (all lists empty) matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Event kinds.
    pub kinds: Vec<String>,
    /// Call ids.
    pub call_ids: Vec<String>,
    /// Agents.
    pub agents: Vec<String>,
    /// Queues.
    pub queues: Vec<String>,
}

impl EventFilter {
    /// Whether `event` passes, with the same meaning as the SQL used by
    /// [`crate::Store::read_after`] (for filtering live events the same way).
    pub fn matches(&self, event: &NewEvent) -> bool {
        fn one_of(list: &[String], value: Option<&str>) -> bool {
            list.is_empty() || value.is_some_and(|v| list.iter().any(|x| x == v))
        }
        one_of(&self.kinds, Some(&event.kind))
            && one_of(&self.call_ids, event.call_id.as_deref())
            && one_of(&self.agents, event.agent.as_deref())
            && one_of(&self.queues, event.queue.as_deref())
    }
}

/// One page of a journal read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventPage {
    /// Matching events, in seq order.
    pub events: Vec<StoredEvent>,
    /// Every journal entry up to this seq has been looked at (matching or not): the cursor to
    /// resume from, and a stream's watermark. Equals the head when the page is not full.
    pub scanned_upto: u64,
}

/// Where the journal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalInfo {
    /// The journal's identity.
    pub epoch: JournalEpoch,
    /// The first retained seq; `head_seq + 1` when nothing is retained.
    pub oldest_seq: u64,
    /// The last assigned seq (0 before the first event).
    pub head_seq: u64,
}

impl JournalInfo {
    /// Whether a reader that has seen everything up to `after_seq` can resume exactly.
    pub fn can_resume_after(&self, after_seq: u64) -> bool {
        after_seq.saturating_add(1) >= self.oldest_seq && after_seq <= self.head_seq
    }
}

/// How much of the journal to keep. Unset limits do not prune.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// Drop events older than this.
    pub max_age: Option<Duration>,
    /// Keep at most this many of the newest events.
    pub max_events: Option<u64>,
}

/// What a prune did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PruneReport {
    /// Events deleted.
    pub removed: u64,
    /// The first retained seq afterwards.
    pub oldest_seq: u64,
}

const HEAD_SEQ: &str = "head_seq";

/// Rows deleted per transaction when pruning, so the writer never holds the lock for long.
const PRUNE_CHUNK: u64 = 10_000;

fn to_i64(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) fn head_seq(conn: &Connection) -> Result<u64> {
    Ok(to_u64(meta_get_i64(conn, HEAD_SEQ, 0)?))
}

pub(crate) fn oldest_seq(conn: &Connection) -> Result<u64> {
    let min: Option<i64> = conn.query_row("SELECT min(seq) FROM events", [], |r| r.get(0))?;
    match min {
        Some(min) => Ok(to_u64(min)),
        None => Ok(head_seq(conn)? + 1),
    }
}

/// Appends inside the caller's (immediate) transaction; returns the assigned seqs.
pub(crate) fn append_in(
    conn: &Connection,
    epoch: JournalEpoch,
    events: &[NewEvent],
) -> Result<Vec<u64>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let head = head_seq(conn)?;
    let epoch = epoch.to_string();
    let mut stmt = conn.prepare_cached(
        "INSERT INTO events(seq, epoch, time_us, kind, call_id, agent, queue, request_id, payload)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    let mut seqs = Vec::with_capacity(events.len());
    for (seq, e) in (head + 1..).zip(events) {
        stmt.execute(params![
            to_i64(seq),
            epoch,
            to_micros(e.time),
            e.kind,
            e.call_id,
            e.agent,
            e.queue,
            e.request_id,
            e.payload,
        ])?;
        seqs.push(seq);
    }
    meta_set(conn, HEAD_SEQ, &(head + events.len() as u64).to_string())?;
    Ok(seqs)
}

/// Reads up to `limit` matching events after `after_seq`, in one read transaction so the head
/// and the rows agree.
pub(crate) fn read_after(
    conn: &Connection,
    after_seq: u64,
    limit: usize,
    filter: &EventFilter,
) -> Result<EventPage> {
    let tx = conn.unchecked_transaction()?;
    let head = head_seq(&tx)?;
    let oldest = oldest_seq(&tx)?;
    if after_seq.saturating_add(1) < oldest {
        return Err(StoreError::CursorExpired {
            after_seq,
            oldest_seq: oldest,
        });
    }
    if after_seq > head {
        return Err(StoreError::CursorAhead {
            after_seq,
            head_seq: head,
        });
    }
    let mut sql = String::from(
        "SELECT seq, epoch, time_us, kind, call_id, agent, queue, request_id, payload
         FROM events WHERE seq > ?",
    );
    let after = to_i64(after_seq);
    let mut args: Vec<&dyn ToSql> = vec![&after];
    for (column, list) in [
        ("kind", &filter.kinds),
        ("call_id", &filter.call_ids),
        ("agent", &filter.agents),
        ("queue", &filter.queues),
    ] {
        if list.is_empty() {
            continue;
        }
        sql.push_str(" AND ");
        sql.push_str(column);
        sql.push_str(" IN (");
        for (i, v) in list.iter().enumerate() {
            sql.push_str(if i == 0 { "?" } else { ",?" });
            args.push(v);
        }
        sql.push(')');
    }
    sql.push_str(" ORDER BY seq LIMIT ?");
    let limit_i = i64::try_from(limit).unwrap_or(i64::MAX);
    args.push(&limit_i);
    let mut stmt = tx.prepare_cached(&sql)?;
    let rows = stmt.query_map(args.as_slice(), |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            NewEvent {
                time: SystemTime::UNIX_EPOCH,
                kind: r.get(3)?,
                call_id: r.get(4)?,
                agent: r.get(5)?,
                queue: r.get(6)?,
                request_id: r.get(7)?,
                payload: r.get(8)?,
            },
        ))
    })?;
    let mut events = Vec::new();
    for row in rows {
        let (seq, epoch, time_us, mut event) = row?;
        event.time = from_micros(time_us);
        let epoch = epoch.parse().map_err(|_| StoreError::Corrupt {
            table: "events",
            detail: format!("seq {seq}: epoch {epoch:?}"),
        })?;
        events.push(StoredEvent {
            seq: to_u64(seq),
            epoch,
            event,
        });
    }
    let scanned_upto = if limit == 0 {
        after_seq
    } else if events.len() == limit {
        events.last().map_or(after_seq, |e| e.seq)
    } else {
        head
    };
    Ok(EventPage {
        events,
        scanned_upto,
    })
}

/// The highest seq `retention` wants gone (0: nothing).
pub(crate) fn prune_cut(conn: &Connection, now: SystemTime, retention: Retention) -> Result<u64> {
    let head = head_seq(conn)?;
    let mut cut = 0;
    if let Some(max) = retention.max_events {
        cut = cut.max(head.saturating_sub(max));
    }
    if let Some(age) = retention.max_age {
        let cutoff = now.checked_sub(age).unwrap_or(SystemTime::UNIX_EPOCH);
        let newest_old: Option<i64> = conn.query_row(
            "SELECT max(seq) FROM events WHERE time_us < ?1",
            [to_micros(cutoff)],
            |r| r.get(0),
        )?;
        cut = cut.max(newest_old.map_or(0, to_u64));
    }
    Ok(cut)
}

/// Deletes one chunk of `seq <= cut` from the front; returns how many rows went.
pub(crate) fn prune_chunk(conn: &Connection, cut: u64) -> Result<u64> {
    let oldest = oldest_seq(conn)?;
    if oldest > cut {
        return Ok(0);
    }
    let upto = cut.min(oldest.saturating_add(PRUNE_CHUNK - 1));
    let n = conn.execute("DELETE FROM events WHERE seq <= ?1", [to_i64(upto)])?;
    Ok(n as u64)
}
