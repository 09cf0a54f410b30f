//! Queued callback requests ("press 9 and we call you back"): persisted when accepted, removed
//! when dialled or cancelled, restored into the queues after a restart.

use std::time::SystemTime;

use rusqlite::{Connection, params};

use crate::error::Result;
use crate::time::{from_micros, to_micros};

/// One queued callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackEntry {
    /// The callback's id (the engine's; unique).
    pub id: String,
    /// The queue it waits in.
    pub queue: String,
    /// The number to call back.
    pub number: String,
    /// The caller's name, if known.
    pub name: String,
    /// When it was requested (its place in the queue).
    pub requested: SystemTime,
    /// Not before this time, if the caller chose one.
    pub due: Option<SystemTime>,
    /// Queue priority (higher first, as for calls).
    pub priority: i32,
    /// The call it was requested from, if any.
    pub call_id: Option<String>,
    /// Call data carried to the agent (opaque text, JSON by convention).
    pub data: String,
}

pub(crate) fn save(conn: &Connection, e: &CallbackEntry) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO callbacks(id, queue, number, name, requested_us, due_us, priority, call_id,
            data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT(id) DO UPDATE SET queue = excluded.queue, number = excluded.number,
            name = excluded.name, requested_us = excluded.requested_us, due_us = excluded.due_us,
            priority = excluded.priority, call_id = excluded.call_id, data = excluded.data",
    )?
    .execute(params![
        e.id,
        e.queue,
        e.number,
        e.name,
        to_micros(e.requested),
        e.due.map(to_micros),
        e.priority,
        e.call_id,
        e.data,
    ])?;
    Ok(())
}

pub(crate) fn remove(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM callbacks WHERE id = ?1")?
        .execute([id])?
        > 0)
}

pub(crate) fn list(conn: &Connection) -> Result<Vec<CallbackEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, queue, number, name, requested_us, due_us, priority, call_id, data
         FROM callbacks ORDER BY requested_us, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(CallbackEntry {
            id: r.get(0)?,
            queue: r.get(1)?,
            number: r.get(2)?,
            name: r.get(3)?,
            requested: from_micros(r.get(4)?),
            due: r.get::<_, Option<i64>>(5)?.map(from_micros),
            priority: r.get(6)?,
            call_id: r.get(7)?,
            data: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
