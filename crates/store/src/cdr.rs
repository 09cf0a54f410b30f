//! Call detail records: the row type, and its `Master.csv` line exactly as Asterisk's
//! `cdr/cdr_csv.c` (`build_csv_record`, with `loguniqueid` and `loguserfield` on) writes it,
//! followed by Switchboard's extra columns.
//!
//! `cdr_csv` quoting, reproduced here: text fields and dates are wrapped in `"` with inner `"`
//! doubled; `duration` and `billsec` are bare integers; a zero (absent) date is an empty,
//! *unquoted* field; no header line; `\n` line ends. Dates are `YYYY-MM-DD HH:MM:SS` in UTC
//! (`usegmtime=yes`). Two deliberate differences, both about keeping one record per line for the
//! line-oriented tools that read this file: CR and LF inside a field become a space (Asterisk
//! would write them raw), and no field is truncated (Asterisk drops records over 1 KiB).
//!
//! Extra columns, after `userfield`: `queue`, `agent`, `wait_seconds`, `survey_score`,
//! `recording_path`, `hangup_side`, `end_reason`, `disposition_code`, `notes` (text quoted,
//! integers bare, absent integers empty).

use std::fmt::Write as _;
use std::time::SystemTime;

use crate::time::{format_utc, whole_seconds_between};

/// How the call ended, in Asterisk's words (`ast_cdr_disp2str`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// Someone answered.
    Answered,
    /// Nobody answered (also abandoned in queue before an agent answered).
    NoAnswer,
    /// The far end was busy (486/600).
    Busy,
    /// The call failed (no route, 5xx, media failure).
    Failed,
    /// All circuits busy (503, overload).
    Congestion,
    /// Cancelled before answer.
    Cancel,
}

impl Disposition {
    /// The text `cdr_csv` writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "ANSWERED",
            Self::NoAnswer => "NO ANSWER",
            Self::Busy => "BUSY",
            Self::Failed => "FAILED",
            Self::Congestion => "CONGESTION",
            Self::Cancel => "CANCEL",
        }
    }

    /// Parses [`Self::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ANSWERED" => Self::Answered,
            "NO ANSWER" => Self::NoAnswer,
            "BUSY" => Self::Busy,
            "FAILED" => Self::Failed,
            "CONGESTION" => Self::Congestion,
            "CANCEL" => Self::Cancel,
            _ => return None,
        })
    }
}

/// Asterisk's AMA flags (`ast_channel_amaflags2string`); Asterisk's default is `Documentation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum AmaFlags {
    /// `OMIT`.
    Omit,
    /// `BILLING`.
    Billing,
    /// `DOCUMENTATION`.
    #[default]
    Documentation,
}

impl AmaFlags {
    /// The text `cdr_csv` writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Omit => "OMIT",
            Self::Billing => "BILLING",
            Self::Documentation => "DOCUMENTATION",
        }
    }

    /// Parses [`Self::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "OMIT" => Self::Omit,
            "BILLING" => Self::Billing,
            "DOCUMENTATION" => Self::Documentation,
            _ => return None,
        })
    }
}

/// Which side ended the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HangupSide {
    /// The customer (caller, or callee of a click-to-dial).
    Caller,
    /// The agent.
    Agent,
    /// Switchboard itself: timeout, transfer away, shutdown, restart.
    System,
}

impl HangupSide {
    /// The text stored and exported.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Caller => "caller",
            Self::Agent => "agent",
            Self::System => "system",
        }
    }

    /// Parses [`Self::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "caller" => Self::Caller,
            "agent" => Self::Agent,
            "system" => Self::System,
            _ => return None,
        })
    }
}

/// [`Cdr::end_reason`] of calls closed by [`crate::Store::recover_after_restart`].
pub const END_REASON_RESTART: &str = "restart";

/// One finished call. `duration` and `billsec` are not fields: they are computed from the times
/// exactly as Asterisk does (`cdr.c`: whole seconds of `end - start` and `end - answer`,
/// truncated; `billsec` is 0 when unanswered), so they can never disagree with them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cdr {
    /// `uniqueid`: our `call_id` (UUIDv7 text).
    pub call_id: String,
    /// `accountcode`.
    pub accountcode: String,
    /// `src`: the caller's number.
    pub src: String,
    /// `dst`: the dialled number (DNIS).
    pub dst: String,
    /// `dcontext`: where the call was routed (route or flow name).
    pub dcontext: String,
    /// `clid`: `"Name" <number>`.
    pub clid: String,
    /// `channel`: the inbound leg (for example `SIP/trunk-<leg id>`).
    pub channel: String,
    /// `dstchannel`: the agent's leg, empty if none.
    pub dstchannel: String,
    /// `lastapp`: for example `Queue`, `Dial`, `Playback`.
    pub lastapp: String,
    /// `lastdata`: its argument (the queue name, the dialled URI).
    pub lastdata: String,
    /// `start`: the call arrived.
    pub start: SystemTime,
    /// `answer`: the call was answered (by the IVR or an agent), if it was.
    pub answer: Option<SystemTime>,
    /// `end`: the call ended.
    pub end: SystemTime,
    /// `disposition`.
    pub disposition: Disposition,
    /// `amaflags`.
    pub amaflags: AmaFlags,
    /// `userfield`.
    pub userfield: String,
    /// Extra: the queue the call went through, if any.
    pub queue: Option<String>,
    /// Extra: the agent who handled it, if any.
    pub agent: Option<String>,
    /// Extra: whole seconds waited in queue, if queued.
    pub wait_seconds: Option<u64>,
    /// Extra: the post-call survey digit, if given.
    pub survey_score: Option<u8>,
    /// Extra: the recording file, if recorded.
    pub recording_path: Option<String>,
    /// Extra: which side hung up.
    pub hangup_side: Option<HangupSide>,
    /// Extra: why the call ended, in the engine's words (`normal`, `abandon`, `rona`,
    /// [`END_REASON_RESTART`] …).
    pub end_reason: String,
    /// Extra: the agent's wrap-up disposition code.
    pub disposition_code: Option<String>,
    /// Extra: the agent's wrap-up notes.
    pub notes: Option<String>,
}

impl Cdr {
    /// `duration`: whole seconds from start to end.
    pub fn duration(&self) -> u64 {
        whole_seconds_between(self.start, self.end)
    }

    /// `billsec`: whole seconds from answer to end, 0 if never answered.
    pub fn billsec(&self) -> u64 {
        self.answer
            .map_or(0, |answer| whole_seconds_between(answer, self.end))
    }

    /// The record's `Master.csv` line, `\n` included.
    pub fn to_master_csv_line(&self) -> String {
        let mut line = String::with_capacity(256);
        let mut f = CsvFields(&mut line);
        f.text(&self.accountcode);
        f.text(&self.src);
        f.text(&self.dst);
        f.text(&self.dcontext);
        f.text(&self.clid);
        f.text(&self.channel);
        f.text(&self.dstchannel);
        f.text(&self.lastapp);
        f.text(&self.lastdata);
        f.date(Some(self.start));
        f.date(self.answer);
        f.date(Some(self.end));
        f.int(Some(self.duration()));
        f.int(Some(self.billsec()));
        f.text(self.disposition.as_str());
        f.text(self.amaflags.as_str());
        f.text(&self.call_id);
        f.text(&self.userfield);
        f.text(self.queue.as_deref().unwrap_or(""));
        f.text(self.agent.as_deref().unwrap_or(""));
        f.int(self.wait_seconds);
        f.int(self.survey_score.map(u64::from));
        f.text(self.recording_path.as_deref().unwrap_or(""));
        f.text(self.hangup_side.map_or("", HangupSide::as_str));
        f.text(&self.end_reason);
        f.text(self.disposition_code.as_deref().unwrap_or(""));
        f.text(self.notes.as_deref().unwrap_or(""));
        // cdr_csv replaces the trailing comma with the newline.
        line.pop();
        line.push('\n');
        line
    }
}

/// Appends `cdr_csv` fields, each followed by a comma.
struct CsvFields<'a>(&'a mut String);

impl CsvFields<'_> {
    /// `append_string`: quoted, `"` doubled.
    fn text(&mut self, s: &str) {
        self.0.push('"');
        for c in s.chars() {
            match c {
                '"' => self.0.push_str("\"\""),
                '\r' | '\n' => self.0.push(' '),
                c => self.0.push(c),
            }
        }
        self.0.push_str("\",");
    }

    /// `append_date`: quoted text, or a bare empty field for a zero time.
    fn date(&mut self, t: Option<SystemTime>) {
        match t {
            Some(t) => self.text(&format_utc(t)),
            None => self.0.push(','),
        }
    }

    /// `append_int`: bare digits; an absent extra is a bare empty field.
    fn int(&mut self, v: Option<u64>) {
        if let Some(v) = v {
            let _ = write!(self.0, "{v}");
        }
        self.0.push(',');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    pub(crate) fn sample() -> Cdr {
        let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        Cdr {
            call_id: "0190b7a2-7c1e-7d3a-9f00-000000000001".into(),
            accountcode: String::new(),
            src: "+4930123456".into(),
            dst: "201".into(),
            dcontext: "support".into(),
            clid: "\"Jane \"JD\" Doe\" <+4930123456>".into(),
            channel: "SIP/trunk1-00000001".into(),
            dstchannel: "SIP/alice-00000002".into(),
            lastapp: "Queue".into(),
            lastdata: "support".into(),
            start,
            answer: Some(start + Duration::from_millis(1_500)),
            end: start + Duration::from_millis(95_400),
            disposition: Disposition::Answered,
            amaflags: AmaFlags::Documentation,
            userfield: String::new(),
            queue: Some("support".into()),
            agent: Some("alice".into()),
            wait_seconds: Some(12),
            survey_score: Some(5),
            recording_path: Some("/var/spool/switchboard/rec/0190b7a2.wav".into()),
            hangup_side: Some(HangupSide::Agent),
            end_reason: "normal".into(),
            disposition_code: Some("sale".into()),
            notes: Some("line one\nline two".into()),
        }
    }

    #[test]
    fn master_csv_line_matches_cdr_csv_byte_for_byte() {
        let golden = concat!(
            r#""","+4930123456","201","support","""Jane ""JD"" Doe"" <+4930123456>","#,
            r#""SIP/trunk1-00000001","SIP/alice-00000002","Queue","support","#,
            r#""2023-11-14 22:13:20","2023-11-14 22:13:21","2023-11-14 22:14:55",95,93,"#,
            r#""ANSWERED","DOCUMENTATION","0190b7a2-7c1e-7d3a-9f00-000000000001","","#,
            r#""support","alice",12,5,"/var/spool/switchboard/rec/0190b7a2.wav","agent","#,
            r#""normal","sale","line one line two""#,
            "\n"
        );
        assert_eq!(sample().to_master_csv_line(), golden);
    }

    #[test]
    fn unanswered_call_has_empty_unquoted_answer_and_zero_billsec() {
        let mut cdr = sample();
        cdr.answer = None;
        cdr.disposition = Disposition::NoAnswer;
        cdr.wait_seconds = None;
        cdr.survey_score = None;
        let line = cdr.to_master_csv_line();
        assert!(line.contains(r#""2023-11-14 22:13:20",,"2023-11-14 22:14:55",95,0,"NO ANSWER""#));
        assert!(line.contains(r#""support","alice",,,"/var"#));
    }

    #[test]
    fn enum_texts_round_trip() {
        for d in [
            Disposition::Answered,
            Disposition::NoAnswer,
            Disposition::Busy,
            Disposition::Failed,
            Disposition::Congestion,
            Disposition::Cancel,
        ] {
            assert_eq!(Disposition::parse(d.as_str()), Some(d));
        }
        for a in [AmaFlags::Omit, AmaFlags::Billing, AmaFlags::Documentation] {
            assert_eq!(AmaFlags::parse(a.as_str()), Some(a));
        }
        for h in [HangupSide::Caller, HangupSide::Agent, HangupSide::System] {
            assert_eq!(HangupSide::parse(h.as_str()), Some(h));
        }
    }
}
