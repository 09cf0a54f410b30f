//! Asterisk `queue_log` lines: `epoch|callid|queuename|agent|EVENT|data1|data2|…`, as
//! `main/logger.c` (`ast_queue_log`) writes them, with the data fields `apps/app_queue.c` writes
//! for each event. Reporting tools (QueueMetrics, Wazo stats, home-grown scripts) split on `|`
//! and index the data fields by position, so lines are built only through the typed
//! constructors below, one per event, which fix the field order.
//!
//! Durations are whole seconds, truncated, as app_queue's `time(NULL) - qe->start`, except
//! RINGNOANSWER's ring time, which app_queue writes in milliseconds. A `|`, CR or LF inside a
//! field would shift every later field; they become `_`, as app_queue does for `|` in the caller
//! name of ENTERQUEUE.

use std::time::{Duration, SystemTime};

use crate::time::unix_seconds;

/// The `callid` / `agent` / `queuename` placeholder app_queue writes when there is none.
pub const QUEUE_LOG_NONE: &str = "NONE";

/// One queue_log line. Build it with the event constructors ([`QueueLogLine::enter_queue`] …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueLogLine {
    pub(crate) time: SystemTime,
    pub(crate) call_id: String,
    pub(crate) queue: String,
    pub(crate) agent: String,
    pub(crate) event: &'static str,
    pub(crate) data: Vec<String>,
}

fn secs(d: Duration) -> String {
    d.as_secs().to_string()
}

impl QueueLogLine {
    fn new(
        time: SystemTime,
        call_id: &str,
        queue: &str,
        agent: &str,
        event: &'static str,
        data: Vec<String>,
    ) -> Self {
        Self {
            time,
            call_id: call_id.to_owned(),
            queue: queue.to_owned(),
            agent: agent.to_owned(),
            event,
            data,
        }
    }

    /// `ENTERQUEUE url|callerid|origposition`: the caller joined `queue` at 1-based position
    /// `orig_position`. (app_queue has written the position as the third field since 2009,
    /// commit 1b08c27c1a, Asterisk 1.8; older two-field readers ignore it.)
    pub fn enter_queue(
        time: SystemTime,
        call_id: &str,
        queue: &str,
        url: &str,
        caller_id: &str,
        orig_position: u32,
    ) -> Self {
        let data = vec![
            url.to_owned(),
            caller_id.to_owned(),
            orig_position.to_string(),
        ];
        Self::new(time, call_id, queue, QUEUE_LOG_NONE, "ENTERQUEUE", data)
    }

    /// `CONNECT holdtime|bridgedchanneluniqueid|ringtime`: `agent` answered after the caller
    /// waited `hold_time`; the agent's phone rang for `ring_time`.
    pub fn connect(
        time: SystemTime,
        call_id: &str,
        queue: &str,
        agent: &str,
        hold_time: Duration,
        agent_leg_id: &str,
        ring_time: Duration,
    ) -> Self {
        let data = vec![secs(hold_time), agent_leg_id.to_owned(), secs(ring_time)];
        Self::new(time, call_id, queue, agent, "CONNECT", data)
    }

    /// `COMPLETECALLER holdtime|calltime|origposition`: the caller hung up a connected call.
    pub fn complete_caller(
        time: SystemTime,
        call_id: &str,
        queue: &str,
        agent: &str,
        hold_time: Duration,
        call_time: Duration,
        orig_position: u32,
    ) -> Self {
        let data = vec![secs(hold_time), secs(call_time), orig_position.to_string()];
        Self::new(time, call_id, queue, agent, "COMPLETECALLER", data)
    }

    /// `COMPLETEAGENT holdtime|calltime|origposition`: the agent (or the system) ended a
    /// connected call.
    pub fn complete_agent(
        time: SystemTime,
        call_id: &str,
        queue: &str,
        agent: &str,
        hold_time: Duration,
        call_time: Duration,
        orig_position: u32,
    ) -> Self {
        let data = vec![secs(hold_time), secs(call_time), orig_position.to_string()];
        Self::new(time, call_id, queue, agent, "COMPLETEAGENT", data)
    }

    /// `ABANDON position|origposition|waittime`: the caller hung up while waiting (or while an
    /// agent's phone rang).
    pub fn abandon(
        time: SystemTime,
        call_id: &str,
        queue: &str,
        position: u32,
        orig_position: u32,
        wait_time: Duration,
    ) -> Self {
        let data = vec![
            position.to_string(),
            orig_position.to_string(),
            secs(wait_time),
        ];
        Self::new(time, call_id, queue, QUEUE_LOG_NONE, "ABANDON", data)
    }

    /// `RINGNOANSWER ringtime`: `agent` did not answer within the ring timeout; milliseconds, as
    /// app_queue's `rna` writes them.
    pub fn ring_no_answer(
        time: SystemTime,
        call_id: &str,
        queue: &str,
        agent: &str,
        ring_time: Duration,
    ) -> Self {
        let data = vec![ring_time.as_millis().to_string()];
        Self::new(time, call_id, queue, agent, "RINGNOANSWER", data)
    }

    /// `EXITWITHTIMEOUT position|origposition|waittime`: the queue's maximum wait expired.
    pub fn exit_with_timeout(
        time: SystemTime,
        call_id: &str,
        queue: &str,
        position: u32,
        orig_position: u32,
        wait_time: Duration,
    ) -> Self {
        let data = vec![
            position.to_string(),
            orig_position.to_string(),
            secs(wait_time),
        ];
        Self::new(
            time,
            call_id,
            queue,
            QUEUE_LOG_NONE,
            "EXITWITHTIMEOUT",
            data,
        )
    }

    /// `EXITWITHKEY key|position|origposition|waittime`: the caller pressed an exit key (the
    /// callback or voicemail option).
    pub fn exit_with_key(
        time: SystemTime,
        call_id: &str,
        queue: &str,
        key: char,
        position: u32,
        orig_position: u32,
        wait_time: Duration,
    ) -> Self {
        let data = vec![
            key.to_string(),
            position.to_string(),
            orig_position.to_string(),
            secs(wait_time),
        ];
        Self::new(time, call_id, queue, QUEUE_LOG_NONE, "EXITWITHKEY", data)
    }

    /// `TRANSFER extension|context|holdtime|calltime|origposition`: `agent` transferred the
    /// caller to `extension` (an agent, queue or number) in `context` (the classic event that
    /// reporting tools know; Asterisk ≥ 12 calls the blind case BLINDTRANSFER with the same
    /// fields).
    #[allow(clippy::too_many_arguments)] // one argument per queue_log field, by design
    pub fn transfer(
        time: SystemTime,
        call_id: &str,
        queue: &str,
        agent: &str,
        extension: &str,
        context: &str,
        hold_time: Duration,
        call_time: Duration,
        orig_position: u32,
    ) -> Self {
        let data = vec![
            extension.to_owned(),
            context.to_owned(),
            secs(hold_time),
            secs(call_time),
            orig_position.to_string(),
        ];
        Self::new(time, call_id, queue, agent, "TRANSFER", data)
    }

    /// `ATTENDEDTRANSFER BRIDGE|bridge|holdtime|calltime|origposition`: `agent` transferred the
    /// caller after consulting; the caller was joined to the consulted party in `bridge`
    /// (Asterisk ≥ 12's layout for a bridge-to-bridge attended transfer).
    #[allow(clippy::too_many_arguments)] // one argument per queue_log field, by design
    pub fn attended_transfer(
        time: SystemTime,
        call_id: &str,
        queue: &str,
        agent: &str,
        bridge: &str,
        hold_time: Duration,
        call_time: Duration,
        orig_position: u32,
    ) -> Self {
        let data = vec![
            "BRIDGE".to_owned(),
            bridge.to_owned(),
            secs(hold_time),
            secs(call_time),
            orig_position.to_string(),
        ];
        Self::new(time, call_id, queue, agent, "ATTENDEDTRANSFER", data)
    }

    /// `ADDMEMBER PAUSED|`: `agent` joined `queue` (paused or not). No call, so `callid` is
    /// `NONE`.
    pub fn add_member(time: SystemTime, queue: &str, agent: &str, paused: bool) -> Self {
        let data = vec![if paused { "PAUSED" } else { "" }.to_owned()];
        Self::new(time, QUEUE_LOG_NONE, queue, agent, "ADDMEMBER", data)
    }

    /// `REMOVEMEMBER` (one empty data field, as app_queue's `"%s", ""`).
    pub fn remove_member(time: SystemTime, queue: &str, agent: &str) -> Self {
        Self::new(
            time,
            QUEUE_LOG_NONE,
            queue,
            agent,
            "REMOVEMEMBER",
            vec![String::new()],
        )
    }

    /// `PAUSE reason`: `agent` went NotReady in `queue` with a reason code.
    pub fn pause(time: SystemTime, queue: &str, agent: &str, reason: &str) -> Self {
        Self::new(
            time,
            QUEUE_LOG_NONE,
            queue,
            agent,
            "PAUSE",
            vec![reason.to_owned()],
        )
    }

    /// `UNPAUSE reason`: `agent` became Ready again in `queue`.
    pub fn unpause(time: SystemTime, queue: &str, agent: &str, reason: &str) -> Self {
        Self::new(
            time,
            QUEUE_LOG_NONE,
            queue,
            agent,
            "UNPAUSE",
            vec![reason.to_owned()],
        )
    }

    /// The event name (`CONNECT` …).
    pub fn event(&self) -> &str {
        self.event
    }

    /// The call this line is about, or [`QUEUE_LOG_NONE`].
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// The data fields, in file order.
    pub fn data(&self) -> &[String] {
        &self.data
    }

    /// The file line, `\n` included.
    pub fn to_line(&self) -> String {
        render_line(
            unix_seconds(self.time),
            &self.call_id,
            &self.queue,
            &self.agent,
            self.event,
            self.data.iter().map(String::as_str),
        )
    }
}

/// Renders one line from its parts (also used for rows read back from the table).
pub(crate) fn render_line<'a>(
    epoch_seconds: i64,
    call_id: &str,
    queue: &str,
    agent: &str,
    event: &str,
    data: impl Iterator<Item = &'a str>,
) -> String {
    let mut line = format!("{epoch_seconds}");
    for field in [call_id, queue, agent, event] {
        line.push('|');
        push_sanitized(&mut line, field);
    }
    for field in data {
        line.push('|');
        push_sanitized(&mut line, field);
    }
    line.push('\n');
    line
}

fn push_sanitized(line: &mut String, field: &str) {
    line.extend(field.chars().map(|c| match c {
        '|' | '\r' | '\n' => '_',
        c => c,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    const CALL: &str = "0190b7a2-7c1e-7d3a-9f00-000000000001";

    fn t() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_700_000_000_700)
    }

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn each_event_renders_the_fields_app_queue_writes() {
        let cases = [
            (
                QueueLogLine::enter_queue(t(), CALL, "support", "", "+4930123456", 1),
                "1700000000|0190b7a2-7c1e-7d3a-9f00-000000000001|support|NONE|ENTERQUEUE||+4930123456|1\n",
            ),
            (
                QueueLogLine::connect(
                    t(),
                    CALL,
                    "support",
                    "alice",
                    Duration::from_millis(12_900),
                    "leg-7",
                    s(3),
                ),
                "1700000000|0190b7a2-7c1e-7d3a-9f00-000000000001|support|alice|CONNECT|12|leg-7|3\n",
            ),
            (
                QueueLogLine::complete_caller(t(), CALL, "support", "alice", s(12), s(95), 1),
                "1700000000|0190b7a2-7c1e-7d3a-9f00-000000000001|support|alice|COMPLETECALLER|12|95|1\n",
            ),
            (
                QueueLogLine::complete_agent(t(), CALL, "support", "alice", s(12), s(95), 2),
                "1700000000|0190b7a2-7c1e-7d3a-9f00-000000000001|support|alice|COMPLETEAGENT|12|95|2\n",
            ),
            (
                QueueLogLine::abandon(t(), CALL, "support", 2, 3, s(40)),
                "1700000000|0190b7a2-7c1e-7d3a-9f00-000000000001|support|NONE|ABANDON|2|3|40\n",
            ),
            (
                QueueLogLine::ring_no_answer(
                    t(),
                    CALL,
                    "support",
                    "bob",
                    Duration::from_millis(15_003),
                ),
                "1700000000|0190b7a2-7c1e-7d3a-9f00-000000000001|support|bob|RINGNOANSWER|15003\n",
            ),
            (
                QueueLogLine::exit_with_timeout(t(), CALL, "sales", 1, 4, s(300)),
                "1700000000|0190b7a2-7c1e-7d3a-9f00-000000000001|sales|NONE|EXITWITHTIMEOUT|1|4|300\n",
            ),
            (
                QueueLogLine::exit_with_key(t(), CALL, "sales", '9', 1, 4, s(30)),
                "1700000000|0190b7a2-7c1e-7d3a-9f00-000000000001|sales|NONE|EXITWITHKEY|9|1|4|30\n",
            ),
            (
                QueueLogLine::transfer(
                    t(),
                    CALL,
                    "support",
                    "alice",
                    "sales",
                    "queue",
                    s(12),
                    s(60),
                    1,
                ),
                "1700000000|0190b7a2-7c1e-7d3a-9f00-000000000001|support|alice|TRANSFER|sales|queue|12|60|1\n",
            ),
            (
                QueueLogLine::attended_transfer(
                    t(),
                    CALL,
                    "support",
                    "alice",
                    "leg1-leg4",
                    s(12),
                    s(60),
                    1,
                ),
                "1700000000|0190b7a2-7c1e-7d3a-9f00-000000000001|support|alice|ATTENDEDTRANSFER|BRIDGE|leg1-leg4|12|60|1\n",
            ),
            (
                QueueLogLine::add_member(t(), "support", "alice", false),
                "1700000000|NONE|support|alice|ADDMEMBER|\n",
            ),
            (
                QueueLogLine::add_member(t(), "support", "alice", true),
                "1700000000|NONE|support|alice|ADDMEMBER|PAUSED\n",
            ),
            (
                QueueLogLine::remove_member(t(), "support", "alice"),
                "1700000000|NONE|support|alice|REMOVEMEMBER|\n",
            ),
            (
                QueueLogLine::pause(t(), "support", "alice", "lunch"),
                "1700000000|NONE|support|alice|PAUSE|lunch\n",
            ),
            (
                QueueLogLine::unpause(t(), "support", "alice", ""),
                "1700000000|NONE|support|alice|UNPAUSE|\n",
            ),
        ];
        for (line, golden) in cases {
            assert_eq!(line.to_line(), golden, "{}", line.event());
        }
    }

    #[test]
    fn separators_inside_fields_cannot_shift_later_fields() {
        let line = QueueLogLine::enter_queue(t(), CALL, "support", "", "Bob|Smith\r\n", 1);
        assert_eq!(
            line.to_line(),
            "1700000000|0190b7a2-7c1e-7d3a-9f00-000000000001|support|NONE|ENTERQUEUE||Bob_Smith__|1\n"
        );
    }
}
