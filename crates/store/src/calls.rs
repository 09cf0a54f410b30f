//! Calls in progress (the OpenSIPS `cc_calls` pattern) and how a crash-interrupted one is closed.
//!
//! The engine upserts a row when a call starts and whenever something the CDR needs changes
//! (answer, queue entry, agent connect, recording); [`crate::Store::finish_call`] deletes it in
//! the same transaction that writes the CDR. A row still present at start-up therefore belongs to
//! a call the previous process never finished: [`close_interrupted`] turns it into the CDR,
//! queue_log line and end event a normal hang-up would have produced, with end reason
//! [`END_REASON_RESTART`].

use std::time::SystemTime;

use rusqlite::{Connection, Row, params};

use crate::cdr::{AmaFlags, Cdr, Disposition, END_REASON_RESTART, HangupSide};
use crate::error::Result;
use crate::queue_log::QueueLogLine;
use crate::time::{from_micros, to_micros, whole_seconds_between};

/// A call's stay in a queue, as far as it went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueStay {
    /// The queue.
    pub queue: String,
    /// When the caller entered it.
    pub entered: SystemTime,
    /// 1-based position on entry.
    pub orig_position: u32,
    /// Current 1-based position.
    pub position: u32,
    /// When an agent was connected, if one was.
    pub connected: Option<SystemTime>,
}

/// What the store keeps about a call that has not ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallInProgress {
    /// The call.
    pub call_id: String,
    /// When it arrived.
    pub started: SystemTime,
    /// The engine's name for its state (`ivr`, `queued`, `alerting`, `connected` …).
    pub state: String,
    /// CDR `accountcode`.
    pub accountcode: String,
    /// CDR `src`.
    pub src: String,
    /// CDR `dst`.
    pub dst: String,
    /// CDR `dcontext`.
    pub dcontext: String,
    /// CDR `clid`.
    pub clid: String,
    /// CDR `channel`.
    pub channel: String,
    /// CDR `dstchannel`.
    pub dstchannel: String,
    /// CDR `lastapp`.
    pub lastapp: String,
    /// CDR `lastdata`.
    pub lastdata: String,
    /// When the call was answered, if it was.
    pub answered: Option<SystemTime>,
    /// The queue it is (or was) in.
    pub queue: Option<QueueStay>,
    /// The agent handling it.
    pub agent: Option<String>,
    /// The recording file, if recording.
    pub recording_path: Option<String>,
    /// The engine's call data (IVR inputs, CRM data), opaque text (JSON by convention).
    pub data: String,
}

impl CallInProgress {
    /// A call that just arrived, with empty CDR fields and no data.
    pub fn new(call_id: impl Into<String>, started: SystemTime, state: impl Into<String>) -> Self {
        Self {
            call_id: call_id.into(),
            started,
            state: state.into(),
            accountcode: String::new(),
            src: String::new(),
            dst: String::new(),
            dcontext: String::new(),
            clid: String::new(),
            channel: String::new(),
            dstchannel: String::new(),
            lastapp: String::new(),
            lastdata: String::new(),
            answered: None,
            queue: None,
            agent: None,
            recording_path: None,
            data: String::new(),
        }
    }
}

fn u32_col(v: u32) -> i64 {
    i64::from(v)
}

pub(crate) fn upsert(conn: &Connection, call: &CallInProgress, now: SystemTime) -> Result<()> {
    let q = call.queue.as_ref();
    let mut stmt = conn.prepare_cached(
        "INSERT INTO calls_in_progress(call_id, started_us, updated_us, state, accountcode, src,
            dst, dcontext, clid, channel, dstchannel, lastapp, lastdata, answer_us, queue,
            queue_entered_us, queue_orig_position, queue_position, agent, agent_connected_us,
            recording_path, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
            ?19, ?20, ?21, ?22)
         ON CONFLICT(call_id) DO UPDATE SET
            started_us = excluded.started_us, updated_us = excluded.updated_us,
            state = excluded.state, accountcode = excluded.accountcode, src = excluded.src,
            dst = excluded.dst, dcontext = excluded.dcontext, clid = excluded.clid,
            channel = excluded.channel, dstchannel = excluded.dstchannel,
            lastapp = excluded.lastapp, lastdata = excluded.lastdata,
            answer_us = excluded.answer_us, queue = excluded.queue,
            queue_entered_us = excluded.queue_entered_us,
            queue_orig_position = excluded.queue_orig_position,
            queue_position = excluded.queue_position, agent = excluded.agent,
            agent_connected_us = excluded.agent_connected_us,
            recording_path = excluded.recording_path, data = excluded.data",
    )?;
    stmt.execute(params![
        call.call_id,
        to_micros(call.started),
        to_micros(now),
        call.state,
        call.accountcode,
        call.src,
        call.dst,
        call.dcontext,
        call.clid,
        call.channel,
        call.dstchannel,
        call.lastapp,
        call.lastdata,
        call.answered.map(to_micros),
        q.map(|q| &q.queue),
        q.map(|q| to_micros(q.entered)),
        q.map(|q| u32_col(q.orig_position)),
        q.map(|q| u32_col(q.position)),
        call.agent,
        q.and_then(|q| q.connected).map(to_micros),
        call.recording_path,
        call.data,
    ])?;
    Ok(())
}

pub(crate) fn delete(conn: &Connection, call_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM calls_in_progress WHERE call_id = ?1")?
        .execute([call_id])?
        > 0)
}

fn position(v: Option<i64>) -> u32 {
    v.and_then(|v| u32::try_from(v).ok()).unwrap_or(0)
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<CallInProgress> {
    let queue: Option<String> = r.get(14)?;
    let entered: Option<i64> = r.get(15)?;
    Ok(CallInProgress {
        call_id: r.get(0)?,
        started: from_micros(r.get(1)?),
        state: r.get(3)?,
        accountcode: r.get(4)?,
        src: r.get(5)?,
        dst: r.get(6)?,
        dcontext: r.get(7)?,
        clid: r.get(8)?,
        channel: r.get(9)?,
        dstchannel: r.get(10)?,
        lastapp: r.get(11)?,
        lastdata: r.get(12)?,
        answered: r.get::<_, Option<i64>>(13)?.map(from_micros),
        queue: match (queue, entered) {
            (Some(queue), Some(entered)) => Some(QueueStay {
                queue,
                entered: from_micros(entered),
                orig_position: position(r.get(16)?),
                position: position(r.get(17)?),
                connected: r.get::<_, Option<i64>>(19)?.map(from_micros),
            }),
            _ => None,
        },
        agent: r.get(18)?,
        recording_path: r.get(20)?,
        data: r.get(21)?,
    })
}

pub(crate) fn list(conn: &Connection) -> Result<Vec<CallInProgress>> {
    let mut stmt = conn.prepare_cached(
        "SELECT call_id, started_us, updated_us, state, accountcode, src, dst, dcontext, clid,
            channel, dstchannel, lastapp, lastdata, answer_us, queue, queue_entered_us,
            queue_orig_position, queue_position, agent, agent_connected_us, recording_path, data
         FROM calls_in_progress ORDER BY started_us, call_id",
    )?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The CDR and queue_log line that close a call interrupted by a crash, at `now`.
///
/// * disposition `ANSWERED` if it had been answered, else `NO ANSWER`; hangup side `system`;
///   end reason `restart`;
/// * waiting in a queue → `ABANDON position|origposition|waittime`: the caller was lost
///   unanswered, which is what queue reports must count;
/// * connected to an agent from a queue → `COMPLETEAGENT holdtime|calltime|origposition`: the
///   call was handled and ended on our side, not by the caller.
pub(crate) fn close_interrupted(
    call: &CallInProgress,
    now: SystemTime,
) -> (Cdr, Option<QueueLogLine>) {
    let end = now.max(call.started);
    let wait = call
        .queue
        .as_ref()
        .map(|q| whole_seconds_between(q.entered, q.connected.unwrap_or(end)));
    let cdr = Cdr {
        call_id: call.call_id.clone(),
        accountcode: call.accountcode.clone(),
        src: call.src.clone(),
        dst: call.dst.clone(),
        dcontext: call.dcontext.clone(),
        clid: call.clid.clone(),
        channel: call.channel.clone(),
        dstchannel: call.dstchannel.clone(),
        lastapp: call.lastapp.clone(),
        lastdata: call.lastdata.clone(),
        start: call.started,
        answer: call.answered,
        end,
        disposition: if call.answered.is_some() {
            Disposition::Answered
        } else {
            Disposition::NoAnswer
        },
        amaflags: AmaFlags::default(),
        userfield: String::new(),
        queue: call.queue.as_ref().map(|q| q.queue.clone()),
        agent: call.agent.clone(),
        wait_seconds: wait,
        survey_score: None,
        recording_path: call.recording_path.clone(),
        hangup_side: Some(HangupSide::System),
        end_reason: END_REASON_RESTART.to_owned(),
        disposition_code: None,
        notes: None,
    };
    let line = call.queue.as_ref().map(|q| match q.connected {
        Some(connected) => QueueLogLine::complete_agent(
            end,
            &call.call_id,
            &q.queue,
            call.agent
                .as_deref()
                .unwrap_or(crate::queue_log::QUEUE_LOG_NONE),
            connected.duration_since(q.entered).unwrap_or_default(),
            end.duration_since(connected).unwrap_or_default(),
            q.orig_position,
        ),
        None => QueueLogLine::abandon(
            end,
            &call.call_id,
            &q.queue,
            q.position,
            q.orig_position,
            end.duration_since(q.entered).unwrap_or_default(),
        ),
    });
    (cdr, line)
}
