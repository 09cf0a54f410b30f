//! Rows of the `cdrs` and `queue_log` tables: insert, and read back in id order (for the text
//! export and its repair, which must render exactly what was committed).

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::cdr::{AmaFlags, Cdr, Disposition, HangupSide};
use crate::error::{Result, StoreError};
use crate::queue_log::{QueueLogLine, render_line};
use crate::time::{from_micros, to_micros, unix_seconds};

fn u64_to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Inserts a CDR; a second CDR for the same call is [`StoreError::DuplicateCdr`].
pub(crate) fn insert_cdr(conn: &Connection, cdr: &Cdr) -> Result<i64> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO cdrs(accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp,
            lastdata, start_us, answer_us, end_us, duration, billsec, disposition, amaflags,
            uniqueid, userfield, queue, agent, wait_seconds, survey_score, recording_path,
            hangup_side, end_reason, disposition_code, notes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
            ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)",
    )?;
    let r = stmt.execute(params![
        cdr.accountcode,
        cdr.src,
        cdr.dst,
        cdr.dcontext,
        cdr.clid,
        cdr.channel,
        cdr.dstchannel,
        cdr.lastapp,
        cdr.lastdata,
        to_micros(cdr.start),
        cdr.answer.map(to_micros),
        to_micros(cdr.end),
        u64_to_i64(cdr.duration()),
        u64_to_i64(cdr.billsec()),
        cdr.disposition.as_str(),
        cdr.amaflags.as_str(),
        cdr.call_id,
        cdr.userfield,
        cdr.queue,
        cdr.agent,
        cdr.wait_seconds.map(u64_to_i64),
        cdr.survey_score,
        cdr.recording_path,
        cdr.hangup_side.map(HangupSide::as_str),
        cdr.end_reason,
        cdr.disposition_code,
        cdr.notes,
    ]);
    match r {
        Ok(_) => Ok(conn.last_insert_rowid()),
        // The only UNIQUE constraint on `cdrs` besides the rowid is `uniqueid`.
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
        {
            Err(StoreError::DuplicateCdr(cdr.call_id.clone()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Sets a CDR's disposition code and notes; `false` if the call has no CDR.
pub(crate) fn set_disposition(
    conn: &Connection,
    call_id: &str,
    disposition_code: &str,
    notes: &str,
) -> Result<bool> {
    let changed = conn
        .prepare_cached("UPDATE cdrs SET disposition_code = ?1, notes = ?2 WHERE uniqueid = ?3")?
        .execute(params![disposition_code, notes, call_id])?;
    Ok(changed > 0)
}

const CDR_COLUMNS: &str = "id, accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp,
    lastdata, start_us, answer_us, end_us, disposition, amaflags, uniqueid, userfield, queue,
    agent, wait_seconds, survey_score, recording_path, hangup_side, end_reason, disposition_code,
    notes";

fn corrupt(detail: String) -> StoreError {
    StoreError::Corrupt {
        table: "cdrs",
        detail,
    }
}

fn cdr_from_row(r: &Row<'_>) -> Result<(i64, Cdr)> {
    let id: i64 = r.get(0)?;
    let disposition: String = r.get(13)?;
    let amaflags: String = r.get(14)?;
    let hangup_side: Option<String> = r.get(22)?;
    let wait: Option<i64> = r.get(19)?;
    let survey: Option<i64> = r.get(20)?;
    let cdr = Cdr {
        accountcode: r.get(1)?,
        src: r.get(2)?,
        dst: r.get(3)?,
        dcontext: r.get(4)?,
        clid: r.get(5)?,
        channel: r.get(6)?,
        dstchannel: r.get(7)?,
        lastapp: r.get(8)?,
        lastdata: r.get(9)?,
        start: from_micros(r.get(10)?),
        answer: r.get::<_, Option<i64>>(11)?.map(from_micros),
        end: from_micros(r.get(12)?),
        disposition: Disposition::parse(&disposition)
            .ok_or_else(|| corrupt(format!("id {id}: disposition {disposition:?}")))?,
        amaflags: AmaFlags::parse(&amaflags)
            .ok_or_else(|| corrupt(format!("id {id}: amaflags {amaflags:?}")))?,
        call_id: r.get(15)?,
        userfield: r.get(16)?,
        queue: r.get(17)?,
        agent: r.get(18)?,
        wait_seconds: wait.map(|w| u64::try_from(w).unwrap_or(0)),
        survey_score: survey.and_then(|s| u8::try_from(s).ok()),
        recording_path: r.get(21)?,
        hangup_side: match hangup_side {
            None => None,
            Some(h) => Some(
                HangupSide::parse(&h)
                    .ok_or_else(|| corrupt(format!("id {id}: hangup_side {h:?}")))?,
            ),
        },
        end_reason: r.get(23)?,
        disposition_code: r.get(24)?,
        notes: r.get(25)?,
    };
    Ok((id, cdr))
}

/// Which rows to read, relative to an id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Range {
    /// `id > from`, ascending.
    After(i64),
    /// `id <= upto`, descending.
    UptoBackwards(i64),
}

impl Range {
    fn clause(self) -> (&'static str, i64) {
        match self {
            Self::After(id) => ("id > ?1 ORDER BY id", id),
            Self::UptoBackwards(id) => ("id <= ?1 ORDER BY id DESC", id),
        }
    }
}

/// CDRs in `range`, at most `limit`.
pub(crate) fn cdrs(conn: &Connection, range: Range, limit: usize) -> Result<Vec<(i64, Cdr)>> {
    let (clause, id) = range.clause();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CDR_COLUMNS} FROM cdrs WHERE {clause} LIMIT ?2"
    ))?;
    let mut rows = stmt.query(params![id, i64::try_from(limit).unwrap_or(i64::MAX)])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(cdr_from_row(r)?);
    }
    Ok(out)
}

/// The CDR of one call.
pub(crate) fn cdr_by_call(conn: &Connection, call_id: &str) -> Result<Option<Cdr>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CDR_COLUMNS} FROM cdrs WHERE uniqueid = ?1"
    ))?;
    let mut rows = stmt.query([call_id])?;
    match rows.next()? {
        Some(r) => Ok(Some(cdr_from_row(r)?.1)),
        None => Ok(None),
    }
}

/// Inserts queue_log lines.
pub(crate) fn insert_queue_log(conn: &Connection, lines: &[QueueLogLine]) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO queue_log(time, callid, queuename, agent, event, data1, data2, data3, data4,
            data5)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for l in lines {
        let d = |i: usize| l.data.get(i).map(String::as_str);
        stmt.execute(params![
            unix_seconds(l.time),
            l.call_id,
            l.queue,
            l.agent,
            l.event,
            d(0),
            d(1),
            d(2),
            d(3),
            d(4),
        ])?;
    }
    Ok(())
}

const QUEUE_LOG_COLUMNS: &str =
    "id, time, callid, queuename, agent, event, data1, data2, data3, data4, data5";

/// One `queue_log` row (selected as [`QUEUE_LOG_COLUMNS`]) rendered as its file line.
fn queue_log_row(r: &Row<'_>) -> Result<(i64, String)> {
    let data: Vec<Option<String>> = (6..11)
        .map(|i| r.get::<_, Option<String>>(i))
        .collect::<Result<_, _>>()?;
    let line = render_line(
        r.get(1)?,
        &r.get::<_, String>(2)?,
        &r.get::<_, String>(3)?,
        &r.get::<_, String>(4)?,
        &r.get::<_, String>(5)?,
        // Fields are written contiguously; the first NULL ends them.
        data.iter().map_while(|d| d.as_deref()),
    );
    Ok((r.get(0)?, line))
}

/// queue_log rows in `range`, at most `limit`, each rendered as its file line.
pub(crate) fn queue_log_lines(
    conn: &Connection,
    range: Range,
    limit: usize,
) -> Result<Vec<(i64, String)>> {
    let (clause, id) = range.clause();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {QUEUE_LOG_COLUMNS} FROM queue_log WHERE {clause} LIMIT ?2"
    ))?;
    let mut rows = stmt.query(params![id, i64::try_from(limit).unwrap_or(i64::MAX)])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(queue_log_row(r)?);
    }
    Ok(out)
}

/// The queue_log lines of one call, as file lines, in order.
pub(crate) fn queue_log_of_call(conn: &Connection, call_id: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {QUEUE_LOG_COLUMNS} FROM queue_log WHERE callid = ?1 ORDER BY id"
    ))?;
    let mut rows = stmt.query([call_id])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(queue_log_row(r)?.1);
    }
    Ok(out)
}

/// Whether a CDR exists for the call.
pub(crate) fn has_cdr(conn: &Connection, call_id: &str) -> Result<bool> {
    Ok(conn
        .query_row("SELECT 1 FROM cdrs WHERE uniqueid = ?1", [call_id], |_| {
            Ok(())
        })
        .optional()?
        .is_some())
}
